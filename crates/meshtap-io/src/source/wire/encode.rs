//! Model events back to wire messages: what a recording holds. A recording is re-encoded from the
//! events meshtap decoded (not copied from the socket), so it can be redacted like every other
//! output and written by any source — cluster, proxy, replay or demo.

use std::time::Duration;

use prost::Message as _;

use crate::model::event::{
    Direction, Endpoint, Eos, HeaderValue, Headers, HttpEvent, Labels, StreamId, TapEvent,
};
use crate::proto::{tap, viz};

/// One event as a length-prefixed frame (4-byte little-endian length, then the `TapEvent`), the
/// tap API's own framing. `keep` decides, per header name, whether its value is kept; a value
/// that is not kept is written as `redacted`.
pub fn frame(event: &TapEvent, keep: &dyn Fn(&str) -> bool, redacted: &str, out: &mut Vec<u8>) {
    let wire = tap_event(event, keep, redacted);
    let len = wire.encoded_len();
    out.reserve(4 + len);
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    // Encoding into a Vec cannot run out of space: it grows.
    let _ = wire.encode(out);
}

fn tap_event(event: &TapEvent, keep: &dyn Fn(&str) -> bool, redacted: &str) -> tap::TapEvent {
    let direction = match event.direction {
        Direction::Unknown => tap::tap_event::ProxyDirection::Unknown,
        Direction::Inbound => tap::tap_event::ProxyDirection::Inbound,
        Direction::Outbound => tap::tap_event::ProxyDirection::Outbound,
    };
    let headers = |list: &Headers| headers(list, keep, redacted);
    tap::TapEvent {
        source: event.source.addr.map(super::tcp_address),
        destination: event.destination.addr.map(super::tcp_address),
        source_meta: Some(endpoint_meta(&event.source)),
        destination_meta: Some(endpoint_meta(&event.destination)),
        proxy_direction: direction as i32,
        route_meta: Some(tap::RouteMeta {
            labels: label_map(&event.route),
        }),
        event: event.http.as_ref().map(|http| {
            tap::tap_event::Event::Http(tap::tap_event::Http {
                event: Some(http_event(http, &headers)),
            })
        }),
    }
}

fn http_event(
    http: &HttpEvent,
    headers: &dyn Fn(&Headers) -> viz::Headers,
) -> tap::tap_event::http::Event {
    use tap::tap_event::http::{self as wire, Event};
    match http {
        HttpEvent::RequestInit(e) => Event::RequestInit(wire::RequestInit {
            id: Some(stream_id(e.id)),
            method: e.method.as_deref().map(method),
            scheme: e.scheme.as_deref().map(scheme),
            authority: e.authority.to_string(),
            path: e.path.to_string(),
            headers: Some(headers(&e.headers)),
        }),
        HttpEvent::ResponseInit(e) => Event::ResponseInit(wire::ResponseInit {
            id: Some(stream_id(e.id)),
            since_request_init: e.since_request_init.map(duration),
            http_status: e.http_status,
            headers: Some(headers(&e.headers)),
        }),
        HttpEvent::ResponseEnd(e) => Event::ResponseEnd(wire::ResponseEnd {
            id: Some(stream_id(e.id)),
            since_request_init: e.since_request_init.map(duration),
            since_response_init: e.since_response_init.map(duration),
            response_bytes: e.response_bytes,
            eos: e.eos.map(|eos| viz::Eos {
                end: Some(match eos {
                    Eos::Grpc(code) => viz::eos::End::GrpcStatusCode(code),
                    Eos::Reset(code) => viz::eos::End::ResetErrorCode(code),
                }),
            }),
            trailers: Some(headers(&e.trailers)),
        }),
    }
}

fn endpoint_meta(endpoint: &Endpoint) -> tap::EndpointMeta {
    tap::EndpointMeta {
        labels: label_map(&endpoint.labels),
    }
}

fn label_map(labels: &Labels) -> std::collections::HashMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn stream_id(id: StreamId) -> tap::tap_event::http::StreamId {
    tap::tap_event::http::StreamId {
        base: id.base,
        stream: id.stream,
    }
}

/// A registered method where the name is one, so the bytes match what a proxy sends.
fn method(name: &str) -> viz::HttpMethod {
    let r#type = match viz::http_method::Registered::from_str_name(name) {
        Some(registered) => viz::http_method::Type::Registered(registered as i32),
        None => viz::http_method::Type::Unregistered(name.to_owned()),
    };
    viz::HttpMethod {
        r#type: Some(r#type),
    }
}

fn scheme(name: &str) -> viz::Scheme {
    let r#type = match viz::scheme::Registered::from_str_name(name) {
        Some(registered) => viz::scheme::Type::Registered(registered as i32),
        None => viz::scheme::Type::Unregistered(name.to_owned()),
    };
    viz::Scheme {
        r#type: Some(r#type),
    }
}

fn headers(list: &Headers, keep: &dyn Fn(&str) -> bool, redacted: &str) -> viz::Headers {
    use viz::headers::header::Value;
    viz::Headers {
        headers: list
            .iter()
            .map(|h| viz::headers::Header {
                name: h.name.to_string(),
                value: Some(if keep(h.name) {
                    match h.value {
                        HeaderValue::Str(s) => Value::ValueStr(s.to_string()),
                        HeaderValue::Bin(b) => Value::ValueBin(b.to_vec()),
                    }
                } else {
                    Value::ValueStr(redacted.to_owned())
                }),
            })
            .collect(),
    }
}

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}
