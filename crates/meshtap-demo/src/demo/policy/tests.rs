//! The fixtures as the issue names them, checked through core's matcher.

use super::*;
use crate::model::event::{Header, Headers};
use crate::model::policy::{RequestLine, Selected};

const CATALOGUE: &str = "catalogue.sock-shop.svc.cluster.local:80";
const CARTS: &str = "carts.sock-shop.svc.cluster.local:80";
const VOTING: &str = "voting-svc.emojivoto.svc.cluster.local:8080";

fn policy(authority: &str) -> OutboundPolicy {
    outbound_policy(&Mesh::demo(), authority).expect("a demo Service")
}

/// The (route name, rule) `policy` picks for a request with these headers.
fn pick(
    policy: &OutboundPolicy,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<(String, usize)> {
    let headers: Headers = headers.iter().map(|&(n, v)| Header::str(n, v)).collect();
    let line = RequestLine {
        method: Some(method),
        authority: "catalogue",
        path,
        headers: Some(&headers),
    };
    let Selected { route, rule } = policy.select(&line)?;
    Some((policy.routes[route].route.name.to_string(), rule))
}

fn names(backends: &[BackendRef]) -> Vec<(&str, Option<u32>)> {
    backends.iter().map(|b| (&*b.name, b.weight)).collect()
}

#[test]
fn catalogue_split_sends_the_canary_to_v2_and_splits_the_rest() {
    let p = policy(CATALOGUE);
    assert_eq!(p.protocol, PolicyProtocol::Http);
    assert_eq!(
        p.parent.as_ref().map(ToString::to_string).as_deref(),
        Some("catalogue:80")
    );
    let route = &p.routes[0];
    assert_eq!(
        (
            &*route.route.group,
            &*route.route.kind,
            &*route.route.namespace
        ),
        ("gateway.networking.k8s.io", "HTTPRoute", "sock-shop")
    );
    let canary = pick(&p, "GET", "/catalogue/size", &[("X-Canary", "true")]);
    assert_eq!(canary, Some(("catalogue-split".to_owned(), 0)));
    assert_eq!(names(&route.rules[0].backends), [("catalogue-v2", Some(1))]);
    let plain = pick(&p, "GET", "/catalogue/size", &[("x-canary", "false")]);
    assert_eq!(plain, Some(("catalogue-split".to_owned(), 1)));
    assert_eq!(
        names(&route.rules[1].backends),
        [("catalogue", Some(90)), ("catalogue-v2", Some(10))]
    );
}

#[test]
fn carts_timeouts_bounds_adding_items_only() {
    let p = policy(CARTS);
    let add = pick(&p, "POST", "/carts/57a98d98e4b00679b4a830b2/items", &[]);
    assert_eq!(add, Some(("carts-timeouts".to_owned(), 0)));
    assert_eq!(p.routes[0].rules[0].config.timeout_label(), "request 2s");
    // A GET under /carts/ and a POST elsewhere take rule 1, which has no timeout.
    assert_eq!(
        pick(&p, "GET", "/carts/1", &[]),
        Some(("carts-timeouts".to_owned(), 1))
    );
    assert_eq!(
        pick(&p, "POST", "/cartsy", &[]),
        Some(("carts-timeouts".to_owned(), 1))
    );
    assert!(p.routes[0].rules[1].config.timeouts.is_empty());
}

#[test]
fn voting_retries_retries_doughnut_votes_on_unavailable() {
    let p = policy(VOTING);
    assert_eq!(p.protocol, PolicyProtocol::Grpc);
    assert_eq!(&*p.routes[0].route.kind, "GRPCRoute");
    let doughnut = pick(&p, "POST", "/emojivoto.v1.VotingService/VoteDoughnut", &[]);
    assert_eq!(doughnut, Some(("voting-retries".to_owned(), 0)));
    assert_eq!(
        p.routes[0].rules[0].config.retry_label(),
        "2× on unavailable"
    );
    let joy = pick(&p, "POST", "/emojivoto.v1.VotingService/VoteJoy", &[]);
    assert_eq!(joy, Some(("voting-retries".to_owned(), 1)));
    assert_eq!(p.routes[0].rules[1].config.retry, None);
}

#[test]
fn a_service_without_routes_gets_the_controllers_default_route() {
    let p = policy("orders.sock-shop.svc.cluster.local:80");
    let route = &p.routes[0];
    assert!(route.route.is_default());
    assert_eq!((&*route.route.group, &*route.route.name), ("", "http"));
    assert_eq!(names(&route.rules[0].backends), [("orders", None)]);
    assert_eq!(
        pick(&p, "DELETE", "/anything?x=1", &[]),
        Some(("http".to_owned(), 0))
    );
    // A gRPC Service without a GRPCRoute is detected as HTTP, as the controller answers.
    let emoji = policy("emoji-svc.emojivoto.svc.cluster.local:8080");
    assert_eq!(emoji.protocol, PolicyProtocol::Http);
    assert!(emoji.routes[0].route.is_default());
}

#[test]
fn unknown_targets_have_no_policy() {
    let mesh = Mesh::demo();
    for authority in [
        "nope.sock-shop.svc.cluster.local:80",
        // A known Service on a port it does not expose, or in another namespace.
        "catalogue.sock-shop.svc.cluster.local:8080",
        "catalogue.emojivoto.svc.cluster.local:80",
        "catalogue:80",
        "catalogue.sock-shop.svc.cluster.local",
        "10.42.0.10:80",
    ] {
        assert_eq!(outbound_policy(&mesh, authority), None, "{authority}");
    }
}

#[test]
fn every_service_authority_has_a_policy() {
    let mesh = Mesh::demo();
    let mut n = 0;
    for workload in &mesh.workloads {
        if let Some(authority) = service_authority(workload) {
            let p = outbound_policy(&mesh, &authority).expect("policy");
            assert_eq!(
                p.parent.map(|p| p.name.to_string()),
                workload.service.map(str::to_owned)
            );
            n += 1;
        }
    }
    assert!(n > 10, "{n}");
}
