//! Matching metrics API figures to routes pane rows and identities tree edges.

use super::*;

fn metric(resource: &str, route: &str, requests: u64, success: f64, p99: u64) -> RouteMetric {
    RouteMetric {
        resource: resource.to_owned(),
        route: route.to_owned(),
        authority: Some("catalogue.sock-shop.svc.cluster.local:80".to_owned()),
        requests,
        success_rate: Some(success),
        actual_success_rate: Some(success),
        rps: requests as f64 / 60.0,
        p50_ms: 1,
        p95_ms: 2,
        p99_ms: p99,
    }
}

fn routed(namespace: &str, metric: RouteMetric) -> NamespacedRoute {
    NamespacedRoute {
        namespace: namespace.to_owned(),
        metric,
    }
}

fn key(direction: Direction, namespace: &str, peer: &str, route: &str) -> RouteKey {
    RouteKey::new(direction, namespace, peer, route)
}

fn index() -> RouteMetricsIndex {
    RouteMetricsIndex::new(&[
        routed(
            "sock-shop",
            metric("deploy/catalogue", "GET /catalogue/{id}", 600, 0.99, 40),
        ),
        routed(
            "sock-shop",
            metric("deploy/catalogue", "GET /health", 60, 1.0, 5),
        ),
        routed(
            "sock-shop",
            metric("deploy/catalogue", DEFAULT_ROUTE, 120, 0.5, 90),
        ),
        // The same route on a second service of the workload merges into one figure.
        routed(
            "sock-shop",
            metric("deploy/catalogue", "GET /health", 60, 0.0, 7),
        ),
    ])
}

#[test]
fn profile_routes_match_by_namespace_workload_and_name_in_either_direction() {
    let index = index();
    for direction in [Direction::Inbound, Direction::Outbound] {
        let (figures, kind) = index
            .lookup(&key(
                direction,
                "sock-shop",
                "catalogue",
                "GET /catalogue/{id}",
            ))
            .expect("matched");
        assert_eq!(kind, MatchKind::Route);
        assert_eq!(figures.requests, 600);
        assert_eq!(figures.success_rate, Some(0.99));
        assert_eq!(figures.p99_ms, 40);
    }
    let (health, _) = index
        .lookup(&key(
            Direction::Inbound,
            "sock-shop",
            "catalogue",
            "GET /health",
        ))
        .expect("merged");
    assert_eq!(health.requests, 120);
    assert_eq!(health.success_rate, Some(0.5));
    assert_eq!(health.p99_ms, 7, "the larger p99 of the parts");
    // Another namespace or workload is not the same route.
    assert_eq!(
        index.lookup(&key(
            Direction::Inbound,
            "other",
            "catalogue",
            "GET /health"
        )),
        None
    );
    assert_eq!(
        index.lookup(&key(
            Direction::Inbound,
            "sock-shop",
            "carts",
            "GET /health"
        )),
        None
    );
}

#[test]
fn unprofiled_rows_get_the_default_route_and_workload_rows_the_total() {
    let index = index();
    let (figures, kind) = index
        .lookup(&key(
            Direction::Inbound,
            "sock-shop",
            "catalogue",
            "GET /tags",
        ))
        .expect("default");
    assert_eq!(
        (kind, figures.requests, figures.p99_ms),
        (MatchKind::Unprofiled, 120, 90)
    );
    let (total, kind) = index
        .lookup(&key(Direction::Inbound, "sock-shop", "catalogue", ""))
        .expect("total");
    assert_eq!(
        (kind, total.requests, total.p99_ms),
        (MatchKind::Workload, 840, 90)
    );
    // Weighted by requests: catalogue, health (twice) and [DEFAULT].
    let expected = (600.0 * 0.99 + 60.0 * 1.0 + 60.0 * 0.0 + 120.0 * 0.5) / 840.0;
    assert!((total.success_rate.expect("rate") - expected).abs() < 1e-9);
    // Source → destination rows and the overflow row have no counterpart.
    assert_eq!(
        index.lookup(&key(
            Direction::Outbound,
            "sock-shop",
            "front-end → catalogue",
            ""
        )),
        None
    );
    assert_eq!(
        index.lookup(&key(
            Direction::Unknown,
            "",
            "",
            crate::model::routes::OTHER_ROUTES
        )),
        None
    );
}

#[test]
fn a_workload_without_default_traffic_leaves_unprofiled_rows_empty() {
    let index = RouteMetricsIndex::new(&[routed(
        "sock-shop",
        metric("deploy/carts", "GET /carts/{id}", 10, 1.0, 3),
    )]);
    assert_eq!(
        index.lookup(&key(Direction::Inbound, "sock-shop", "carts", "DELETE /x")),
        None
    );
    assert!(
        index
            .lookup(&key(
                Direction::Inbound,
                "sock-shop",
                "carts",
                "GET /carts/{id}"
            ))
            .is_some()
    );
}

fn resource(namespace: &str, name: &str) -> MetricsResource {
    MetricsResource {
        namespace: namespace.to_owned(),
        kind: "deployment".to_owned(),
        name: name.to_owned(),
    }
}

#[test]
fn metrics_only_edges_skip_what_the_sample_saw() {
    let table = IdentityTable::new();
    let edge = EdgeMetric {
        src: resource("sock-shop", "orders"),
        dst: resource("sock-shop", "payment"),
        client_id: Some("orders.sock-shop.serviceaccount.identity.linkerd.cluster.local".into()),
        server_id: Some("payment.sock-shop.serviceaccount.identity.linkerd.cluster.local".into()),
        no_identity_msg: None,
    };
    let only = metrics_only_edges(&table, &[edge.clone(), edge]);
    assert_eq!(
        only.len(),
        2,
        "one side under each workload, duplicates dropped"
    );
    assert_eq!(only[0].direction, Direction::Inbound);
    assert_eq!(only[0].local.name.as_ref(), "deploy/payment");
    assert_eq!(only[1].direction, Direction::Outbound);
    assert_eq!(only[1].local.name.as_ref(), "deploy/orders");
    assert_eq!(only[1].peer.namespace.as_ref(), "sock-shop");
}
