use std::time::Duration;

use super::*;
use crate::model::routes::fixtures::{Req, identity, sock_shop};

fn edge<'a>(table: &'a IdentityTable, direction: Direction, local: &str, peer: &str) -> &'a Edge {
    table
        .edges()
        .iter()
        .find(|e| {
            e.key.direction == direction
                && e.key.local.name.as_ref() == local
                && e.key.peer.name.as_ref() == peer
        })
        .unwrap_or_else(|| panic!("no edge {local} {peer}"))
}

fn ok(req: Req) -> Request {
    req.respond(200, Duration::from_millis(3), 10).build()
}

#[test]
fn edges_are_keyed_by_the_reporting_workload() {
    let mut table = IdentityTable::new();
    table.record(&ok(Req::out(1, "front-end", "catalogue", "GET", "/")));
    table.record(&ok(Req::inbound(2, "front-end", "catalogue", "GET", "/")));
    table.record(&ok(Req::inbound(3, "front-end", "catalogue", "GET", "/")));
    assert_eq!(table.len(), 2);
    let out = edge(
        &table,
        Direction::Outbound,
        "deploy/front-end",
        "deploy/catalogue",
    );
    assert_eq!(
        out.identity.as_deref(),
        Some(identity("catalogue").as_str())
    );
    assert_eq!(out.key.client_server().0.name.as_ref(), "deploy/front-end");
    let inbound = edge(
        &table,
        Direction::Inbound,
        "deploy/catalogue",
        "deploy/front-end",
    );
    assert_eq!(inbound.requests, 2);
    assert_eq!(
        inbound.identity.as_deref(),
        Some(identity("front-end").as_str())
    );
    assert_eq!(
        inbound.key.client_server().1.name.as_ref(),
        "deploy/catalogue"
    );
    assert_eq!(inbound.dominant_tls(), TlsState::Mtls);
    assert!((inbound.secured_share() - 1.0).abs() < f64::EPSILON);
    let summary = table.summary();
    assert_eq!(
        (
            summary.requests,
            summary.mtls,
            summary.identities,
            summary.plaintext_edges
        ),
        (3, 3, 2, 0)
    );
}

#[test]
fn tls_states_come_from_the_right_side() {
    let mut table = IdentityTable::new();
    // Outbound: the destination's label speaks; the source always says loopback.
    table.record(&ok(Req::out(1, "front-end", "session-db", "GET", "/")
        .label(false, "tls", "not_provided_by_service_discovery")
        .label(false, "server_id", "")));
    // Inbound: the source's label speaks.
    table.record(&ok(Req::inbound(2, "front-end", "carts", "GET", "/")
        .label(true, "tls", "no_tls_from_remote")
        .label(true, "client_id", "")));
    let sd = edge(
        &table,
        Direction::Outbound,
        "deploy/front-end",
        "deploy/session-db",
    );
    assert_eq!(sd.dominant_tls(), TlsState::NotProvidedByServiceDiscovery);
    assert!(sd.identity.is_none());
    let carts = edge(
        &table,
        Direction::Inbound,
        "deploy/carts",
        "deploy/front-end",
    );
    assert_eq!(
        carts.dominant_tls().describe(),
        "plaintext — client not meshed (no_tls_from_remote)"
    );
    assert_eq!(table.summary().plaintext_edges, 2);
    assert_eq!(table.summary().mtls, 0);
}

#[test]
fn plaintext_is_a_concern_only_between_meshed_workloads() {
    let mut table = IdentityTable::new();
    // front-end is meshed (it reports); carts receives from it in plaintext.
    table.record(&ok(Req::out(1, "front-end", "catalogue", "GET", "/")));
    table
        .record(&ok(Req::inbound(2, "front-end", "carts", "GET", "/")
            .label(true, "tls", "no_tls_from_remote")));
    // An unmeshed load generator: plaintext, but nothing to fix in the mesh.
    table.record(&ok(Req::inbound(3, "locust", "carts", "GET", "/").label(
        true,
        "tls",
        "no_tls_from_remote",
    )));
    let meshed = table.meshed();
    let carts = edge(
        &table,
        Direction::Inbound,
        "deploy/carts",
        "deploy/front-end",
    );
    assert_eq!(
        IdentityTable::concerns(carts, &meshed),
        [Concern::PlaintextBetweenMeshed { requests: 1 }]
    );
    let locust = edge(&table, Direction::Inbound, "deploy/carts", "deploy/locust");
    assert!(IdentityTable::concerns(locust, &meshed).is_empty());
}

#[test]
fn a_server_identity_of_another_service_account_stands_out() {
    let mut table = IdentityTable::new();
    table.record(&ok(Req::out(
        1,
        "orders",
        "payment",
        "POST",
        "/paymentAuth",
    )
    .label(false, "server_id", &identity("default"))));
    table.record(&ok(Req::out(
        2,
        "orders",
        "payment",
        "POST",
        "/paymentAuth",
    )));
    let e = edge(
        &table,
        Direction::Outbound,
        "deploy/orders",
        "deploy/payment",
    );
    assert_eq!(e.identity_mismatches, 1);
    assert!(e.identity_changed);
    let concerns = IdentityTable::concerns(e, &table.meshed());
    assert_eq!(concerns, [Concern::IdentityMismatch { requests: 1 }]);
    assert_eq!(
        concerns[0].describe(e),
        "1 requests with a server identity not of service account payment in sock-shop"
    );
    // A client identity is checked the same way on inbound.
    table.record(&ok(Req::inbound(3, "front-end", "user", "GET", "/").label(
        true,
        "client_id",
        &identity("root"),
    )));
    assert_eq!(
        edge(
            &table,
            Direction::Inbound,
            "deploy/user",
            "deploy/front-end"
        )
        .identity_mismatches,
        1
    );
}

#[test]
fn authorization_labels_are_read_in_plain_terms() {
    let mut table = IdentityTable::new();
    // Plaintext let in by the default policy is worth a look; mTLS under it is normal.
    table.record(&ok(Req::inbound(1, "front-end", "user", "GET", "/")
        .label(true, "tls", "no_tls_from_remote")
        .label(false, "authz_kind", "default")
        .label(false, "authz_name", "all-unauthenticated")));
    table.record(&ok(Req::inbound(5, "front-end", "user", "GET", "/")
        .label(false, "authz_kind", "default")
        .label(false, "authz_name", "all-unauthenticated")));
    table.record(&ok(Req::inbound(2, "front-end", "user", "GET", "/")));
    let denied = Req::inbound(3, "queue-master", "shipping", "POST", "/shipping")
        .label(false, "authz_kind", "")
        .label(false, "authz_name", "")
        .respond(403, Duration::from_micros(150), 0)
        .build();
    table.record(&denied);
    // A 403 the application sent, with an authorization that allowed the request in.
    table.record(
        &Req::inbound(4, "front-end", "user", "GET", "/")
            .respond(403, Duration::from_millis(1), 0)
            .build(),
    );
    let meshed = table.meshed();
    let user = edge(
        &table,
        Direction::Inbound,
        "deploy/user",
        "deploy/front-end",
    );
    assert_eq!(user.unauthenticated_allowed, 1);
    assert_eq!(user.denied, 0);
    assert_eq!(
        user.authz
            .as_ref()
            .map(|(k, n)| format!("{k}/{n}"))
            .as_deref(),
        Some("authorizationpolicy/user-allow-mesh")
    );
    let shipping = edge(
        &table,
        Direction::Inbound,
        "deploy/shipping",
        "deploy/queue-master",
    );
    assert_eq!(
        IdentityTable::concerns(shipping, &meshed),
        [Concern::Denied { requests: 1 }]
    );
}

#[test]
fn the_table_is_bounded() {
    let mut table = IdentityTable::new();
    for i in 0..(MAX_EDGES as u64 + 10) {
        table.record(&ok(Req::out(
            i,
            "front-end",
            &format!("svc-{i}"),
            "GET",
            "/",
        )));
    }
    assert_eq!(table.len(), MAX_EDGES);
    assert_eq!(table.summary().dropped_requests, 10);
    assert_eq!(table.summary().requests, MAX_EDGES as u64 + 10);
}

#[test]
fn identities_that_keep_changing_are_counted_up_to_a_bound() {
    let mut table = IdentityTable::new();
    for i in 0..(MAX_IDENTITIES as u64 + 10) {
        let id = format!("svc-{i}.shop.serviceaccount.identity.linkerd.cluster.local");
        table.record(&ok(Req::out(i, "front-end", "svc", "GET", "/").label(
            false,
            "server_id",
            &id,
        )));
    }
    assert_eq!(table.len(), 1);
    assert_eq!(table.summary().identities, MAX_IDENTITIES);
}

#[test]
fn sock_shop_summary() {
    let table = IdentityTable::rebuild(&sock_shop());
    let summary = table.summary();
    assert!(summary.mtls < summary.requests);
    // front-end, catalogue, carts, user, orders, payment's wrong "default", queue-master, ...
    assert!(summary.identities >= 6, "{summary:?}");
    assert!(summary.plaintext_edges >= 3, "{summary:?}");
    assert!(summary.edges_with_concerns >= 2, "{summary:?}");
}
