//! Pairing the two sides of a call: certain pairs are made, anything ambiguous is left alone,
//! and with every call tapped on both sides no pair is ever wrong.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use crate::model::event::{
    ClusterName, Direction, Endpoint, Headers, HttpEvent, Labels, RequestInit, ResponseEnd,
    StreamId, TapEvent,
};
use crate::model::store::{Ingested, Store};

const DOMAIN: &str = "serviceaccount.identity.linkerd.cluster.local";

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(ms)
}

fn identity(sa: &str) -> String {
    format!("{sa}.sock-shop.{DOMAIN}")
}

/// One call from `client` to `server`'s pod `pod` on `path`, each side's events.
#[derive(Clone, Debug)]
struct Call {
    client: &'static str,
    server: &'static str,
    pod: &'static str,
    path: &'static str,
    cluster: Option<&'static str>,
}

impl Call {
    fn new(path: &'static str) -> Self {
        Self {
            client: "front-end",
            server: "carts",
            pod: "carts-1",
            path,
            cluster: None,
        }
    }

    /// A workload's labels, with its `id` label (`client_id` / `server_id`) when it has one.
    fn workload(sa: &str, pod: &str, id: Option<(&str, &str)>) -> Labels {
        [
            ("deployment", sa),
            ("serviceaccount", sa),
            ("namespace", "sock-shop"),
            ("pod", pod),
        ]
        .into_iter()
        .chain(id)
        .collect()
    }

    fn event(&self, direction: Direction, stream: u64, ms: i64, init: bool) -> TapEvent {
        let id = StreamId { base: 1, stream };
        let (client_id, server_id) = (identity(self.client), identity(self.server));
        let outbound = direction == Direction::Outbound;
        let source = Self::workload(
            self.client,
            "front-end-1",
            (!outbound).then_some(("client_id", client_id.as_str())),
        );
        let destination = Self::workload(
            self.server,
            self.pod,
            outbound.then_some(("server_id", server_id.as_str())),
        );
        let http = if init {
            HttpEvent::RequestInit(RequestInit {
                id,
                method: Some("GET".into()),
                scheme: None,
                authority: "carts.sock-shop.svc.cluster.local:80".into(),
                path: self.path.into(),
                headers: Headers::default(),
                matched_route: None,
            })
        } else {
            HttpEvent::ResponseEnd(ResponseEnd {
                id,
                since_request_init: None,
                since_response_init: None,
                response_bytes: 0,
                eos: None,
                trailers: Headers::default(),
            })
        };
        TapEvent {
            cluster: self.cluster.map(ClusterName::new),
            arrived: at(ms),
            source: Endpoint {
                addr: None,
                labels: source,
            },
            destination: Endpoint {
                addr: None,
                labels: destination,
            },
            direction,
            route: Labels::default(),
            http: Some(http),
        }
    }
}

fn seq(outcome: Ingested) -> u64 {
    match outcome {
        Ingested::Open(seq) | Ingested::Finished(seq) => seq,
        Ingested::Ignored => panic!("an HTTP event was ignored"),
    }
}

/// Ingests one call's four events in the usual order (the inbound side inside the outbound
/// one); returns (outbound seq, inbound seq).
fn whole(store: &mut Store, call: &Call, stream: u64, ms: i64) -> (u64, u64) {
    let out = seq(store.ingest(call.event(Direction::Outbound, stream, ms, true)));
    let inb = seq(store.ingest(call.event(Direction::Inbound, stream, ms + 1, true)));
    store.ingest(call.event(Direction::Inbound, stream, ms + 2, false));
    store.ingest(call.event(Direction::Outbound, stream, ms + 3, false));
    (out, inb)
}

#[test]
fn one_call_seen_by_both_proxies_is_paired_both_ways() {
    let mut store = Store::new(100);
    let (out, inb) = whole(&mut store, &Call::new("/cart"), 1, 0);
    assert_eq!(store.other_side(out), Some(inb));
    assert_eq!(store.other_side(inb), Some(out));
    assert_eq!(store.sides_stats().paired, 1);
    // Sequential calls on the same route each find their own other side.
    let (out2, inb2) = whole(&mut store, &Call::new("/cart"), 2, 10);
    assert_eq!(store.other_side(out2), Some(inb2));
    assert_eq!(store.other_side(inb2), Some(out2));
    assert_eq!(store.sides_stats().paired, 2);
}

#[test]
fn an_inbound_side_after_the_outbound_ended_is_not_paired() {
    let mut store = Store::new(100);
    let call = Call::new("/cart");
    let out = seq(store.ingest(call.event(Direction::Outbound, 1, 0, true)));
    store.ingest(call.event(Direction::Outbound, 1, 5, false));
    let inb = seq(store.ingest(call.event(Direction::Inbound, 1, 6, true)));
    assert_eq!(store.other_side(out), None);
    assert_eq!(store.other_side(inb), None);
}

#[test]
fn two_open_outbound_calls_that_fit_leave_the_inbound_one_unpaired() {
    let mut store = Store::new(100);
    let call = Call::new("/cart");
    let a = seq(store.ingest(call.event(Direction::Outbound, 1, 0, true)));
    let b = seq(store.ingest(call.event(Direction::Outbound, 2, 1, true)));
    let inb = seq(store.ingest(call.event(Direction::Inbound, 1, 2, true)));
    for s in [a, b, inb] {
        assert_eq!(store.other_side(s), None, "#{s}");
    }
    assert_eq!(store.sides_stats().contested, 2);
}

#[test]
fn a_second_inbound_fit_undoes_the_first_pairing() {
    let mut store = Store::new(100);
    let call = Call::new("/cart");
    let out = seq(store.ingest(call.event(Direction::Outbound, 1, 0, true)));
    let first = seq(store.ingest(call.event(Direction::Inbound, 1, 1, true)));
    assert_eq!(store.other_side(out), Some(first));
    // An untapped client's call (or a retry the tap saw as its own request) fits it too.
    let second = seq(store.ingest(call.event(Direction::Inbound, 2, 2, true)));
    for s in [out, first, second] {
        assert_eq!(store.other_side(s), None, "#{s}");
    }
    assert_eq!(store.sides_stats().paired, 0);
    // Contested for good: a later fit does not pair it either.
    let third = seq(store.ingest(call.event(Direction::Inbound, 3, 3, true)));
    assert_eq!(store.other_side(third), None);
}

#[test]
fn sides_that_differ_in_what_must_agree_are_not_paired() {
    let base = Call::new("/cart");
    let variants = [
        Call {
            path: "/other",
            ..base.clone()
        },
        Call {
            client: "orders",
            ..base.clone()
        },
        Call {
            server: "user",
            ..base.clone()
        },
        Call {
            pod: "carts-2",
            ..base.clone()
        },
        Call {
            cluster: Some("west"),
            ..base.clone()
        },
    ];
    for inbound in variants {
        let mut store = Store::new(100);
        let out = seq(store.ingest(base.event(Direction::Outbound, 1, 0, true)));
        let inb = seq(store.ingest(inbound.event(Direction::Inbound, 1, 1, true)));
        assert_eq!(store.other_side(out), None, "{inbound:?}");
        assert_eq!(store.other_side(inb), None, "{inbound:?}");
    }
}

#[test]
fn an_evicted_side_is_forgotten_and_the_index_empties() {
    let mut store = Store::new(2);
    let (out, inb) = whole(&mut store, &Call::new("/cart"), 1, 0);
    assert_eq!(store.other_side(inb), Some(out));
    whole(&mut store, &Call::new("/cart"), 2, 10);
    assert_eq!(store.get(out), None);
    assert_eq!(store.other_side(out), None);
    assert_eq!(store.other_side(inb), None, "evicted too (capacity 2)");
    let (out3, inb3) = whole(&mut store, &Call::new("/cart"), 3, 20);
    assert_eq!(store.other_side(out3), Some(inb3));
}

#[test]
fn open_outbound_requests_leave_the_index_when_they_expire() {
    let mut store = Store::with_ttl(100, std::time::Duration::from_secs(1));
    let call = Call::new("/cart");
    let out = seq(store.ingest(call.event(Direction::Outbound, 1, 0, true)));
    assert_eq!(store.expire(at(5_000)), vec![out]);
    let inb = seq(store.ingest(call.event(Direction::Inbound, 1, 5_001, true)));
    assert_eq!(
        store.other_side(inb),
        None,
        "an expired request no longer waits"
    );
}

/// One generated call: which path (few, so calls collide), when it starts, how long each side
/// lasts, and which sides the tap saw.
fn calls() -> impl Strategy<Value = Vec<(usize, i64, i64, bool, bool)>> {
    prop::collection::vec(
        (0..3usize, 0..200i64, 2..50i64, any::<bool>(), any::<bool>()),
        1..40,
    )
}

/// Every event of the calls, in arrival order: (time, order within the call, call, direction,
/// init?). The inbound side lies strictly inside the outbound one.
fn schedule(calls: &[(usize, i64, i64, bool, bool)]) -> Vec<(i64, u8, usize, Direction, bool)> {
    let mut events = Vec::new();
    for (i, &(_, start, len, out_seen, in_seen)) in calls.iter().enumerate() {
        if out_seen {
            events.push((start, 0, i, Direction::Outbound, true));
            events.push((start + len + 2, 3, i, Direction::Outbound, false));
        }
        if in_seen {
            events.push((start + 1, 1, i, Direction::Inbound, true));
            events.push((start + len + 1, 2, i, Direction::Inbound, false));
        }
    }
    events.sort_by_key(|&(t, order, call, _, _)| (t, order, call));
    events
}

fn replay(calls: &[(usize, i64, i64, bool, bool)]) -> (Store, Vec<[Option<u64>; 2]>) {
    const PATHS: [&str; 3] = ["/a", "/b", "/c"];
    let mut store = Store::new(1_000);
    let mut seqs = vec![[None, None]; calls.len()];
    for (ms, _, i, direction, init) in schedule(calls) {
        let call = Call::new(PATHS[calls[i].0]);
        let stream = u64::try_from(i).expect("small");
        let s = seq(store.ingest(call.event(direction, stream, ms, init)));
        seqs[i][usize::from(direction == Direction::Inbound)] = Some(s);
    }
    (store, seqs)
}

proptest! {
    /// With both sides of every call tapped, a pair is always the right one, and a call that
    /// no other call on its path overlapped is always paired.
    #[test]
    fn with_every_side_tapped_no_pair_is_wrong(mut calls in calls()) {
        for call in &mut calls {
            call.3 = true;
            call.4 = true;
        }
        let (store, seqs) = replay(&calls);
        for (i, &(path, start, len, _, _)) in calls.iter().enumerate() {
            let [Some(out), Some(inb)] = seqs[i] else { panic!("both sides ingested") };
            if let Some(other) = store.other_side(out) {
                prop_assert_eq!(other, inb);
            }
            if let Some(other) = store.other_side(inb) {
                prop_assert_eq!(other, out);
            }
            let alone = calls.iter().enumerate().all(|(j, &(p, s, l, _, _))| {
                j == i || p != path || s + l + 2 < start || start + len + 2 < s
            });
            if alone {
                prop_assert_eq!(store.other_side(out), Some(inb));
            }
        }
    }

    /// Whatever the tap missed, pairs are mutual and fit the rule.
    #[test]
    fn pairs_are_mutual_and_fit_the_rule(calls in calls()) {
        let (store, _) = replay(&calls);
        for request in store.requests() {
            if let Some(other) = store.other_side(request.seq) {
                prop_assert_eq!(store.other_side(other), Some(request.seq));
                let other = store.get(other).expect("held");
                let (out, inb) = match request.direction() {
                    Direction::Outbound => (request, other),
                    _ => (other, request),
                };
                prop_assert!(super::same_call(out, inb));
            }
        }
    }
}
