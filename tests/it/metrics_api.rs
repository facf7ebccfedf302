//! The metrics API client (`linkerd2.viz.Api`: `TopRoutes`, `StatSummary`, `Edges`) against the
//! demo's in-process server on 127.0.0.1:0: each call returns the demo's routes, workloads and
//! edges with figures consistent with the route table; failures read clearly and come back within
//! the client's own timeouts. Figures are compared with the simulation's parameters, never timed.
use std::time::Duration;

use meshtap::demo::metrics_api::{self, RunningMetricsApi, failure_share, route_rps};
use meshtap::demo::policy::CATALOGUE_SPLIT;
use meshtap::demo::sim::routes::{ROUTES, Route};
use meshtap::demo::sim::routing::CANARY_SHARE;
use meshtap::model::figures::RouteMetric;
use meshtap::source::metrics::{MetricsClient, MetricsError};
use meshtap::source::target::Resource;

/// A generous bound so a broken server fails the test instead of hanging it; never a threshold.
const PATIENCE: Duration = Duration::from_secs(60);
const RATE: f64 = 400.0;
const WINDOW: Duration = Duration::from_secs(60);

async fn served() -> (RunningMetricsApi, MetricsClient) {
    let server = metrics_api::spawn("127.0.0.1:0".parse().unwrap(), RATE)
        .await
        .unwrap();
    let client = MetricsClient::connect(&server.addr().to_string())
        .await
        .unwrap();
    (server, client)
}

fn res(text: &str, ns: &str) -> Resource {
    Resource::parse(text, ns).unwrap()
}

fn route_for(server: &str, path: &str) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.server == server && r.path == path)
        .unwrap()
}

fn row<'a>(rows: &'a [RouteMetric], name: &str) -> &'a RouteMetric {
    rows.iter()
        .find(|r| r.route == name)
        .unwrap_or_else(|| panic!("no route {name} in {rows:#?}"))
}

#[tokio::test]
async fn top_routes_of_user_match_the_route_table() {
    // user keeps a ServiceProfile (catalogue and carts are routed by HTTPRoutes now, which
    // TopRoutes does not know).
    let (_server, client) = served().await;
    let rows = tokio::time::timeout(
        PATIENCE,
        client.route_stats(&res("deploy/user", "sock-shop"), WINDOW),
    )
    .await
    .unwrap()
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.route.as_str()).collect();
    for name in [
        "GET /login",
        "POST /register",
        "GET /customers/{id}",
        "GET /addresses/{id}",
        "GET /cards/{id}",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    // Every user route has a ServiceProfile route, so nothing falls to [DEFAULT].
    assert!(!names.contains(&"[DEFAULT]"), "{names:?}");
    for (name, path) in [
        ("GET /login", "/login"),
        ("GET /addresses/{id}", "/addresses/{id}"),
    ] {
        let sim = route_for("user", path);
        let got = row(&rows, name);
        assert_eq!(got.resource, "deploy/user");
        assert_eq!(
            got.authority.as_deref(),
            Some("user.sock-shop.svc.cluster.local:80")
        );
        // Failures: the simulated error rate plus the rare resets; 401 misses are successes.
        let failed = 1.0 - got.success_rate.unwrap();
        assert!(
            failed >= sim.error_rate && failed <= sim.error_rate + 0.003,
            "{name}: {failed} vs {}",
            sim.error_rate
        );
        assert_eq!(got.actual_success_rate, got.success_rate);
        let rps = route_rps(sim, RATE);
        assert!(
            (got.rps - rps).abs() <= rps * 0.02 + 0.02,
            "{name}: {got:?}"
        );
        assert!(
            got.p50_ms.abs_diff(sim.median_ms.round() as u64) <= 1,
            "{got:?}"
        );
        assert!(
            got.p50_ms <= got.p95_ms && got.p95_ms <= got.p99_ms,
            "{got:?}"
        );
        assert!(got.p99_ms > got.p50_ms, "{got:?}");
    }
}

#[tokio::test]
async fn unprofiled_traffic_is_default_and_failures_follow_the_simulation() {
    let (_server, client) = served().await;
    // front-end has no ServiceProfile routes: everything it serves is [DEFAULT].
    let rows = client
        .route_stats(&res("deploy/front-end", "sock-shop"), WINDOW)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].route, "[DEFAULT]");
    let served: Vec<&Route> = ROUTES.iter().filter(|r| r.server == "front-end").collect();
    let rps: f64 = served.iter().map(|r| route_rps(r, RATE)).sum();
    assert!((rows[0].rps - rps).abs() <= rps * 0.02, "{rows:?}");

    // The doughnut vote always fails; the other votes fail rarely.
    let voting = client
        .route_stats(&res("deploy/voting", "emojivoto"), WINDOW)
        .await
        .unwrap();
    assert_eq!(voting[0].route, "[DEFAULT]");
    let sim: Vec<&Route> = ROUTES.iter().filter(|r| r.server == "voting").collect();
    let weight = |r: &&Route| route_rps(r, RATE);
    let expected_failed = sim
        .iter()
        .map(|r| weight(r) * failure_share(r))
        .sum::<f64>()
        / sim.iter().map(weight).sum::<f64>();
    let failed = 1.0 - voting[0].success_rate.unwrap();
    assert!(
        (failed - expected_failed).abs() < 0.01,
        "{failed} vs {expected_failed}"
    );
}

#[tokio::test]
async fn stat_summary_lists_workloads_with_pods_and_traffic() {
    let (_server, client) = served().await;
    let rows = client
        .workload_stats(&res("deploy", "sock-shop"), WINDOW)
        .await
        .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.resource.name.as_str()).collect();
    for name in [
        "front-end",
        "catalogue",
        "carts",
        "orders",
        "payment",
        "user",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert!(
        !names.contains(&"load-generator"),
        "other namespace: {names:?}"
    );
    let catalogue = rows
        .iter()
        .find(|r| r.resource.name == "catalogue")
        .unwrap();
    assert_eq!(catalogue.resource.kind, "deployment");
    assert_eq!(catalogue.resource.namespace, "sock-shop");
    assert_eq!((catalogue.meshed_pods, catalogue.running_pods), (2, 2));
    assert!(catalogue.open_connections.unwrap() > 0);
    let stats = catalogue.stats.unwrap();
    // HTTPRoute catalogue-split sends front-end's canary calls (rule 0) and a tenth of the
    // rest (rule 1, 90/10) to catalogue-v2: its metrics follow, as the proxies' would.
    let to_catalogue = |client: &str| -> f64 {
        ROUTES
            .iter()
            .filter(|r| r.server == "catalogue" && r.client == client)
            .map(|r| route_rps(r, RATE))
            .sum()
    };
    let front_end = to_catalogue("front-end");
    let weights: u32 = CATALOGUE_SPLIT.iter().map(|(_, w)| w).sum();
    let v2_weight = f64::from(CATALOGUE_SPLIT[1].1) / f64::from(weights);
    let v2_share = CANARY_SHARE + (1.0 - CANARY_SHARE) * v2_weight;
    let all: f64 = ROUTES
        .iter()
        .filter(|r| r.server == "catalogue")
        .map(|r| route_rps(r, RATE))
        .sum();
    let rps = all - front_end * v2_share;
    assert!(front_end > 0.0 && rps < all);
    assert!((stats.rps - rps).abs() <= rps * 0.02, "{stats:?} vs {rps}");
    assert!(stats.success_rate.unwrap() > 0.99, "{stats:?}");
    let v2 = rows
        .iter()
        .find(|r| r.resource.name == "catalogue-v2")
        .and_then(|r| r.stats.as_ref())
        .expect("catalogue-v2 serves part of the split");
    let v2_rps = front_end * v2_share;
    assert!(
        (v2.rps - v2_rps).abs() <= v2_rps * 0.02,
        "{v2:?} vs {v2_rps}"
    );

    // The load generator runs no proxy and receives nothing: no figures at all.
    let lg = client
        .workload_stats(&res("deploy/load-generator", "loadtest"), WINDOW)
        .await
        .unwrap();
    assert_eq!((lg[0].meshed_pods, lg[0].running_pods), (0, 1));
    assert_eq!(lg[0].stats, None);
}

#[tokio::test]
async fn edges_carry_both_identities() {
    let (_server, client) = served().await;
    let edges = client.edges("sock-shop").await.unwrap();
    let fe_cat = edges
        .iter()
        .find(|e| e.src.name == "front-end" && e.dst.name == "catalogue")
        .unwrap_or_else(|| panic!("no front-end → catalogue in {edges:#?}"));
    assert_eq!(
        fe_cat.client_id.as_deref(),
        Some("front-end.sock-shop.serviceaccount.identity.linkerd.cluster.local")
    );
    assert_eq!(
        fe_cat.server_id.as_deref(),
        Some("catalogue.sock-shop.serviceaccount.identity.linkerd.cluster.local")
    );
    assert_eq!(fe_cat.no_identity_msg, None);
    assert_eq!(fe_cat.src.kind, "deployment");
    assert!(
        edges
            .iter()
            .any(|e| e.src.name == "orders" && e.dst.name == "payment")
    );
    // The split's second backend is an edge of its own.
    assert!(
        edges
            .iter()
            .any(|e| e.src.name == "front-end" && e.dst.name == "catalogue-v2"),
        "{edges:#?}"
    );
    // The unmeshed load generator reports no outbound metrics, so Linkerd has no edge for it.
    assert!(
        edges.iter().all(|e| e.src.name != "load-generator"),
        "{edges:#?}"
    );
    assert!(
        edges
            .iter()
            .all(|e| e.src.namespace == "sock-shop" || e.dst.namespace == "sock-shop")
    );

    let emoji = client.edges("emojivoto").await.unwrap();
    let bot = emoji.iter().find(|e| e.src.name == "vote-bot").unwrap();
    assert_eq!(bot.dst.name, "web");
    assert_eq!(
        bot.client_id.as_deref(),
        Some("default.emojivoto.serviceaccount.identity.linkerd.cluster.local")
    );
}

#[tokio::test]
async fn resource_errors_name_the_problem() {
    let (_server, client) = served().await;
    let err = client
        .route_stats(&res("deploy/nope", "sock-shop"), WINDOW)
        .await
        .unwrap_err();
    assert!(matches!(err, MetricsError::Resource { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("deployments.apps \"nope\" not found"),
        "{text}"
    );
    assert!(text.contains("keep working on live data"), "{text}");
}

#[tokio::test]
async fn refused_address_is_unreachable_with_a_clear_message() {
    // A port that was just free: nothing listens there any more.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = tokio::time::timeout(PATIENCE, MetricsClient::connect(&addr.to_string()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, MetricsError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("the metrics API at {addr} is unreachable: ")),
        "{text}"
    );
    assert!(
        text.ends_with("; the panes keep working on live data"),
        "{text}"
    );
}

#[tokio::test]
async fn silent_peer_gives_up_within_the_client_timeouts() {
    // Accepts TCP (the kernel completes the handshake) but never speaks HTTP/2.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let outcome = tokio::time::timeout(PATIENCE, async {
        let client = MetricsClient::connect(&addr).await?;
        client.edges("sock-shop").await
    })
    .await
    .unwrap();
    let err = outcome.unwrap_err();
    assert!(matches!(err, MetricsError::Unreachable { .. }), "{err:?}");
    drop(listener);
}

#[tokio::test]
async fn bad_addresses_and_non_loopback_servers_are_refused() {
    let err = MetricsClient::connect("https://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(matches!(err, MetricsError::Address { .. }), "{err:?}");
    assert!(
        metrics_api::spawn("0.0.0.0:0".parse().unwrap(), RATE)
            .await
            .is_err()
    );
}
