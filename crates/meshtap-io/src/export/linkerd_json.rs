//! `linkerd viz tap -o json`: one pretty-printed object per event, exactly as Go's
//! `json.MarshalIndent(v, "", "  ")` writes it (PROTOCOL.md §4), so existing scripts keep working.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;

use crate::capture::ip_and_port;
use crate::model::event::{Endpoint, Eos, HeaderValue, Headers, HttpEvent, Labels, TapEvent};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the names are Linkerd's JSON keys"
)]
struct Event<'a> {
    source: JsonEndpoint<'a>,
    destination: JsonEndpoint<'a>,
    route_meta: Option<BTreeMap<&'a str, &'a str>>,
    proxy_direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_init_event: Option<RequestInit<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_init_event: Option<ResponseInit<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_end_event: Option<ResponseEnd<'a>>,
}

#[derive(Serialize)]
struct JsonEndpoint<'a> {
    ip: String,
    port: u16,
    metadata: Option<BTreeMap<&'a str, &'a str>>,
}

#[derive(Serialize)]
struct Id {
    base: u32,
    stream: u64,
}

#[derive(Serialize)]
struct JsonDuration {
    #[serde(skip_serializing_if = "is_zero")]
    seconds: u64,
    #[serde(skip_serializing_if = "is_zero32")]
    nanos: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestInit<'a> {
    id: Id,
    method: &'a str,
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    headers: Option<Vec<JsonHeader<'a>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseInit<'a> {
    id: Id,
    since_request_init: Option<JsonDuration>,
    http_status: u32,
    headers: Option<Vec<JsonHeader<'a>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseEnd<'a> {
    id: Id,
    since_request_init: Option<JsonDuration>,
    since_response_init: Option<JsonDuration>,
    response_bytes: u64,
    trailers: Option<Vec<JsonHeader<'a>>>,
    grpc_status_code: u32,
    #[serde(skip_serializing_if = "is_zero32")]
    reset_error_code: u32,
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonHeader<'a> {
    Str {
        name: &'a str,
        #[serde(rename = "valueStr")]
        value_str: &'a str,
    },
    Bin {
        name: &'a str,
        #[serde(rename = "valueBin")]
        value_bin: String,
    },
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes fields by reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes fields by reference"
)]
fn is_zero32(n: &u32) -> bool {
    *n == 0
}

fn labels(labels: &Labels) -> Option<BTreeMap<&str, &str>> {
    (!labels.is_empty()).then(|| labels.iter().collect())
}

fn endpoint(endpoint: &Endpoint) -> JsonEndpoint<'_> {
    let (ip, port) = ip_and_port(endpoint.addr);
    JsonEndpoint {
        ip,
        port,
        metadata: labels(&endpoint.labels),
    }
}

fn duration(d: Option<Duration>) -> Option<JsonDuration> {
    d.map(|d| JsonDuration {
        seconds: d.as_secs(),
        nanos: d.subsec_nanos(),
    })
}

/// Headers as Linkerd prints them; `redact` replaces sensitive values.
fn headers<'a>(headers: &'a Headers, redact: &dyn Fn(&str) -> bool) -> Option<Vec<JsonHeader<'a>>> {
    (!headers.is_empty()).then(|| {
        headers
            .iter()
            .map(|h| match &h.value {
                _ if redact(h.name) => JsonHeader::Str {
                    name: h.name,
                    value_str: crate::session::REDACTED,
                },
                HeaderValue::Str(s) => JsonHeader::Str {
                    name: h.name,
                    value_str: s,
                },
                HeaderValue::Bin(b) => JsonHeader::Bin {
                    name: h.name,
                    value_bin: base64::engine::general_purpose::STANDARD.encode(b),
                },
            })
            .collect()
    })
}

/// Writes one event followed by a newline.
pub fn write_event(
    out: &mut impl io::Write,
    event: &TapEvent,
    redact: &dyn Fn(&str) -> bool,
) -> io::Result<()> {
    let id = |id: crate::model::event::StreamId| Id {
        base: id.base,
        stream: id.stream,
    };
    let mut json = Event {
        source: endpoint(&event.source),
        destination: endpoint(&event.destination),
        route_meta: labels(&event.route),
        proxy_direction: event.direction.proto_name(),
        request_init_event: None,
        response_init_event: None,
        response_end_event: None,
    };
    match &event.http {
        Some(HttpEvent::RequestInit(e)) => {
            json.request_init_event = Some(RequestInit {
                id: id(e.id),
                method: e.method.as_deref().unwrap_or(""),
                scheme: e.scheme.as_deref().unwrap_or(""),
                authority: &e.authority,
                path: &e.path,
                headers: headers(&e.headers, redact),
            });
        }
        Some(HttpEvent::ResponseInit(e)) => {
            json.response_init_event = Some(ResponseInit {
                id: id(e.id),
                since_request_init: duration(e.since_request_init),
                http_status: e.http_status,
                headers: headers(&e.headers, redact),
            });
        }
        Some(HttpEvent::ResponseEnd(e)) => {
            let (grpc, reset) = match e.eos {
                Some(Eos::Grpc(code)) => (code, 0),
                Some(Eos::Reset(code)) => (0, code),
                None => (0, 0),
            };
            json.response_end_event = Some(ResponseEnd {
                id: id(e.id),
                since_request_init: duration(e.since_request_init),
                since_response_init: duration(e.since_response_init),
                response_bytes: e.response_bytes,
                trailers: headers(&e.trailers, redact),
                grpc_status_code: grpc,
                reset_error_code: reset,
            });
        }
        None => {}
    }
    let mut ser =
        serde_json::Serializer::with_formatter(&mut *out, super::gojson::GoFormatter::new());
    json.serialize(&mut ser).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
