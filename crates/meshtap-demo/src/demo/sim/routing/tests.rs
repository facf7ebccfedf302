//! Routing over a seeded stream: the split's shares, the timeouts, the retries and the refusal,
//! each checked against the policy that caused it.

use bytes::BytesMut;
use prost::Message as _;

use super::*;
use crate::demo::sim::Traffic;
use crate::demo::tapper::{Session, TICK_NS};
use crate::proto::tap;
use crate::proto::tap::tap_event::{self, http};

const SEED: u64 = 11;
const RATE: f64 = 2_000.0;
const UNTIL_NS: u64 = 30_000_000_000;

/// Every call and retry of the seeded stream up to [`UNTIL_NS`].
fn calls() -> (Arc<Mesh>, Arc<Routing>, Vec<Call>) {
    let mesh = Arc::new(Mesh::demo());
    let mut traffic = Traffic::new(mesh.clone(), SEED, RATE);
    let mut out = Vec::new();
    while let Some(call) = traffic.next_before(UNTIL_NS) {
        out.push(call);
    }
    (mesh, traffic.routing().clone(), out)
}

fn route_name<'a>(routing: &'a Routing, call: &Call) -> &'a str {
    routing.rule(call).map_or("", |(r, _)| &*r.route.name)
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

#[test]
fn catalogue_split_sends_canaries_to_v2_and_splits_the_rest_by_weight() {
    let (mesh, routing, calls) = calls();
    let to_catalogue: Vec<&Call> = calls
        .iter()
        .filter(|c| (c.route().client, c.route().server) == CANARY_EDGE)
        .collect();
    let served_by = |c: &Call| mesh.workload_of(c.server).name;
    let (canary, rest): (Vec<&Call>, Vec<&Call>) =
        to_catalogue.iter().partition(|c| c.routed.canary);
    assert!(rest.len() > 1_000, "{}", rest.len());
    let canary_share = share(canary.len(), to_catalogue.len());
    assert!((0.07..0.13).contains(&canary_share), "{canary_share}");
    for c in &canary {
        assert_eq!(c.routed.rule, Some((0, 0)));
        assert_eq!(served_by(c), "catalogue-v2");
    }
    assert!(rest.iter().all(|c| c.routed.rule == Some((0, 1))));
    let v2 = rest
        .iter()
        .filter(|c| served_by(c) == "catalogue-v2")
        .count();
    let v2_share = share(v2, rest.len());
    assert!((0.07..0.13).contains(&v2_share), "{v2_share}");
    assert!(
        rest.iter()
            .all(|c| route_name(&routing, c) == "catalogue-split")
    );
}

#[test]
fn carts_timeouts_ends_only_slow_rule_0_requests() {
    let (_, routing, calls) = calls();
    let carts: Vec<&Call> = calls
        .iter()
        .filter(|c| route_name(&routing, c) == "carts-timeouts")
        .collect();
    let timed_out: Vec<&&Call> = carts.iter().filter(|c| c.routed.timed_out).collect();
    assert!(!timed_out.is_empty());
    for c in &timed_out {
        assert_eq!(c.routed.rule, Some((0, 0)));
        assert_eq!(c.route().method, 1, "POST");
        assert_eq!(
            c.outcome,
            Outcome::Cancelled {
                after_ns: 2_000_000_000
            }
        );
        assert_eq!(c.http_status, 504);
        assert!(c.server_ns + c.in_delay + c.hop_ns > 2_000_000_000);
        let t = c.timeline(Side::Outbound);
        assert_eq!((t.response, t.end), (None, None));
        assert_eq!(t.release_at, c.start + 2_000_000_000);
    }
    // Rule 0 completes every request that answers in time; rule 1 has no timeout.
    assert!(
        carts
            .iter()
            .filter(|c| c.routed.rule == Some((0, 1)))
            .all(|c| !c.routed.timed_out)
    );
    let rule0 = carts
        .iter()
        .filter(|c| c.routed.rule == Some((0, 0)))
        .count();
    assert!(
        timed_out.len() < rule0 / 10,
        "{} of {rule0}",
        timed_out.len()
    );
}

#[test]
fn voting_retries_retries_unavailable_doughnut_votes_at_most_twice() {
    let (_, routing, calls) = calls();
    let doughnut = |c: &Call| c.route().path.ends_with("/VoteDoughnut");
    let mut retried = 0;
    for c in calls
        .iter()
        .filter(|c| route_name(&routing, c) == "voting-retries")
    {
        if !doughnut(c) {
            assert_eq!((c.routed.rule, c.routed.retries), (Some((0, 1)), 0));
            continue;
        }
        assert_eq!(c.routed.rule, Some((0, 0)));
        assert!(c.routed.retries <= 2 && c.routed.attempt <= c.routed.retries);
        // Every attempt but the last failed with UNAVAILABLE; retries start after it ended.
        if !c.routed.is_final() {
            assert_eq!(c.grpc_status, Some(UNAVAILABLE));
        }
        if c.routed.attempt > 0 {
            retried += 1;
            assert!(c.start > c.routed.first_start);
        }
    }
    assert!(retried > 10, "{retried}");
}

#[test]
fn refunds_are_refused_by_payment_and_nothing_else_is() {
    let (mesh, _, calls) = calls();
    let denied: Vec<&Call> = calls.iter().filter(|c| c.routed.denied).collect();
    assert!(denied.len() > 5, "{}", denied.len());
    for c in &denied {
        assert_eq!(c.route().path, REFUND_PATHS.1);
        assert_eq!(mesh.workload_of(c.server).name, "payment");
        assert_eq!((c.http_status, c.bytes), (403, 0));
    }
    assert!(
        calls
            .iter()
            .filter(|c| c.route().path == REFUND_PATHS.1)
            .all(|c| c.routed.denied)
    );
}

#[test]
fn routing_is_seeded() {
    let mesh = Arc::new(Mesh::demo());
    let mut a = Traffic::new(mesh.clone(), 5, RATE);
    let mut b = Traffic::new(mesh, 5, RATE);
    for _ in 0..5_000 {
        let (x, y) = (a.next_before(u64::MAX), b.next_before(u64::MAX));
        let (x, y) = (x.expect("call"), y.expect("call"));
        assert_eq!((x.start, x.server, x.routed), (y.start, y.server, y.routed));
    }
}

/// Every decoded event of an unsampled tap of the whole mesh up to [`UNTIL_NS`].
fn tapped() -> Vec<tap::TapEvent> {
    let mut session = Session::everything(Arc::new(Mesh::demo()), SEED, RATE);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for _ in 0..UNTIL_NS / TICK_NS {
        session.advance(TICK_NS, &mut buf);
        while buf.len() >= 4 {
            let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            let frame = buf.split_to(4 + len);
            out.push(tap::TapEvent::decode(&frame[4..]).expect("the session encodes frames"));
        }
    }
    out
}

#[test]
fn a_refusal_is_a_bare_403_on_the_clients_outbound_side_only() {
    let events = tapped();
    let http_event = |e: &tap::TapEvent| match &e.event {
        Some(tap::tap_event::Event::Http(h)) => h.event.clone(),
        None => None,
    };
    // Stream ids are per proxy: the client's address tells the proxies apart.
    let key = |e: &tap::TapEvent, id: Option<http::StreamId>| {
        (format!("{:?}", e.source), id.map(|i| (i.base, i.stream)))
    };
    let mut refunds = std::collections::HashMap::new();
    let mut inbound_refunds = 0;
    for e in &events {
        let outbound = e.proxy_direction == tap_event::ProxyDirection::Outbound as i32;
        match http_event(e) {
            Some(http::Event::RequestInit(init)) if init.path == REFUND_PATHS.1 => {
                if outbound {
                    refunds.insert(key(e, init.id), None);
                } else {
                    inbound_refunds += 1;
                }
            }
            Some(http::Event::ResponseInit(rsp))
                if outbound && refunds.contains_key(&key(e, rsp.id)) =>
            {
                let names: Vec<String> = rsp
                    .headers
                    .iter()
                    .flat_map(|h| h.headers.iter().map(|h| h.name.clone()))
                    .collect();
                refunds.insert(key(e, rsp.id), Some((rsp.http_status, names)));
            }
            _ => {}
        }
    }
    assert!(refunds.len() > 5, "{}", refunds.len());
    assert_eq!(
        inbound_refunds, 0,
        "the policy check sits outside inbound tap"
    );
    for answer in refunds.values().flatten() {
        assert_eq!(answer, &(403, vec!["content-length".to_owned()]));
    }
}
