//! The metric families a simulated proxy serves, named and shaped as linkerd2-proxy names them
//! (outbound `http/logical/policy/route/metrics`, inbound `metrics/authz`, the legacy
//! `response_total`), and a per-pod store of their series.

use std::collections::BTreeMap;

use crate::promtext::{MetricType, write};

/// A family's name, help and shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Family {
    /// The sample name for counters (`…_total`); the base name for histograms.
    pub name: &'static str,
    pub help: &'static str,
    /// Histogram bucket bounds; empty for a counter.
    pub buckets: &'static [f64],
}

const ROUTE_BUCKETS: &[f64] = &[0.05, 0.5, 1.0, 10.0];
const BACKEND_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0];
/// The legacy latency histogram's bounds, in milliseconds.
const LATENCY_MS_BUCKETS: &[f64] = &[
    1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 100.0, 200.0, 300.0, 400.0, 500.0,
    1_000.0, 2_000.0, 3_000.0, 4_000.0, 5_000.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 50_000.0,
];

const fn counter(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        buckets: &[],
    }
}

const fn histogram(name: &'static str, help: &'static str, buckets: &'static [f64]) -> Family {
    Family {
        name,
        help,
        buckets,
    }
}

/// The route families of one protocol (`http` or `grpc`).
#[derive(Debug, Clone, Copy)]
pub struct RouteFamilies {
    pub request_statuses: Family,
    pub request_duration: Family,
    pub backend_requests: Family,
    pub backend_statuses: Family,
    pub backend_duration: Family,
    pub retry_requests: Family,
    pub retry_successes: Family,
    pub retry_limit_exceeded: Family,
}

macro_rules! route_families {
    ($p:literal) => {
        RouteFamilies {
            request_statuses: counter(
                concat!("outbound_", $p, "_route_request_statuses_total"),
                "Completed request-response streams.",
            ),
            request_duration: histogram(
                concat!("outbound_", $p, "_route_request_duration_seconds"),
                "The time between request initialization and response completion.",
                ROUTE_BUCKETS,
            ),
            backend_requests: counter(
                concat!("outbound_", $p, "_route_backend_requests_total"),
                "The total number of requests dispatched to a backend.",
            ),
            backend_statuses: counter(
                concat!("outbound_", $p, "_route_backend_response_statuses_total"),
                "Completed responses from a backend.",
            ),
            backend_duration: histogram(
                concat!("outbound_", $p, "_route_backend_response_duration_seconds"),
                "The time between request initialization and response completion, per backend.",
                BACKEND_BUCKETS,
            ),
            retry_requests: counter(
                concat!("outbound_", $p, "_route_retry_requests_total"),
                "Retry requests emitted.",
            ),
            retry_successes: counter(
                concat!("outbound_", $p, "_route_retry_successes_total"),
                "Successful responses to retry requests.",
            ),
            retry_limit_exceeded: counter(
                concat!("outbound_", $p, "_route_retry_limit_exceeded_total"),
                "Retryable failures that were not retried because the limit was reached.",
            ),
        }
    };
}

pub const HTTP: RouteFamilies = route_families!("http");
pub const GRPC: RouteFamilies = route_families!("grpc");

pub const RESPONSE_TOTAL: Family = counter("response_total", "Total count of HTTP responses.");
pub const RESPONSE_LATENCY: Family = histogram(
    "response_latency_ms",
    "Elapsed times between a request's headers being received and its response stream completing",
    LATENCY_MS_BUCKETS,
);
pub const AUTHZ_ALLOW: Family = counter(
    "inbound_http_authz_allow_total",
    "The total number of inbound HTTP requests that were authorized",
);
pub const AUTHZ_DENY: Family = counter(
    "inbound_http_authz_deny_total",
    "The total number of inbound HTTP requests that could not be processed due to a proxy error.",
);
pub const ROUTE_NOT_FOUND: Family = counter(
    "inbound_http_route_not_found_total",
    "The total number of inbound HTTP requests that could not be associated with a route",
);

/// Label pairs in the order they are written.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Clone, Default)]
struct Series {
    /// A counter's value, or a histogram's per-bucket (not cumulative) counts plus overflow.
    counts: Vec<u64>,
    sum: f64,
}

/// One pod's series, by family then label set; families render in the order first touched.
#[derive(Debug, Default)]
pub struct PodSeries {
    families: Vec<(Family, BTreeMap<Labels, Series>)>,
}

impl PodSeries {
    fn family(&mut self, family: Family) -> &mut BTreeMap<Labels, Series> {
        let found = self
            .families
            .iter()
            .position(|(f, _)| f.name == family.name);
        let at = found.unwrap_or_else(|| {
            self.families.push((family, BTreeMap::new()));
            self.families.len() - 1
        });
        &mut self.families[at].1
    }

    /// Adds `by` to a counter.
    pub fn count(&mut self, family: Family, labels: Labels, by: u64) {
        let series = self.family(family).entry(labels).or_default();
        if series.counts.is_empty() {
            series.counts.push(0);
        }
        series.counts[0] += by;
    }

    /// Records one observation (in the family's unit) in a histogram.
    pub fn observe(&mut self, family: Family, labels: Labels, value: f64) {
        let series = self.family(family).entry(labels).or_default();
        if series.counts.is_empty() {
            series.counts = vec![0; family.buckets.len() + 1];
        }
        let at = family
            .buckets
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(family.buckets.len());
        series.counts[at] += 1;
        series.sum += value;
    }

    /// The pod's exposition, in the text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (family, series) in &self.families {
            if family.buckets.is_empty() {
                write::header(&mut out, family.name, MetricType::Counter, family.help);
                for (labels, s) in series {
                    let pairs = pairs(labels);
                    write::sample(&mut out, family.name, &pairs, s.counts[0] as f64);
                }
                continue;
            }
            write::header(&mut out, family.name, MetricType::Histogram, family.help);
            let bucket = format!("{}_bucket", family.name);
            let sum = format!("{}_sum", family.name);
            let count = format!("{}_count", family.name);
            let bounds: Vec<String> = family
                .buckets
                .iter()
                .map(ToString::to_string)
                .chain(std::iter::once("+Inf".to_owned()))
                .collect();
            for (labels, s) in series {
                let mut pairs = pairs(labels);
                let mut cumulative = 0;
                for (i, bound) in bounds.iter().enumerate() {
                    cumulative += s.counts[i];
                    pairs.push(("le", bound));
                    write::sample(&mut out, &bucket, &pairs, cumulative as f64);
                    pairs.pop();
                }
                write::sample(&mut out, &sum, &pairs, s.sum);
                write::sample(&mut out, &count, &pairs, cumulative as f64);
            }
        }
        out
    }
}

fn pairs(labels: &Labels) -> Vec<(&str, &str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
