//! What the destination's proxy counted, for a refusal tap alone cannot explain (a bare 403 or
//! `PermissionDenied` on the client's side): its `inbound_http_authz_deny_total` and
//! `inbound_http_route_not_found_total`, as a [`DenialsReading`] holds them, for the request's
//! destination workload and client identity — and only when the reading's span covers the
//! request: a reading taken before the refusal reached the counters says nothing about it.

use chrono::{DateTime, Utc};

use super::{Statement, Topic};
use crate::model::request::Request;
use crate::routestats::{Counted, Denial, DenialKind, DenialsReading};
use crate::units::counter_figure;

/// Says what the destination's proxies counted for this client. Only for a refusal seen on the
/// client's side without the proxy's error header, to a workload whose proxies were read.
pub(super) fn counted(request: &Request, reading: &DenialsReading, out: &mut Vec<Statement>) {
    if !super::policy::is_bare_refusal(request) {
        return;
    }
    let dst = &request.destination.labels;
    let (Some(namespace), Some(workload)) = (dst.get("namespace"), dst.get("deployment")) else {
        return;
    };
    let client = client_prefix(request);
    let found = reading.counted(
        namespace,
        workload,
        client.as_deref(),
        request.started,
        answered(request),
    );
    let mut cites = vec![format!(
        "inbound_http_authz_deny_total{{namespace={namespace},deployment={workload}}}"
    )];
    let Some(watched) = reading.watched(namespace, workload) else {
        return;
    };
    let span = reading.span(watched);
    let text = match found {
        Counted::NotRead => return,
        Counted::NotYet => format!(
            "{workload}'s proxy counters were not read across this request yet ({}): the next \
             reading will say whether its proxy refused it.",
            reading.describe()
        ),
        Counted::Covered(matching) if matching.is_empty() => format!(
            "{workload}'s proxy counted no refusal of this client {span}: its policy did not deny \
             it, so the refusal most likely came from the application."
        ),
        Counted::Covered(matching) => {
            let total: f64 = matching.iter().map(|d| d.count).sum();
            let causes: Vec<String> = matching.iter().map(|d| cause(d)).collect();
            cites.extend(
                matching
                    .iter()
                    .map(|d| format!("client_id={}", d.client_id)),
            );
            cites.dedup();
            format!(
                "{workload}'s proxy refused {} from this client {span}: {}.",
                requests(total),
                causes.join("; ")
            )
        }
    };
    out.push(Statement::new(Topic::Policy, text, cites));
}

/// The client's identity as the server's proxy records it, up to the trust domain:
/// `sa.ns.serviceaccount.identity.`; `None` when tap does not say.
pub fn client_prefix(request: &Request) -> Option<String> {
    let src = &request.source.labels;
    src.get("serviceaccount")
        .zip(src.get("namespace"))
        .map(|(sa, ns)| format!("{sa}.{ns}.serviceaccount.identity."))
}

/// When the client had its answer: the end of stream, else the response headers.
fn answered(request: &Request) -> DateTime<Utc> {
    request.ended_at.unwrap_or_else(|| {
        let after = request.duration().unwrap_or_default();
        request.started + chrono::Duration::from_std(after).unwrap_or_default()
    })
}

/// `1 request`, `3 requests`, `about 3 requests`.
fn requests(count: f64) -> String {
    let noun = if (count.round() - 1.0).abs() < f64::EPSILON {
        "request"
    } else {
        "requests"
    };
    format!("{} {noun}", counter_figure(count))
}

/// Which Server and route refused, and why, in plain words.
fn cause(d: &Denial) -> String {
    match d.kind {
        DenialKind::Unauthorized => format!(
            "{} on {}: no AuthorizationPolicy admits this client there",
            counter_figure(d.count),
            d.place()
        ),
        DenialKind::RouteNotFound => format!(
            "{} on {}: no route of the Server matched",
            counter_figure(d.count),
            d.place()
        ),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    #[test]
    fn counts_read_as_words() {
        assert_eq!(super::requests(1.0), "1 request");
        assert_eq!(super::requests(3.0), "3 requests");
        // Prometheus's increase extrapolates over its window.
        assert_eq!(super::requests(2.6), "about 3 requests");
    }

    use super::super::tests::{find, request_403};
    use super::super::{Topic, explain, explain_with};
    use crate::model::event::Direction;
    use crate::model::request::Request;
    use crate::routestats::{Denial, DenialKind, DenialsOrigin, DenialsReading, Watched};

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

    /// A reading of `denials` covering `request`: from 20 s before it to 10 s after.
    fn reading(request: &Request, denials: Vec<Denial>) -> DenialsReading {
        let around = |s| request.started + TimeDelta::seconds(s);
        DenialsReading {
            cluster: None,
            denials,
            watched: vec![Watched {
                namespace: "pay".to_owned(),
                workload: "api".to_owned(),
                since: around(-20),
            }],
            until: around(10),
            origin: DenialsOrigin::Scraped { pods: 3 },
        }
    }

    fn refused() -> Request {
        let mut r = request_403(Direction::Outbound, &[]);
        r.started = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time");
        r
    }

    #[test]
    fn a_bare_403_says_what_the_destinations_proxy_counted_for_this_client() {
        let refused = refused();
        let counted = reading(
            &refused,
            vec![
                denial("web.shop.serviceaccount.identity.cluster.local", 3.0),
                denial("other.shop.serviceaccount.identity.cluster.local", 9.0),
            ],
        );
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
            "api's proxy refused 3 requests from this client since meshtap started (30 s)",
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
        let mut other = counted.clone();
        other.denials.remove(0);
        let none = explain_with(&refused, Some(&other));
        find(&none, Topic::Policy, "counted no refusal of this client");
    }

    #[test]
    fn a_reading_that_does_not_cover_the_request_claims_nothing() {
        let refused = refused();
        let mut early = reading(&refused, Vec::new());
        // Read last before the answer arrived: the counter may not hold it yet.
        early.until = refused.started;
        let statements = explain_with(&refused, Some(&early));
        find(&statements, Topic::Policy, "the next reading will say");
        assert!(
            statements
                .iter()
                .all(|s| !s.text.contains("counted no refusal")),
            "{statements:#?}"
        );
        // A workload whose proxies are not read: nothing is said about its counters.
        early.watched.clear();
        assert_eq!(explain_with(&refused, Some(&early)), explain(&refused));
    }

    #[test]
    fn nothing_is_said_without_counters_or_for_refusals_tap_explains() {
        let refused = refused();
        let counted = reading(
            &refused,
            vec![denial(
                "web.shop.serviceaccount.identity.cluster.local",
                3.0,
            )],
        );
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
                    .all(|s| !s.text.contains("proxy refused")
                        && !s.text.contains("counted no refusal")),
                "{statements:#?}"
            );
        }
    }
}
