//! Render snapshots of a session with two clusters (`--context east,west`): the cluster column,
//! the status bar's word per cluster (west down: one red word), per-cluster routes, and the detail
//! of a request that leaves east for west linked to its other half.

use std::time::Duration;

use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::{
    ClusterName, Direction, Endpoint, Headers, HttpEvent, Labels, RequestInit, ResponseEnd,
    ResponseInit, StreamId, TapEvent,
};
use meshtap::session::{ErrorKind, SessionInfo, SourceMsg, StreamError, StreamState};

use super::{at, endpoint, render, snapshot, t0};

const GATEWAY_ID: &str =
    "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local";

/// One call as its three events, reported in `cluster`.
struct Call<'a> {
    cluster: &'a ClusterName,
    stream: u64,
    direction: Direction,
    source: Endpoint,
    destination: Endpoint,
    authority: &'a str,
    path: &'a str,
    start_ms: i64,
    latency_ms: u64,
}

fn events(c: &Call) -> Vec<TapEvent> {
    let id = StreamId {
        base: 1,
        stream: c.stream,
    };
    let event = |http, ms: i64| TapEvent {
        cluster: Some(c.cluster.clone()),
        arrived: at(ms),
        source: c.source.clone(),
        destination: c.destination.clone(),
        direction: c.direction,
        route: Labels::default(),
        http: Some(http),
    };
    let latency = Duration::from_millis(c.latency_ms);
    let latency_ms = i64::try_from(c.latency_ms).expect("latency");
    vec![
        event(
            HttpEvent::RequestInit(RequestInit {
                id,
                method: Some("GET".into()),
                scheme: Some("http".into()),
                authority: c.authority.into(),
                path: c.path.into(),
                headers: Headers::default(),
                matched_route: None,
            }),
            c.start_ms,
        ),
        event(
            HttpEvent::ResponseInit(ResponseInit {
                id,
                since_request_init: Some(latency),
                http_status: 200,
                headers: Headers::default(),
            }),
            c.start_ms + latency_ms,
        ),
        event(
            HttpEvent::ResponseEnd(ResponseEnd {
                id,
                since_request_init: Some(latency + Duration::from_millis(1)),
                since_response_init: Some(Duration::from_millis(1)),
                response_bytes: 512,
                eos: None,
                trailers: Headers::default(),
            }),
            c.start_ms + latency_ms + 1,
        ),
    ]
}

fn front_end() -> Endpoint {
    endpoint(
        "10.42.0.7",
        41000,
        &[
            ("namespace", "sock-shop"),
            ("deployment", "front-end"),
            ("pod", "front-end-6d8f9c7b5-x2x9q"),
        ],
    )
}

/// Two clusters: east's front-end calls its own catalogue and west's carts through the mirrored
/// `carts-west`; west's carts sees the call arrive from its gateway. west's stream is down.
fn state(width: u16, height: u16) -> AppState {
    let info = SessionInfo {
        context: "east,west".into(),
        targets: vec!["deploy/front-end".into(), "deploy/front-end".into()],
        sampling: "max 100 rps per target".into(),
        clusters: vec!["east".into(), "west".into()],
    };
    let mut state = meshtap_testkit::app(1_000, info, width, height, t0());
    let (east, west) = (ClusterName::new("east"), ClusterName::new("west"));
    let local = Call {
        cluster: &east,
        stream: 1,
        direction: Direction::Outbound,
        source: front_end(),
        destination: endpoint(
            "10.42.1.12",
            8080,
            &[
                ("namespace", "sock-shop"),
                ("deployment", "catalogue"),
                ("tls", "true"),
            ],
        ),
        authority: "catalogue.sock-shop.svc.cluster.local:80",
        path: "/catalogue",
        start_ms: 100,
        latency_ms: 4,
    };
    let leaving = Call {
        cluster: &east,
        stream: 2,
        direction: Direction::Outbound,
        source: front_end(),
        destination: endpoint(
            "172.18.0.9",
            4143,
            &[("server_id", GATEWAY_ID), ("tls", "true")],
        ),
        authority: "carts-west.sock-shop.svc.cluster.local:80",
        path: "/carts/57a98d98/items",
        start_ms: 200,
        latency_ms: 30,
    };
    let arriving = Call {
        cluster: &west,
        stream: 7,
        direction: Direction::Inbound,
        source: endpoint(
            "10.43.0.5",
            52000,
            &[("client_id", GATEWAY_ID), ("tls", "true")],
        ),
        destination: endpoint(
            "10.43.2.4",
            8080,
            &[
                ("namespace", "sock-shop"),
                ("deployment", "carts"),
                ("pod", "carts-5f8b7c-qq2lm"),
            ],
        ),
        authority: "carts.sock-shop.svc.cluster.local:80",
        path: "/carts/57a98d98/items",
        start_ms: 210,
        latency_ms: 12,
    };
    let mut all: Vec<TapEvent> = [&local, &leaving, &arriving]
        .into_iter()
        .flat_map(events)
        .collect();
    // One timeline by arrival time, as the merged channel delivers it.
    all.sort_by_key(|e| e.arrived);
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Connected,
        },
        at(0),
    );
    state.ingest(SourceMsg::Events(all), at(300));
    state.ingest(
        SourceMsg::State {
            stream: 1,
            state: StreamState::Failed(StreamError::new(
                ErrorKind::Refused,
                "the connection to the server 127.0.0.1:6443 was refused",
            )),
        },
        at(400),
    );
    state
}

#[test]
fn two_clusters_show_a_cluster_column_and_a_word_each() {
    for (width, height) in [(80, 24), (160, 48)] {
        let state = state(width, height);
        let text = render(&state, at(1_500));
        assert!(text.contains("cluster"), "{text}");
        assert!(
            text.contains("east ok") && text.contains("west down"),
            "{text}"
        );
        snapshot("clusters_requests", &state);
    }
}

#[test]
fn a_leaving_request_names_its_target_and_its_other_half() {
    let mut state = state(160, 48);
    // Rows are newest first by default; find the leaving call (seq 1) by moving down.
    state.handle(Action::Top, at(1_500));
    let mut opened = false;
    for _ in 0..3 {
        state.handle(Action::Open, at(1_500));
        let seq = state.overlays.detail().map(|d| d.seq);
        if seq == Some(1) {
            opened = true;
            break;
        }
        state.handle(Action::Back, at(1_500));
        state.handle(Action::Down, at(1_500));
    }
    assert!(opened, "the leaving request can be opened");
    let text = render(&state, at(1_500));
    assert!(text.contains("leaves for cluster west"), "{text}");
    assert!(text.contains("other side: #2 in west"), "{text}");
    snapshot("clusters_detail", &state);
}

#[test]
fn routes_are_per_cluster() {
    let mut state = state(160, 48);
    state.handle(Action::ShowPane(Pane::Routes), at(1_500));
    let text = render(&state, at(1_500));
    assert!(text.contains("east/catalogue GET /catalogue"), "{text}");
    assert!(text.contains("west/carts GET /carts"), "{text}");
    snapshot("clusters_routes", &state);
}
