//! The simulated policy controller's answers: the outbound policy of each Service port in the
//! demo mesh, as core values. The demo's `OutboundPolicies` server puts them on the wire, and the
//! simulated client proxies route by them (with core's matcher), so what the demo serves, taps
//! and counts in its proxies' metrics agree.
//!
//! The fixtures are the (22): `catalogue-split`, `carts-timeouts` and `voting-retries`.
//! Every other Service gets the route the real controller synthesises when none attaches
//! (linkerd2 `policy-controller/grpc/src/outbound/http.rs`: metadata `Default("http")`, one rule
//! with prefix `/` to the Service itself, first-available).

use std::time::Duration;

use super::mesh::{Mesh, Workload};
use crate::model::event::Text;
use crate::model::policy::{
    BackendRef, GrpcMatch, GrpcRetryOn, HeaderMatch, HttpMatch, OutboundPolicy, ParentRef,
    PathMatch, PolicyProtocol, PolicyRoute, PolicyRule, RetryOn, RetryPolicy, RouteRef, RuleConfig,
    RuleMatches, Timeouts, ValueMatch,
};

/// The name the policy controller gives a Service's default HTTP route (the proxy's metrics
/// label it `route_kind="default"`, `route_name="http"`, empty group and namespace).
pub const DEFAULT_ROUTE_NAME: &str = "http";
/// The Gateway API group of `HTTPRoute` and `GRPCRoute`.
const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// The cluster domain of every simulated Service's authority.
const CLUSTER_DOMAIN: &str = "svc.cluster.local";

/// `catalogue-split`'s canary header, sent by some front-end calls.
pub const CANARY_HEADER: (&str, &str) = ("x-canary", "true");
/// `catalogue-split` rule 1's weights: (backend, weight).
pub const CATALOGUE_SPLIT: [(&str, u32); 2] = [("catalogue", 90), ("catalogue-v2", 10)];
/// `carts-timeouts` rule 0's request timeout.
pub const CARTS_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// `voting-retries` rule 0's retry limit (retries after the first attempt).
pub const VOTING_RETRY_LIMIT: u32 = 2;

/// The authority a proxy asks the controller about for `workload`'s Service:
/// `name.ns.svc.cluster.local:port`; `None` for a workload without a Service.
pub fn service_authority(workload: &Workload) -> Option<String> {
    let service = workload.service?;
    Some(format!(
        "{service}.{}.{CLUSTER_DOMAIN}:{}",
        workload.namespace, workload.service_port
    ))
}

/// The outbound policy the simulated controller answers for `authority`
/// (`name.ns.svc.cluster.local:port`): the Service's routes, or its default route when none
/// attaches; `None` for anything that is not a Service port of the demo mesh.
pub fn outbound_policy(mesh: &Mesh, authority: &str) -> Option<OutboundPolicy> {
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_end_matches('.');
    let (name, namespace) = host
        .strip_suffix(CLUSTER_DOMAIN)?
        .strip_suffix('.')?
        .split_once('.')?;
    let workload = mesh
        .workloads
        .iter()
        .find(|w| w.service == Some(name) && w.namespace == namespace && w.service_port == port)?;
    let parent = ParentRef {
        kind: Text::from("Service"),
        namespace: Text::from(namespace),
        name: Text::from(name),
        port: Some(port),
    };
    let (protocol, routes) = match (namespace, name) {
        ("sock-shop", "catalogue") => (PolicyProtocol::Http, vec![catalogue_split(namespace)]),
        ("sock-shop", "carts") => (PolicyProtocol::Http, vec![carts_timeouts(namespace, port)]),
        ("emojivoto", "voting-svc") => {
            (PolicyProtocol::Grpc, vec![voting_retries(namespace, port)])
        }
        _ => (PolicyProtocol::Http, vec![default_route(workload)]),
    };
    Some(OutboundPolicy {
        parent: Some(parent),
        protocol,
        routes,
    })
}

/// The route the controller synthesises for a Service without routes.
fn default_route(workload: &Workload) -> PolicyRoute {
    let service = workload.service.unwrap_or(workload.name);
    PolicyRoute {
        route: RouteRef {
            group: Text::from(""),
            kind: Text::from("default"),
            namespace: Text::from(""),
            name: Text::from(DEFAULT_ROUTE_NAME),
        },
        hosts: Vec::new(),
        rules: vec![PolicyRule {
            matches: RuleMatches::Http(vec![prefix("/")]),
            // First-available: one backend, no weight.
            backends: vec![backend(
                workload.namespace,
                service,
                workload.service_port,
                None,
            )],
            config: RuleConfig::default(),
        }],
    }
}

/// sock-shop `HTTPRoute catalogue-split` on `catalogue:80`: a canary header goes to v2 only;
/// everything else is split 90/10.
fn catalogue_split(namespace: &str) -> PolicyRoute {
    let canary = HttpMatch {
        headers: vec![HeaderMatch {
            name: Text::from(CANARY_HEADER.0),
            value: ValueMatch::Exact(CANARY_HEADER.1.as_bytes().into()),
        }],
        ..prefix("/")
    };
    let split = CATALOGUE_SPLIT
        .iter()
        .map(|&(name, weight)| backend(namespace, name, 80, Some(weight)))
        .collect();
    PolicyRoute {
        route: resource("HTTPRoute", namespace, "catalogue-split"),
        hosts: Vec::new(),
        rules: vec![
            http_rule(
                vec![canary],
                vec![backend(namespace, "catalogue-v2", 80, Some(1))],
                RuleConfig::default(),
            ),
            http_rule(vec![prefix("/")], split, RuleConfig::default()),
        ],
    }
}

/// sock-shop `HTTPRoute carts-timeouts` on `carts`: adding to a cart must answer within 2 s.
fn carts_timeouts(namespace: &str, port: u16) -> PolicyRoute {
    let add = HttpMatch {
        method: Some(Text::from("POST")),
        ..prefix("/carts/")
    };
    let timeout = RuleConfig {
        timeouts: Timeouts {
            request: Some(CARTS_REQUEST_TIMEOUT),
            ..Timeouts::default()
        },
        retry: None,
    };
    let carts = || vec![backend(namespace, "carts", port, Some(1))];
    PolicyRoute {
        route: resource("HTTPRoute", namespace, "carts-timeouts"),
        hosts: Vec::new(),
        rules: vec![
            http_rule(vec![add], carts(), timeout),
            http_rule(vec![prefix("/")], carts(), RuleConfig::default()),
        ],
    }
}

/// emojivoto `GRPCRoute voting-retries` on `voting-svc`: a doughnut vote is retried on
/// `unavailable`, twice at most; every other method as configured by default.
fn voting_retries(namespace: &str, port: u16) -> PolicyRoute {
    let doughnut = GrpcMatch {
        service: Some(Text::from("emojivoto.v1.VotingService")),
        method: Some(Text::from("VoteDoughnut")),
        headers: Vec::new(),
    };
    let retry = RuleConfig {
        timeouts: Timeouts::default(),
        retry: Some(RetryPolicy {
            max_retries: VOTING_RETRY_LIMIT,
            on: RetryOn::Grpc(GrpcRetryOn {
                unavailable: true,
                ..GrpcRetryOn::default()
            }),
            timeout: None,
        }),
    };
    let voting = || vec![backend(namespace, "voting-svc", port, Some(1))];
    let rule = |matches, config| PolicyRule {
        matches: RuleMatches::Grpc(matches),
        backends: voting(),
        config,
    };
    PolicyRoute {
        route: resource("GRPCRoute", namespace, "voting-retries"),
        hosts: Vec::new(),
        rules: vec![
            rule(vec![doughnut], retry),
            rule(Vec::new(), RuleConfig::default()),
        ],
    }
}

fn resource(kind: &str, namespace: &str, name: &str) -> RouteRef {
    RouteRef {
        group: Text::from(GATEWAY_GROUP),
        kind: Text::from(kind),
        namespace: Text::from(namespace),
        name: Text::from(name),
    }
}

fn backend(namespace: &str, name: &str, port: u16, weight: Option<u32>) -> BackendRef {
    BackendRef {
        namespace: Text::from(namespace),
        name: Text::from(name),
        port: Some(port),
        weight,
    }
}

/// A match on a path prefix only (the Gateway API default is prefix `/`).
fn prefix(path: &str) -> HttpMatch {
    HttpMatch {
        path: Some(PathMatch::Prefix(path.into())),
        ..HttpMatch::default()
    }
}

fn http_rule(matches: Vec<HttpMatch>, backends: Vec<BackendRef>, config: RuleConfig) -> PolicyRule {
    PolicyRule {
        matches: RuleMatches::Http(matches),
        backends,
        config,
    }
}

#[cfg(test)]
mod tests;
