//! The metrics API's figures in the routes and identities panes, ingested as the poller sends
//! them: Prometheus columns (wide) or the selected row's footer (narrow), `[DEFAULT]` figures
//! dimmed on unprofiled rows, edges only the metrics API knows, a workload's `StatSummary` row in
//! the map's panel, and the unreachable case.

use std::time::Duration;

use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::Labels;
use meshtap::model::figures::{EdgeMetric, MetricsResource, RouteMetric};
use meshtap::model::figures::{MetricsSnapshot, NamespacedRoute};
use meshtap::model::figures::{WindowStats, WorkloadMetric};
use meshtap::session::{SourceMsg, StreamState};

use super::{Call, SIZES, at, call, events, render, snapshot_at, state, t0};

const NOW_MS: i64 = 2_000;

/// Front-end calls to catalogue (under its `ServiceProfile` route `GET /catalogue`), carts
/// (unprofiled) and orders (which the metrics API has no figures for).
fn calls() -> Vec<Call> {
    let services = [
        ("catalogue", "/catalogue"),
        ("carts", "/carts/57a98d98e4b00679b4a830b2/items"),
        ("orders", "/orders"),
    ];
    (0..30)
        .map(|stream| {
            let (to, path) = services[usize::try_from(stream % 3).expect("small")];
            call(stream, to, path, if stream % 10 == 4 { 503 } else { 200 })
        })
        .collect()
}

fn feed_profiled(state: &mut AppState) {
    state.tick(at(0));
    let connected = SourceMsg::State {
        stream: 0,
        state: StreamState::Connected,
    };
    state.ingest(connected, t0());
    for (i, c) in calls().iter().enumerate() {
        let ms = i64::try_from(i).expect("small") * 50;
        let mut batch = events(c, ms);
        if c.to == "catalogue" {
            for event in &mut batch {
                event.route = [("route", "GET /catalogue")]
                    .into_iter()
                    .collect::<Labels>();
            }
        }
        state.ingest(SourceMsg::Events(batch), at(ms));
    }
    state.tick(at(1_600));
}

fn route(resource: &str, route: &str, requests: u64, success: f64, p99_ms: u64) -> NamespacedRoute {
    NamespacedRoute {
        namespace: "sock-shop".into(),
        metric: RouteMetric {
            resource: resource.into(),
            route: route.into(),
            authority: Some(format!(
                "{}.sock-shop.svc.cluster.local:80",
                resource.trim_start_matches("deploy/")
            )),
            requests,
            success_rate: Some(success),
            actual_success_rate: Some(success),
            rps: requests as f64 / 60.0,
            p50_ms: p99_ms / 4,
            p95_ms: p99_ms / 2,
            p99_ms,
        },
    }
}

pub(super) fn deploy(name: &str) -> MetricsResource {
    MetricsResource {
        namespace: "sock-shop".into(),
        kind: "deployment".into(),
        name: name.into(),
    }
}

fn id(name: &str) -> String {
    format!("{name}.sock-shop.serviceaccount.identity.linkerd.cluster.local")
}

pub(super) fn snapshot() -> MetricsSnapshot {
    MetricsSnapshot {
        routes: vec![
            route("deploy/catalogue", "GET /catalogue", 1_200, 0.995, 45),
            route("deploy/catalogue", "[DEFAULT]", 60, 1.0, 9),
            route("deploy/carts", "[DEFAULT]", 900, 0.98, 120),
        ],
        edges: vec![
            // Seen live: not repeated.
            EdgeMetric {
                src: deploy("front-end"),
                dst: deploy("catalogue"),
                client_id: Some(id("front-end")),
                server_id: Some(id("catalogue")),
                no_identity_msg: None,
            },
            EdgeMetric {
                src: deploy("orders"),
                dst: deploy("payment"),
                client_id: Some(id("orders")),
                server_id: Some(id("payment")),
                no_identity_msg: None,
            },
            EdgeMetric {
                src: deploy("queue-master"),
                dst: deploy("rabbitmq"),
                client_id: None,
                server_id: None,
                no_identity_msg: Some("Not Provided By Remote".into()),
            },
        ],
        workloads: Vec::new(),
        window: Duration::from_secs(60),
        error: None,
        at: at(1_700),
    }
}

fn with_metrics(width: u16, height: u16, metrics: MetricsSnapshot, pane: Pane) -> AppState {
    let mut state = state(width, height);
    feed_profiled(&mut state);
    state.ingest(SourceMsg::Metrics(metrics), at(1_700));
    state.handle(Action::ShowPane(pane), at(NOW_MS));
    state
}

#[test]
fn routes_pane_shows_prometheus_figures_beside_the_sample() {
    for (w, h) in SIZES {
        let state = with_metrics(w, h, snapshot(), Pane::Routes);
        snapshot_at("metrics_routes", &state, at(NOW_MS));
        let text = render(&state, at(NOW_MS));
        assert!(text.contains("metrics API: 1m window"), "{text}");
        if w >= 160 {
            assert!(text.contains("Prom SR"), "{text}");
        } else {
            assert!(text.contains("Prometheus 1m"), "the narrow footer: {text}");
        }
    }
}

#[test]
fn identities_pane_adds_edges_only_the_metrics_api_knows() {
    for (w, h) in SIZES {
        let state = with_metrics(w, h, snapshot(), Pane::Identities);
        snapshot_at("metrics_identities", &state, at(NOW_MS));
        let text = render(&state, at(NOW_MS));
        assert!(text.contains("(metrics only)"), "{text}");
        assert!(text.contains("2 metrics only"), "{text}");
    }
}

#[test]
fn an_unreachable_metrics_api_is_said_and_live_data_stays() {
    let error = "the metrics API at 127.0.0.1:1 is unreachable: connection refused; \
                 the panes keep working on live data";
    let mut metrics = snapshot();
    metrics.routes.clear();
    metrics.edges.clear();
    metrics.error = Some(error.into());
    let state = with_metrics(160, 48, metrics, Pane::Routes);
    snapshot_at("metrics_unreachable", &state, at(NOW_MS));
    let text = render(&state, at(NOW_MS));
    assert!(
        text.contains("└ the metrics API at 127.0.0.1:1 is unreachable"),
        "{text}"
    );
    assert!(
        text.contains("catalogue GET /catalogue"),
        "live rows stay: {text}"
    );
    assert!(!text.contains("Prom SR"), "no empty columns: {text}");
}

#[test]
fn the_map_panel_adds_what_the_metrics_api_counted_for_the_selected_workload() {
    let plain = with_metrics(160, 48, snapshot(), Pane::Map);
    let selected = plain.map_view.selected.clone().expect("a node is selected");
    assert_eq!(selected.as_ref(), "sock-shop/deploy/front-end");
    let mut metrics = snapshot();
    let row = |name: &str, rps: f64, open: u64| WorkloadMetric {
        resource: deploy(name),
        meshed_pods: 2,
        running_pods: 3,
        failed_pods: 0,
        stats: Some(WindowStats {
            requests: 1_200,
            success_rate: Some(0.995),
            rps,
            p50_ms: 5,
            p95_ms: 20,
            p99_ms: 45,
        }),
        open_connections: Some(open),
    };
    metrics.workloads = vec![row("catalogue", 7.0, 9), row("front-end", 20.0, 14)];
    let with = with_metrics(160, 48, metrics, Pane::Map);
    let text = render(&with, at(NOW_MS));
    let panel = |prefix: &str| {
        text.lines()
            .find_map(|l| {
                l.split_once(prefix)
                    .map(|(_, rest)| rest.trim_end_matches([' ', '│']))
            })
            .unwrap_or_else(|| panic!("no {prefix:?} line in the panel:\n{text}"))
            .to_owned()
    };
    assert_eq!(panel("│api "), "in 20/s 99.5% p99 45ms");
    assert_eq!(panel("│pods "), "2/3 meshed · 14 TCP conns");
    // Only the selected node's row, and nothing without one.
    assert!(!text.contains("9 TCP"), "{text}");
    assert!(!render(&plain, at(NOW_MS)).contains("api in "));
}
