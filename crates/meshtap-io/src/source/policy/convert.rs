//! The policy controller's `OutboundPolicy` (linkerd2-proxy-api `outbound`) to core's
//! [`OutboundPolicy`] and back. One file for both directions, so the round-trip test covers
//! both: the client reads answers with [`from_proto`], the demo's controller writes them with
//! [`to_proto`].
//!
//! Facts from linkerd2's policy controller (`policy-controller/grpc/src/outbound.rs`): the
//! parent's metadata is a `Resource` (group `core`, kind `Service`, its port); a route's metadata
//! is its resource, or `Default(name)` for the route the controller synthesises; backends are
//! `BalanceP2c` over a `Destination.Get` of `name.ns.svc.cluster.local:port`.
#![allow(
    deprecated,
    reason = "older controllers send a rule's timeout only in the deprecated `request_timeout`"
)]

use std::time::Duration;

use linkerd2_proxy_api::{
    grpc_route as grpc_api, http_route as http_api, http_types, meta, outbound,
};

use crate::model::event::Text;
use crate::model::policy::{
    BackendRef, GrpcMatch, GrpcRetryOn, HeaderMatch, HostMatch, HttpMatch, OutboundPolicy,
    ParentRef, PathMatch, PolicyError, PolicyProtocol, PolicyRoute, PolicyRule, QueryMatch,
    RetryOn, RetryPolicy, RouteRef, RuleConfig, RuleMatches, Timeouts, ValueMatch,
};

/// The cluster domain backends are discovered under (Linkerd's default).
const CLUSTER_DOMAIN: &str = "cluster.local";

/// The controller's answer as core values; a regex that does not compile is an error, never a
/// panic.
pub fn from_proto(policy: outbound::OutboundPolicy) -> Result<OutboundPolicy, PolicyError> {
    use outbound::proxy_protocol::Kind;
    let parent = policy.metadata.and_then(parent_from);
    let ns = parent.as_ref().map(|p| p.namespace.clone());
    let ns = ns.as_ref();
    let kind = policy.protocol.and_then(|p| p.kind);
    let (protocol, routes) = match kind {
        // Detection ends in HTTP/1 or HTTP/2; the controller gives both the same routes.
        Some(Kind::Detect(detect)) => {
            let routes = detect
                .http1
                .map(|h| h.routes)
                .or_else(|| detect.http2.map(|h| h.routes))
                .unwrap_or_default();
            (PolicyProtocol::Http, http_routes(routes, ns)?)
        }
        Some(Kind::Http1(h)) => (PolicyProtocol::Http, http_routes(h.routes, ns)?),
        Some(Kind::Http2(h)) => (PolicyProtocol::Http, http_routes(h.routes, ns)?),
        Some(Kind::Grpc(g)) => (PolicyProtocol::Grpc, grpc_routes(g.routes, ns)?),
        Some(Kind::Opaque(_) | Kind::Tls(_)) | None => (PolicyProtocol::Opaque, Vec::new()),
    };
    Ok(OutboundPolicy {
        parent,
        protocol,
        routes,
    })
}

/// Core's policy as the controller would send it (what the demo's controller serves).
pub fn to_proto(policy: &OutboundPolicy) -> outbound::OutboundPolicy {
    use outbound::proxy_protocol::{Detect, Grpc, Http1, Http2, Kind, Opaque};
    let kind = match policy.protocol {
        PolicyProtocol::Http => {
            let routes: Vec<outbound::HttpRoute> =
                policy.routes.iter().map(http_route_to).collect();
            Kind::Detect(Detect {
                timeout: proto_duration(Duration::from_secs(10)),
                opaque: Some(Opaque { routes: Vec::new() }),
                http1: Some(Http1 {
                    routes: routes.clone(),
                    failure_accrual: None,
                }),
                http2: Some(Http2 {
                    routes,
                    failure_accrual: None,
                }),
            })
        }
        PolicyProtocol::Grpc => Kind::Grpc(Grpc {
            routes: policy.routes.iter().map(grpc_route_to).collect(),
            failure_accrual: None,
        }),
        PolicyProtocol::Opaque => Kind::Opaque(Opaque { routes: Vec::new() }),
    };
    outbound::OutboundPolicy {
        protocol: Some(outbound::ProxyProtocol { kind: Some(kind) }),
        metadata: policy.parent.as_ref().map(parent_to),
    }
}

fn parent_from(metadata: meta::Metadata) -> Option<ParentRef> {
    match metadata.kind? {
        meta::metadata::Kind::Resource(r) => Some(ParentRef {
            kind: Text::from(r.kind),
            namespace: Text::from(r.namespace),
            name: Text::from(r.name),
            port: port_from(r.port),
        }),
        meta::metadata::Kind::Default(_) => None,
    }
}

fn parent_to(parent: &ParentRef) -> meta::Metadata {
    let group = if parent.kind.as_ref() == "Service" {
        "core"
    } else {
        "policy.linkerd.io"
    };
    resource(
        group,
        &parent.kind,
        &parent.namespace,
        &parent.name,
        parent.port,
    )
}

fn resource(
    group: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    port: Option<u16>,
) -> meta::Metadata {
    meta::Metadata {
        kind: Some(meta::metadata::Kind::Resource(meta::Resource {
            group: group.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            section: String::new(),
            port: port.map_or(0, u32::from),
        })),
    }
}

/// 0 is "no port" on the wire.
fn port_from(port: u32) -> Option<u16> {
    u16::try_from(port).ok().filter(|p| *p != 0)
}

/// A route's metadata; the controller's synthesised route is `Default(name)`, which core names
/// `default` in the parent's namespace.
fn route_from(metadata: Option<meta::Metadata>, parent_ns: Option<&Text>) -> RouteRef {
    let default = |name: String| RouteRef {
        group: Text::from(""),
        kind: Text::from("default"),
        namespace: parent_ns.cloned().unwrap_or_else(|| Text::from("")),
        name: Text::from(name),
    };
    match metadata.and_then(|m| m.kind) {
        Some(meta::metadata::Kind::Resource(r)) => RouteRef {
            group: Text::from(r.group),
            kind: Text::from(r.kind),
            namespace: Text::from(r.namespace),
            name: Text::from(r.name),
        },
        Some(meta::metadata::Kind::Default(name)) => default(name),
        None => default("default".to_owned()),
    }
}

fn route_to(route: &RouteRef) -> meta::Metadata {
    if route.is_default() {
        return meta::Metadata {
            kind: Some(meta::metadata::Kind::Default(route.name.to_string())),
        };
    }
    resource(
        &route.group,
        &route.kind,
        &route.namespace,
        &route.name,
        None,
    )
}

fn hosts_from(hosts: Vec<http_api::HostMatch>) -> Vec<HostMatch> {
    use http_api::host_match::Match;
    hosts
        .into_iter()
        .filter_map(|h| match h.r#match? {
            Match::Exact(host) => Some(HostMatch::Exact(host.into())),
            Match::Suffix(suffix) => {
                let labels: Vec<String> = suffix.reverse_labels.into_iter().rev().collect();
                Some(HostMatch::Suffix(labels.join(".").into()))
            }
        })
        .collect()
}

fn hosts_to(hosts: &[HostMatch]) -> Vec<http_api::HostMatch> {
    use http_api::host_match::{Match, Suffix};
    hosts
        .iter()
        .map(|h| http_api::HostMatch {
            r#match: Some(match h {
                HostMatch::Exact(host) => Match::Exact(host.to_string()),
                HostMatch::Suffix(suffix) => Match::Suffix(Suffix {
                    reverse_labels: suffix.rsplit('.').map(ToOwned::to_owned).collect(),
                }),
            }),
        })
        .collect()
}

fn http_routes(
    routes: Vec<outbound::HttpRoute>,
    parent_ns: Option<&Text>,
) -> Result<Vec<PolicyRoute>, PolicyError> {
    routes
        .into_iter()
        .map(|route| {
            let rules = route
                .rules
                .into_iter()
                .map(|rule| {
                    let matches = rule
                        .matches
                        .into_iter()
                        .map(http_match_from)
                        .collect::<Result<_, _>>()?;
                    Ok(PolicyRule {
                        matches: RuleMatches::Http(matches),
                        backends: http_backends_from(rule.backends, parent_ns),
                        config: RuleConfig {
                            timeouts: timeouts_from(rule.timeouts, rule.request_timeout),
                            retry: rule.retry.map(|r| RetryPolicy {
                                max_retries: r.max_retries,
                                on: RetryOn::Statuses(
                                    r.conditions
                                        .map(|c| {
                                            c.status_ranges
                                                .into_iter()
                                                .map(|s| (status(s.start), status(s.end)))
                                                .collect()
                                        })
                                        .unwrap_or_default(),
                                ),
                                timeout: r.timeout.and_then(std_duration),
                            }),
                        },
                    })
                })
                .collect::<Result<_, PolicyError>>()?;
            Ok(PolicyRoute {
                route: route_from(route.metadata, parent_ns),
                hosts: hosts_from(route.hosts),
                rules,
            })
        })
        .collect()
}

fn http_route_to(route: &PolicyRoute) -> outbound::HttpRoute {
    use outbound::http_route::{Retry, retry::Conditions, retry::conditions::StatusRange};
    outbound::HttpRoute {
        metadata: Some(route_to(&route.route)),
        hosts: hosts_to(&route.hosts),
        rules: route
            .rules
            .iter()
            .map(|rule| outbound::http_route::Rule {
                matches: match &rule.matches {
                    RuleMatches::Http(matches) => matches.iter().map(http_match_to).collect(),
                    RuleMatches::Grpc(_) => Vec::new(),
                },
                filters: Vec::new(),
                backends: Some(http_backends_to(&rule.backends)),
                request_timeout: None,
                timeouts: timeouts_to(&rule.config.timeouts),
                retry: rule.config.retry.as_ref().map(|r| Retry {
                    max_retries: r.max_retries,
                    max_request_bytes: 0,
                    conditions: Some(Conditions {
                        status_ranges: match &r.on {
                            RetryOn::Statuses(ranges) => ranges
                                .iter()
                                .map(|&(start, end)| StatusRange {
                                    start: u32::from(start),
                                    end: u32::from(end),
                                })
                                .collect(),
                            RetryOn::Grpc(_) => Vec::new(),
                        },
                    }),
                    timeout: r.timeout.and_then(proto_duration),
                    backoff: None,
                }),
                allow_l5d_request_headers: false,
            })
            .collect(),
    }
}

fn grpc_routes(
    routes: Vec<outbound::GrpcRoute>,
    parent_ns: Option<&Text>,
) -> Result<Vec<PolicyRoute>, PolicyError> {
    routes
        .into_iter()
        .map(|route| {
            let rules = route
                .rules
                .into_iter()
                .map(|rule| {
                    let matches = rule
                        .matches
                        .into_iter()
                        .map(grpc_match_from)
                        .collect::<Result<_, _>>()?;
                    Ok(PolicyRule {
                        matches: RuleMatches::Grpc(matches),
                        backends: grpc_backends_from(rule.backends, parent_ns),
                        config: RuleConfig {
                            timeouts: timeouts_from(rule.timeouts, rule.request_timeout),
                            retry: rule.retry.map(|r| {
                                let c = r.conditions.unwrap_or_default();
                                RetryPolicy {
                                    max_retries: r.max_retries,
                                    on: RetryOn::Grpc(GrpcRetryOn {
                                        cancelled: c.cancelled,
                                        deadline_exceeded: c.deadine_exceeded,
                                        resource_exhausted: c.resource_exhausted,
                                        internal: c.internal,
                                        unavailable: c.unavailable,
                                    }),
                                    timeout: r.timeout.and_then(std_duration),
                                }
                            }),
                        },
                    })
                })
                .collect::<Result<_, PolicyError>>()?;
            Ok(PolicyRoute {
                route: route_from(route.metadata, parent_ns),
                hosts: hosts_from(route.hosts),
                rules,
            })
        })
        .collect()
}

fn grpc_route_to(route: &PolicyRoute) -> outbound::GrpcRoute {
    use outbound::grpc_route::{Retry, retry::Conditions};
    outbound::GrpcRoute {
        metadata: Some(route_to(&route.route)),
        hosts: hosts_to(&route.hosts),
        rules: route
            .rules
            .iter()
            .map(|rule| outbound::grpc_route::Rule {
                matches: match &rule.matches {
                    RuleMatches::Grpc(matches) => matches.iter().map(grpc_match_to).collect(),
                    RuleMatches::Http(_) => Vec::new(),
                },
                filters: Vec::new(),
                backends: Some(grpc_backends_to(&rule.backends)),
                request_timeout: None,
                timeouts: timeouts_to(&rule.config.timeouts),
                retry: rule.config.retry.as_ref().map(|r| {
                    let on = match &r.on {
                        RetryOn::Grpc(on) => *on,
                        RetryOn::Statuses(_) => GrpcRetryOn::default(),
                    };
                    Retry {
                        max_retries: r.max_retries,
                        max_request_bytes: 0,
                        conditions: Some(Conditions {
                            cancelled: on.cancelled,
                            deadine_exceeded: on.deadline_exceeded,
                            resource_exhausted: on.resource_exhausted,
                            internal: on.internal,
                            unavailable: on.unavailable,
                        }),
                        timeout: r.timeout.and_then(proto_duration),
                        backoff: None,
                    }
                }),
                allow_l5d_request_headers: false,
            })
            .collect(),
    }
}

/// Both route kinds carry the same distribution shape in their own module; one macro writes the
/// conversion for each rather than two hand copies.
macro_rules! distribution {
    ($module:ident, $from:ident, $to:ident) => {
        fn $from(
            distribution: Option<outbound::$module::Distribution>,
            parent_ns: Option<&Text>,
        ) -> Vec<BackendRef> {
            use outbound::$module::distribution::Kind;
            match distribution.and_then(|d| d.kind) {
                None | Some(Kind::Empty(_)) => Vec::new(),
                Some(Kind::FirstAvailable(list)) => list
                    .backends
                    .into_iter()
                    .filter_map(|b| backend_from(b.backend, None, parent_ns))
                    .collect(),
                Some(Kind::RandomAvailable(list)) => list
                    .backends
                    .into_iter()
                    .filter_map(|w| {
                        backend_from(w.backend.and_then(|b| b.backend), Some(w.weight), parent_ns)
                    })
                    .collect(),
            }
        }

        /// Weighted when every backend has a weight, else a first-available list.
        fn $to(backends: &[BackendRef]) -> outbound::$module::Distribution {
            use outbound::$module::distribution::{Empty, FirstAvailable, Kind, RandomAvailable};
            use outbound::$module::{RouteBackend, WeightedRouteBackend};
            let route_backend = |b: &BackendRef| RouteBackend {
                backend: Some(backend_to(b)),
                filters: Vec::new(),
                request_timeout: None,
            };
            let kind = if backends.is_empty() {
                Kind::Empty(Empty {})
            } else if backends.iter().all(|b| b.weight.is_some()) {
                Kind::RandomAvailable(RandomAvailable {
                    backends: backends
                        .iter()
                        .map(|b| WeightedRouteBackend {
                            backend: Some(route_backend(b)),
                            weight: b.weight.unwrap_or(1),
                        })
                        .collect(),
                })
            } else {
                Kind::FirstAvailable(FirstAvailable {
                    backends: backends.iter().map(route_backend).collect(),
                })
            };
            outbound::$module::Distribution { kind: Some(kind) }
        }
    };
}

distribution!(http_route, http_backends_from, http_backends_to);
distribution!(grpc_route, grpc_backends_from, grpc_backends_to);

/// A backend named by its metadata (a Service, or the controller's default name).
fn backend_from(
    backend: Option<outbound::Backend>,
    weight: Option<u32>,
    parent_ns: Option<&Text>,
) -> Option<BackendRef> {
    let (namespace, name, port) = match backend?.metadata?.kind? {
        meta::metadata::Kind::Resource(r) => (Text::from(r.namespace), r.name, port_from(r.port)),
        meta::metadata::Kind::Default(name) => (
            parent_ns.cloned().unwrap_or_else(|| Text::from("")),
            name,
            None,
        ),
    };
    (!name.is_empty()).then(|| BackendRef {
        namespace,
        name: Text::from(name),
        port,
        weight,
    })
}

fn backend_to(backend: &BackendRef) -> outbound::Backend {
    use outbound::backend::{BalanceP2c, EndpointDiscovery, Kind, endpoint_discovery};
    let port = backend.port.map(|p| format!(":{p}")).unwrap_or_default();
    let path = format!(
        "{}.{}.svc.{CLUSTER_DOMAIN}{port}",
        backend.name, backend.namespace
    );
    outbound::Backend {
        metadata: Some(resource(
            "core",
            "Service",
            &backend.namespace,
            &backend.name,
            backend.port,
        )),
        queue: None,
        kind: Some(Kind::Balancer(BalanceP2c {
            discovery: Some(EndpointDiscovery {
                kind: Some(endpoint_discovery::Kind::Dst(
                    endpoint_discovery::DestinationGet { path },
                )),
            }),
            load: None,
        })),
    }
}

/// `timeouts` where set; older controllers send only the deprecated `request_timeout`.
fn timeouts_from(
    timeouts: Option<http_api::Timeouts>,
    request_timeout: Option<prost_types::Duration>,
) -> Timeouts {
    match timeouts {
        Some(t) => Timeouts {
            request: t.request.and_then(std_duration),
            response: t.response.and_then(std_duration),
            idle: t.idle.and_then(std_duration),
        },
        None => Timeouts {
            request: request_timeout.and_then(std_duration),
            ..Timeouts::default()
        },
    }
}

fn timeouts_to(timeouts: &Timeouts) -> Option<http_api::Timeouts> {
    (!timeouts.is_empty()).then(|| http_api::Timeouts {
        response: timeouts.response.and_then(proto_duration),
        request: timeouts.request.and_then(proto_duration),
        idle: timeouts.idle.and_then(proto_duration),
    })
}

fn http_match_from(m: http_api::HttpRouteMatch) -> Result<HttpMatch, PolicyError> {
    use http_api::path_match::Kind;
    use http_api::query_param_match::Value as QueryValue;
    let path = match m.path.and_then(|p| p.kind) {
        None => None,
        Some(Kind::Exact(path)) => Some(PathMatch::Exact(path.into())),
        Some(Kind::Prefix(path)) => Some(PathMatch::Prefix(path.into())),
        Some(Kind::Regex(re)) => Some(PathMatch::regex(&re)?),
    };
    let query = m
        .query_params
        .into_iter()
        .filter_map(|q| {
            let value = match q.value? {
                QueryValue::Exact(v) => Ok(ValueMatch::Exact(v.into_bytes().into())),
                QueryValue::Regex(re) => ValueMatch::regex(&re),
            };
            Some(value.map(|value| QueryMatch {
                name: Text::from(q.name),
                value,
            }))
        })
        .collect::<Result<_, _>>()?;
    Ok(HttpMatch {
        path,
        headers: headers_from(m.headers)?,
        query,
        method: m.method.and_then(method_from),
    })
}

fn http_match_to(m: &HttpMatch) -> http_api::HttpRouteMatch {
    use http_api::path_match::Kind;
    use http_api::query_param_match::Value as QueryValue;
    http_api::HttpRouteMatch {
        path: m.path.as_ref().map(|p| http_api::PathMatch {
            kind: Some(match p {
                PathMatch::Exact(path) => Kind::Exact(path.to_string()),
                PathMatch::Prefix(path) => Kind::Prefix(path.to_string()),
                PathMatch::Regex(re) => Kind::Regex(unanchored(re.as_str())),
            }),
        }),
        headers: headers_to(&m.headers),
        query_params: m
            .query
            .iter()
            .map(|q| http_api::QueryParamMatch {
                name: q.name.to_string(),
                value: Some(match &q.value {
                    ValueMatch::Exact(v) => QueryValue::Exact(String::from_utf8_lossy(v).into()),
                    ValueMatch::Regex(re) => QueryValue::Regex(unanchored(re.as_str())),
                }),
            })
            .collect(),
        method: m.method.as_deref().map(method_to),
    }
}

fn grpc_match_from(m: grpc_api::GrpcRouteMatch) -> Result<GrpcMatch, PolicyError> {
    let (service, method) = m.rpc.map_or((None, None), |rpc| {
        let some = |s: String| (!s.is_empty()).then(|| Text::from(s));
        (some(rpc.service), some(rpc.method))
    });
    Ok(GrpcMatch {
        service,
        method,
        headers: headers_from(m.headers)?,
    })
}

fn grpc_match_to(m: &GrpcMatch) -> grpc_api::GrpcRouteMatch {
    let rpc = (m.service.is_some() || m.method.is_some()).then(|| grpc_api::GrpcRpcMatch {
        service: m.service.as_deref().unwrap_or("").to_owned(),
        method: m.method.as_deref().unwrap_or("").to_owned(),
    });
    grpc_api::GrpcRouteMatch {
        rpc,
        headers: headers_to(&m.headers),
    }
}

fn headers_from(headers: Vec<http_api::HeaderMatch>) -> Result<Vec<HeaderMatch>, PolicyError> {
    use http_api::header_match::Value;
    headers
        .into_iter()
        .filter_map(|h| {
            let value = match h.value? {
                Value::Exact(v) => Ok(ValueMatch::Exact(v.into())),
                Value::Regex(re) => ValueMatch::regex(&re),
            };
            Some(value.map(|value| HeaderMatch {
                name: Text::from(h.name),
                value,
            }))
        })
        .collect()
}

fn headers_to(headers: &[HeaderMatch]) -> Vec<http_api::HeaderMatch> {
    use http_api::header_match::Value;
    headers
        .iter()
        .map(|h| http_api::HeaderMatch {
            name: h.name.to_string(),
            value: Some(match &h.value {
                ValueMatch::Exact(v) => Value::Exact(v.to_vec()),
                ValueMatch::Regex(re) => Value::Regex(unanchored(re.as_str())),
            }),
        })
        .collect()
}

/// Core anchors every route regex as `^(?:…)$`; the wire carries the pattern as written.
fn unanchored(pattern: &str) -> String {
    pattern
        .strip_prefix("^(?:")
        .and_then(|p| p.strip_suffix(")$"))
        .unwrap_or(pattern)
        .to_owned()
}

fn method_from(method: http_types::HttpMethod) -> Option<Text> {
    use http_types::http_method::{Registered, Type};
    match method.r#type? {
        Type::Registered(code) => Registered::try_from(code)
            .ok()
            .map(|m| Text::from(m.as_str_name())),
        Type::Unregistered(name) => Some(Text::from(name.to_ascii_uppercase())),
    }
}

fn method_to(method: &str) -> http_types::HttpMethod {
    use http_types::http_method::{Registered, Type};
    let r#type = match Registered::from_str_name(method) {
        Some(registered) => Type::Registered(registered as i32),
        None => Type::Unregistered(method.to_owned()),
    };
    http_types::HttpMethod {
        r#type: Some(r#type),
    }
}

/// A status code from the wire; anything past `u16` is clamped (no HTTP status is).
fn status(code: u32) -> u16 {
    u16::try_from(code).unwrap_or(u16::MAX)
}

fn std_duration(d: prost_types::Duration) -> Option<Duration> {
    Duration::try_from(d).ok()
}

fn proto_duration(d: Duration) -> Option<prost_types::Duration> {
    prost_types::Duration::try_from(d).ok()
}

#[cfg(test)]
mod tests;
