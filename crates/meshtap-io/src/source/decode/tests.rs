//! The direct decoder must give exactly what `wire::event(prost decode)` gives: proven on
//! arbitrary prost-built events, on sequences sharing one interner, and on hostile bytes (random
//! and mutated encodings), where `frames::decode_fast` must agree with the old path and nothing
//! may panic.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::proto::{tap, viz};
use crate::source::frames::{self, Frame, FrameError, ModelFrame};
use crate::source::wire;

use tap::tap_event::http::{Event, RequestInit, ResponseEnd, ResponseInit, StreamId};

fn at() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_700_000_000)
}

/// Short strings, mostly from a small pool so interner hits happen, sometimes any Unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["", "pod", "web-1", "namespace", "tls", "true", "GET", "x"])
            .prop_map(str::to_string),
        1 => ".{0,6}",
    ]
}

fn labels() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(text(), text(), 0..6)
}

fn address() -> impl Strategy<Value = Option<net::TcpAddress>> {
    use net::ip_address::Ip;
    let ip = prop_oneof![
        any::<u32>().prop_map(Ip::Ipv4),
        (any::<u64>(), any::<u64>()).prop_map(|(first, last)| Ip::Ipv6(net::IPv6 { first, last })),
    ];
    let addr = (prop::option::of(prop::option::of(ip)), any::<u32>()).prop_map(|(ip, port)| {
        net::TcpAddress {
            ip: ip.map(|ip| net::IpAddress { ip }),
            port,
        }
    });
    prop::option::of(addr)
}

fn id() -> impl Strategy<Value = Option<StreamId>> {
    prop::option::of(
        (any::<u32>(), any::<u64>()).prop_map(|(base, stream)| StreamId { base, stream }),
    )
}

fn since() -> impl Strategy<Value = Option<prost_types::Duration>> {
    let value = prop_oneof![-3i64..3, any::<i64>()];
    prop::option::of(
        (value, any::<i32>()).prop_map(|(seconds, nanos)| prost_types::Duration { seconds, nanos }),
    )
}

fn headers() -> impl Strategy<Value = Option<viz::Headers>> {
    use viz::headers::header::Value;
    let value = prop::option::of(prop_oneof![
        text().prop_map(Value::ValueStr),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(Value::ValueBin),
    ]);
    let header = (text(), value).prop_map(|(name, value)| viz::headers::Header { name, value });
    prop::option::of(
        prop::collection::vec(header, 0..4).prop_map(|headers| viz::Headers { headers }),
    )
}

fn method() -> impl Strategy<Value = Option<viz::HttpMethod>> {
    use viz::http_method::Type;
    let kind = prop::option::of(prop_oneof![
        (-1i32..11).prop_map(Type::Registered),
        text().prop_map(Type::Unregistered)
    ]);
    prop::option::of(kind.prop_map(|r#type| viz::HttpMethod { r#type }))
}

fn scheme() -> impl Strategy<Value = Option<viz::Scheme>> {
    use viz::scheme::Type;
    let kind = prop::option::of(prop_oneof![
        (-1i32..3).prop_map(Type::Registered),
        text().prop_map(Type::Unregistered)
    ]);
    prop::option::of(kind.prop_map(|r#type| viz::Scheme { r#type }))
}

fn eos() -> impl Strategy<Value = Option<viz::Eos>> {
    use viz::eos::End;
    let end = prop::option::of(prop_oneof![
        any::<u32>().prop_map(End::GrpcStatusCode),
        any::<u32>().prop_map(End::ResetErrorCode)
    ]);
    prop::option::of(end.prop_map(|end| viz::Eos { end }))
}

fn http() -> impl Strategy<Value = Option<Event>> {
    let request = (id(), method(), scheme(), text(), ".{0,10}", headers()).prop_map(
        |(id, method, scheme, authority, path, headers)| {
            Event::RequestInit(RequestInit {
                id,
                method,
                scheme,
                authority,
                path,
                headers,
            })
        },
    );
    let response = (id(), since(), any::<u32>(), headers()).prop_map(
        |(id, since_request_init, http_status, headers)| {
            Event::ResponseInit(ResponseInit {
                id,
                since_request_init,
                http_status,
                headers,
            })
        },
    );
    let end = (id(), since(), since(), any::<u64>(), eos(), headers()).prop_map(
        |(id, since_request_init, since_response_init, response_bytes, eos, trailers)| {
            Event::ResponseEnd(ResponseEnd {
                id,
                since_request_init,
                since_response_init,
                response_bytes,
                eos,
                trailers,
            })
        },
    );
    prop::option::of(prop_oneof![request, response, end])
}

fn tap_event() -> impl Strategy<Value = tap::TapEvent> {
    let meta = || prop::option::of(labels().prop_map(|labels| tap::EndpointMeta { labels }));
    let route = prop::option::of(labels().prop_map(|labels| tap::RouteMeta { labels }));
    let direction = prop_oneof![4 => 0i32..3, 1 => any::<i32>()];
    let http = prop::option::of(
        http().prop_map(|event| tap::tap_event::Event::Http(tap::tap_event::Http { event })),
    );
    (address(), address(), meta(), meta(), direction, route, http).prop_map(
        |(
            source,
            destination,
            source_meta,
            destination_meta,
            proxy_direction,
            route_meta,
            event,
        )| tap::TapEvent {
            source,
            destination,
            destination_meta,
            source_meta,
            proxy_direction,
            route_meta,
            event,
        },
    )
}

/// What the old path made of a frame: prost, then `wire::event`.
fn old_path(interner: &mut Interner, frame: &[u8]) -> std::result::Result<ModelFrame, FrameError> {
    Ok(match frames::decode(frame)? {
        Frame::Event(event) => ModelFrame::Event(wire::event(interner, *event, at())),
        Frame::ApiError(text) => ModelFrame::ApiError(text),
    })
}

fn looks_empty(e: &tap::TapEvent) -> bool {
    e.event.is_none() && e.proxy_direction == 0 && e.destination.is_none()
}

/// A few byte-level edits of a valid encoding: flips, truncation, insertions.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4);
    (tap_event(), edits).prop_map(|(event, edits)| {
        let mut bytes = event.encode_to_vec();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.truncate(i),
                _ => bytes.insert(i, byte),
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn equals_prost_then_wire_event(event in tap_event()) {
        let bytes = event.encode_to_vec();
        let expected = wire::event(&mut Interner::default(), event.clone(), at());
        let decoded = super::event(&mut Interner::default(), &bytes, at());
        prop_assert_eq!(decoded, Ok(Decoded { event: expected, looks_empty: looks_empty(&event) }));
    }

    #[test]
    fn one_interner_across_events(events in prop::collection::vec(tap_event(), 1..12)) {
        let mut fast = Interner::default();
        let mut slow = Interner::default();
        for event in events {
            let bytes = event.encode_to_vec();
            let decoded = super::event(&mut fast, &bytes, at()).map(|d| d.event);
            prop_assert_eq!(decoded, Ok(wire::event(&mut slow, event, at())));
        }
    }

    #[test]
    fn random_bytes_agree_with_the_old_path(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut interner = Interner::default();
        prop_assert_eq!(frames::decode_fast(&mut interner, &bytes, at()), old_path(&mut interner, &bytes));
    }

    #[test]
    fn mutated_encodings_agree_with_the_old_path(bytes in mutated()) {
        let mut interner = Interner::default();
        let fast = super::event(&mut interner, &bytes, at());
        if let Ok(decoded) = &fast {
            // Whatever the direct decoder accepts, prost accepts and converts identically.
            let prost = tap::TapEvent::decode(bytes.as_slice());
            prop_assert!(prost.is_ok(), "direct decoder accepted what prost refuses: {:?}", bytes);
            let expected = prost.map(|e| wire::event(&mut Interner::default(), e, at()));
            prop_assert_eq!(Ok(&decoded.event), expected.as_ref());
        }
        prop_assert_eq!(frames::decode_fast(&mut interner, &bytes, at()), old_path(&mut interner, &bytes));
    }
}

/// Hand-built bytes: a map entry, a length-delimited field, a varint field.
fn entry(key: &str, value: &[u8]) -> Vec<u8> {
    let mut e = vec![0x0a, key.len() as u8];
    e.extend_from_slice(key.as_bytes());
    e.extend_from_slice(&[0x12, value.len() as u8]);
    e.extend_from_slice(value);
    let mut out = vec![0x0a, e.len() as u8];
    out.extend(e);
    out
}

fn meta(field: u8, entries: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = entries.concat();
    let mut out = vec![(field << 3) | 2, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn a_repeated_key_keeps_the_last_value_as_prost_does() {
    let bytes = [
        meta(
            5,
            &[
                entry("pod", b"a"),
                entry("tls", b"true"),
                entry("pod", b"b"),
            ],
        ),
        vec![0x30, 0x02],
    ]
    .concat();
    let decoded = super::event(&mut Interner::default(), &bytes, at()).expect("decodes");
    assert_eq!(decoded.event.source.labels.get("pod"), Some("b"));
    assert_eq!(decoded.event.source.labels.len(), 2);
    let mut interner = Interner::default();
    assert_eq!(
        Ok(ModelFrame::Event(decoded.event)),
        old_path(&mut interner, &bytes)
    );
}

#[test]
fn an_overwritten_value_that_is_not_utf8_is_still_refused() {
    let bytes = [
        meta(5, &[entry("pod", &[0xff]), entry("pod", b"b")]),
        vec![0x30, 0x02],
    ]
    .concat();
    assert_eq!(
        super::event(&mut Interner::default(), &bytes, at()),
        Err(Malformed)
    );
    assert!(tap::TapEvent::decode(bytes.as_slice()).is_err());
}

#[test]
fn label_sets_in_any_order_share_one_allocation() {
    let mut interner = Interner::default();
    let a = [
        meta(4, &[entry("pod", b"web-1"), entry("tls", b"true")]),
        vec![0x30, 0x01],
    ]
    .concat();
    let b = [
        meta(4, &[entry("tls", b"true"), entry("pod", b"web-1")]),
        vec![0x30, 0x01],
    ]
    .concat();
    let first = super::event(&mut interner, &a, at())
        .expect("a")
        .event
        .destination
        .labels;
    let second = super::event(&mut interner, &b, at())
        .expect("b")
        .event
        .destination
        .labels;
    let (x, y) = (
        first.iter().next().expect("pair"),
        second.iter().next().expect("pair"),
    );
    assert!(std::ptr::eq(x.0, y.0) && std::ptr::eq(x.1, y.1));
}

#[test]
fn groups_are_left_to_prost() {
    // Field 9 as a start group holding nothing, then its end: valid protobuf prost can skip.
    let bytes = [vec![0x4b, 0x4c], vec![0x30, 0x02]].concat();
    assert_eq!(
        super::event(&mut Interner::default(), &bytes, at()),
        Err(Malformed)
    );
    let mut interner = Interner::default();
    let fast = frames::decode_fast(&mut interner, &bytes, at());
    assert_eq!(fast, old_path(&mut interner, &bytes));
    assert!(matches!(fast, Ok(ModelFrame::Event(_))));
}

#[test]
fn api_errors_still_come_through() {
    let frame = viz::ApiError {
        error: "no pods to tap for type=deployment name=nope\n".into(),
    }
    .encode_to_vec();
    let fast = frames::decode_fast(&mut Interner::default(), &frame, at());
    assert_eq!(
        fast,
        Ok(ModelFrame::ApiError(
            "no pods to tap for type=deployment name=nope\n".into()
        ))
    );
}

#[test]
fn a_huge_label_map_goes_to_prost_rather_than_growing_scratch() {
    let entries: Vec<Vec<u8>> = (0..=MAX_LABEL_PAIRS).map(|_| vec![0x0a, 0x00]).collect();
    let body = entries.concat();
    let mut bytes = vec![0x2a];
    let mut len = body.len();
    while len >= 0x80 {
        bytes.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
    bytes.extend(body);
    bytes.extend([0x30, 0x02]);
    let mut interner = Interner::default();
    assert_eq!(super::event(&mut interner, &bytes, at()), Err(Malformed));
    let fast = frames::decode_fast(&mut interner, &bytes, at()).expect("prost decodes it");
    let ModelFrame::Event(event) = fast else {
        panic!("not an event")
    };
    assert_eq!(event.source.labels.get(""), Some(""));
}

#[test]
fn an_overwritten_key_inside_one_entry_is_still_checked() {
    // One map entry writing its key twice: first not UTF-8, then "pod". Prost refuses it.
    let entry = [
        vec![0x0a, 0x01, 0xf5],
        vec![0x0a, 0x03],
        b"pod".to_vec(),
        vec![0x12, 0x01, b'x'],
    ]
    .concat();
    let bytes = [
        vec![0x2a, entry.len() as u8 + 2, 0x0a, entry.len() as u8],
        entry,
        vec![0x30, 0x02],
    ]
    .concat();
    assert!(tap::TapEvent::decode(bytes.as_slice()).is_err());
    assert_eq!(
        super::event(&mut Interner::default(), &bytes, at()),
        Err(Malformed)
    );
}
