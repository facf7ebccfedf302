//! Joining the metrics API's windowed figures to what the live sample shows: route figures to
//! rows of the routes pane, and edges the sample has not seen to the identities tree.
//!
//! Route matching is by destination namespace + workload name + route name, in either
//! direction (the figures are the destination's inbound view, over all its clients):
//! - a row whose route is a `ServiceProfile` route the metrics API lists gets that route's
//!   figures ([`MatchKind::Route`]);
//! - any other row of a workload the metrics API knows gets the workload's `[DEFAULT]` figures,
//!   every request no profile route matched ([`MatchKind::Unprofiled`]): workload-level, not
//!   the row's own, so the pane draws them dimmed;
//! - a row grouped by destination only gets the workload's total ([`MatchKind::Workload`]);
//! - rows grouped by source → destination, and the overflow row, get nothing.

use std::collections::{HashMap, HashSet};

use super::event::Direction;
use super::figures::{MetricsSnapshot, NamespacedRoute};
use super::identities::{IdentityTable, WorkloadId};
use super::routes::RouteKey;
use crate::model::figures::{EdgeMetric, MetricsResource, RouteMetric, WorkloadMetric};

/// The route name Linkerd gives requests that no `ServiceProfile` route matched.
pub const DEFAULT_ROUTE: &str = "[DEFAULT]";

/// The figures a row shows from the metrics API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    pub requests: u64,
    pub success_rate: Option<f64>,
    pub rps: f64,
    /// When several rows merge (one route on two services, a workload's total), the largest
    /// p99 of the parts: percentiles do not add, and the largest is an honest upper bound.
    pub p99_ms: u64,
}

impl Figures {
    fn of(metric: &RouteMetric) -> Self {
        Self {
            requests: metric.requests,
            success_rate: metric.success_rate,
            rps: metric.rps,
            p99_ms: metric.p99_ms,
        }
    }

    fn merge(self, other: Self) -> Self {
        let successes = |f: Self| f.success_rate.map(|r| r * f.requests as f64);
        let requests = self.requests.saturating_add(other.requests);
        let success_rate = match (successes(self), successes(other)) {
            (None, None) => None,
            (a, b) if requests > 0 => Some((a.unwrap_or(0.0) + b.unwrap_or(0.0)) / requests as f64),
            _ => None,
        };
        Self {
            requests,
            success_rate,
            rps: self.rps + other.rps,
            p99_ms: self.p99_ms.max(other.p99_ms),
        }
    }
}

/// How a row's figures were found; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    Route,
    Unprofiled,
    Workload,
}

#[derive(Debug, Default)]
struct WorkloadRoutes {
    by_route: HashMap<String, Figures>,
    default: Option<Figures>,
    total: Option<Figures>,
}

/// The metrics API's route figures, indexed for a lookup per row per frame.
#[derive(Debug, Default)]
pub struct RouteMetricsIndex {
    /// namespace → workload name → routes.
    workloads: HashMap<String, HashMap<String, WorkloadRoutes>>,
}

fn add(slot: &mut Option<Figures>, figures: Figures) {
    *slot = Some(slot.map_or(figures, |old| old.merge(figures)));
}

impl RouteMetricsIndex {
    pub fn new(routes: &[NamespacedRoute]) -> Self {
        let mut workloads: HashMap<String, HashMap<String, WorkloadRoutes>> = HashMap::new();
        for NamespacedRoute { namespace, metric } in routes {
            // `deploy/catalogue`: the live rows name the workload without its kind.
            let name = metric
                .resource
                .split_once('/')
                .map_or(metric.resource.as_str(), |(_, name)| name);
            let entry = workloads
                .entry(namespace.clone())
                .or_default()
                .entry(name.to_owned())
                .or_default();
            let figures = Figures::of(metric);
            add(&mut entry.total, figures);
            if metric.route == DEFAULT_ROUTE {
                add(&mut entry.default, figures);
            } else {
                entry
                    .by_route
                    .entry(metric.route.clone())
                    .and_modify(|old| *old = old.merge(figures))
                    .or_insert(figures);
            }
        }
        Self { workloads }
    }

    pub fn is_empty(&self) -> bool {
        self.workloads.is_empty()
    }

    /// The figures for a routes pane row, if the metrics API has any.
    pub fn lookup(&self, key: &RouteKey) -> Option<(Figures, MatchKind)> {
        if key.is_other() || key.peer.contains(" → ") {
            return None;
        }
        let routes = self
            .workloads
            .get(key.namespace.as_ref())?
            .get(key.peer.as_ref())?;
        if key.route.is_empty() {
            return routes.total.map(|f| (f, MatchKind::Workload));
        }
        if let Some(figures) = routes.by_route.get(key.route.as_ref()) {
            return Some((*figures, MatchKind::Route));
        }
        routes.default.map(|f| (f, MatchKind::Unprofiled))
    }
}

/// The latest snapshot and its route index, as the app keeps it.
#[derive(Debug)]
pub struct MetricsView {
    pub snapshot: MetricsSnapshot,
    pub routes: RouteMetricsIndex,
}

impl MetricsView {
    pub fn new(snapshot: MetricsSnapshot) -> Self {
        let routes = RouteMetricsIndex::new(&snapshot.routes);
        Self { snapshot, routes }
    }

    /// The `StatSummary` row of a workload (`deploy/web` in its namespace).
    pub fn workload(&self, id: &WorkloadId) -> Option<&WorkloadMetric> {
        self.snapshot
            .workloads
            .iter()
            .find(|w| workload_id(&w.resource) == *id)
    }
}

/// One side of an edge the metrics API knows and the live sample has not seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricsOnlyEdge {
    /// Outbound under the client, inbound under the server, like live edges.
    pub direction: Direction,
    pub local: WorkloadId,
    pub peer: WorkloadId,
    pub client_id: Option<String>,
    pub server_id: Option<String>,
    pub no_identity_msg: Option<String>,
}

/// The live tree's name for a metrics API resource: `deploy/catalogue` in its namespace.
pub fn workload_id(resource: &MetricsResource) -> WorkloadId {
    let short = match resource.kind.as_str() {
        "deployment" => "deploy",
        "statefulset" => "sts",
        "daemonset" => "ds",
        "replicaset" => "rs",
        "replicationcontroller" => "rc",
        "pod" => "po",
        other => other,
    };
    WorkloadId {
        namespace: resource.namespace.as_str().into(),
        name: format!("{short}/{}", resource.name).into(),
    }
}

/// Edges from the metrics API between workloads the live sample has not seen talk (in either
/// direction), each as two sides: under the client and under the server, sorted.
pub fn metrics_only_edges(table: &IdentityTable, edges: &[EdgeMetric]) -> Vec<MetricsOnlyEdge> {
    let seen: HashSet<(&WorkloadId, &WorkloadId)> = table
        .edges()
        .iter()
        .map(|e| e.key.client_server())
        .collect();
    let mut out = Vec::new();
    for edge in edges {
        let (client, server) = (workload_id(&edge.src), workload_id(&edge.dst));
        if seen.contains(&(&client, &server)) {
            continue;
        }
        let side = |direction, local: &WorkloadId, peer: &WorkloadId| MetricsOnlyEdge {
            direction,
            local: local.clone(),
            peer: peer.clone(),
            client_id: edge.client_id.clone(),
            server_id: edge.server_id.clone(),
            no_identity_msg: edge.no_identity_msg.clone(),
        };
        out.push(side(Direction::Outbound, &client, &server));
        out.push(side(Direction::Inbound, &server, &client));
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
