//! Tap health against pods shaped like the API server's and streams shaped like Linkerd's.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::event::{
    ClusterName, Direction, Endpoint, Headers, HttpEvent, Labels, RequestInit, ResponseEnd,
    StreamId, TapEvent,
};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("time")
}

/// A pod of deployment `web` (`ReplicaSet` `web-abc12`), meshed after viz, ready, serving 8080.
fn pod(name: &str) -> Value {
    json!({
        "metadata": {
            "name": name, "namespace": "shop",
            "labels": { "app": "web", "pod-template-hash": "abc12", "linkerd.io/control-plane-ns": "linkerd" },
            "annotations": { "viz.linkerd.io/tap-enabled": "true" },
            "ownerReferences": [{ "kind": "ReplicaSet", "name": "web-abc12", "controller": true }],
        },
        "spec": { "containers": [
            { "name": "app", "ports": [{ "containerPort": 8080 }] },
            { "name": "linkerd-proxy", "ports": [{ "containerPort": 4143 }, { "containerPort": 4191 }] },
        ]},
        "status": {
            "phase": "Running",
            "conditions": [{ "type": "Ready", "status": "True" }],
            "containerStatuses": [{ "name": "app", "ready": true }, { "name": "linkerd-proxy", "ready": true }],
        },
    })
}

fn facts(pods: &[Value]) -> Vec<PodFacts> {
    PodFacts::list_from_json(&json!({ "items": pods }))
}

fn target(connected: i64) -> TargetInfo {
    TargetInfo {
        cluster: String::new(),
        target: "deploy/web".into(),
        kind: "deployment".into(),
        name: "web".into(),
        namespace: "shop".into(),
        max_rps: 0.0,
        connected_since: Some(at(connected)),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().copied().collect()
}

/// An inbound event reported by `pod`'s proxy.
fn inbound(pod: &str, http: HttpEvent, secs: i64) -> TapEvent {
    TapEvent {
        cluster: None::<ClusterName>,
        arrived: at(secs),
        source: Endpoint {
            addr: None,
            labels: labels(&[("tls", "true")]),
        },
        destination: Endpoint {
            addr: None,
            labels: labels(&[("namespace", "shop"), ("pod", pod)]),
        },
        direction: Direction::Inbound,
        route: Labels::default(),
        http: Some(http),
    }
}

fn init(stream: u64, path: &str) -> HttpEvent {
    HttpEvent::RequestInit(RequestInit {
        id: StreamId { base: 1, stream },
        method: Some(Arc::from("POST")),
        scheme: None,
        authority: Arc::from("web.shop:8080"),
        path: path.into(),
        headers: Headers::default(),
        matched_route: None,
    })
}

fn end(stream: u64) -> HttpEvent {
    HttpEvent::ResponseEnd(ResponseEnd {
        id: StreamId { base: 1, stream },
        since_request_init: None,
        since_response_init: None,
        response_bytes: 0,
        eos: None,
        trailers: Headers::default(),
    })
}

fn verdict_of<'a>(health: &'a TargetHealth, pod: &str) -> &'a Verdict {
    &health
        .pods
        .iter()
        .find(|p| p.pod == pod)
        .unwrap_or_else(|| panic!("{pod} missing from {health:#?}"))
        .verdict
}

#[test]
fn annotations_decide_what_linkerd_taps() {
    let mut disabled = pod("web-abc12-aaaaa");
    disabled["metadata"]["annotations"]["viz.linkerd.io/disable-tap"] = json!("true");
    let mut before = pod("web-abc12-bbbbb");
    before["metadata"]["annotations"] = json!({});
    let mut unmeshed = pod("web-abc12-ccccc");
    unmeshed["metadata"]["labels"] = json!({ "app": "web", "pod-template-hash": "abc12" });
    let mut proxy_off = pod("web-abc12-ddddd");
    proxy_off["metadata"]["annotations"]["config.linkerd.io/disable-tap"] = json!("True");
    let mut other = pod("api-xyz98-eeeee");
    other["metadata"]["ownerReferences"][0]["name"] = json!("api-xyz98");
    other["metadata"]["labels"]["pod-template-hash"] = json!("xyz98");
    let pods = facts(&[
        disabled,
        before,
        unmeshed,
        proxy_off,
        pod("web-abc12-fffff"),
        other,
    ]);
    let health = assess(&target(0), Ok(&pods), &Observed::default(), at(1));
    assert_eq!(health.pods.len(), 5, "api's pod is not web's");
    assert_eq!(
        verdict_of(&health, "web-abc12-aaaaa"),
        &Verdict::TapDisabled {
            annotation: "viz.linkerd.io/disable-tap".into()
        }
    );
    assert_eq!(
        verdict_of(&health, "web-abc12-bbbbb"),
        &Verdict::InjectedBeforeViz
    );
    assert_eq!(
        verdict_of(&health, "web-abc12-ccccc"),
        &Verdict::NotInjected
    );
    assert_eq!(
        verdict_of(&health, "web-abc12-ddddd"),
        &Verdict::TapDisabled {
            annotation: "config.linkerd.io/disable-tap".into()
        }
    );
    assert_eq!(verdict_of(&health, "web-abc12-fffff"), &Verdict::Tappable);
    // Linkerd splits over the pods it opens a stream to: the config-disabled one counts.
    assert_eq!(health.tapped_pods, 2);
    assert_eq!(health.per_pod_limit, 50);
    let before = health
        .pods
        .iter()
        .find(|p| p.verdict == Verdict::InjectedBeforeViz)
        .expect("before");
    assert_eq!(before.fix, "kubectl rollout restart deploy/web -n shop");
    assert!(health.needs_attention());
}

#[test]
fn a_pod_whose_proxy_is_not_ready_is_named_with_its_share() {
    let mut names = Vec::new();
    let mut pods = Vec::new();
    for i in 0..20 {
        let name = format!("web-abc12-p{i:02}");
        let mut p = pod(&name);
        if i == 7 {
            p["status"]["containerStatuses"][1]["ready"] = json!(false);
            p["status"]["conditions"][0]["status"] = json!("False");
        }
        names.push(name);
        pods.push(p);
    }
    let pods = facts(&pods);
    let mut observed = Observed::default();
    for (i, name) in names.iter().enumerate().filter(|(i, _)| *i != 7) {
        observed.observe(&inbound(name, init(i as u64, "/items"), 11), at(11));
    }
    let health = assess(&target(0), Ok(&pods), &observed, at(12));
    assert_eq!(health.per_pod_limit, 5);
    assert_eq!(
        verdict_of(&health, "web-abc12-p07"),
        &Verdict::ProxyNotReady {
            reason: String::new()
        }
    );
    assert_eq!(health.troubled().count(), 1);
    assert!(
        health.summary.contains("1 of 20 pods need attention"),
        "{}",
        health.summary
    );
    assert!(health.summary.contains("5 rps each"), "{}", health.summary);
}

#[test]
fn a_request_in_flight_past_the_window_pins_the_pod() {
    let pods = facts(&[pod("web-abc12-aaaaa")]);
    let mut observed = Observed::default();
    let name = "web-abc12-aaaaa";
    observed.observe(&inbound(name, init(0, "/watch.v1.Watcher/Watch"), 0), at(0));
    observed.observe(&inbound(name, init(1, "/watch.v1.Watcher/List"), 0), at(0));
    observed.observe(&inbound(name, end(1), 0), at(0));
    let health = assess(&target(0), Ok(&pods), &observed, at(12));
    assert_eq!(
        verdict_of(&health, name),
        &Verdict::Pinned {
            method: "POST".into(),
            path: "/watch.v1.Watcher/Watch".into(),
            in_flight_secs: 12,
        }
    );
    // Once it ends, the window is free again.
    observed.observe(&inbound(name, end(0), 12), at(12));
    let health = assess(&target(0), Ok(&pods), &observed, at(12));
    assert_eq!(verdict_of(&health, name), &Verdict::Tappable);
}

#[test]
fn an_opaque_only_pod_is_explained_once_silence_lasts() {
    let mut db = pod("web-abc12-aaaaa");
    db["metadata"]["annotations"]["config.linkerd.io/opaque-ports"] = json!("8080");
    let pods = facts(&[db]);
    let early = assess(&target(0), Ok(&pods), &Observed::default(), at(5));
    assert_eq!(
        early.pods[0].verdict,
        Verdict::Tappable,
        "too early to blame"
    );
    let late = assess(&target(0), Ok(&pods), &Observed::default(), at(10));
    assert_eq!(
        late.pods[0].verdict,
        Verdict::OpaqueOnly {
            ports: vec![8080],
            annotation: "config.linkerd.io/opaque-ports".into()
        }
    );
    assert!(
        late.summary.contains("opaque port 8080"),
        "{}",
        late.summary
    );
}

#[test]
fn a_silent_sibling_is_named_only_while_others_report() {
    let pods = facts(&[pod("web-abc12-aaaaa"), pod("web-abc12-bbbbb")]);
    let mut observed = Observed::default();
    observed.observe(&inbound("web-abc12-aaaaa", init(0, "/"), 15), at(15));
    let health = assess(&target(0), Ok(&pods), &observed, at(15));
    assert_eq!(
        verdict_of(&health, "web-abc12-bbbbb"),
        &Verdict::Silent { silent_secs: 15 }
    );
    // The whole target quiet: no pod is singled out.
    let quiet = assess(&target(0), Ok(&pods), &Observed::default(), at(15));
    assert!(!quiet.needs_attention(), "{quiet:#?}");
}

#[test]
fn an_unlisted_target_says_why_and_serializes() {
    let health = assess(
        &target(0),
        Err("cannot list pods: forbidden"),
        &Observed::default(),
        at(1),
    );
    assert!(health.needs_attention());
    let json = serde_json::to_value(&health).expect("json");
    assert_eq!(json["error"], "cannot list pods: forbidden");
    assert_eq!(json["target"], "deploy/web");
    let pods = facts(&[pod("web-abc12-aaaaa")]);
    let mut disabled = pods.clone();
    disabled[0]
        .annotations
        .insert("viz.linkerd.io/disable-tap".into(), "1".into());
    let json = serde_json::to_value(assess(
        &target(0),
        Ok(&disabled),
        &Observed::default(),
        at(1),
    ))
    .expect("json");
    assert_eq!(json["pods"][0]["verdict"], "tap_disabled");
    assert_eq!(json["pods"][0]["annotation"], "viz.linkerd.io/disable-tap");
}

#[test]
fn owners_match_targets_as_kubernetes_names_them() {
    let web = &facts(&[pod("web-abc12-aaaaa")])[0];
    assert!(web.belongs_to("deployment", "web"));
    assert!(!web.belongs_to("deployment", "we"));
    assert!(web.belongs_to("replicaset", "web-abc12"));
    assert!(web.belongs_to("namespace", "shop"));
    assert!(web.belongs_to("pod", "web-abc12-aaaaa"));
    assert!(!web.belongs_to("statefulset", "web"));
    let mut job = pod("nightly-29000000-xxxxx");
    job["metadata"]["ownerReferences"] =
        json!([{ "kind": "Job", "name": "nightly-29000000", "controller": true }]);
    let job = &facts(&[job])[0];
    assert!(job.belongs_to("cronjob", "nightly"));
    assert!(job.belongs_to("job", "nightly-29000000"));
    assert!(!job.belongs_to("cronjob", "night"));
}

#[test]
fn the_book_tells_each_target_once_when_due() {
    let mut book = HealthBook::default();
    let mut disabled = pod("web-abc12-aaaaa");
    disabled["metadata"]["annotations"]["viz.linkerd.io/disable-tap"] = json!("true");
    book.pods(PodList {
        stream: 0,
        target: target(0),
        pods: Ok(facts(&[disabled])),
    });
    assert!(
        book.take_due(at(0)).is_empty(),
        "not connected, not failed: not yet"
    );
    book.state(
        0,
        &crate::session::StreamState::Failed(crate::session::StreamError::new(
            crate::session::ErrorKind::Linkerd,
            "no pods to tap for deployment/web",
        )),
        at(1),
    );
    let due = book.take_due(at(1));
    assert_eq!(due.len(), 1);
    assert!(
        due[0].summary.contains("viz.linkerd.io/disable-tap"),
        "{}",
        due[0].summary
    );
    assert!(book.take_due(at(30)).is_empty(), "told once");
    assert!(book.status_line(at(2)).is_some_and(|l| l.ends_with(":why")));
}

#[test]
fn sampled_rate_counts_the_last_seconds() {
    let mut seen = Observed::default();
    for s in 0..30 {
        seen.observe(&inbound("web-abc12-aaaaa", init(s as u64, "/"), s), at(s));
    }
    let pod = seen.pod("", "shop", "web-abc12-aaaaa").expect("seen");
    assert_eq!(pod.recent_requests(at(29)), u64::from(RATE_WINDOW_SECS));
    assert_eq!(pod.recent_requests(at(35)), 4);
    assert_eq!(pod.recent_requests(at(60)), 0);
    assert_eq!(pod.requests, 30);
}

#[test]
fn a_cause_in_the_pods_facts_is_told_on_connect_silence_after_ten_seconds() {
    use crate::session::StreamState;
    let mut not_ready = pod("web-abc12-aaaaa");
    not_ready["status"]["containerStatuses"][1]["ready"] = json!(false);
    let mut book = HealthBook::default();
    book.pods(PodList {
        stream: 0,
        target: target(0),
        pods: Ok(facts(&[not_ready, pod("web-abc12-bbbbb")])),
    });
    book.pods(PodList {
        stream: 1,
        target: TargetInfo {
            target: "deploy/quiet".into(),
            name: "quiet".into(),
            ..target(0)
        },
        pods: Ok(facts(&[pod("quiet-abc12-ccccc").pipe_owner("quiet-abc12")])),
    });
    book.state(0, &StreamState::Connected, at(0));
    book.state(1, &StreamState::Connected, at(0));
    let now = book.take_due(at(1));
    assert_eq!(
        now.len(),
        1,
        "the not-ready proxy is known at once: {now:#?}"
    );
    assert_eq!(now[0].target, "deploy/web");
    assert!(book.take_due(at(5)).is_empty(), "silence needs ten seconds");
    let later = book.take_due(at(10));
    assert_eq!(later.len(), 1, "{later:#?}");
    assert_eq!(later[0].target, "deploy/quiet");
}

/// A pod owned by `ReplicaSet` `rs` (its pod-template-hash the part after the last dash).
trait PipeOwner {
    fn pipe_owner(self, rs: &str) -> Value;
}

impl PipeOwner for Value {
    fn pipe_owner(mut self, rs: &str) -> Value {
        let hash = rs.rsplit('-').next().unwrap_or_default().to_owned();
        self["metadata"]["ownerReferences"][0]["name"] = json!(rs);
        self["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        self
    }
}
