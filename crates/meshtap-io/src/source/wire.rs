//! Converts decoded wire messages into owned model events. Label sets, label strings and header
//! names repeat from event to event, so they are interned ([`Interner`]): each distinct one is
//! allocated once. `source::decode` does the same conversion straight from the frame bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::event::{
    Direction, Endpoint, Eos, Header, HeaderValue, Headers, HttpEvent, RequestInit, ResponseEnd,
    ResponseInit, StreamId, TapEvent, Text,
};
use crate::proto::{net, tap, viz};

mod encode;
mod intern;

pub use encode::frame;
pub(crate) use intern::PairSpan;
pub use intern::{
    HEADER_CANDIDATES_MAX_ENTRIES, HEADER_RECENT_LISTS, HEADER_SHAPES_MAX_ENTRIES,
    HEADER_SHARE_AFTER_SIGHTINGS, HEADER_VALUES_MAX_ENTRIES, HeaderInternStats,
    INTERNER_MAX_ENTRIES, Interner,
};

/// Converts one decoded `TapEvent` that arrived at `arrived`.
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
        cluster: None,
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
            matched_route: None,
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
                viz::eos::End::GrpcStatusCode(code) => Some(Eos::Grpc(code)),
                viz::eos::End::ResetErrorCode(code) => Some(Eos::Reset(code)),
            }),
            trailers: headers(interner, e.trailers),
        }),
    }
}

pub(crate) fn stream_id(id: Option<tap::tap_event::http::StreamId>) -> StreamId {
    id.map(|id| StreamId {
        base: id.base,
        stream: id.stream,
    })
    .unwrap_or_default()
}

fn method(interner: &mut Interner, method: viz::HttpMethod) -> Option<Text> {
    match method.r#type? {
        viz::http_method::Type::Registered(n) => Some(
            interner.text(
                viz::http_method::Registered::try_from(n)
                    .unwrap_or(viz::http_method::Registered::Get)
                    .as_str_name(),
            ),
        ),
        viz::http_method::Type::Unregistered(s) => Some(interner.text(&s)),
    }
}

fn scheme(interner: &mut Interner, scheme: viz::Scheme) -> Option<Text> {
    match scheme.r#type? {
        viz::scheme::Type::Registered(n) => Some(
            interner.text(
                viz::scheme::Registered::try_from(n)
                    .unwrap_or(viz::scheme::Registered::Http)
                    .as_str_name(),
            ),
        ),
        viz::scheme::Type::Unregistered(s) => Some(interner.text(&s)),
    }
}

fn headers(interner: &mut Interner, headers: Option<viz::Headers>) -> Headers {
    let Some(headers) = headers else {
        return Headers::default();
    };
    let list: Vec<Header<'_>> = headers
        .headers
        .iter()
        .filter_map(|h| {
            // A header with neither value kind is skipped, as Linkerd's CLI does.
            let value = match h.value.as_ref()? {
                viz::headers::header::Value::ValueStr(s) => HeaderValue::Str(s),
                viz::headers::header::Value::ValueBin(b) => HeaderValue::Bin(b),
            };
            Some(Header {
                name: &h.name,
                value,
            })
        })
        .collect();
    interner.headers(&list)
}

pub(crate) fn duration(d: prost_types::Duration) -> Duration {
    // Negative durations cannot come from a proxy; clamp rather than wrap.
    let secs = u64::try_from(d.seconds).unwrap_or(0);
    let nanos = u32::try_from(d.nanos).unwrap_or(0);
    Duration::new(secs, 0).saturating_add(Duration::from_nanos(u64::from(nanos)))
}

/// The address Linkerd carried, or `None` when the event had no IP.
pub fn socket_addr(addr: &net::TcpAddress) -> Option<SocketAddr> {
    let ip = match addr.ip.as_ref()?.ip? {
        net::ip_address::Ip::Ipv4(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        net::ip_address::Ip::Ipv6(v6) => IpAddr::V6(Ipv6Addr::from(
            (u128::from(v6.first) << 64) | u128::from(v6.last),
        )),
    };
    Some(SocketAddr::new(ip, u16::try_from(addr.port).unwrap_or(0)))
}

/// The wire form of an address; used by the demo server and tests.
pub fn tcp_address(addr: SocketAddr) -> net::TcpAddress {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => net::ip_address::Ip::Ipv4(u32::from(v4)),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            net::ip_address::Ip::Ipv6(net::IPv6 {
                first: (bits >> 64) as u64,
                last: bits as u64,
            })
        }
    };
    net::TcpAddress {
        ip: Some(net::IpAddress { ip: Some(ip) }),
        port: u32::from(addr.port()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn ipv4_is_big_endian_number() {
        let wire = net::TcpAddress {
            ip: Some(net::IpAddress {
                ip: Some(net::ip_address::Ip::Ipv4(0x0102_0304)),
            }),
            port: 5555,
        };
        assert_eq!(
            socket_addr(&wire),
            Some("1.2.3.4:5555".parse().expect("addr"))
        );
    }

    #[test]
    fn addresses_round_trip() {
        for addr in ["10.42.0.7:8080", "[ff01::1]:0", "[2001:db8::5]:443"] {
            let addr: SocketAddr = addr.parse().expect("addr");
            assert_eq!(socket_addr(&tcp_address(addr)), Some(addr));
        }
    }

    #[test]
    fn label_sets_are_shared() {
        let mut interner = Interner::default();
        let map: HashMap<String, String> = [("pod".to_string(), "web-1".to_string())]
            .into_iter()
            .collect();
        let a = interner.labels(&map);
        let b = interner.labels(&map);
        assert_eq!(a, b);
        assert_eq!(a.get("pod"), Some("web-1"));
        let same_text = interner.text("pod");
        assert!(std::ptr::eq(
            same_text.as_ptr(),
            interner.text("pod").as_ptr()
        ));
    }

    #[test]
    fn unregistered_method_and_binary_headers_survive() {
        let mut interner = Interner::default();
        let m = method(
            &mut interner,
            viz::HttpMethod {
                r#type: Some(viz::http_method::Type::Unregistered("PURGE".into())),
            },
        );
        assert_eq!(m.as_deref(), Some("PURGE"));
        let hs = headers(
            &mut interner,
            Some(viz::Headers {
                headers: vec![
                    viz::headers::Header {
                        name: "bin".into(),
                        value: Some(viz::headers::header::Value::ValueBin(vec![0, 255])),
                    },
                    viz::headers::Header {
                        name: "none".into(),
                        value: None,
                    },
                ],
            }),
        );
        assert_eq!(hs.len(), 1);
        assert_eq!(
            hs.iter().next().map(|h| h.value),
            Some(HeaderValue::Bin(&[0, 255]))
        );
    }
}
