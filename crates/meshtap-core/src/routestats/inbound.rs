//! Server-side rows, as `linkerd viz stat-inbound` builds them from `response_total
//! {direction="inbound"}` (by Server, route and port), and the inbound proxies' refusals:
//! `inbound_http_authz_deny_total` (a route matched but no authorization admitted the client)
//! and `inbound_http_route_not_found_total` (no route of the Server matched). Denials are
//! counted by the proxy before its tap layer, so tap never shows them on the server side.

use std::collections::BTreeMap;

use super::buckets::Buckets;
use super::window::{Delta, Window};
use super::{AUTHZ_DENY, RESPONSE_LATENCY_BUCKET, RESPONSE_TOTAL, ROUTE_NOT_FOUND};

/// One stat-inbound row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundRow {
    pub name: String,
    /// The Server's name, `[default]` for a default policy.
    pub server: String,
    pub port: String,
    pub route: String,
    pub route_kind: String,
    pub successes: f64,
    pub failures: f64,
    pub latency: Buckets,
}

type Key = (String, String, String, String, String);

fn key(delta: &Delta, resource_label: &str) -> Key {
    let bracket = |kind: &str, name: &str| {
        if kind == "default" || name == "default" {
            "[default]".to_owned()
        } else {
            name.to_owned()
        }
    };
    let route_kind = match delta.label("route_kind") {
        "default" => String::new(),
        kind => kind.to_owned(),
    };
    (
        delta.label(resource_label).to_owned(),
        bracket(delta.label("srv_kind"), delta.label("srv_name")),
        delta.label("target_port").to_owned(),
        if delta.label("route_name") == "default" {
            "[default]".to_owned()
        } else {
            delta.label("route_name").to_owned()
        },
        route_kind,
    )
}

/// The inbound rows of `window` (only `direction="inbound"` series), by `resource_label`.
pub fn inbound(window: &Window, resource_label: &str) -> Vec<InboundRow> {
    let mut rows: BTreeMap<Key, InboundRow> = BTreeMap::new();
    let inbound = |d: &&Delta| d.label("direction") == "inbound";
    for delta in window.family(RESPONSE_TOTAL).filter(inbound) {
        let row = row_of(&mut rows, delta, resource_label);
        if delta.label("classification") == "success" {
            row.successes += delta.value;
        } else {
            row.failures += delta.value;
        }
    }
    for delta in window.family(RESPONSE_LATENCY_BUCKET).filter(inbound) {
        row_of(&mut rows, delta, resource_label)
            .latency
            .add_ms(delta.label("le"), delta.value);
    }
    rows.into_values()
        .filter(|r| r.successes + r.failures > 0.0)
        .collect()
}

fn row_of<'a>(
    rows: &'a mut BTreeMap<Key, InboundRow>,
    delta: &Delta,
    resource_label: &str,
) -> &'a mut InboundRow {
    let k = key(delta, resource_label);
    rows.entry(k.clone()).or_insert_with(|| InboundRow {
        name: k.0,
        server: k.1,
        port: k.2,
        route: k.3,
        route_kind: k.4,
        ..InboundRow::default()
    })
}

/// Which refusal a proxy counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DenialKind {
    /// A route matched but no authorization admitted the client.
    Unauthorized,
    /// No route of the Server matched the request.
    RouteNotFound,
}

impl DenialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DenialKind::Unauthorized => "unauthorized",
            DenialKind::RouteNotFound => "route_not_found",
        }
    }
}

/// Requests a destination's proxy refused in the window, from one client identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub kind: DenialKind,
    pub namespace: String,
    /// The refusing workload (`deployment`), else its pod.
    pub workload: String,
    pub srv_kind: String,
    pub srv_name: String,
    /// Empty for route-not-found (no route matched).
    pub route_kind: String,
    pub route_name: String,
    pub target_port: String,
    /// The refused client's mTLS identity; empty when it had none.
    pub client_id: String,
    pub count: f64,
}

impl Denial {
    /// Where it was refused: `Server payment-http, HTTPRoute payment-refunds`, or only the
    /// Server when no route matched.
    pub fn place(&self) -> String {
        match self.kind {
            DenialKind::Unauthorized => format!(
                "Server {}, {} {}",
                self.srv_name, self.route_kind, self.route_name
            ),
            DenialKind::RouteNotFound => format!("Server {}", self.srv_name),
        }
    }
}

/// The refusing workload's name: its `deployment`, else its pod.
pub(crate) fn workload_name<'a>(deployment: &'a str, pod: &'a str) -> &'a str {
    if deployment.is_empty() {
        pod
    } else {
        deployment
    }
}

/// Every refusal counted in `window`, largest first.
pub fn denials(window: &Window) -> Vec<Denial> {
    let mut grouped: BTreeMap<(DenialKind, [String; 8]), f64> = BTreeMap::new();
    for (family, kind) in [
        (AUTHZ_DENY, DenialKind::Unauthorized),
        (ROUTE_NOT_FOUND, DenialKind::RouteNotFound),
    ] {
        for d in window.family(family) {
            let workload = workload_name(d.label("deployment"), d.label("pod"));
            let k = [
                d.label("namespace"),
                workload,
                d.label("srv_kind"),
                d.label("srv_name"),
                d.label("route_kind"),
                d.label("route_name"),
                d.label("target_port"),
                d.label("client_id"),
            ]
            .map(str::to_owned);
            *grouped.entry((kind, k)).or_default() += d.value;
        }
    }
    let mut out: Vec<Denial> = grouped
        .into_iter()
        .map(|((kind, k), count)| {
            let [
                namespace,
                workload,
                srv_kind,
                srv_name,
                route_kind,
                route_name,
                target_port,
                client_id,
            ] = k;
            Denial {
                kind,
                namespace,
                workload,
                srv_kind,
                srv_name,
                route_kind,
                route_name,
                target_port,
                client_id,
                count,
            }
        })
        .collect();
    out.sort_by(|a, b| b.count.total_cmp(&a.count));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str, labels: &[(&str, &str)], value: f64) -> Delta {
        Delta {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        }
    }

    #[test]
    fn stat_inbound_rows() {
        let base = [
            ("direction", "inbound"),
            ("deployment", "payment"),
            ("srv_kind", "Server"),
            ("srv_name", "payment-http"),
            ("route_kind", "default"),
            ("route_name", "default"),
            ("target_port", "80"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut v: Vec<(&'static str, &'static str)> = base.to_vec();
            v.push(extra);
            v
        };
        let w = Window {
            seconds: 10.0,
            deltas: vec![
                d("response_total", &with(("classification", "success")), 96.0),
                d("response_total", &with(("classification", "failure")), 4.0),
                d(
                    "response_total",
                    &[("direction", "outbound"), ("classification", "failure")],
                    50.0,
                ),
                d("response_latency_ms_bucket", &with(("le", "50")), 100.0),
                d("response_latency_ms_bucket", &with(("le", "+Inf")), 100.0),
            ],
        };
        let rows = inbound(&w, "deployment");
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        assert_eq!(
            (r.server.as_str(), r.route.as_str(), r.route_kind.as_str()),
            ("payment-http", "[default]", "")
        );
        assert!((r.successes - 96.0).abs() < 1e-9 && (r.failures - 4.0).abs() < 1e-9);
        assert_eq!(
            r.latency.quantile(0.99).map(|l| l.to_string()),
            Some("≤ 50ms".into())
        );
    }

    #[test]
    fn denials_by_client_and_kind() {
        let deny = [
            ("namespace", "sock-shop"),
            ("deployment", "payment"),
            ("srv_kind", "Server"),
            ("srv_name", "payment-http"),
            ("route_kind", "HTTPRoute"),
            ("route_name", "payment-refunds"),
            (
                "client_id",
                "orders.sock-shop.serviceaccount.identity.linkerd.cluster.local",
            ),
        ];
        let w = Window {
            seconds: 10.0,
            deltas: vec![
                d(AUTHZ_DENY, &deny, 3.0),
                d(AUTHZ_DENY, &deny, 2.0),
                d(
                    ROUTE_NOT_FOUND,
                    &[
                        ("namespace", "sock-shop"),
                        ("pod", "payment-x"),
                        ("srv_name", "payment-http"),
                    ],
                    1.0,
                ),
            ],
        };
        let all = denials(&w);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].kind, DenialKind::Unauthorized);
        assert!((all[0].count - 5.0).abs() < 1e-9);
        assert_eq!(all[0].route_name, "payment-refunds");
        assert_eq!(all[1].kind, DenialKind::RouteNotFound);
        assert_eq!(all[1].workload, "payment-x");
    }
}
