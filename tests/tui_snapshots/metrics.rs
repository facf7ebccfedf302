//! The metrics API's figures in the routes and identities panes, ingested as the poller sends
//! them: Prometheus columns (wide) or the selected row's footer (narrow), `[DEFAULT]` figures
//! dimmed on unprofiled rows, edges only the metrics API knows, and the unreachable case.

use std::time::Duration;

use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::Labels;
use meshtap::model::figures::{EdgeMetric, MetricsResource, RouteMetric};
use meshtap::model::figures::{MetricsSnapshot, NamespacedRoute};
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

fn deploy(name: &str) -> MetricsResource {
    MetricsResource {
        namespace: "sock-shop".into(),
        kind: "deployment".into(),
        name: name.into(),
    }
}

fn id(name: &str) -> String {
    format!("{name}.sock-shop.serviceaccount.identity.linkerd.cluster.local")
}

fn snapshot() -> MetricsSnapshot {
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
