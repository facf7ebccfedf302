//! Which route took the request: the server's policy route from its labels, the client's
//! outbound route as meshtap matched it (`matched_route`: an `HTTPRoute`/`GRPCRoute` rule, its
//! backend, timeout and retries), or a `ServiceProfile` route the proxy named itself.

use std::fmt::Write as _;

use super::{Side, Statement, Topic, label};
use crate::model::event::Direction;
use crate::model::policy::{MatchedRoute, RouteSource, matched_route};
use crate::model::request::Request;

pub(super) fn route(request: &Request, out: &mut Vec<Statement>) {
    server_route(request, out);
    let matched = matched_route(request);
    match matched.source {
        RouteSource::Profile => {
            let name = matched.name();
            out.push(Statement::new(
                Topic::Route,
                format!(
                    "The ServiceProfile route {name} matched: its retries, timeouts and per-route \
                     stats apply."
                ),
                vec![format!("route={name}")],
            ));
        }
        RouteSource::Policy => client_route(&matched, out),
        RouteSource::Inbound | RouteSource::Template => {
            out.push(Statement::new(
                Topic::Route,
                "No ServiceProfile route matched (or there is no ServiceProfile).",
                vec!["route (absent)".to_owned()],
            ));
            // On the server's side the client's route is another proxy's to know.
            if matched.source == RouteSource::Template && request.direction == Direction::Outbound {
                out.push(Statement::new(
                    Topic::Route,
                    "No client-side route is known for it (no outbound policy was read for its \
                     target): meshtap groups it by method and path template.",
                    vec!["matched_route.source=template".to_owned()],
                ));
            }
        }
    }
}

/// The server's policy route, as its proxy labelled the request.
fn server_route(request: &Request, out: &mut Vec<Statement>) {
    let route_kind = label(request, Side::Dst, "route_kind");
    let route_name = label(request, Side::Dst, "route_name");
    if let (Some((kind, kind_cite)), Some((name, name_cite))) = (route_kind, route_name) {
        let text = if kind.eq_ignore_ascii_case("default") {
            "No HTTPRoute or GRPCRoute matched: the Server's default route took it.".to_owned()
        } else {
            format!("The {kind} {name} matched (policy route).")
        };
        out.push(Statement::new(
            Topic::Route,
            text,
            vec![kind_cite, name_cite],
        ));
    }
}

/// The client's outbound route: which rule, for which parent, which backend served it, and what
/// the rule's timeout and retries mean for what tap shows.
fn client_route(m: &MatchedRoute, out: &mut Vec<Statement>) {
    let Some(route) = &m.route else { return };
    let parent = m.parent.as_ref().map(|p| format!("for {} {p}", p.kind));
    let mut cites = vec!["matched_route.source=policy".to_owned()];
    let mut text = if route.is_default() {
        let parent = parent.map_or_else(String::new, |p| format!(" {p}"));
        format!(
            "No HTTPRoute or GRPCRoute{parent} matched: the client's proxy used the policy \
             controller's default route {}",
            route.name
        )
    } else {
        cites.push(format!("matched_route.name={}", route.name));
        let mut text = format!(
            "The client's proxy routed it by {} {}",
            route.kind, route.name
        );
        if let Some(rule) = m.rule {
            cites.push(format!("matched_route.rule={rule}"));
            let _ = write!(text, ", rule {rule}");
        }
        if let Some(parent) = parent {
            let _ = write!(text, ", {parent}");
        }
        text
    };
    if let Some(backend) = &m.backend {
        cites.push(format!("matched_route.backend={}", backend.name));
        let share = match (backend.weight, m.rule_weight) {
            (Some(w), Some(total)) if total > 0 => {
                format!(
                    " (weight {w} of {total}: {}%)",
                    u64::from(w) * 100 / u64::from(total)
                )
            }
            _ => String::new(),
        };
        let _ = write!(text, ", to backend {}{share}", backend.name);
    }
    text.push_str(
        ". meshtap matched it against the outbound policy as the proxy does; tap itself does not \
         name the route.",
    );
    out.push(Statement::new(Topic::Route, text, cites));
    let timeout = m.config.timeout_label();
    if !timeout.is_empty() {
        out.push(Statement::new(
            Topic::Route,
            format!(
                "The rule's timeout ({timeout}): the client's proxy answers a request that takes \
                 longer with a 504 and counts it as REQUEST_TIMEOUT in its route metrics; tap \
                 shows that request cut short."
            ),
            vec![format!("matched_route.timeout={timeout}")],
        ));
    }
    let retry = m.config.retry_label();
    if !retry.is_empty() {
        out.push(Statement::new(
            Topic::Route,
            format!(
                "The rule retries {retry}: tap sits below the retry layer, so each attempt is a \
                 request of its own here, and a retried call shows as several."
            ),
            vec![format!("matched_route.retry={retry}")],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::find;
    use super::super::{Topic, explain};
    use crate::copy::tests::request;
    use crate::model::event::Direction;
    use crate::model::policy::{MatchedRoute, RouteRef, RuleConfig};
    use crate::model::request::Request;
    use crate::model::routes::fixtures::{Req, carts_timeout, routed_as, voting_retry};

    /// An outbound request to Service catalogue:80 matched to `route` (an `HTTPRoute` of
    /// sock-shop) rule `rule`, served by `backend`.
    fn routed(route: &str, rule: u32, backend: (&str, Option<u32>), config: RuleConfig) -> Request {
        let matched = routed_as(
            "sock-shop",
            "HTTPRoute",
            route,
            rule,
            ("catalogue", 80),
            backend,
            config,
        );
        with(matched)
    }

    fn with(matched: MatchedRoute) -> Request {
        Req::out(1, "front-end", "catalogue", "GET", "/catalogue")
            .matched(matched)
            .build()
    }

    #[test]
    fn a_policy_route_names_its_rule_parent_backend_and_share() {
        let r = routed(
            "catalogue-split",
            1,
            ("catalogue-v2", Some(10)),
            RuleConfig::default(),
        );
        let s = explain(&r);
        let statement = find(
            &s,
            Topic::Route,
            "routed it by HTTPRoute catalogue-split, rule 1, for Service catalogue:80, to backend \
             catalogue-v2 (weight 10 of 100: 10%)",
        );
        assert_eq!(
            statement.cites,
            [
                "matched_route.source=policy",
                "matched_route.name=catalogue-split",
                "matched_route.rule=1",
                "matched_route.backend=catalogue-v2"
            ]
        );
        // A client-side route is not a missing ServiceProfile route, nor a template.
        assert!(
            s.iter()
                .all(|st| !st.text.contains("ServiceProfile") && !st.text.contains("template")),
            "{s:#?}"
        );
    }

    #[test]
    fn a_rules_timeout_and_retries_say_what_tap_shows() {
        let config = RuleConfig {
            timeouts: carts_timeout().timeouts,
            retry: voting_retry().retry,
        };
        let s = explain(&routed("carts-timeouts", 0, ("carts", None), config));
        find(&s, Topic::Route, "to backend carts. meshtap matched it");
        let timeout = find(&s, Topic::Route, "REQUEST_TIMEOUT");
        assert!(timeout.text.contains("request 2s"), "{timeout:?}");
        let retry = find(&s, Topic::Route, "each attempt is a request of its own");
        assert!(retry.text.contains("2× on unavailable"), "{retry:?}");
    }

    #[test]
    fn the_default_route_and_no_route_are_said_as_such() {
        let mut default = routed_as(
            "sock-shop",
            "default",
            "http",
            0,
            ("catalogue", 80),
            ("catalogue", None),
            RuleConfig::default(),
        );
        default.route = Some(RouteRef {
            group: "".into(),
            ..default.route.expect("a route")
        });
        let s = explain(&with(default));
        find(
            &s,
            Topic::Route,
            "No HTTPRoute or GRPCRoute for Service catalogue:80 matched: the client's proxy used \
             the policy controller's default route http",
        );
        let unrouted = request(Direction::Outbound, "GET", "catalogue", "/", Vec::new());
        let s = explain(&unrouted);
        find(&s, Topic::Route, "No ServiceProfile route matched");
        find(&s, Topic::Route, "groups it by method and path template");
    }
}
