//! The ledger counts what routing did, call for call: the split's backends, the timeouts, the
//! retries and the refusals, against the same seeded stream counted independently.

use super::tests::total;
use super::*;

const SEED: u64 = 3;
const RATE: f64 = 400.0;
const UNTIL_NS: u64 = 60_000_000_000;

/// The ledger after [`UNTIL_NS`], and every call it was fed that its proxies finished by then.
fn counted() -> (Arc<Mesh>, Ledger, Vec<Call>) {
    let mesh = Arc::new(Mesh::demo());
    let mut ledger = Ledger::new(mesh.clone(), SEED, RATE);
    ledger.advance(UNTIL_NS);
    let mut traffic = Traffic::new(mesh.clone(), SEED, RATE);
    let mut finished = Vec::new();
    while let Some(call) = traffic.next_before(UNTIL_NS) {
        if call
            .finished_after()
            .is_some_and(|end| call.start + end <= UNTIL_NS)
        {
            finished.push(call);
        }
    }
    (mesh, ledger, finished)
}

fn count(calls: &[Call], keep: impl Fn(&Call) -> bool) -> f64 {
    calls.iter().filter(|c| keep(c)).count() as f64
}

#[test]
fn route_metrics_follow_routing() {
    let (mesh, ledger, calls) = counted();
    let sum = |name: &str, want: &[(&str, &str)]| total(&ledger, &mesh, name, want);

    let v2 = count(&calls, |c| {
        mesh.workload_of(c.server).name == "catalogue-v2"
    });
    let v2_counted = sum(
        "outbound_http_route_backend_requests_total",
        &[
            ("route_name", "catalogue-split"),
            ("backend_name", "catalogue-v2"),
        ],
    );
    assert!(
        v2 > 20.0 && (v2_counted - v2).abs() < 0.5,
        "{v2_counted} vs {v2}"
    );

    let timed_out = count(&calls, |c| c.routed.timed_out);
    let timeouts = sum(
        "outbound_http_route_request_statuses_total",
        &[
            ("route_name", "carts-timeouts"),
            ("error", "REQUEST_TIMEOUT"),
        ],
    );
    assert!(
        timed_out > 0.0 && (timeouts - timed_out).abs() < 0.5,
        "{timeouts} vs {timed_out}"
    );

    let retries: f64 = calls
        .iter()
        .filter(|c| c.routed.is_final())
        .map(|c| f64::from(c.routed.retries))
        .sum();
    let counted_retries = sum(
        "outbound_grpc_route_retry_requests_total",
        &[("route_name", "voting-retries")],
    );
    assert!(
        retries > 0.0 && (counted_retries - retries).abs() < 0.5,
        "{counted_retries} vs {retries}"
    );
    // Every attempt reached the backend; the route completed each request once.
    let attempts = count(&calls, |c| c.route().path.ends_with("/VoteDoughnut"));
    let backend = sum(
        "outbound_grpc_route_backend_requests_total",
        &[("route_name", "voting-retries")],
    );
    let doughnut_requests = attempts - retries;
    let rule0_requests = sum(
        "outbound_grpc_route_request_statuses_total",
        &[("route_name", "voting-retries")],
    );
    assert!(backend >= attempts - 0.5 && rule0_requests >= doughnut_requests - 0.5);
    assert!(
        (backend - rule0_requests - retries).abs() < 0.5,
        "{backend} {rule0_requests} {retries}"
    );

    let denied = count(&calls, |c| c.routed.denied);
    let denials = sum(
        "inbound_http_authz_deny_total",
        &[
            ("srv_name", "payment-http"),
            ("route_name", "payment-refunds"),
        ],
    );
    let refused = sum(
        "outbound_http_route_request_statuses_total",
        &[("parent_name", "payment"), ("http_status", "403")],
    );
    assert!(denied > 0.0, "{denied}");
    assert!((denials - denied).abs() < 0.5 && (refused - denied).abs() < 0.5);
    // Nothing the payment proxy refused reached its other inbound families.
    let admitted = sum(
        "inbound_http_authz_allow_total",
        &[("route_name", "payment-refunds")],
    );
    assert!(admitted < 0.5, "{admitted}");
}

#[test]
fn the_default_route_is_named_as_the_controller_names_it() {
    let (mesh, ledger, _) = counted();
    let orders = total(
        &ledger,
        &mesh,
        "outbound_http_route_request_statuses_total",
        &[
            ("parent_name", "orders"),
            ("route_kind", "default"),
            ("route_name", "http"),
        ],
    );
    assert!(orders > 0.0);
}
