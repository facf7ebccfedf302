//! Two sides compared: per route the figures of each, their changes and the noise tests; the
//! routes, callers and status codes that appeared or vanished; and per edge the identity and TLS
//! changes a reviewer must not miss.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::rank::{self, ProportionTest, RankTest};
use super::side::{RouteSamples, Side};
use crate::model::event::Direction;
use crate::model::identities::{Edge, EdgeKey, WorkloadId};
use crate::model::routes::RouteKey;

/// Everything a diff found.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub a: SideSummary,
    pub b: SideSummary,
    /// The p-value under which a change is called beyond noise.
    pub alpha: f64,
    /// Fewest samples per side for a test to be run.
    pub min_samples: usize,
    /// Routes seen in either capture, changed ones first.
    pub routes: Vec<RouteDiff>,
    pub edges: Vec<EdgeChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SideSummary {
    pub name: String,
    pub sampling: String,
    pub requests: u64,
    pub routes: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    /// Requests on routes past the table's bound, not compared.
    pub overflowed: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Both,
    New,
    Vanished,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouteDiff {
    /// `inbound` (the server's view) or `outbound` (the client's).
    pub direction: &'static str,
    pub namespace: String,
    /// The workload the route belongs to.
    pub peer: String,
    pub route: String,
    pub presence: Presence,
    pub a: Option<RouteFigures>,
    pub b: Option<RouteFigures>,
    pub p50: Option<Change>,
    pub p95: Option<Change>,
    pub p99: Option<Change>,
    /// The rank test on the two latency samples.
    pub latency_test: Option<RankTest>,
    /// Success rate change in percentage points.
    pub success_rate_points: Option<f64>,
    pub success_test: Option<ProportionTest>,
    pub new_statuses: Vec<String>,
    pub vanished_statuses: Vec<String>,
    pub new_callers: Vec<String>,
    pub vanished_callers: Vec<String>,
}

impl RouteDiff {
    /// `out front-end GET /catalogue`, as the routes pane names it.
    pub fn label(&self) -> String {
        let dir = if self.direction == "inbound" {
            "in"
        } else {
            "out"
        };
        if self.route.is_empty() {
            format!("{dir} {}", self.peer)
        } else {
            format!("{dir} {} {}", self.peer, self.route)
        }
    }

    /// Whether anything about the route changed beyond noise (or it came or went).
    pub fn changed(&self) -> bool {
        self.presence != Presence::Both
            || self.latency_test.is_some_and(|t| t.beyond_noise)
            || self.success_test.is_some_and(|t| t.beyond_noise)
            || !self.new_statuses.is_empty()
            || !self.vanished_statuses.is_empty()
            || !self.new_callers.is_empty()
            || !self.vanished_callers.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteFigures {
    pub requests: u64,
    /// Percent; `None` when no outcome was known.
    pub success_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Latency samples the percentiles and the test rest on (a uniform sample when fewer than
    /// the requests).
    pub samples: usize,
}

/// One percentile in both captures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change {
    pub a_ms: f64,
    pub b_ms: f64,
    /// `(b - a) / a` in percent; `None` when `a` is 0.
    pub percent: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeChangeKind {
    /// Plaintext requests on an edge that had none (or did not exist).
    NewPlaintext,
    /// The identity Linkerd reported on the edge is not the one it was.
    IdentityChanged,
    /// Requests the server's policy refused on an edge that had no refusals.
    NewDenials,
}

#[derive(Clone, Debug, Serialize)]
pub struct EdgeChange {
    pub kind: EdgeChangeKind,
    pub direction: &'static str,
    pub client: String,
    pub server: String,
    /// Plain words: what changed, with the figures.
    pub detail: String,
}

/// Compares `a` (before) with `b` (after).
pub fn compare(a: &Side, b: &Side) -> Diff {
    let keys: BTreeSet<&RouteKey> = a.routes.keys().chain(b.routes.keys()).collect();
    let mut routes: Vec<RouteDiff> = keys
        .into_iter()
        .map(|key| route_diff(key, a.routes.get(key), b.routes.get(key)))
        .collect();
    // Changed routes first, then by name: a stable order a reviewer can scan.
    routes.sort_by(|x, y| {
        y.changed()
            .cmp(&x.changed())
            .then_with(|| x.namespace.cmp(&y.namespace))
            .then_with(|| x.peer.cmp(&y.peer))
            .then_with(|| x.route.cmp(&y.route))
            .then_with(|| x.direction.cmp(y.direction))
    });
    Diff {
        a: summary(a),
        b: summary(b),
        alpha: rank::ALPHA,
        min_samples: rank::MIN_SAMPLES,
        routes,
        edges: edge_changes(a, b),
    }
}

fn summary(side: &Side) -> SideSummary {
    SideSummary {
        name: side.name.clone(),
        sampling: side.sampling.clone(),
        requests: side.requests,
        routes: side.routes.len(),
        first: side.first.map(crate::capture::rfc3339),
        last: side.last.map(crate::capture::rfc3339),
        overflowed: side.overflowed,
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
        Direction::Unknown => "unknown",
    }
}

fn route_diff(key: &RouteKey, a: Option<&RouteSamples>, b: Option<&RouteSamples>) -> RouteDiff {
    let presence = match (a, b) {
        (Some(_), Some(_)) => Presence::Both,
        (None, _) => Presence::New,
        (_, None) => Presence::Vanished,
    };
    let sorted = |s: Option<&RouteSamples>| {
        s.map(|s| {
            let mut v = s.latencies_us.clone();
            v.sort_unstable();
            v
        })
    };
    let (sa, sb) = (sorted(a), sorted(b));
    let fa = a.zip(sa.as_deref()).map(|(s, v)| figures(s, v));
    let fb = b.zip(sb.as_deref()).map(|(s, v)| figures(s, v));
    let change = |q: f64| {
        let (va, vb) = (sa.as_deref()?, sb.as_deref()?);
        let (x, y) = (percentile_ms(va, q)?, percentile_ms(vb, q)?);
        Some(Change {
            a_ms: x,
            b_ms: y,
            percent: (x > 0.0).then(|| (y - x) / x * 100.0),
        })
    };
    let latency_test = sa
        .as_deref()
        .zip(sb.as_deref())
        .and_then(|(x, y)| rank::mann_whitney(x, y));
    let success_rate_points = fa
        .as_ref()
        .zip(fb.as_ref())
        .and_then(|(x, y)| Some(y.success_rate? - x.success_rate?));
    let success_test = a
        .zip(b)
        .and_then(|(x, y)| rank::proportions(x.successes, x.classified, y.successes, y.classified));
    let (new_statuses, vanished_statuses) =
        appeared(a.map(|s| &s.statuses), b.map(|s| &s.statuses));
    let (new_callers, vanished_callers) = appeared(a.map(|s| &s.callers), b.map(|s| &s.callers));
    RouteDiff {
        direction: direction_name(key.direction),
        namespace: key.namespace.to_string(),
        peer: key.peer.to_string(),
        route: key.route.to_string(),
        presence,
        p50: change(0.50),
        p95: change(0.95),
        p99: change(0.99),
        a: fa,
        b: fb,
        latency_test,
        success_rate_points,
        success_test,
        new_statuses,
        vanished_statuses,
        new_callers,
        vanished_callers,
    }
}

/// Keys in `b` not in `a`, and in `a` not in `b` — only when the route is in both (a new
/// route's callers are all new; listing them again says nothing).
fn appeared(
    a: Option<&BTreeMap<String, u64>>,
    b: Option<&BTreeMap<String, u64>>,
) -> (Vec<String>, Vec<String>) {
    let (Some(a), Some(b)) = (a, b) else {
        return (Vec::new(), Vec::new());
    };
    let new = b.keys().filter(|k| !a.contains_key(*k)).cloned().collect();
    let gone = a.keys().filter(|k| !b.contains_key(*k)).cloned().collect();
    (new, gone)
}

fn figures(samples: &RouteSamples, sorted: &[u64]) -> RouteFigures {
    RouteFigures {
        requests: samples.requests,
        success_rate: (samples.classified > 0)
            .then(|| samples.successes as f64 / samples.classified as f64 * 100.0),
        p50_ms: percentile_ms(sorted, 0.50),
        p95_ms: percentile_ms(sorted, 0.95),
        p99_ms: percentile_ms(sorted, 0.99),
        samples: sorted.len(),
    }
}

/// The nearest-rank percentile of an ascending sample, in milliseconds.
pub fn percentile_ms(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).map(|us| *us as f64 / 1_000.0)
}

fn workload_name(w: &WorkloadId) -> String {
    if w.namespace.is_empty() {
        w.name.to_string()
    } else {
        format!("{}/{}", w.namespace, w.name)
    }
}

fn edge_changes(a: &Side, b: &Side) -> Vec<EdgeChange> {
    let before: BTreeMap<&EdgeKey, &Edge> =
        a.identities.edges().iter().map(|e| (&e.key, e)).collect();
    let mut out = Vec::new();
    for edge in b.identities.edges() {
        let old = before.get(&edge.key).copied();
        let (client, server) = edge.key.client_server();
        let push = |out: &mut Vec<EdgeChange>, kind, detail: String| {
            out.push(EdgeChange {
                kind,
                direction: direction_name(edge.key.direction),
                client: workload_name(client),
                server: workload_name(server),
                detail,
            });
        };
        let plaintext_before = old.map_or(0, Edge::plaintext);
        if edge.plaintext() > 0 && plaintext_before == 0 {
            let was = match old {
                Some(old) => format!("all {} on mTLS before", old.requests),
                None => "a new edge".to_owned(),
            };
            push(
                &mut out,
                EdgeChangeKind::NewPlaintext,
                format!(
                    "{} of {} requests in plaintext ({}); {was}",
                    edge.plaintext(),
                    edge.requests,
                    edge.dominant_tls().describe()
                ),
            );
        }
        if let Some(old) = old
            && let (Some(was), Some(now)) = (&old.identity, &edge.identity)
            && was != now
        {
            push(
                &mut out,
                EdgeChangeKind::IdentityChanged,
                format!("identity {was} → {now}"),
            );
        }
        let denied_before = old.map_or(0, |e| e.denied);
        if edge.denied > 0 && denied_before == 0 {
            push(
                &mut out,
                EdgeChangeKind::NewDenials,
                format!(
                    "{} of {} requests denied by policy; none before",
                    edge.denied, edge.requests
                ),
            );
        }
    }
    out.sort_by(|x, y| {
        (x.kind, &x.client, &x.server, x.direction).cmp(&(
            y.kind,
            &y.client,
            &y.server,
            y.direction,
        ))
    });
    out
}
