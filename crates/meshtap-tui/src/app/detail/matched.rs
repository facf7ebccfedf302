//! The detail's `matched route` node: which route, rule and backend the request was matched to,
//! where that came from, and what the rule configures.

use std::fmt::Write as _;

use super::Node;
use crate::model::policy::{MatchedRoute, RouteSource, matched_route};
use crate::model::request::Request;

/// Where a route came from, in words a user can check against the cluster.
fn source_words(source: RouteSource) -> &'static str {
    match source {
        RouteSource::Policy => "policy: the client's outbound policy, matched as the proxy does",
        RouteSource::Profile => "profile: a ServiceProfile route, named by the proxy in tap",
        RouteSource::Inbound => "inbound: the server's policy labels",
        RouteSource::Template => "template: no route known, method + path template",
    }
}

/// One line: `HTTPRoute catalogue-split rule 1 → catalogue (policy)`.
fn summary(m: &MatchedRoute) -> String {
    let mut out = m
        .route
        .as_ref()
        .map_or_else(|| "no route known".to_owned(), ToString::to_string);
    if let Some(rule) = m.rule {
        let _ = write!(out, " rule {rule}");
    }
    if !m.backend_name().is_empty() {
        let _ = write!(out, " → {}", m.backend_name());
    }
    let _ = write!(out, " ({})", m.source.as_str());
    out
}

pub(super) fn matched_node(request: &Request) -> Node {
    let matched = matched_route(request);
    let m = &*matched;
    let mut children = vec![Node::leaf("source", source_words(m.source))];
    if let Some(route) = &m.route {
        let group = if route.group.is_empty() {
            String::new()
        } else {
            format!(" ({})", route.group)
        };
        children.push(Node::leaf(
            "route",
            format!("{} {}{group}", route.kind, route.name),
        ));
        if !route.namespace.is_empty() {
            children.push(Node::leaf("namespace", route.namespace.as_ref()));
        }
    }
    if let Some(rule) = m.rule {
        children.push(Node::leaf("rule", rule.to_string()));
    }
    if let Some(parent) = &m.parent {
        children.push(Node::leaf("parent", format!("{} {parent}", parent.kind)));
    }
    if let Some(backend) = &m.backend {
        let weight = m
            .weight_label()
            .map_or_else(String::new, |w| format!(" (weight {w})"));
        children.push(Node::leaf("backend", format!("{}{weight}", backend.name)));
    }
    let timeout = m.config.timeout_label();
    if !timeout.is_empty() {
        children.push(Node::leaf("timeout", timeout));
    }
    let retry = m.config.retry_label();
    if !retry.is_empty() {
        children.push(Node::leaf("retry", retry));
    }
    if m.source == RouteSource::Policy {
        children.push(Node::leaf(
            "attempts",
            "each retry is tapped as a request of its own (tap sits below the retry layer)",
        ));
    }
    let mut node = Node::branch("matched route", children);
    node.value = summary(m);
    node
}
