//! Ingest throughput: decode + join + aggregate, against merely decoding the same frames with
//! prost into `linkerd2-proxy-api` types (the target is a ratio of at least 1.0).

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use meshtap::model::store::{Ingested, Store};
use meshtap::proto::{tap, viz};
use meshtap::source::frames::{self, Frame, FrameDecoder, ModelFrame};
use meshtap::source::wire::{self, Interner, tcp_address};
use prost::Message;

const EVENTS: usize = 6_000;

fn labels(pod: usize, side: &str) -> tap::EndpointMeta {
    let deploy = format!("{side}-{}", pod % 7);
    let pairs = [
        ("control_plane_ns", "linkerd".to_string()),
        ("deployment", deploy.clone()),
        ("namespace", "sock-shop".to_string()),
        ("pod", format!("{deploy}-7d9f8b6c5-x2k4{}", pod % 3)),
        ("pod_template_hash", "7d9f8b6c5".to_string()),
        ("serviceaccount", deploy.clone()),
        ("service", deploy.clone()),
        ("tls", "true".to_string()),
        (
            "server_id",
            format!("{deploy}.sock-shop.serviceaccount.identity.linkerd.cluster.local"),
        ),
        ("zone", "zone-a".to_string()),
    ];
    tap::EndpointMeta {
        labels: pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>(),
    }
}

fn header(name: &str, value: &str) -> viz::headers::Header {
    viz::headers::Header {
        name: name.into(),
        value: Some(viz::headers::header::Value::ValueStr(value.into())),
    }
}

/// A recorded-looking stream: request/response/end trios with realistic label sets.
fn stream() -> Bytes {
    use tap::tap_event::http::{Event, RequestInit, ResponseEnd, ResponseInit, StreamId};
    let mut out = Vec::new();
    let mut bytes = 0;
    for i in 0..EVENTS / 3 {
        let id = Some(StreamId {
            base: 7,
            stream: i as u64,
        });
        let base = tap::TapEvent {
            source: Some(tcp_address(
                format!("10.42.0.{}:4{:04}", i % 200, i % 9999)
                    .parse()
                    .expect("addr"),
            )),
            destination: Some(tcp_address(
                format!("10.42.1.{}:8080", i % 50).parse().expect("addr"),
            )),
            source_meta: Some(labels(i, "front-end")),
            destination_meta: Some(labels(i + 1, "catalogue")),
            proxy_direction: 2,
            route_meta: None,
            event: None,
        };
        let http = |event| {
            Some(tap::tap_event::Event::Http(tap::tap_event::Http {
                event: Some(event),
            }))
        };
        let events = [
            Event::RequestInit(RequestInit {
                id,
                method: Some(viz::HttpMethod {
                    r#type: Some(viz::http_method::Type::Registered(0)),
                }),
                scheme: None,
                authority: "catalogue.sock-shop.svc.cluster.local:80".into(),
                path: format!("/catalogue/{i:08x}-2d88-40de-b95f-e00e1502085b"),
                headers: Some(viz::Headers {
                    headers: vec![
                        header("user-agent", "Go-http-client/1.1"),
                        header("content-type", "application/json"),
                        header("x-request-id", &format!("{i:016x}")),
                    ],
                }),
            }),
            Event::ResponseInit(ResponseInit {
                id,
                since_request_init: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 1_500_000,
                }),
                http_status: 200,
                headers: None,
            }),
            Event::ResponseEnd(ResponseEnd {
                id,
                since_request_init: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 2_000_000,
                }),
                since_response_init: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 500_000,
                }),
                response_bytes: 1234,
                eos: None,
                trailers: None,
            }),
        ];
        for event in events {
            let frame = frames::encode(&tap::TapEvent {
                event: http(event),
                ..base.clone()
            });
            bytes += frame.len();
            out.extend_from_slice(&frame);
        }
    }
    eprintln!(
        "ingest bench stream: {EVENTS} events, {} bytes/event on average",
        bytes / EVENTS
    );
    Bytes::from(out)
}

fn prost_decode(stream: &[u8]) -> usize {
    let mut decoder = FrameDecoder::default();
    decoder.push(stream);
    let mut n = 0;
    while let Ok(Some(frame)) = decoder.next_frame() {
        if linkerd2_proxy_api::tap::TapEvent::decode(frame).is_ok() {
            n += 1;
        }
    }
    n
}

/// The ingest path the cluster source runs: the direct decoder, then join and aggregate.
fn meshtap_ingest(stream: &[u8], now: DateTime<Utc>) -> usize {
    let mut decoder = FrameDecoder::default();
    let mut interner = Interner::default();
    let mut store = Store::new(EVENTS);
    let mut routes =
        meshtap::model::routes::RouteTable::new(meshtap::model::routes::Grouping::Route);
    decoder.push(stream);
    let mut finished = 0;
    while let Ok(Some(frame)) = decoder.next_frame() {
        if let Ok(ModelFrame::Event(event)) = frames::decode_fast(&mut interner, &frame, now)
            && let Ingested::Finished(seq) = store.ingest(event)
            && let Some(request) = store.get(seq)
        {
            routes.record(request);
            finished += 1;
        }
    }
    finished
}

/// The same through prost into meshtap's viz types and `wire::event`: the path before the
/// direct decoder, kept to show what it bought.
fn meshtap_ingest_via_prost(stream: &[u8], now: DateTime<Utc>) -> usize {
    let mut decoder = FrameDecoder::default();
    let mut interner = Interner::default();
    let mut store = Store::new(EVENTS);
    let mut routes =
        meshtap::model::routes::RouteTable::new(meshtap::model::routes::Grouping::Route);
    decoder.push(stream);
    let mut finished = 0;
    while let Ok(Some(frame)) = decoder.next_frame() {
        if let Ok(Frame::Event(event)) = frames::decode(&frame)
            && let Ingested::Finished(seq) = store.ingest(wire::event(&mut interner, *event, now))
            && let Some(request) = store.get(seq)
        {
            routes.record(request);
            finished += 1;
        }
    }
    finished
}

/// The direct decoder alone, for the split of the ingest cost.
fn meshtap_decode_only(stream: &[u8], now: DateTime<Utc>) -> usize {
    let mut decoder = FrameDecoder::default();
    let mut interner = Interner::default();
    decoder.push(stream);
    let mut n = 0;
    while let Ok(Some(frame)) = decoder.next_frame() {
        if let Ok(ModelFrame::Event(_)) = frames::decode_fast(&mut interner, &frame, now) {
            n += 1;
        }
    }
    n
}

fn ingest(c: &mut Criterion) {
    let stream = stream();
    let now = Utc::now();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("prost_decode_proxy_api", |b| {
        b.iter(|| prost_decode(&stream));
    });
    group.bench_function("meshtap_decode_join_aggregate", |b| {
        b.iter(|| meshtap_ingest(&stream, now));
    });
    group.bench_function("meshtap_decode_only", |b| {
        b.iter(|| meshtap_decode_only(&stream, now));
    });
    group.bench_function("meshtap_via_prost_join_aggregate", |b| {
        b.iter(|| meshtap_ingest_via_prost(&stream, now));
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
