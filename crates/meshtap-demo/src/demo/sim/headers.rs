//! Request paths and the headers and trailers the simulated applications send, with just
//! enough variety (tokens, cookies, request ids) to make redaction and detail views meaningful.
//! Everything derives from a call's seeded token.

use super::Call;
use super::routes::Protocol;
use crate::proto::viz;

/// The request path with its parameters filled from the call's token.
pub fn path(call: &Call) -> String {
    let t = call.token;
    call.route()
        .path
        .replace("{uuid}", &uuid(t.rotate_left(17)))
        .replace(
            "{id}",
            &format!(
                "{:012x}{:012x}",
                t >> 16 & 0xffff_ffff_ffff,
                t.rotate_left(29) & 0xffff_ffff_ffff
            ),
        )
}

fn uuid(x: u64) -> String {
    let y = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        x >> 32,
        x >> 16 & 0xffff,
        x & 0xfff,
        0x8000 | (y >> 48 & 0x3fff),
        y & 0xffff_ffff_ffff
    )
}

pub(super) fn headers(pairs: Vec<(&str, String)>) -> viz::Headers {
    viz::Headers {
        headers: pairs
            .into_iter()
            .map(|(name, value)| viz::headers::Header {
                name: name.to_owned(),
                value: Some(viz::headers::header::Value::ValueStr(value)),
            })
            .collect(),
    }
}

/// Whether the load generator asked for an HTML page rather than the JSON API.
fn is_page(path: &str) -> bool {
    path == "/"
        || std::path::Path::new(path)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("html"))
}

fn user_agent(client: &str) -> &'static str {
    match client {
        "load-generator" => "python-requests/2.31.0",
        "front-end" => "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "orders" | "carts" | "shipping" | "queue-master" => {
            "Apache-HttpClient/4.5.13 (Java/11.0.21)"
        }
        _ => "Go-http-client/1.1",
    }
}

pub(super) fn request_headers(call: &Call, authority: &str, path: &str) -> viz::Headers {
    let route = call.route();
    let t = call.token;
    if route.protocol == Protocol::Grpc {
        // HTTP/2: the proxy reports the pseudo-headers first.
        return headers(
            vec![
                (":method", "POST".into()),
                (":scheme", "http".into()),
                (":authority", authority.into()),
                (":path", path.into()),
                ("content-type", "application/grpc".into()),
                ("user-agent", "grpc-go/1.62.1".into()),
                ("te", "trailers".into()),
                ("grpc-timeout", "999858u".into()),
            ]
            .into_iter()
            .chain(call.trace.traceparent().map(|t| ("traceparent", t)))
            .collect(),
        );
    }
    let html = is_page(path);
    let mut h = vec![
        ("host", authority.to_owned()),
        ("user-agent", user_agent(route.client).into()),
        (
            "accept",
            if html {
                "text/html"
            } else {
                "application/json"
            }
            .into(),
        ),
    ];
    if route.method == 1 {
        h.push(("content-type", "application/json".into()));
        h.push(("content-length", (40 + t % 400).to_string()));
    }
    if let Some(traceparent) = call.trace.traceparent() {
        h.push(("traceparent", traceparent));
    }
    if call.routed.canary {
        let (name, value) = crate::demo::policy::CANARY_HEADER;
        h.push((name, value.to_owned()));
    }
    h.push((
        "x-request-id",
        uuid(t.rotate_left(37) ^ 0x5bd1_e995_5bd1_e995),
    ));
    if route.bearer {
        h.push((
            "authorization",
            format!(
                "Bearer eyJhbGciOiJIUzI1NiJ9.{:016x}.{:016x}",
                t.rotate_left(7),
                t.rotate_left(41)
            ),
        ));
    }
    if route.cookie {
        h.push((
            "cookie",
            format!(
                "md.sid=s%3A{:016x}{:08x}; logged_in={:016x}",
                t.rotate_left(3),
                t >> 40,
                t.rotate_left(11)
            ),
        ));
    }
    headers(h)
}

pub(super) fn response_headers(call: &Call, path: &str) -> viz::Headers {
    let route = call.route();
    if route.protocol == Protocol::Grpc {
        return headers(vec![
            (":status", "200".into()),
            ("content-type", "application/grpc".into()),
        ]);
    }
    if call.routed.denied {
        // The server's proxy answers a denial itself, with no body; the client's proxy has
        // stripped `l5d-proxy-error` before its tap sees the response (proxy ≥ v2.221.0).
        return headers(vec![("content-length", "0".into())]);
    }
    let html = is_page(path);
    let mut h = vec![
        (
            "content-type",
            if html {
                "text/html; charset=UTF-8"
            } else {
                "application/json"
            }
            .into(),
        ),
        ("content-length", call.bytes.to_string()),
    ];
    if path == "/login" && call.http_status == 200 {
        h.push((
            "set-cookie",
            format!(
                "md.sid=s%3A{:016x}; Path=/; HttpOnly",
                call.token.rotate_left(23)
            ),
        ));
    }
    headers(h)
}

pub(super) fn grpc_message(code: u32) -> &'static str {
    match code {
        2 => "ERROR",
        5 => "emoji not found",
        14 => "connection refused",
        _ => "",
    }
}
