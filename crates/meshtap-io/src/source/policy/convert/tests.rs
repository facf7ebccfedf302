//! Core → wire → core gives back what went in, for every policy proptest can think of; and the
//! wire's own forms (an older controller's `request_timeout`, a default route, a bad regex).

use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

fn text(s: &str) -> Text {
    Text::from(s)
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

fn millis() -> impl Strategy<Value = Option<Duration>> {
    proptest::option::of((1u64..120_000).prop_map(Duration::from_millis))
}

fn value() -> impl Strategy<Value = ValueMatch> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{0,8}".prop_map(|v| ValueMatch::Exact(v.into_bytes().into())),
        prop_oneof![Just("v[0-9]+"), Just("[a-z]+"), Just("(a|b).*")]
            .prop_map(|re| ValueMatch::regex(re).expect("valid regex")),
    ]
}

fn headers() -> impl Strategy<Value = Vec<HeaderMatch>> {
    vec(
        (name(), value()).prop_map(|(n, value)| HeaderMatch {
            name: text(&n),
            value,
        }),
        0..3,
    )
}

fn http_match() -> impl Strategy<Value = HttpMatch> {
    let path = proptest::option::of(prop_oneof![
        "/[a-z/]{0,10}".prop_map(|p| PathMatch::Exact(p.into())),
        "/[a-z/]{0,10}".prop_map(|p| PathMatch::Prefix(p.into())),
        prop_oneof![Just("/api/.*"), Just("/[a-z]+/[0-9]+")]
            .prop_map(|re| PathMatch::regex(re).expect("valid regex")),
    ]);
    let query = vec(
        (name(), value()).prop_map(|(n, value)| QueryMatch {
            name: text(&n),
            value,
        }),
        0..2,
    );
    let method = proptest::option::of(prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("DELETE"),
        Just("PURGE")
    ]);
    (path, headers(), query, method).prop_map(|(path, headers, query, method)| HttpMatch {
        path,
        headers,
        query,
        method: method.map(text),
    })
}

fn grpc_match() -> impl Strategy<Value = GrpcMatch> {
    let service = proptest::option::of(prop_oneof![Just("emojivoto.v1.VotingService")]);
    let method = proptest::option::of(prop_oneof![Just("VoteDoughnut"), Just("Results")]);
    (service, method, headers()).prop_map(|(service, method, headers)| GrpcMatch {
        service: service.map(text),
        method: method.map(text),
        headers,
    })
}

fn backends(ns: String) -> impl Strategy<Value = Vec<BackendRef>> {
    let weighted = any::<bool>();
    (
        weighted,
        vec((name(), proptest::option::of(1u16..), 0u32..100), 0..3),
    )
        .prop_map(move |(weighted, list)| {
            list.into_iter()
                .map(|(n, port, weight)| BackendRef {
                    namespace: text(&ns),
                    name: text(&n),
                    port,
                    weight: weighted.then_some(weight),
                })
                .collect()
        })
}

fn retry(grpc: bool) -> impl Strategy<Value = Option<RetryPolicy>> {
    let on = if grpc {
        any::<[bool; 5]>()
            .prop_map(|b| {
                RetryOn::Grpc(GrpcRetryOn {
                    cancelled: b[0],
                    deadline_exceeded: b[1],
                    resource_exhausted: b[2],
                    internal: b[3],
                    unavailable: b[4],
                })
            })
            .boxed()
    } else {
        vec((100u16..600, 0u16..100), 0..3)
            .prop_map(|r| {
                RetryOn::Statuses(
                    r.into_iter()
                        .map(|(s, n)| (s, s.saturating_add(n)))
                        .collect(),
                )
            })
            .boxed()
    };
    proptest::option::of(
        (0u32..5, on, millis()).prop_map(|(max_retries, on, timeout)| RetryPolicy {
            max_retries,
            on,
            timeout,
        }),
    )
}

fn rule(grpc: bool, ns: String) -> impl Strategy<Value = PolicyRule> {
    let matches = if grpc {
        vec(grpc_match(), 0..3).prop_map(RuleMatches::Grpc).boxed()
    } else {
        vec(http_match(), 0..3).prop_map(RuleMatches::Http).boxed()
    };
    let timeouts = (millis(), millis(), millis()).prop_map(|(request, response, idle)| Timeouts {
        request,
        response,
        idle,
    });
    (matches, backends(ns), timeouts, retry(grpc)).prop_map(
        |(matches, backends, timeouts, retry)| PolicyRule {
            matches,
            backends,
            config: RuleConfig { timeouts, retry },
        },
    )
}

fn route(grpc: bool, ns: String) -> impl Strategy<Value = PolicyRoute> {
    let kind = if grpc { "GRPCRoute" } else { "HTTPRoute" };
    let parent_ns = ns.clone();
    let route_ref = prop_oneof![
        name().prop_map(move |n| RouteRef {
            group: text(""),
            kind: text("default"),
            namespace: text(&parent_ns),
            name: text(&n),
        }),
        (name(), name()).prop_map(move |(route_ns, n)| RouteRef {
            group: text("gateway.networking.k8s.io"),
            kind: text(kind),
            namespace: text(&route_ns),
            name: text(&n),
        }),
    ];
    let hosts = vec(
        prop_oneof![
            "[a-z]{1,5}\\.[a-z]{2,3}".prop_map(|h| HostMatch::Exact(h.into())),
            "[a-z]{1,5}\\.[a-z]{2,3}".prop_map(|h| HostMatch::Suffix(h.into())),
        ],
        0..2,
    );
    (route_ref, hosts, vec(rule(grpc, ns), 0..3)).prop_map(|(route, hosts, rules)| PolicyRoute {
        route,
        hosts,
        rules,
    })
}

fn policy() -> impl Strategy<Value = OutboundPolicy> {
    (any::<bool>(), name(), name(), 1u16..).prop_flat_map(|(grpc, ns, svc, port)| {
        let parent = ParentRef {
            kind: text("Service"),
            namespace: text(&ns),
            name: text(&svc),
            port: Some(port),
        };
        vec(route(grpc, ns), 0..3).prop_map(move |routes| OutboundPolicy {
            parent: Some(parent.clone()),
            protocol: if grpc {
                PolicyProtocol::Grpc
            } else {
                PolicyProtocol::Http
            },
            routes,
        })
    })
}

proptest! {
    #[test]
    fn core_to_wire_and_back_is_the_same_policy(policy in policy()) {
        let wire = to_proto(&policy);
        // Through the bytes too: what the demo sends is what the client decodes.
        let bytes = prost::Message::encode_to_vec(&wire);
        let decoded: outbound::OutboundPolicy =
            prost::Message::decode(bytes.as_slice()).expect("decodes");
        prop_assert_eq!(from_proto(decoded).expect("converts"), policy);
    }
}

/// A rule as an older controller sends it: one match, the timeout only in `request_timeout`.
fn old_rule(path: http_api::path_match::Kind) -> outbound::http_route::Rule {
    outbound::http_route::Rule {
        matches: vec![http_api::HttpRouteMatch {
            path: Some(http_api::PathMatch { kind: Some(path) }),
            ..Default::default()
        }],
        request_timeout: proto_duration(Duration::from_secs(2)),
        ..Default::default()
    }
}

fn http1(rules: Vec<outbound::http_route::Rule>) -> outbound::OutboundPolicy {
    use outbound::proxy_protocol::{Http1, Kind};
    outbound::OutboundPolicy {
        metadata: Some(resource("core", "Service", "sock-shop", "carts", Some(80))),
        protocol: Some(outbound::ProxyProtocol {
            kind: Some(Kind::Http1(Http1 {
                routes: vec![outbound::HttpRoute {
                    metadata: Some(meta::Metadata {
                        kind: Some(meta::metadata::Kind::Default("http".to_owned())),
                    }),
                    hosts: Vec::new(),
                    rules,
                }],
                failure_accrual: None,
            })),
        }),
    }
}

#[test]
fn an_older_controllers_request_timeout_and_default_route_are_read() {
    let policy = from_proto(http1(vec![old_rule(http_api::path_match::Kind::Prefix(
        "/".to_owned(),
    ))]))
    .expect("converts");
    let parent = policy.parent.as_ref().expect("parent");
    assert_eq!((&*parent.name, parent.port), ("carts", Some(80)));
    let route = &policy.routes[0];
    assert!(route.route.is_default());
    assert_eq!(&*route.route.name, "http");
    assert_eq!(&*route.route.namespace, "sock-shop");
    assert_eq!(
        route.rules[0].config.timeouts.request,
        Some(Duration::from_secs(2))
    );
}

#[test]
fn a_regex_that_does_not_compile_is_an_error_not_a_panic() {
    let error = from_proto(http1(vec![old_rule(http_api::path_match::Kind::Regex(
        "/api/(".to_owned(),
    ))]))
    .expect_err("refused");
    assert!(matches!(error, PolicyError::Regex { ref pattern, .. } if pattern == "/api/("));
}
