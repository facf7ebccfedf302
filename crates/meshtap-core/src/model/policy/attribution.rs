//! The routes a request names by itself, without the outbound policy: a `ServiceProfile` route
//! in tap's `route_meta`, the server's inbound policy labels, or nothing (a template).

use std::borrow::Cow;

use super::{BackendRef, MatchedRoute, ParentRef, RouteRef, RouteSource, RuleConfig};
use crate::model::event::{Direction, Text};
use crate::model::request::Request;

/// What `request` was matched to: the `ServiceProfile` route tap named (the proxy prefers a
/// profile's routes), else the outbound policy route meshtap attributed, else the server's
/// inbound route, else a template.
pub fn matched_route(request: &Request) -> Cow<'_, MatchedRoute> {
    if let Some(profile) = profile_route(request) {
        return Cow::Owned(profile);
    }
    if let Some(policy) = request
        .init
        .as_ref()
        .and_then(|i| i.matched_route.as_deref())
    {
        return Cow::Borrowed(policy);
    }
    if let Some(inbound) = inbound_route(request) {
        return Cow::Owned(inbound);
    }
    Cow::Owned(template_route(request))
}

/// A `ServiceProfile` route named in `route_meta` (either direction; on the client side the
/// proxy prefers it over the outbound policy when the profile has routes).
pub fn profile_route(request: &Request) -> Option<MatchedRoute> {
    let name = request.route.get("route").filter(|r| !r.is_empty())?;
    let labels = &request.destination.labels;
    let namespace = Text::from(labels.get("namespace").unwrap_or(""));
    Some(MatchedRoute {
        source: RouteSource::Profile,
        route: Some(RouteRef {
            group: Text::from("linkerd.io"),
            kind: Text::from("ServiceProfile"),
            namespace: namespace.clone(),
            name: Text::from(name),
        }),
        rule: None,
        parent: service_parent(request, namespace.clone()),
        backend: served_by(request, namespace),
        rule_weight: None,
        config: RuleConfig::default(),
    })
}

/// The inbound route the server's proxy applied, from the `route_*`/`srv_*` labels.
pub fn inbound_route(request: &Request) -> Option<MatchedRoute> {
    if request.direction() != Direction::Inbound {
        return None;
    }
    let labels = &request.destination.labels;
    let name = labels.get("route_name").filter(|n| !n.is_empty())?;
    let namespace = Text::from(labels.get("namespace").unwrap_or(""));
    let parent = labels
        .get("srv_name")
        .filter(|n| !n.is_empty())
        .map(|srv| ParentRef {
            kind: Text::from(match labels.get("srv_kind") {
                Some("server") => "Server",
                Some(kind) if !kind.is_empty() => kind,
                _ => "default",
            }),
            namespace: namespace.clone(),
            name: Text::from(srv),
            port: request.destination.addr.map(|a| a.port()),
        });
    Some(MatchedRoute {
        source: RouteSource::Inbound,
        route: Some(RouteRef {
            group: Text::from(labels.get("route_group").unwrap_or("")),
            kind: Text::from(
                labels
                    .get("route_kind")
                    .filter(|k| !k.is_empty())
                    .unwrap_or("default"),
            ),
            namespace,
            name: Text::from(name),
        }),
        rule: None,
        parent,
        backend: None,
        rule_weight: None,
        config: RuleConfig::default(),
    })
}

/// No route known: marked as a template, naming only the Service the endpoint belongs to.
pub fn template_route(request: &Request) -> MatchedRoute {
    let namespace = Text::from(request.destination.labels.get("namespace").unwrap_or(""));
    MatchedRoute {
        source: RouteSource::Template,
        route: None,
        rule: None,
        parent: service_parent(request, namespace.clone()),
        backend: served_by(request, namespace),
        rule_weight: None,
        config: RuleConfig::default(),
    }
}

/// The Service whose endpoint served an outbound request, from its destination labels.
fn served_by(request: &Request, namespace: Text) -> Option<BackendRef> {
    if request.direction() != Direction::Outbound {
        return None;
    }
    let service = request
        .destination
        .labels
        .get("service")
        .filter(|s| !s.is_empty())?;
    Some(BackendRef {
        namespace,
        name: Text::from(service),
        port: None,
        weight: None,
    })
}

/// The Service a client addressed, from the authority it used (`catalogue`,
/// `voting-svc.emojivoto:8080`): on the client side the destination's labels name the backend,
/// which a split makes a different Service.
fn service_parent(request: &Request, namespace: Text) -> Option<ParentRef> {
    if request.direction() != Direction::Outbound {
        return None;
    }
    let authority = request.authority();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => (host, port.parse().ok()),
        _ => (authority, None),
    };
    if host.is_empty() || host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let mut labels = host.split('.');
    let name = labels.next().filter(|n| !n.is_empty())?;
    let namespace = labels.next().map_or(namespace, Text::from);
    Some(ParentRef {
        kind: Text::from("Service"),
        namespace,
        name: Text::from(name),
        port,
    })
}
