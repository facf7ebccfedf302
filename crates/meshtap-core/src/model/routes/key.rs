//! What one row of the routes table stands for, and how a request finds its row.
//!
//! With the default grouping a row is the route the proxy applied: for a request the client's
//! outbound policy routed (`HTTPRoute`/`GRPCRoute`), parent → route → rule, the parent being the
//! Service and port the client addressed; for the older cases (a `ServiceProfile` route, the
//! server's inbound route labels, or no route at all) the destination workload and the route's
//! name or a method + path template. Client side and server side never share a row: the
//! direction leads every key. Grouping by backend adds the Service that served the request.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{Grouping, template};
use crate::model::event::{Direction, Endpoint, Text};
use crate::model::policy::{MatchedRoute, RouteSource};
use crate::model::request::{Request, workload};

/// Separates the parts of a key in the lookup buffer; never appears in labels or paths.
const SEP: char = '\u{1f}';

/// The stable identity of a row: selection is held by it, so streaming inserts never move the
/// cursor. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    pub direction: Direction,
    /// The destination's namespace, or the parent Service's for a policy route ("" when unknown).
    pub namespace: Text,
    /// The parent Service and port of a policy route (`catalogue:80`), else the destination
    /// workload, or `source → destination` when grouping by both; led by `cluster/` when the
    /// request came from one of several clusters (a route is per cluster).
    pub peer: Text,
    /// The route within `peer`; empty unless grouping by route.
    pub route: Text,
    /// The rule's index within `route`: policy routes only.
    pub rule: Option<u32>,
    /// The Service that served the requests; empty unless the table groups by backend.
    pub backend: Text,
}

impl RouteKey {
    /// A key of the older kind: no rule, no backend.
    pub fn new(direction: Direction, namespace: &str, peer: &str, route: &str) -> Self {
        Self {
            direction,
            namespace: Text::from(namespace),
            peer: Text::from(peer),
            route: Text::from(route),
            rule: None,
            backend: Text::from(""),
        }
    }

    /// What the Route column shows: `catalogue:80 HTTPRoute catalogue-split rule 1 → catalogue`.
    pub fn label(&self) -> String {
        let mut out = self.peer.to_string();
        if !self.route.is_empty() {
            out.push(' ');
            out.push_str(&self.route);
        }
        out.push_str(&self.branch());
        out
    }

    /// The part below the route: ` rule 1 → catalogue`, "" for neither.
    pub fn branch(&self) -> String {
        let (mut out, backend) = self.branch_parts();
        out.push_str(&backend);
        out
    }

    /// The branch's two parts, ` rule N` and ` → backend` (each "" when the key has none), for
    /// a view that cuts one before the other.
    pub fn branch_parts(&self) -> (String, String) {
        let mut rule = String::new();
        if let Some(n) = self.rule {
            let _ = write!(rule, " rule {n}");
        }
        let mut backend = String::new();
        if !self.backend.is_empty() {
            let _ = write!(backend, " → {}", self.backend);
        }
        (rule, backend)
    }

    /// The rows of one route (parent and route alike) belong together in a tree.
    pub fn same_route(&self, other: &RouteKey) -> bool {
        self.direction == other.direction
            && self.namespace == other.namespace
            && self.peer == other.peer
            && self.route == other.route
    }

    /// The rows whose backends share one rule's traffic.
    pub fn same_rule(&self, other: &RouteKey) -> bool {
        self.same_route(other) && self.rule == other.rule
    }

    pub fn is_other(&self) -> bool {
        self.route.as_ref() == super::OTHER_ROUTES
    }
}

/// The policy route a request was matched to, when the row should name it: a `ServiceProfile`
/// route in `route_meta` wins, as it does in the proxy.
pub(super) fn policy_match(request: &Request) -> Option<&Arc<MatchedRoute>> {
    if request.route.get("route").is_some_and(|r| !r.is_empty()) {
        return None;
    }
    request
        .init
        .as_ref()
        .and_then(|i| i.matched_route.as_ref())
        .filter(|m| m.source == RouteSource::Policy && m.route.is_some())
}

/// The key `request` is counted under with `grouping` (and by backend when `backends`): what
/// one row of the routes pane stands for (`meshtap diff` compares captures row by row).
pub fn key_of(grouping: Grouping, backends: bool, request: &Request) -> RouteKey {
    let mut lookup = String::new();
    write_lookup_key(&mut lookup, grouping, backends, request);
    key_from_lookup(&lookup, request.direction())
}

pub(super) fn key_from_lookup(lookup: &str, direction: Direction) -> RouteKey {
    let mut parts = lookup.split(SEP).skip(1);
    let mut next = || parts.next().unwrap_or("");
    let namespace = Text::from(next());
    let peer = Text::from(next());
    let route = Text::from(next());
    let rule = next().parse().ok();
    RouteKey {
        direction,
        namespace,
        peer,
        route,
        rule,
        backend: Text::from(next()),
    }
}

/// Writes `direction SEP namespace SEP peer SEP route SEP rule SEP backend` for `request` into
/// `out`. Allocates nothing beyond `out`.
pub(super) fn write_lookup_key(
    out: &mut String,
    grouping: Grouping,
    backends: bool,
    request: &Request,
) {
    out.push(match request.direction() {
        Direction::Inbound => 'i',
        Direction::Outbound => 'o',
        Direction::Unknown => 'u',
    });
    out.push(SEP);
    let policy = match grouping {
        Grouping::Route => policy_match(request),
        _ => None,
    };
    let parent = policy.and_then(|m| m.parent.as_ref());
    let namespace = match parent {
        Some(parent) if !parent.namespace.is_empty() => parent.namespace.as_ref(),
        _ => request.destination.labels.get("namespace").unwrap_or(""),
    };
    out.push_str(namespace);
    out.push(SEP);
    // A route is per cluster: with several open its peer reads `cluster/peer`.
    if let Some(cluster) = &request.cluster {
        out.push_str(cluster.as_str());
        out.push('/');
    }
    match (grouping, policy) {
        (Grouping::Route, Some(matched)) => {
            match parent {
                Some(parent) => {
                    let _ = write!(out, "{parent}");
                }
                None => write_workload(out, &request.destination, request.authority()),
            }
            out.push(SEP);
            if let Some(route) = &matched.route {
                let _ = write!(out, "{route}");
            }
            out.push(SEP);
            if let Some(rule) = matched.rule {
                let _ = write!(out, "{rule}");
            }
        }
        (Grouping::Route, None) => {
            write_workload(out, &request.destination, request.authority());
            out.push(SEP);
            write_route(out, request);
            out.push(SEP);
        }
        (Grouping::Destination, _) => {
            write_workload(out, &request.destination, request.authority());
            out.push(SEP);
            out.push(SEP);
        }
        (Grouping::SourceDestination, _) => {
            write_workload(out, &request.source, "");
            let source_ns = request.source.labels.get("namespace").unwrap_or("");
            let destination_ns = request.destination.labels.get("namespace").unwrap_or("");
            if source_ns != destination_ns && !source_ns.is_empty() {
                out.push('.');
                out.push_str(source_ns);
            }
            out.push_str(" → ");
            write_workload(out, &request.destination, request.authority());
            out.push(SEP);
            out.push(SEP);
        }
    }
    out.push(SEP);
    if backends {
        out.push_str(backend_of(request, policy));
    }
}

/// The Service that served an outbound request: the policy's backend, else the endpoint's
/// `service` label. Inbound requests have none (the server is the workload itself).
fn backend_of<'a>(request: &'a Request, policy: Option<&'a Arc<MatchedRoute>>) -> &'a str {
    if let Some(name) = policy.map(|m| m.backend_name()).filter(|n| !n.is_empty()) {
        return name;
    }
    if request.direction() != Direction::Outbound {
        return "";
    }
    request.destination.labels.get("service").unwrap_or("")
}

/// The workload's name, else its service, else the authority's host, else its IP.
fn write_workload(out: &mut String, endpoint: &Endpoint, authority: &str) {
    let labels = &endpoint.labels;
    if let Some((_, _, name)) = workload(endpoint) {
        out.push_str(name);
    } else if let Some(service) = labels.get("service") {
        out.push_str(service);
    } else if let Some(host) = authority_host(authority) {
        out.push_str(host);
    } else if let Some(addr) = endpoint.addr {
        let _ = write!(out, "{}", addr.ip());
    } else {
        out.push('?');
    }
}

fn authority_host(authority: &str) -> Option<&str> {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    (!host.is_empty()).then_some(host)
}

/// `ServiceProfile` route, else the inbound policy route unless it is the default one, else
/// method + path template.
fn write_route(out: &mut String, request: &Request) {
    if let Some(route) = request.route.get("route").filter(|r| !r.is_empty()) {
        out.push_str(route);
        return;
    }
    if request.direction() == Direction::Inbound {
        let labels = &request.destination.labels;
        let kind = labels.get("route_kind").unwrap_or("");
        let name = labels.get("route_name").unwrap_or("");
        // The default route carries no information: every request on the server matches it.
        if !name.is_empty() && name != "default" && kind != "default" {
            out.push_str(kind);
            out.push('/');
            out.push_str(name);
            return;
        }
    }
    if request.init.is_none() {
        out.push_str("(request not seen)");
        return;
    }
    let method = request.method();
    out.push_str(if method.is_empty() { "GET" } else { method });
    out.push(' ');
    template::write_template(out, request.path());
}
