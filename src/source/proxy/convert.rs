//! Converts the proxy's own `io.linkerd.proxy.tap.TapEvent` (crate `linkerd2-proxy-api`) into the
//! model's `TapEvent`, sharing repeated strings through the same [`Interner`] as the viz path.
//!
//! The two wire forms differ only in headers: the proxy sends `value: bytes`, viz a `value_str` /
//! `value_bin` choice. Like Linkerd's tap server when it translates proxy events, a value that is
//! valid UTF-8 becomes text and anything else stays binary.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use linkerd2_proxy_api::{http_types, net, tap};

use crate::model::event::{
    Direction, Endpoint, Eos, Header, HeaderValue, Headers, HttpEvent, RequestInit, ResponseEnd,
    ResponseInit, StreamId, TapEvent, Text,
};
use crate::source::wire::Interner;

/// Converts one proxy event that arrived at `arrived`.
pub fn event(interner: &mut Interner, wire: tap::TapEvent, arrived: DateTime<Utc>) -> TapEvent {
    let direction = match tap::tap_event::ProxyDirection::try_from(wire.proxy_direction) {
        Ok(tap::tap_event::ProxyDirection::Inbound) => Direction::Inbound,
        Ok(tap::tap_event::ProxyDirection::Outbound) => Direction::Outbound,
        _ => Direction::Unknown,
    };
    let source = Endpoint {
        addr: wire.source.as_ref().and_then(socket_addr),
        labels: wire
            .source_meta
            .as_ref()
            .map(|m| interner.labels(&m.labels))
            .unwrap_or_default(),
    };
    let destination = Endpoint {
        addr: wire.destination.as_ref().and_then(socket_addr),
        labels: wire
            .destination_meta
            .as_ref()
            .map(|m| interner.labels(&m.labels))
            .unwrap_or_default(),
    };
    let route = wire
        .route_meta
        .as_ref()
        .map(|m| interner.labels(&m.labels))
        .unwrap_or_default();
    let http = match wire.event {
        Some(tap::tap_event::Event::Http(http)) => http.event.map(|e| http_event(interner, e)),
        None => None,
    };
    TapEvent {
        arrived,
        source,
        destination,
        direction,
        route,
        http,
    }
}

fn http_event(interner: &mut Interner, event: tap::tap_event::http::Event) -> HttpEvent {
    use tap::tap_event::http::Event;
    match event {
        Event::RequestInit(e) => HttpEvent::RequestInit(RequestInit {
            id: stream_id(e.id),
            method: e.method.and_then(|m| method(interner, m)),
            scheme: e.scheme.and_then(|s| scheme(interner, s)),
            authority: interner.text(&e.authority),
            path: e.path.into_boxed_str(),
            headers: headers(interner, e.headers),
        }),
        Event::ResponseInit(e) => HttpEvent::ResponseInit(ResponseInit {
            id: stream_id(e.id),
            since_request_init: e.since_request_init.map(duration),
            http_status: e.http_status,
            headers: headers(interner, e.headers),
        }),
        Event::ResponseEnd(e) => HttpEvent::ResponseEnd(ResponseEnd {
            id: stream_id(e.id),
            since_request_init: e.since_request_init.map(duration),
            since_response_init: e.since_response_init.map(duration),
            response_bytes: e.response_bytes,
            eos: e.eos.and_then(|eos| match eos.end? {
                tap::eos::End::GrpcStatusCode(code) => Some(Eos::Grpc(code)),
                tap::eos::End::ResetErrorCode(code) => Some(Eos::Reset(code)),
            }),
            trailers: headers(interner, e.trailers),
        }),
    }
}

fn stream_id(id: Option<tap::tap_event::http::StreamId>) -> StreamId {
    id.map(|id| StreamId {
        base: id.base,
        stream: id.stream,
    })
    .unwrap_or_default()
}

fn method(interner: &mut Interner, method: http_types::HttpMethod) -> Option<Text> {
    use http_types::http_method::{Registered, Type};
    match method.r#type? {
        Type::Registered(n) => Some(
            interner.text(
                Registered::try_from(n)
                    .unwrap_or(Registered::Get)
                    .as_str_name(),
            ),
        ),
        Type::Unregistered(s) => Some(interner.text(&s)),
    }
}

fn scheme(interner: &mut Interner, scheme: http_types::Scheme) -> Option<Text> {
    use http_types::scheme::{Registered, Type};
    match scheme.r#type? {
        Type::Registered(n) => Some(
            interner.text(
                Registered::try_from(n)
                    .unwrap_or(Registered::Http)
                    .as_str_name(),
            ),
        ),
        Type::Unregistered(s) => Some(interner.text(&s)),
    }
}

/// Header values arrive as bytes: text when they are UTF-8, binary otherwise.
fn headers(interner: &mut Interner, headers: Option<http_types::Headers>) -> Headers {
    let Some(headers) = headers else {
        return Headers::default();
    };
    let list: Vec<Header<'_>> = headers
        .headers
        .iter()
        .map(|h| Header {
            name: &h.name,
            value: std::str::from_utf8(&h.value)
                .map_or(HeaderValue::Bin(&h.value), HeaderValue::Str),
        })
        .collect();
    interner.headers(&list)
}

fn duration(d: prost_types::Duration) -> Duration {
    // A proxy never reports negative durations; clamp rather than wrap.
    let secs = u64::try_from(d.seconds).unwrap_or(0);
    let nanos = u32::try_from(d.nanos).unwrap_or(0);
    Duration::new(secs, 0).saturating_add(Duration::from_nanos(u64::from(nanos)))
}

/// The address the proxy reported, or `None` when the event carried no IP.
pub fn socket_addr(addr: &net::TcpAddress) -> Option<SocketAddr> {
    let ip = match addr.ip.as_ref()?.ip? {
        net::ip_address::Ip::Ipv4(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        net::ip_address::Ip::Ipv6(v6) => IpAddr::V6(Ipv6Addr::from(
            (u128::from(v6.first) << 64) | u128::from(v6.last),
        )),
    };
    Some(SocketAddr::new(ip, u16::try_from(addr.port).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_become_text_or_binary() {
        let mut interner = Interner::default();
        let hs = headers(
            &mut interner,
            Some(http_types::Headers {
                headers: vec![
                    http_types::headers::Header {
                        name: "x-text".into(),
                        value: b"caf\xc3\xa9".to_vec(),
                    },
                    http_types::headers::Header {
                        name: "x-bin".into(),
                        value: vec![0xff, 0x00],
                    },
                ],
            }),
        );
        let values: Vec<HeaderValue<'_>> = hs.iter().map(|h| h.value).collect();
        assert_eq!(
            values,
            [HeaderValue::Str("café"), HeaderValue::Bin(&[0xff, 0x00])]
        );
    }

    #[test]
    fn ipv4_is_big_endian_number() {
        let wire = net::TcpAddress {
            ip: Some(net::IpAddress {
                ip: Some(net::ip_address::Ip::Ipv4(0x0a2a_0007)),
            }),
            port: 8080,
        };
        assert_eq!(
            socket_addr(&wire),
            Some("10.42.0.7:8080".parse().expect("addr"))
        );
    }
}
