//! One test per kind of statement: the words, and the labels they cite.

use std::time::Duration;

use super::{Statement, Topic, explain};
use crate::copy::tests::request;
use crate::model::event::{
    Direction, Eos, Header, Headers, Labels, ResponseEnd, ResponseInit, StreamId,
};
use crate::model::request::Request;

const WEB_ID: &str = "web.shop.serviceaccount.identity.cluster.local";
const API_ID: &str = "api.pay.serviceaccount.identity.cluster.local";

fn with_labels(mut r: Request, src: &[(&str, &str)], dst: &[(&str, &str)]) -> Request {
    let add = |labels: &Labels, extra: &[(&str, &str)]| -> Labels {
        labels.iter().chain(extra.iter().copied()).collect()
    };
    r.source.labels = add(&r.source.labels, src);
    r.destination.labels = add(&r.destination.labels, dst);
    r
}

#[allow(
    clippy::option_option,
    reason = "open vs ended-without-eos vs ended-with-eos"
)]
fn responded(
    mut r: Request,
    status: u32,
    headers: Vec<Header<'_>>,
    eos: Option<Option<Eos>>,
) -> Request {
    r.response = Some(ResponseInit {
        id: StreamId::default(),
        since_request_init: Some(Duration::from_millis(3)),
        http_status: status,
        headers: headers.into_iter().collect(),
    });
    r.end = eos.map(|eos| ResponseEnd {
        id: StreamId::default(),
        since_request_init: Some(Duration::from_millis(4)),
        since_response_init: Some(Duration::from_millis(1)),
        response_bytes: 0,
        eos,
        trailers: Headers::default(),
    });
    r
}

fn inbound_mtls() -> Request {
    with_labels(
        request(Direction::Inbound, "GET", "api.pay:8080", "/", Vec::new()),
        &[
            ("tls", "true"),
            ("client_id", WEB_ID),
            ("serviceaccount", "web"),
        ],
        &[
            ("serviceaccount", "api"),
            ("tls", "loopback"),
            ("srv_kind", "server"),
            ("srv_name", "api-http"),
            ("authz_kind", "authorizationpolicy"),
            ("authz_name", "web-to-api"),
            ("route_kind", "HTTPRoute"),
            ("route_name", "users"),
        ],
    )
}

/// A 403 between web (shop) and api (pay), with these response headers.
pub(super) fn request_403(direction: Direction, headers: &[(&str, &str)]) -> Request {
    let r = with_labels(
        request(direction, "POST", "api.pay:8080", "/refunds", Vec::new()),
        &[("serviceaccount", "web")],
        &[],
    );
    let headers = headers.iter().map(|&(n, v)| Header::str(n, v)).collect();
    responded(r, 403, headers, Some(None))
}

pub(super) fn find(statements: &[Statement], topic: Topic, words: &str) -> Statement {
    statements
        .iter()
        .find(|s| s.topic == topic && s.text.contains(words))
        .cloned()
        .unwrap_or_else(|| panic!("no {topic:?} statement with {words:?} in {statements:#?}"))
}

#[test]
fn every_statement_cites_something() {
    for request in [
        inbound_mtls(),
        request(Direction::Outbound, "GET", "a", "/", Vec::new()),
    ] {
        let statements = explain(&request);
        assert!(statements.len() >= 5);
        for s in &statements {
            assert!(!s.cites.is_empty() && !s.text.is_empty(), "{s:?}");
        }
        assert!(statements.windows(2).all(|w| w[0].topic <= w[1].topic));
    }
}

#[test]
fn reporter_and_mesh() {
    let s = explain(&inbound_mtls());
    let reporter = find(&s, Topic::Reporter, "inbound proxy of the destination");
    assert_eq!(
        reporter.cites,
        ["direction=in", "dst.deployment=api", "dst.namespace=pay"]
    );
    find(&s, Topic::Mesh, "deploy/api in pay is meshed");
    let client = find(
        &s,
        Topic::Mesh,
        "deploy/web in shop is meshed: it took part in mutual TLS",
    );
    assert!(client.cites.contains(&"src.tls=true".to_owned()));

    let outbound = explain(&request(Direction::Outbound, "GET", "a", "/", Vec::new()));
    find(
        &outbound,
        Topic::Reporter,
        "outbound proxy of the source, which sent it: deploy/web in shop",
    );

    let plain = with_labels(
        request(Direction::Inbound, "GET", "a", "/", Vec::new()),
        &[("tls", "no_tls_from_remote")],
        &[],
    );
    let s = explain(&plain);
    find(
        &s,
        Topic::Mesh,
        "is not meshed, or its proxy did not originate TLS",
    );
    let meshed_but_plain = with_labels(
        request(Direction::Inbound, "GET", "a", "/", Vec::new()),
        &[
            ("tls", "no_tls_from_remote"),
            ("control_plane_ns", "linkerd"),
        ],
        &[],
    );
    let statement = find(
        &explain(&meshed_but_plain),
        Topic::Mesh,
        "yet TLS was not mutual",
    );
    assert!(
        statement
            .cites
            .contains(&"src.control_plane_ns=linkerd".to_owned())
    );
}

#[test]
fn identities_are_checked_against_service_accounts() {
    let s = explain(&inbound_mtls());
    let presented = find(
        &s,
        Topic::Identity,
        &format!("client presented the identity {WEB_ID}"),
    );
    assert_eq!(presented.cites, [format!("src.client_id={WEB_ID}")]);
    find(
        &s,
        Topic::Identity,
        "matches the client's service account web in shop",
    );
    let implied = find(&s, Topic::Identity, &format!("serves as {API_ID}"));
    assert_eq!(
        implied.cites,
        ["dst.serviceaccount=api", "dst.namespace=pay"]
    );

    let outbound = with_labels(
        request(Direction::Outbound, "GET", "a", "/", Vec::new()),
        &[],
        &[
            ("tls", "true"),
            ("server_id", WEB_ID),
            ("serviceaccount", "api"),
        ],
    );
    let s = explain(&outbound);
    find(
        &s,
        Topic::Identity,
        &format!("required the server to present {WEB_ID}"),
    );
    let mismatch = find(
        &s,
        Topic::Identity,
        "does NOT match the server's service account api in pay",
    );
    assert!(mismatch.cites.contains(&format!("dst.server_id={WEB_ID}")));

    let anonymous = explain(&with_labels(
        request(Direction::Inbound, "GET", "a", "/", Vec::new()),
        &[("tls", "no_tls_from_remote")],
        &[],
    ));
    find(&anonymous, Topic::Identity, "presented no identity");
}

#[test]
fn each_tls_value_is_explained() {
    for (value, words) in [
        ("true", "Mutual TLS"),
        ("no_tls_from_remote", "received plaintext"),
        ("loopback", "inside the pod"),
        (
            "not_provided_by_service_discovery",
            "service discovery gave no identity",
        ),
        ("disabled", "disabled"),
        ("port_skipped", "skip TLS on this port"),
        ("passthru", "passed through"),
        ("ingress_without_override", "l5d-dst-override"),
        ("surprise", "does not know"),
    ] {
        let r = with_labels(
            request(Direction::Outbound, "GET", "a", "/", Vec::new()),
            &[],
            &[("tls", value)],
        );
        let statement = find(&explain(&r), Topic::Tls, words);
        assert_eq!(statement.cites, [format!("dst.tls={value}")]);
    }
    let missing = explain(&request(Direction::Outbound, "GET", "a", "/", Vec::new()));
    assert_eq!(
        find(&missing, Topic::Tls, "No tls label").cites,
        ["dst.tls (absent)"]
    );
}

#[test]
fn policy_and_routes() {
    let s = explain(&inbound_mtls());
    find(&s, Topic::Policy, "The Server api-http selects this port");
    let authz = find(&s, Topic::Policy, "AuthorizationPolicy web-to-api");
    assert_eq!(
        authz.cites,
        [
            "dst.authz_kind=authorizationpolicy",
            "dst.authz_name=web-to-api"
        ]
    );
    find(&s, Topic::Route, "The HTTPRoute users matched");
    find(&s, Topic::Route, "No ServiceProfile route matched");

    let default = with_labels(
        request(Direction::Inbound, "GET", "a", "/", Vec::new()),
        &[],
        &[
            ("srv_kind", "default"),
            ("srv_name", "all-unauthenticated"),
            ("authz_kind", "default"),
            ("authz_name", "all-unauthenticated"),
            ("route_kind", "default"),
            ("route_name", "default"),
        ],
    );
    let s = explain(&default);
    find(
        &s,
        Topic::Policy,
        "No Server resource selects this port: the default policy all-unauthenticated",
    );
    find(&s, Topic::Policy, "which allows every request");
    find(&s, Topic::Route, "the Server's default route");
    let audit = with_labels(
        request(Direction::Inbound, "GET", "a", "/", Vec::new()),
        &[],
        &[("authz_kind", "default"), ("authz_name", "audit")],
    );
    find(&explain(&audit), Topic::Policy, "audit mode");

    let mut profiled = request(Direction::Outbound, "GET", "a", "/", Vec::new());
    profiled.route = [("route", "GET /users/{id}")].into_iter().collect();
    let route = find(
        &explain(&profiled),
        Topic::Route,
        "ServiceProfile route GET /users/{id}",
    );
    assert_eq!(route.cites, ["route=GET /users/{id}"]);
}

#[test]
fn a_403_is_the_proxy_s_when_it_says_so() {
    let denied = responded(
        inbound_mtls(),
        403,
        vec![Header::str(
            "l5d-proxy-error",
            "client 10.0.0.1:4000: unauthorized",
        )],
        Some(None),
    );
    let statement = find(&explain(&denied), Topic::Policy, "Denied by Linkerd policy");
    assert_eq!(statement.cites, ["status=403", "rsp.l5d-proxy-error"]);
    let app = responded(inbound_mtls(), 403, Vec::new(), Some(None));
    let statement = find(
        &explain(&app),
        Topic::Policy,
        "application answered this refusal itself",
    );
    assert_eq!(
        statement.cites,
        ["status=403", "rsp.l5d-proxy-error (absent)"]
    );
    // On the client's side a bare 403 may be a policy denial whose header the proxy stripped.
    let client = responded(
        request(
            Direction::Outbound,
            "POST",
            "payment",
            "/paymentAuth",
            Vec::new(),
        ),
        403,
        Vec::new(),
        Some(None),
    );
    let statement = find(
        &explain(&client),
        Topic::Policy,
        "cause is unknown from tap alone",
    );
    assert!(
        statement.text.contains("inbound_http_authz_deny_total"),
        "{statement:?}"
    );
    assert!(!statement.text.contains("application answered"));
    let grpc = responded(inbound_mtls(), 200, Vec::new(), Some(Some(Eos::Grpc(7))));
    let statement = find(&explain(&grpc), Topic::Policy, "application answered");
    assert_eq!(statement.cites[0], "grpc_status=7");
}

#[test]
fn outcomes_follow_linkerd_s_failure_rule() {
    let base = || request(Direction::Outbound, "GET", "a", "/", Vec::new());
    for (r, words, cite) in [
        (
            responded(base(), 503, Vec::new(), Some(None)),
            "server error",
            "status=503",
        ),
        (
            responded(base(), 404, Vec::new(), Some(None)),
            "success",
            "status=404",
        ),
        (
            responded(base(), 200, Vec::new(), Some(Some(Eos::Reset(2)))),
            "reset",
            "reset_code=2",
        ),
        (
            responded(base(), 200, Vec::new(), Some(Some(Eos::Grpc(14)))),
            "Unavailable: a failure",
            "grpc_status=14",
        ),
        (
            responded(base(), 200, Vec::new(), Some(Some(Eos::Grpc(0)))),
            "OK: a success",
            "grpc_status=0",
        ),
        (
            responded(base(), 200, Vec::new(), Some(Some(Eos::Grpc(5)))),
            "NotFound: not a failure",
            "grpc_status=5",
        ),
        (
            responded(base(), 200, Vec::new(), None),
            "not known yet",
            "phase=streaming",
        ),
    ] {
        let statement = find(&explain(&r), Topic::Outcome, words);
        assert_eq!(statement.cites[0], cite);
    }
    let mut expired = base();
    expired.expired = true;
    find(&explain(&expired), Topic::Outcome, "No end arrived in time");
}
