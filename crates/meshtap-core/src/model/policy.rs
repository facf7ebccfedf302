//! Routes as today's Linkerd configures them: the outbound policy a client proxy gets from the
//! policy controller (`HTTPRoute`/`GRPCRoute` rules with their backends, timeouts and retries),
//! the pure matcher that picks a rule for a request the way the proxy does, and what a request
//! was matched to ([`MatchedRoute`]), which every view and file shares.
//!
//! Wire types stop in the policy client (`source::policy`); this module holds the same facts as
//! plain values, so the demo, the client, the tables and the files agree on one shape.

mod attribution;
mod config;
mod grpc;
mod http;
mod select;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

use super::event::Text;
pub use attribution::{inbound_route, matched_route, profile_route, template_route};
pub use config::{GrpcRetryOn, RetryOn, RetryPolicy, RuleConfig, Timeouts};
pub use grpc::GrpcMatch;
pub use http::{HeaderMatch, HttpMatch, PathMatch, PolicyError, QueryMatch, ValueMatch};
pub use select::{RequestLine, Selected};

/// Where a request's route came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteSource {
    /// The client's outbound policy (`HTTPRoute`/`GRPCRoute`, or the parent's default route),
    /// matched by meshtap the way the proxy matches it.
    Policy,
    /// A `ServiceProfile` route, named by the proxy in tap's `route_meta`.
    Profile,
    /// The server's inbound policy labels (`route_*`, `srv_*`).
    Inbound,
    /// No route known: method + path template. Never a guessed route name.
    Template,
}

impl RouteSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteSource::Policy => "policy",
            RouteSource::Profile => "profile",
            RouteSource::Inbound => "inbound",
            RouteSource::Template => "template",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "policy" => RouteSource::Policy,
            "profile" => RouteSource::Profile,
            "inbound" => RouteSource::Inbound,
            "template" => RouteSource::Template,
            _ => return None,
        })
    }
}

/// A route resource: `HTTPRoute`, `GRPCRoute`, a `ServiceProfile`, or a parent's `default` route.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteRef {
    /// `gateway.networking.k8s.io`, `policy.linkerd.io`, or "" for a default route.
    pub group: Text,
    /// `HTTPRoute`, `GRPCRoute`, `ServiceProfile`, or `default`.
    pub kind: Text,
    pub namespace: Text,
    pub name: Text,
}

impl RouteRef {
    /// The route the policy controller synthesises when no route resource applies.
    pub fn is_default(&self) -> bool {
        self.kind.as_ref() == "default"
    }
}

impl fmt::Display for RouteRef {
    /// `HTTPRoute catalogue-split`; the namespace is the parent's in every view that shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_default() {
            write!(f, "[default] {}", self.name)
        } else {
            write!(f, "{} {}", self.kind, self.name)
        }
    }
}

/// What a route is attached to: a Service and port on the client side, a `Server` on the
/// server side.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParentRef {
    /// `Service`, `EgressNetwork`, `Server`.
    pub kind: Text,
    pub namespace: Text,
    pub name: Text,
    pub port: Option<u16>,
}

impl fmt::Display for ParentRef {
    /// `catalogue:80`, as files and the filter language write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// One backend of a rule: a Service, with the weight the rule gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackendRef {
    pub namespace: Text,
    pub name: Text,
    pub port: Option<u16>,
    /// The configured weight (`None` for a first-available list or an unweighted backend).
    pub weight: Option<u32>,
}

/// What one request was matched to. Built once per request by whoever attributes it and
/// shared (`Arc`) by every view of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MatchedRoute {
    pub source: RouteSource,
    /// `None` only for [`RouteSource::Template`].
    pub route: Option<RouteRef>,
    /// The rule's index in its route, as the API returned them.
    pub rule: Option<u32>,
    pub parent: Option<ParentRef>,
    /// The backend that served it, from the endpoint's destination labels; with its configured
    /// weight when the rule names it.
    pub backend: Option<BackendRef>,
    /// The sum of the weights of the rule's backends, so a backend's weight reads as a share
    /// (`None` where the rule gives none).
    pub rule_weight: Option<u32>,
    /// The rule's timeouts and retry policy (empty where the source has none).
    pub config: RuleConfig,
}

impl MatchedRoute {
    /// The route's name ("" for a template).
    pub fn name(&self) -> &str {
        self.route.as_ref().map_or("", |r| &r.name)
    }

    /// The route's kind ("" for a template).
    pub fn kind(&self) -> &str {
        self.route.as_ref().map_or("", |r| &r.kind)
    }

    pub fn backend_name(&self) -> &str {
        self.backend.as_ref().map_or("", |b| &b.name)
    }

    /// The backend's configured weight, `90 of 100` when the rule's total is known (`None`
    /// for an unweighted backend).
    pub fn weight_label(&self) -> Option<String> {
        let weight = self.backend.as_ref()?.weight?;
        Some(match self.rule_weight.filter(|t| *t > 0) {
            Some(total) => format!("{weight} of {total}"),
            None => weight.to_string(),
        })
    }

    /// The parent as `name:port` ("" when unknown).
    pub fn parent_label(&self) -> String {
        self.parent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

/// Which routing protocol the controller answered with for a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PolicyProtocol {
    /// HTTP/1, HTTP/2, or detection that ends in either: `HTTPRoute` rules apply.
    #[default]
    Http,
    /// gRPC: `GRPCRoute` rules apply.
    Grpc,
    /// Opaque TCP or TLS: no HTTP route, tap shows no requests anyway.
    Opaque,
}

/// A host match of a route (`hosts`; none means every host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostMatch {
    Exact(Box<str>),
    /// `*.example.com` is stored as `example.com`.
    Suffix(Box<str>),
}

/// The rules' matches, in one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleMatches {
    Http(Vec<HttpMatch>),
    Grpc(Vec<GrpcMatch>),
}

impl RuleMatches {
    pub fn is_empty(&self) -> bool {
        match self {
            RuleMatches::Http(m) => m.is_empty(),
            RuleMatches::Grpc(m) => m.is_empty(),
        }
    }
}

/// One rule of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    /// Any one of them matches; none is the implicit prefix "/".
    pub matches: RuleMatches,
    pub backends: Vec<BackendRef>,
    pub config: RuleConfig,
}

/// One route of a policy, in the order the controller returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRoute {
    pub route: RouteRef,
    pub hosts: Vec<HostMatch>,
    pub rules: Vec<PolicyRule>,
}

/// The outbound policy of one target (a Service port), as a client proxy gets it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// The Service (or egress network) the routes attach to; `None` for a bare address.
    pub parent: Option<ParentRef>,
    pub protocol: PolicyProtocol,
    pub routes: Vec<PolicyRoute>,
}

impl OutboundPolicy {
    /// The route and rule the proxy picks for `request`, or `None` when nothing matches (the
    /// proxy answers such a request with a 404 itself) or the answer depends on headers tap did
    /// not carry.
    pub fn select(&self, request: &RequestLine<'_>) -> Option<Selected> {
        select::select(self, request)
    }

    /// What `request`, served by the endpoint whose Service is `served_by`, was matched to.
    pub fn attribute(
        &self,
        request: &RequestLine<'_>,
        served_by: Option<&str>,
    ) -> Option<MatchedRoute> {
        let selected = self.select(request)?;
        let route = self.routes.get(selected.route)?;
        let rule = route.rules.get(selected.rule)?;
        Some(MatchedRoute {
            source: RouteSource::Policy,
            route: Some(route.route.clone()),
            rule: u32::try_from(selected.rule).ok(),
            parent: self.parent.clone(),
            backend: backend_of(rule, served_by, self.parent.as_ref()),
            rule_weight: rule_weight(rule),
            config: rule.config.clone(),
        })
    }
}

/// The sum of the rule's backend weights, when every backend has one.
fn rule_weight(rule: &PolicyRule) -> Option<u32> {
    rule.backends
        .iter()
        .map(|b| b.weight)
        .try_fold(0_u32, |sum, w| Some(sum.saturating_add(w?)))
        .filter(|sum| *sum > 0)
}

/// The rule's backend named `served_by` (with its weight); a backend the rule does not name is
/// still reported, without a weight, because the endpoint's labels are what tap saw.
fn backend_of(
    rule: &PolicyRule,
    served_by: Option<&str>,
    parent: Option<&ParentRef>,
) -> Option<BackendRef> {
    let served_by = served_by.filter(|s| !s.is_empty());
    if let Some(name) = served_by {
        if let Some(backend) = rule.backends.iter().find(|b| b.name.as_ref() == name) {
            return Some(backend.clone());
        }
        return Some(BackendRef {
            namespace: parent.map_or_else(|| Text::from(""), |p| p.namespace.clone()),
            name: Text::from(name),
            port: None,
            weight: None,
        });
    }
    // One backend: it served the request whatever the labels say.
    match rule.backends.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}
