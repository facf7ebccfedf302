//! Client-side rows, as `linkerd viz stat-outbound` builds them: one per (resource, parent
//! Service and port, route), with its backends beneath. A response fails when its status is
//! 5xx (gRPC: anything but OK) or the proxy recorded an `error`; a timeout is an `error` of
//! `REQUEST_TIMEOUT` or `RESPONSE_HEADERS_TIMEOUT`; retries are the route's retry requests.

use std::collections::BTreeMap;

use super::buckets::{Buckets, Le};
use super::window::{Delta, Window};
use super::{
    BACKEND_DURATION_BUCKET, BACKEND_STATUSES, PROTOCOL_PREFIXES, REQUEST_DURATION_BUCKET,
    REQUEST_STATUSES, RETRY_REQUESTS,
};

/// The errors that mean the route's timeout fired.
const TIMEOUT_ERRORS: [&str; 2] = ["REQUEST_TIMEOUT", "RESPONSE_HEADERS_TIMEOUT"];

/// Counts and latency buckets for a route or one of its backends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub successes: f64,
    pub failures: f64,
    pub timeouts: f64,
    /// Responses by `error` label (only those with one), e.g. `REQUEST_TIMEOUT`.
    pub errors: BTreeMap<String, f64>,
    /// Responses by status (`http_status`, or `grpc_status` names).
    pub statuses: BTreeMap<String, f64>,
    pub latency: Buckets,
}

impl Figures {
    pub fn requests(&self) -> f64 {
        self.successes + self.failures
    }

    /// Successes over responses; `None` without any.
    pub fn success_rate(&self) -> Option<f64> {
        let n = self.requests();
        (n > 0.0).then(|| self.successes / n)
    }

    pub fn p50(&self) -> Option<Le> {
        self.latency.quantile(0.5)
    }

    pub fn p99(&self) -> Option<Le> {
        self.latency.quantile(0.99)
    }

    fn count(&mut self, delta: &Delta, grpc: bool) {
        let error = delta.label("error");
        let status = if grpc {
            delta.label("grpc_status")
        } else {
            delta.label("http_status")
        };
        let failed = !error.is_empty()
            || if grpc {
                status != "OK"
            } else {
                status.starts_with('5')
            };
        if failed {
            self.failures += delta.value;
        } else {
            self.successes += delta.value;
        }
        if TIMEOUT_ERRORS.contains(&error) {
            self.timeouts += delta.value;
        }
        if !error.is_empty() {
            *self.errors.entry(error.to_owned()).or_default() += delta.value;
        }
        if !status.is_empty() {
            *self.statuses.entry(status.to_owned()).or_default() += delta.value;
        }
    }
}

/// One route backend under a row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendRow {
    pub name: String,
    pub port: String,
    pub figures: Figures,
}

/// A route's row: what stat-outbound prints, plus statuses and errors by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundRow {
    /// The resource the row belongs to (the value of the target's resource label: the
    /// namespace for `ns/…`, the deployment for `deploy/…`, the pod for `po/…`).
    pub name: String,
    pub parent: String,
    pub parent_namespace: String,
    pub port: String,
    /// `[default]` for the proxy's default route, as stat-outbound shows it.
    pub route: String,
    /// `HTTPRoute`, `GRPCRoute`, …; empty for the default route.
    pub route_kind: String,
    pub grpc: bool,
    pub figures: Figures,
    pub retries: f64,
    pub backends: Vec<BackendRow>,
}

impl OutboundRow {
    /// Retries over all attempts (first tries and retries), as stat-outbound's RETRIES column.
    pub fn retry_rate(&self) -> Option<f64> {
        let all = self.figures.requests() + self.retries;
        (all > 0.0).then(|| self.retries / all)
    }

    /// A backend's share of the route's backend responses.
    pub fn share(&self, backend: &BackendRow) -> Option<f64> {
        let all: f64 = self.backends.iter().map(|b| b.figures.requests()).sum();
        (all > 0.0).then(|| backend.figures.requests() / all)
    }
}

type Key = (String, String, String, String, String, String);

fn key(delta: &Delta, resource_label: &str) -> Key {
    // The controller's synthesised route is `route_kind="default"`, named after its protocol
    // (`route_name="http"`, linkerd2 policy-controller `outbound/http.rs`); older proxies and
    // tests name it `default`.
    let (route, kind) = match (delta.label("route_kind"), delta.label("route_name")) {
        ("default", _) | (_, "default") => ("[default]".to_owned(), String::new()),
        (kind, name) => (name.to_owned(), kind.to_owned()),
    };
    (
        delta.label(resource_label).to_owned(),
        delta.label("parent_namespace").to_owned(),
        delta.label("parent_name").to_owned(),
        delta.label("parent_port").to_owned(),
        route,
        kind,
    )
}

/// The rows of `window`, grouped by `resource_label`, sorted by name, parent and route; rows
/// without responses are left out (as stat-outbound does).
pub fn outbound(window: &Window, resource_label: &str) -> Vec<OutboundRow> {
    let mut rows: BTreeMap<Key, OutboundRow> = BTreeMap::new();
    for prefix in PROTOCOL_PREFIXES {
        let grpc = prefix.contains("grpc");
        let family = |suffix: &str| format!("{prefix}_{suffix}");
        for delta in window.family(&family(REQUEST_STATUSES)) {
            row_of(&mut rows, delta, resource_label, grpc)
                .figures
                .count(delta, grpc);
        }
        for delta in window.family(&family(REQUEST_DURATION_BUCKET)) {
            row_of(&mut rows, delta, resource_label, grpc)
                .figures
                .latency
                .add(delta.label("le"), delta.value);
        }
        for delta in window.family(&family(RETRY_REQUESTS)) {
            row_of(&mut rows, delta, resource_label, grpc).retries += delta.value;
        }
        for delta in window.family(&family(BACKEND_STATUSES)) {
            backend_of(row_of(&mut rows, delta, resource_label, grpc), delta)
                .figures
                .count(delta, grpc);
        }
        for delta in window.family(&family(BACKEND_DURATION_BUCKET)) {
            backend_of(row_of(&mut rows, delta, resource_label, grpc), delta)
                .figures
                .latency
                .add(delta.label("le"), delta.value);
        }
    }
    rows.into_values()
        .filter(|row| row.figures.requests() > 0.0)
        .map(|mut row| {
            row.backends
                .sort_by(|a, b| (&a.name, &a.port).cmp(&(&b.name, &b.port)));
            row
        })
        .collect()
}

fn row_of<'a>(
    rows: &'a mut BTreeMap<Key, OutboundRow>,
    delta: &Delta,
    resource_label: &str,
    grpc: bool,
) -> &'a mut OutboundRow {
    let k = key(delta, resource_label);
    rows.entry(k.clone()).or_insert_with(|| OutboundRow {
        name: k.0,
        parent_namespace: k.1,
        parent: k.2,
        port: k.3,
        route: k.4,
        route_kind: k.5,
        grpc,
        ..OutboundRow::default()
    })
}

fn backend_of<'a>(row: &'a mut OutboundRow, delta: &Delta) -> &'a mut BackendRow {
    let (name, port) = (delta.label("backend_name"), delta.label("backend_port"));
    let found = row
        .backends
        .iter()
        .position(|b| b.name == name && b.port == port);
    let at = found.unwrap_or_else(|| {
        row.backends.push(BackendRow {
            name: name.to_owned(),
            port: port.to_owned(),
            figures: Figures::default(),
        });
        row.backends.len() - 1
    });
    &mut row.backends[at]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(name: &str, labels: &[(&str, &str)], value: f64) -> Delta {
        let mut all: BTreeMap<String, String> = [
            ("namespace", "sock-shop"),
            ("parent_namespace", "sock-shop"),
            ("parent_name", "catalogue"),
            ("parent_port", "80"),
            ("route_name", "catalogue-split"),
            ("route_kind", "HTTPRoute"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in labels {
            all.insert((*k).to_owned(), (*v).to_owned());
        }
        Delta {
            name: name.to_owned(),
            labels: all,
            value,
        }
    }

    #[test]
    fn classifies_like_stat_outbound() {
        let w = Window {
            seconds: 10.0,
            deltas: vec![
                delta(
                    "outbound_http_route_request_statuses_total",
                    &[("http_status", "200"), ("error", "")],
                    90.0,
                ),
                delta(
                    "outbound_http_route_request_statuses_total",
                    &[("http_status", "404")],
                    2.0,
                ),
                delta(
                    "outbound_http_route_request_statuses_total",
                    &[("http_status", "503")],
                    3.0,
                ),
                delta(
                    "outbound_http_route_request_statuses_total",
                    &[("http_status", ""), ("error", "REQUEST_TIMEOUT")],
                    5.0,
                ),
                delta("outbound_http_route_retry_requests_total", &[], 4.0),
                delta(
                    "outbound_http_route_backend_response_statuses_total",
                    &[
                        ("backend_name", "catalogue"),
                        ("backend_port", "80"),
                        ("http_status", "200"),
                    ],
                    81.0,
                ),
                delta(
                    "outbound_http_route_backend_response_statuses_total",
                    &[
                        ("backend_name", "catalogue-v2"),
                        ("backend_port", "80"),
                        ("http_status", "200"),
                    ],
                    9.0,
                ),
                delta(
                    "outbound_http_route_request_duration_seconds_bucket",
                    &[("le", "0.05")],
                    95.0,
                ),
                delta(
                    "outbound_http_route_request_duration_seconds_bucket",
                    &[("le", "0.5")],
                    95.0,
                ),
                delta(
                    "outbound_http_route_request_duration_seconds_bucket",
                    &[("le", "1")],
                    95.0,
                ),
                delta(
                    "outbound_http_route_request_duration_seconds_bucket",
                    &[("le", "10")],
                    100.0,
                ),
                delta(
                    "outbound_http_route_request_duration_seconds_bucket",
                    &[("le", "+Inf")],
                    100.0,
                ),
            ],
        };
        let rows = outbound(&w, "namespace");
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.name.as_str(), row.parent.as_str(), row.route.as_str()),
            ("sock-shop", "catalogue", "catalogue-split")
        );
        assert!(
            (row.figures.successes - 92.0).abs() < 1e-9,
            "4xx is a success"
        );
        assert!((row.figures.failures - 8.0).abs() < 1e-9);
        assert!((row.figures.timeouts - 5.0).abs() < 1e-9);
        assert_eq!(row.figures.errors.get("REQUEST_TIMEOUT"), Some(&5.0));
        assert_eq!(row.retry_rate().map(|r| (r * 1000.0).round()), Some(38.0));
        assert_eq!(row.figures.p50(), Some(Le::AtMost(0.05)));
        assert_eq!(row.figures.p99(), Some(Le::AtMost(10.0)));
        let shares: Vec<(String, f64)> = row
            .backends
            .iter()
            .map(|b| (b.name.clone(), row.share(b).unwrap_or(0.0)))
            .collect();
        assert_eq!(
            shares,
            [
                ("catalogue".to_owned(), 0.9),
                ("catalogue-v2".to_owned(), 0.1)
            ]
        );
    }

    #[test]
    fn grpc_fails_on_any_status_but_ok_and_default_route_is_bracketed() {
        let mk = |status: &str, value| {
            let mut d = delta(
                "outbound_grpc_route_request_statuses_total",
                &[
                    ("grpc_status", status),
                    ("route_name", "http"),
                    ("route_kind", "default"),
                ],
                value,
            );
            d.labels.insert("parent_name".into(), "voting-svc".into());
            d
        };
        let w = Window {
            seconds: 1.0,
            deltas: vec![mk("OK", 7.0), mk("UNAVAILABLE", 3.0)],
        };
        let rows = outbound(&w, "namespace");
        assert_eq!(rows[0].route, "[default]");
        assert_eq!(rows[0].route_kind, "");
        assert!(rows[0].grpc);
        assert_eq!(rows[0].figures.success_rate(), Some(0.7));
    }

    #[test]
    fn rows_without_responses_are_dropped() {
        let w = Window {
            seconds: 1.0,
            deltas: vec![delta("outbound_http_route_retry_requests_total", &[], 1.0)],
        };
        assert!(outbound(&w, "namespace").is_empty());
    }
}
