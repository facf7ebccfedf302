//! The simulated mesh behind `meshtap demo`: determinism, the labels of PROTOCOL.md §3, and the
//! tap server's behaviour (targets, matches, errors, sampling) on a virtual clock.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::BytesMut;
use meshtap::demo::api::{TapApi, TapReply};
use meshtap::demo::sim::generate;
use meshtap::demo::tapper::{Session, SimTapApi, TICK_NS};
use meshtap::proto::tap::tap_by_resource_request::{Extract, Match, extract, r#match};
use meshtap::proto::tap::tap_event::{self, ProxyDirection, http};
use meshtap::proto::tap::{TapByResourceRequest, TapEvent};
use meshtap::proto::viz;
use prost::Message as _;

fn resource(namespace: &str, kind: &str, name: &str) -> viz::ResourceSelection {
    viz::ResourceSelection {
        resource: Some(viz::Resource {
            namespace: namespace.into(),
            r#type: kind.into(),
            name: name.into(),
        }),
        label_selector: String::new(),
    }
}

fn all(matches: Vec<r#match::Match>) -> Match {
    Match {
        r#match: Some(r#match::Match::All(r#match::Seq {
            matches: matches
                .into_iter()
                .map(|m| Match { r#match: Some(m) })
                .collect(),
        })),
    }
}

fn http_match(m: r#match::http::Match) -> r#match::Match {
    r#match::Match::Http(r#match::Http { r#match: Some(m) })
}

fn request(namespace: &str, kind: &str, name: &str, max_rps: f32) -> TapByResourceRequest {
    TapByResourceRequest {
        target: Some(resource(namespace, kind, name)),
        r#match: Some(all(vec![])),
        max_rps,
        extract: None,
    }
}

fn session(api: &SimTapApi, req: &TapByResourceRequest) -> Session {
    match api.session(req) {
        Ok(s) => s,
        Err(reply) => panic!("tap rejected: {reply:?}"),
    }
}

/// Runs a session for `secs` virtual seconds and decodes everything it sent.
fn run(mut s: Session, secs: u64) -> Vec<TapEvent> {
    let mut buf = BytesMut::new();
    for _ in 0..secs * 1_000_000_000 / TICK_NS {
        s.advance(TICK_NS, &mut buf);
    }
    decode(&buf)
}

fn decode(mut buf: &[u8]) -> Vec<TapEvent> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        out.push(TapEvent::decode(&buf[4..4 + len]).expect("frame decodes"));
        buf = &buf[4 + len..];
    }
    assert!(buf.is_empty(), "no partial frame");
    out
}

fn labels(meta: Option<&meshtap::proto::tap::EndpointMeta>) -> BTreeMap<String, String> {
    meta.map(|m| m.labels.clone().into_iter().collect())
        .unwrap_or_default()
}

fn http_event(e: &TapEvent) -> &http::Event {
    match &e.event {
        Some(tap_event::Event::Http(h)) => h.event.as_ref().expect("http event"),
        None => panic!("no event"),
    }
}

fn request_inits(events: &[TapEvent]) -> Vec<&http::RequestInit> {
    events
        .iter()
        .filter_map(|e| match http_event(e) {
            http::Event::RequestInit(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// The pod whose proxy reported the event.
fn reporter(e: &TapEvent) -> String {
    let meta = if e.proxy_direction == ProxyDirection::Inbound as i32 {
        labels(e.destination_meta.as_ref())
    } else {
        labels(e.source_meta.as_ref())
    };
    meta.get("pod").cloned().expect("hydrated pod label")
}

fn id(e: &TapEvent) -> (u32, u64) {
    let id = match http_event(e) {
        http::Event::RequestInit(r) => r.id,
        http::Event::ResponseInit(r) => r.id,
        http::Event::ResponseEnd(r) => r.id,
    };
    let id = id.expect("stream id");
    (id.base, id.stream)
}

#[test]
fn same_seed_same_events_and_different_seeds_differ() {
    let a = generate(42, 400);
    assert_eq!(a.len(), 400);
    assert_eq!(a, generate(42, 400));
    assert_ne!(a, generate(43, 400));
}

#[test]
fn both_directions_identities_and_tls_labels() {
    let events = generate(7, 6_000);
    let (mut inbound, mut outbound, mut plaintext) = (0, 0, 0);
    for e in &events {
        let (s, d) = (
            labels(e.source_meta.as_ref()),
            labels(e.destination_meta.as_ref()),
        );
        if e.proxy_direction == ProxyDirection::Outbound as i32 {
            outbound += 1;
            assert_eq!(s.get("tls").map(String::as_str), Some("loopback"));
            assert_eq!(d.get("tls").map(String::as_str), Some("true"));
            let want = format!(
                "{}.{}.serviceaccount.identity.linkerd.cluster.local",
                d["serviceaccount"], d["namespace"]
            );
            assert_eq!(d.get("server_id"), Some(&want));
            assert_eq!(
                d.get("control_plane_ns").map(String::as_str),
                Some("linkerd")
            );
        } else {
            inbound += 1;
            assert_eq!(d.get("tls").map(String::as_str), Some("loopback"));
            assert!(
                d.contains_key("srv_kind")
                    && d.contains_key("authz_name")
                    && d.contains_key("route_kind")
            );
            if s["namespace"] == "loadtest" {
                plaintext += 1;
                assert_eq!(s.get("tls").map(String::as_str), Some("no_tls_from_remote"));
                assert!(!s.contains_key("client_id"));
            } else {
                assert_eq!(s.get("tls").map(String::as_str), Some("true"));
                let want = format!(
                    "{}.{}.serviceaccount.identity.linkerd.cluster.local",
                    s["serviceaccount"], s["namespace"]
                );
                assert_eq!(s.get("client_id"), Some(&want));
            }
        }
    }
    assert!(
        inbound > 0 && outbound > 0 && plaintext > 0,
        "{inbound} {outbound} {plaintext}"
    );
}

#[test]
fn trios_are_ordered_and_ends_are_plausible() {
    let events = generate(3, 8_000);
    let mut seen: BTreeMap<(i32, String, u32, u64), u8> = BTreeMap::new();
    let (mut grpc_errors, mut http_ends, mut resets, mut routes, mut auth) = (0, 0, 0, 0, 0);
    for e in &events {
        let key = (e.proxy_direction, reporter(e), id(e).0, id(e).1);
        let phase = match http_event(e) {
            http::Event::RequestInit(r) => {
                auth += usize::from(
                    r.headers
                        .iter()
                        .flat_map(|h| &h.headers)
                        .any(|h| h.name == "authorization"),
                );
                0
            }
            http::Event::ResponseInit(_) => 1,
            http::Event::ResponseEnd(end) => {
                match end.eos.as_ref().expect("proxies always send eos").end {
                    Some(viz::eos::End::GrpcStatusCode(c)) if c != 0 => grpc_errors += 1,
                    Some(viz::eos::End::ResetErrorCode(_)) => resets += 1,
                    None => http_ends += 1,
                    _ => {}
                }
                2
            }
        };
        routes += usize::from(
            e.route_meta
                .as_ref()
                .is_some_and(|r| r.labels.contains_key("route")),
        );
        let prev = seen.insert(key.clone(), phase);
        match phase {
            0 => assert_eq!(prev, None, "stream id reused: {key:?}"),
            _ => assert!(prev.is_some_and(|p| p < phase), "{key:?} out of order"),
        }
    }
    assert!(
        grpc_errors > 0 && http_ends > 0 && routes > 0 && auth > 0,
        "{grpc_errors} {http_ends} {routes} {auth}"
    );
    let _ = resets;
}

fn matched(m: r#match::Match, target: (&str, &str, &str)) -> Vec<TapEvent> {
    let api = SimTapApi::new(11, 400.0);
    let mut req = request(target.0, target.1, target.2, 10_000.0);
    req.r#match = Some(all(vec![m]));
    run(session(&api, &req), 20)
}

#[test]
fn http_matches_are_honoured() {
    use r#match::http::Match as H;
    let posts = matched(
        http_match(H::Method("POST".into())),
        ("", "namespace", "sock-shop"),
    );
    let inits = request_inits(&posts);
    assert!(!inits.is_empty());
    assert!(
        inits
            .iter()
            .all(|r| r.method.as_ref().and_then(|m| m.r#type.clone())
                == Some(viz::http_method::Type::Registered(1)))
    );

    let cat = matched(
        http_match(H::Authority("catalogue".into())),
        ("", "namespace", "sock-shop"),
    );
    assert!(!request_inits(&cat).is_empty());
    assert!(
        request_inits(&cat)
            .iter()
            .all(|r| r.authority == "catalogue")
    );

    let paths = matched(
        http_match(H::Path("/catalogue".into())),
        ("", "namespace", "sock-shop"),
    );
    let inits = request_inits(&paths);
    assert!(
        inits.iter().any(|r| r.path != "/catalogue"),
        "prefix, not exact"
    );
    assert!(inits.iter().all(|r| r.path.starts_with("/catalogue")));

    assert!(
        matched(
            http_match(H::Scheme("https".into())),
            ("", "namespace", "sock-shop")
        )
        .is_empty()
    );
    assert!(
        !matched(
            http_match(H::Scheme("http".into())),
            ("", "namespace", "sock-shop")
        )
        .is_empty()
    );
}

#[test]
fn destinations_keep_only_outbound_to_that_resource() {
    let events = matched(
        r#match::Match::Destinations(resource("sock-shop", "deployment", "catalogue")),
        ("sock-shop", "deployment", "front-end"),
    );
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e.proxy_direction, ProxyDirection::Outbound as i32);
        assert_eq!(
            labels(e.destination_meta.as_ref())
                .get("deployment")
                .map(String::as_str),
            Some("catalogue")
        );
    }
}

#[test]
fn label_selector_narrows_the_pods() {
    let api = SimTapApi::new(5, 400.0);
    let mut req = request("", "namespace", "sock-shop", 10_000.0);
    if let Some(t) = req.target.as_mut() {
        t.label_selector = "app=carts".into();
    }
    let events = run(session(&api, &req), 10);
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| reporter(e).starts_with("carts-") && !reporter(e).starts_with("carts-db"))
    );
}

#[test]
fn unsupported_matches_are_rejected_like_linkerd() {
    let api = SimTapApi::new(1, 50.0);
    let mut req = request("sock-shop", "deployment", "carts", 0.0);
    req.r#match = Some(Match {
        r#match: Some(r#match::Match::Any(r#match::Seq { matches: vec![] })),
    });
    let Err(TapReply::LinkerdError(msg)) = api.session(&req) else {
        panic!("any accepted")
    };
    assert!(msg.starts_with("unexpected match specified"), "{msg}");

    req.r#match = Some(all(vec![r#match::Match::Not(Box::new(Match {
        r#match: None,
    }))]));
    let Err(TapReply::LinkerdError(msg)) = api.session(&req) else {
        panic!("not accepted")
    };
    assert!(msg.starts_with("unknown match type"), "{msg}");

    req.r#match = None;
    assert!(matches!(api.session(&req), Err(TapReply::LinkerdError(_))));
}

#[test]
fn unknown_and_unmeshed_targets_have_no_pods_to_tap() {
    let api = SimTapApi::new(1, 50.0);
    for (ns, kind, name) in [
        ("sock-shop", "deployment", "xyz"),
        ("", "namespace", "nowhere"),
        ("loadtest", "deployment", "load-generator"),
    ] {
        let Err(TapReply::LinkerdError(msg)) = api.session(&request(ns, kind, name, 0.0)) else {
            panic!("{name} accepted")
        };
        assert_eq!(msg, format!("no pods to tap for {kind}/{name}\n"));
    }
}

#[test]
fn forbidden_namespace_answers_403() {
    let api = SimTapApi::new(1, 50.0);
    let Err(TapReply::KubeStatus {
        code,
        reason,
        message,
    }) = api.session(&request("restricted", "deployment", "vault", 0.0))
    else {
        panic!("restricted accepted")
    };
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert!(message.contains("cannot watch resource \"deployments/tap\" in API group \"tap.linkerd.io\" in the namespace \"restricted\""), "{message}");
}

#[test]
fn sampling_splits_max_rps_and_opens_a_window_per_second() {
    let api = SimTapApi::new(9, 3_000.0);
    let s = session(&api, &request("sock-shop", "deployment", "front-end", 10.0));
    assert_eq!(s.plan().pods.len(), 3);
    assert_eq!(
        s.plan().limit,
        3,
        "10 rps over 3 pods: 3 per pod per window"
    );
    let secs = 6;
    let events = run(s, secs);
    let mut windows: BTreeMap<String, BTreeMap<u32, BTreeSet<u64>>> = BTreeMap::new();
    for e in &events {
        let (base, stream) = id(e);
        windows
            .entry(reporter(e))
            .or_default()
            .entry(base)
            .or_default()
            .insert(stream);
    }
    assert_eq!(windows.len(), 3);
    for (pod, bases) in &windows {
        // A new Observe per window: bases count up from 0, each window tapping streams 0..3.
        assert!(
            bases.keys().copied().eq(0..bases.len() as u32),
            "{pod}: {bases:?}"
        );
        assert!(
            bases.len() as u64 <= secs + 1 && bases.len() >= 3,
            "{pod}: {} windows",
            bases.len()
        );
        assert!(
            bases
                .values()
                .all(|s| s.iter().copied().eq(0..s.len() as u64) && s.len() <= 3)
        );
    }
}

#[tokio::test]
async fn served_taps_stream_frames_until_dropped() {
    let api = SimTapApi::new(2, 2_000.0);
    let mut req = request("", "namespace", "sock-shop", 0.0);
    req.extract = Some(Extract {
        extract: Some(extract::Extract::Http(extract::Http {
            extract: Some(extract::http::Extract::Headers(extract::http::Headers {})),
        })),
    });
    let TapReply::Stream(mut rx) = api.tap(
        "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/sock-shop/tap",
        req,
    ) else {
        panic!("not a stream")
    };
    let chunk = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a chunk in time")
        .expect("open");
    let events = decode(&chunk);
    assert!(!events.is_empty());
    drop(rx);
}
