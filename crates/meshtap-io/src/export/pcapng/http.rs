//! HTTP/1.1 text for a tapped request and its response: what the synthetic TCP segments carry.
//! Tap reports headers only, so both messages say `content-length: 0`; the original framing
//! headers are kept under an `x-meshtap-original-` name so nothing the proxy saw is lost, and a
//! dissector never waits for body bytes that were never captured.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::model::event::{HeaderValue, Headers, RequestInit, ResponseInit};
use crate::session::{REDACTED, Redactor};

/// Headers that frame a body in HTTP/1.1: kept under a renamed header, never as themselves.
const FRAMING: [&str; 2] = ["content-length", "transfer-encoding"];
/// The method written when the tap event carried none (Linkerd's text output prints `GET` too).
pub const DEFAULT_METHOD: &str = "GET";

/// `METHOD path HTTP/1.1`, `host`, the request's headers, `content-length: 0`, blank line.
pub fn request(init: &RequestInit, redactor: &Redactor) -> Vec<u8> {
    let method = init
        .method
        .as_deref()
        .filter(|m| !m.is_empty() && m.bytes().all(is_tchar))
        .unwrap_or(DEFAULT_METHOD);
    let path = if init.path.is_empty() {
        "/".to_string()
    } else {
        uri(&init.path)
    };
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    header_line(&mut text, "host", &field_value(&init.authority));
    headers(&mut text, &init.headers, redactor, &["host"]);
    text.push_str("content-length: 0\r\n\r\n");
    text.into_bytes()
}

/// `HTTP/1.1 STATUS REASON`, the response headers, `content-length: 0`, blank line.
pub fn response(response: &ResponseInit, redactor: &Redactor) -> Vec<u8> {
    let reason = u16::try_from(response.http_status)
        .ok()
        .and_then(|s| http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut text = format!("HTTP/1.1 {:03} {reason}\r\n", response.http_status);
    headers(&mut text, &response.headers, redactor, &[]);
    text.push_str("content-length: 0\r\n\r\n");
    text.into_bytes()
}

/// Trailers as `name: value` pairs joined by `, ` (for the packet comment: HTTP/1.1 text without
/// chunked framing has no place for them).
pub fn trailers(trailers: &Headers, redactor: &Redactor) -> String {
    let mut text = String::new();
    headers(&mut text, trailers, redactor, &[]);
    text.trim_end().replace("\r\n", ", ")
}

fn headers(text: &mut String, headers: &Headers, redactor: &Redactor, skip: &[&str]) {
    for header in headers {
        // HTTP/2 pseudo-headers are already in the request and status lines.
        if header.name.starts_with(':') || skip.contains(&header.name) {
            continue;
        }
        let value = if redactor.is_sensitive(header.name) {
            REDACTED.to_string()
        } else {
            match header.value {
                HeaderValue::Str(s) => field_value(s),
                HeaderValue::Bin(b) => base64::engine::general_purpose::STANDARD.encode(b),
            }
        };
        let name: String = header
            .name
            .bytes()
            .map(|b| if is_tchar(b) { char::from(b) } else { '_' })
            .collect();
        if FRAMING.contains(&name.to_ascii_lowercase().as_str()) {
            header_line(text, &format!("x-meshtap-original-{name}"), &value);
        } else {
            header_line(text, &name, &value);
        }
    }
}

fn header_line(text: &mut String, name: &str, value: &str) {
    text.push_str(name);
    text.push_str(": ");
    text.push_str(value);
    text.push_str("\r\n");
}

/// A header value that cannot end its line early: control characters (CR, LF, NUL…) become
/// spaces; tab stays, as HTTP allows it.
fn field_value(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

/// A request target that stays one token: bytes that are not visible ASCII are percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_graphic() {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// RFC 9110 `tchar`: what a method or header name may contain.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::event::{Shape, Slot, StreamId, Text};

    fn headers(pairs: &[(&str, &[u8])]) -> Headers {
        let shape = Shape::new(
            pairs
                .iter()
                .map(|(name, _)| {
                    if name.ends_with("-bin") {
                        Slot::Bin(Text::from(*name))
                    } else {
                        Slot::Str(Text::from(*name))
                    }
                })
                .collect(),
        );
        Headers::new(Arc::new(shape), pairs.iter().map(|(_, v)| *v))
    }

    fn init(method: Option<&str>, path: &str, pairs: &[(&str, &[u8])]) -> RequestInit {
        RequestInit {
            id: StreamId::default(),
            method: method.map(Text::from),
            scheme: Some(Text::from("http")),
            authority: Text::from("web.shop:80"),
            path: path.into(),
            headers: headers(pairs),
            matched_route: None,
        }
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[test]
    fn request_is_http11_text_without_a_body() {
        let init = init(
            Some("POST"),
            "/cart?id=1",
            &[
                ("content-type", b"application/json"),
                ("authorization", b"Bearer secret"),
                ("content-length", b"42"),
                ("host", b"ignored"),
            ],
        );
        let text = text(&request(&init, &Redactor::new(true, Vec::new())));
        assert_eq!(
            text,
            "POST /cart?id=1 HTTP/1.1\r\nhost: web.shop:80\r\ncontent-type: application/json\r\n\
             authorization: <redacted>\r\nx-meshtap-original-content-length: 42\r\n\
             content-length: 0\r\n\r\n"
        );
    }

    #[test]
    fn hostile_values_cannot_break_the_framing() {
        let init = init(
            Some("GE T"),
            "/a b\r\nx: y",
            &[("x-evil", b"1\r\nset-cookie: a"), ("x-bin", &[0xff, 0x00])],
        );
        let text = text(&request(&init, &Redactor::default()));
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("GET /a%20b%0D%0Ax:%20y HTTP/1.1"));
        assert!(text.contains("x-evil: 1  set-cookie: a\r\n"), "{text}");
        assert!(!text.contains("\r\nset-cookie"), "{text}");
        assert_eq!(text.matches("\r\n\r\n").count(), 1, "one end of headers");
    }

    #[test]
    fn response_has_status_reason_and_no_body() {
        let response = ResponseInit {
            id: StreamId::default(),
            since_request_init: None,
            http_status: 503,
            headers: headers(&[(":status", b"503"), ("grpc-status", b"14")]),
        };
        assert_eq!(
            text(&self::response(&response, &Redactor::default())),
            "HTTP/1.1 503 Service Unavailable\r\ngrpc-status: 14\r\ncontent-length: 0\r\n\r\n"
        );
        let pairs = headers(&[("grpc-status", b"0"), ("grpc-message", b"ok")]);
        assert_eq!(
            trailers(&pairs, &Redactor::default()),
            "grpc-status: 0, grpc-message: ok"
        );
    }
}
