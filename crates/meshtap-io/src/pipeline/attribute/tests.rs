//! The stage against a real controller on loopback: requests attributed, a watch update changing
//! the attribution, the controller gone (said once, new targets fall back) and back (reconnect);
//! and the cache's bounds.

use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::model::event::{Endpoint, Header, Headers, Labels, RequestInit, StreamId};
use crate::model::policy::RouteSource;
use crate::source::policy::cache::{POLICY_IDLE, POLICY_WATCHES_MAX};
use crate::source::policy::tests::{FakeController, catalogue_policy, dead_addr, loopback, target};

/// Attempts at something that happens after a reconnect; each waits [`STEP`].
const ATTEMPTS: usize = 80;
const STEP: Duration = Duration::from_millis(250);

/// An outbound request from front-end to `authority`, served by an endpoint of `service`, tapped
/// with its headers (`accept` and `headers`): without them a header match is unknown.
fn outbound(authority: &str, service: &str, headers: &[(&str, &str)]) -> TapEvent {
    let labels = |pairs: &[(&str, &str)]| pairs.iter().copied().collect::<Labels>();
    TapEvent {
        cluster: None,
        arrived: Utc::now(),
        source: Endpoint {
            addr: None,
            labels: labels(&[("namespace", "sock-shop"), ("pod", "front-end-1")]),
        },
        destination: Endpoint {
            addr: None,
            labels: labels(&[("namespace", "sock-shop"), ("service", service)]),
        },
        direction: crate::model::event::Direction::Outbound,
        route: Labels::default(),
        http: Some(HttpEvent::RequestInit(RequestInit {
            id: StreamId::default(),
            method: Some("GET".into()),
            scheme: Some("http".into()),
            authority: authority.into(),
            path: "/catalogue".into(),
            headers: [("accept", "*/*")]
                .iter()
                .chain(headers)
                .map(|(n, v)| Header::str(n, v))
                .collect::<Headers>(),
            matched_route: None,
        })),
    }
}

fn matched(event: &TapEvent) -> Option<&MatchedRoute> {
    match &event.http {
        Some(HttpEvent::RequestInit(init)) => init.matched_route.as_deref(),
        _ => None,
    }
}

/// Sends one batch through the stage and returns it with what else came out (notices).
async fn pass(
    tx: &mpsc::Sender<SourceMsg>,
    rx: &mut mpsc::Receiver<SourceMsg>,
    events: Vec<TapEvent>,
    notices: &mut Vec<String>,
) -> Vec<TapEvent> {
    tx.send(SourceMsg::Events(events))
        .await
        .expect("stage runs");
    // Bounded: the stage passes every batch on after at most FIRST_POLICY_WAIT.
    for _ in 0..16 {
        match rx.recv().await.expect("stage runs") {
            SourceMsg::Events(events) => return events,
            SourceMsg::Notice(notice) => notices.push(notice),
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("no batch came out");
}

fn stage(addr: &str) -> (mpsc::Sender<SourceMsg>, mpsc::Receiver<SourceMsg>) {
    let (tx, rx) = mpsc::channel(4);
    let client = PolicyClient::lazy(addr).expect("address");
    let (out, _task) = attach(
        rx,
        vec![Controller {
            cluster: None,
            client,
        }],
    );
    (tx, out)
}

#[tokio::test]
async fn requests_are_attributed_and_a_watch_update_changes_the_attribution() {
    let controller = FakeController::start(loopback(), catalogue_policy("catalogue-split")).await;
    let (tx, mut rx) = stage(&controller.server.addr.to_string());
    let mut notices = Vec::new();
    // The first request of a new target waits for its policy: attributed at once.
    let events = vec![
        outbound("catalogue", "catalogue-v2", &[("x-canary", "true")]),
        outbound("catalogue", "catalogue", &[]),
        outbound("catalogue", "catalogue", &[]),
    ];
    let out = pass(&tx, &mut rx, events, &mut notices).await;
    let canary = matched(&out[0]).expect("attributed");
    assert_eq!(canary.source, RouteSource::Policy);
    assert_eq!((canary.name(), canary.rule), ("catalogue-split", Some(0)));
    assert_eq!(canary.backend.as_ref().and_then(|b| b.weight), Some(1));
    let split = matched(&out[1]).expect("attributed");
    assert_eq!((split.rule, split.backend_name()), (Some(1), "catalogue"));
    assert_eq!(split.backend.as_ref().and_then(|b| b.weight), Some(90));
    // 90 of the rule's 100: what the routes pane shows as the backend's configured share.
    assert_eq!(
        (canary.rule_weight, split.rule_weight),
        (Some(1), Some(100))
    );
    assert_eq!(split.parent_label(), "catalogue:80");
    // Requests matched alike share one value.
    let shared = |e: &TapEvent| match &e.http {
        Some(HttpEvent::RequestInit(init)) => init.matched_route.clone(),
        _ => None,
    };
    let (a, b) = (shared(&out[1]).expect("one"), shared(&out[2]).expect("two"));
    assert!(Arc::ptr_eq(&a, &b));

    controller.update(catalogue_policy("catalogue-renamed"));
    let mut seen = String::new();
    for _ in 0..ATTEMPTS {
        let out = pass(
            &tx,
            &mut rx,
            vec![outbound("catalogue", "catalogue", &[])],
            &mut notices,
        )
        .await;
        seen = matched(&out[0])
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if seen == "catalogue-renamed" {
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert_eq!(seen, "catalogue-renamed");
    assert!(notices.is_empty(), "{notices:?}");
}

#[tokio::test]
async fn a_profile_route_wins_and_inbound_and_unknown_targets_are_left_alone() {
    let controller = FakeController::start(loopback(), catalogue_policy("catalogue-split")).await;
    let (tx, mut rx) = stage(&controller.server.addr.to_string());
    let mut profiled = outbound("catalogue", "catalogue", &[]);
    profiled.route = [("route", "GET /catalogue")].into_iter().collect();
    let mut inbound = outbound("catalogue", "catalogue", &[]);
    inbound.direction = crate::model::event::Direction::Inbound;
    let unknown = outbound("nope", "nope", &[]);
    let out = pass(
        &tx,
        &mut rx,
        vec![profiled, inbound, unknown],
        &mut Vec::new(),
    )
    .await;
    assert!(out.iter().all(|e| matched(e).is_none()), "{out:?}");
}

#[tokio::test]
async fn a_controller_gone_is_said_once_new_targets_fall_back_and_it_is_found_again() {
    let controller = FakeController::start(loopback(), catalogue_policy("catalogue-split")).await;
    let addr = controller.server.addr;
    let (tx, mut rx) = stage(&addr.to_string());
    let mut notices = Vec::new();
    let out = pass(
        &tx,
        &mut rx,
        vec![outbound("catalogue", "catalogue", &[])],
        &mut notices,
    )
    .await;
    assert!(matched(&out[0]).is_some());

    // Gone: its watches end (the generation's owner is dropped) and nothing listens; the
    // catalogue watch finds that out when it asks again, and says so.
    drop(controller);
    for _ in 0..ATTEMPTS {
        pass(
            &tx,
            &mut rx,
            vec![outbound("catalogue", "catalogue", &[])],
            &mut notices,
        )
        .await;
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("unreachable"), "{}", notices[0]);
    assert!(notices[0].contains("path templates"), "{}", notices[0]);
    // carts is new: no policy can come, so it falls back (to templates in the views).
    let out = pass(
        &tx,
        &mut rx,
        vec![outbound("carts", "carts", &[])],
        &mut notices,
    )
    .await;
    assert!(matched(&out[0]).is_none(), "{out:?}");

    // Back on the same address: the watches reconnect on their backoff.
    let _back = FakeController::start(addr, catalogue_policy("carts-too")).await;
    let mut name = String::new();
    for _ in 0..ATTEMPTS {
        let out = pass(
            &tx,
            &mut rx,
            vec![outbound("carts", "carts", &[])],
            &mut notices,
        )
        .await;
        name = matched(&out[0])
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if name == "carts-too" {
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert_eq!(name, "carts-too");
    assert_eq!(notices.len(), 1, "said once: {notices:?}");
}

#[tokio::test]
async fn the_cache_keeps_at_most_its_bound_and_drops_idle_targets() {
    let client = PolicyClient::lazy(&dead_addr().to_string()).expect("address");
    let (notices, _rx) = mpsc::channel(1);
    let mut cache = PolicyCache::new(client, String::new(), notices);
    let start = Instant::now();
    let nth = |i: usize| target(&format!("svc-{i}.sock-shop.svc.cluster.local:80"));
    for i in 0..POLICY_WATCHES_MAX {
        // Each one later than the last: the first is the least recently used.
        cache.touch(&nth(i), start + Duration::from_millis(i as u64));
    }
    assert_eq!((cache.len(), cache.evicted()), (POLICY_WATCHES_MAX, 0));
    let later = start + Duration::from_secs(60);
    cache.touch(&nth(POLICY_WATCHES_MAX), later);
    assert_eq!((cache.len(), cache.evicted()), (POLICY_WATCHES_MAX, 1));
    assert!(!cache.contains(&nth(0)), "the oldest went");
    assert!(cache.contains(&nth(1)) && cache.contains(&nth(POLICY_WATCHES_MAX)));

    // Idle: only the target used a minute later is still within POLICY_IDLE.
    cache.sweep(start + POLICY_IDLE + Duration::from_secs(1));
    assert_eq!(cache.len(), 1);
    assert!(cache.contains(&nth(POLICY_WATCHES_MAX)));
    cache.sweep(later + POLICY_IDLE);
    assert!(cache.is_empty());
}
