//! What the destination's proxy counted, for a refusal tap alone cannot explain (a bare 403 or
//! `PermissionDenied` on the client's side): its `inbound_http_authz_deny_total` and
//! `inbound_http_route_not_found_total` in the metrics window, as [`crate::routestats::denials`]
//! reads them, for the request's destination workload and client identity.

use super::{Statement, Topic};
use crate::model::request::Request;
use crate::routestats::{Denial, DenialKind};

/// Says what the destination's proxies counted for this client, given every refusal counted in
/// the window. Only for a refusal seen on the client's side without the proxy's error header.
pub(super) fn counted(request: &Request, denials: &[Denial], out: &mut Vec<Statement>) {
    if !super::policy::is_bare_refusal(request) {
        return;
    }
    let dst = &request.destination.labels;
    let (Some(namespace), Some(workload)) = (dst.get("namespace"), dst.get("deployment")) else {
        return;
    };
    let src = &request.source.labels;
    // The client's identity as the server's proxy records it: `sa.ns.serviceaccount.identity.…`.
    let client = src
        .get("serviceaccount")
        .zip(src.get("namespace"))
        .map(|(sa, ns)| format!("{sa}.{ns}.serviceaccount.identity."));
    let from_client = |d: &&Denial| {
        d.namespace == namespace
            && d.workload == workload
            && client
                .as_ref()
                .is_none_or(|c| d.client_id.starts_with(c.as_str()))
    };
    let matching: Vec<&Denial> = denials.iter().filter(from_client).collect();
    let mut cites = vec![format!(
        "inbound_http_authz_deny_total{{namespace={namespace},deployment={workload}}}"
    )];
    let text = if matching.is_empty() {
        format!(
            "{workload}'s proxy counted no refusal of this client in the metrics window: its \
             policy did not deny it, so the refusal most likely came from the application."
        )
    } else {
        let total: f64 = matching.iter().map(|d| d.count).sum();
        let causes: Vec<String> = matching.iter().map(|d| cause(d)).collect();
        cites.extend(
            matching
                .iter()
                .map(|d| format!("client_id={}", d.client_id)),
        );
        cites.dedup();
        format!(
            "{workload}'s proxy refused {total} request(s) from this client in the metrics window: {}.",
            causes.join("; ")
        )
    };
    out.push(Statement::new(Topic::Policy, text, cites));
}

/// Which Server and route refused, and why, in plain words.
fn cause(d: &Denial) -> String {
    match d.kind {
        DenialKind::Unauthorized => format!(
            "{} on Server {}, {} {}: no AuthorizationPolicy admits this client there",
            d.count, d.srv_name, d.route_kind, d.route_name
        ),
        DenialKind::RouteNotFound => format!(
            "{} on Server {}: no route of the Server matched",
            d.count, d.srv_name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{find, request_403};
    use super::super::{Topic, explain, explain_with};
    use crate::model::event::Direction;
    use crate::routestats::{Denial, DenialKind};

    fn denial(client_id: &str, count: f64) -> Denial {
        Denial {
            kind: DenialKind::Unauthorized,
            namespace: "pay".to_owned(),
            workload: "api".to_owned(),
            srv_kind: "server".to_owned(),
            srv_name: "api-http".to_owned(),
            route_kind: "HTTPRoute".to_owned(),
            route_name: "refunds".to_owned(),
            target_port: "8080".to_owned(),
            client_id: client_id.to_owned(),
            count,
        }
    }

    #[test]
    fn a_bare_403_says_what_the_destinations_proxy_counted_for_this_client() {
        let refused = request_403(Direction::Outbound, &[]);
        let counted = [
            denial("web.shop.serviceaccount.identity.cluster.local", 3.0),
            denial("other.shop.serviceaccount.identity.cluster.local", 9.0),
        ];
        let statements = explain_with(&refused, Some(&counted));
        // What tap cannot know is still said, and then what the proxy counted.
        find(
            &statements,
            Topic::Policy,
            "cause is unknown from tap alone",
        );
        let statement = find(
            &statements,
            Topic::Policy,
            "api's proxy refused 3 request(s)",
        );
        assert!(
            statement
                .text
                .contains("Server api-http, HTTPRoute refunds")
                && statement
                    .text
                    .contains("no AuthorizationPolicy admits this client"),
            "{statement:?}"
        );
        assert!(
            !statement.text.contains('9'),
            "another client's refusals: {statement:?}"
        );
        assert_eq!(
            statement.cites,
            [
                "inbound_http_authz_deny_total{namespace=pay,deployment=api}",
                "client_id=web.shop.serviceaccount.identity.cluster.local"
            ]
        );
        let none = explain_with(&refused, Some(&counted[1..]));
        find(&none, Topic::Policy, "counted no refusal of this client");
    }

    #[test]
    fn nothing_is_said_without_counters_or_for_refusals_tap_explains() {
        let counted = [denial(
            "web.shop.serviceaccount.identity.cluster.local",
            3.0,
        )];
        let refused = request_403(Direction::Outbound, &[]);
        assert_eq!(explain_with(&refused, None), explain(&refused));
        // The proxy said so itself, or the server's side: tap already knows.
        for request in [
            request_403(Direction::Outbound, &[("l5d-proxy-error", "unauthorized")]),
            request_403(Direction::Inbound, &[]),
        ] {
            let statements = explain_with(&request, Some(&counted));
            assert!(
                statements
                    .iter()
                    .all(|s| !s.text.contains("metrics window")),
                "{statements:#?}"
            );
        }
    }
}
