//! Figures from Linkerd viz's metrics API, as plain values (the wire types stop in the source).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A resource as the metrics API names it (`deployment`, `sock-shop`, `catalogue`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricsResource {
    pub namespace: String,
    /// Canonical type: `deployment`, `pod`, `namespace` …
    pub kind: String,
    pub name: String,
}

/// One row of `TopRoutes`: a `ServiceProfile` route (or `[DEFAULT]`) of one resource.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteMetric {
    /// The resource whose routes these are, as the server names it (`deploy/catalogue`).
    pub resource: String,
    /// The profile's route name (`GET /catalogue/{id}`), or `[DEFAULT]`.
    pub route: String,
    /// The service the route belongs to (`catalogue.sock-shop.svc.cluster.local:80`).
    pub authority: Option<String>,
    pub requests: u64,
    /// Successes / requests; `None` without requests (Linkerd shows `-`).
    pub success_rate: Option<f64>,
    /// Before retries, what the application saw (`routes -o wide`'s actual success).
    pub actual_success_rate: Option<f64>,
    /// Requests per second over the window.
    pub rps: f64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub p99_ms: u64,
}

/// One row of `StatSummary`: a workload (or pod, namespace) over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadMetric {
    pub resource: MetricsResource,
    pub meshed_pods: u64,
    pub running_pods: u64,
    pub failed_pods: u64,
    /// `None` when Prometheus had nothing (no traffic, or `skip_stats`).
    pub stats: Option<WindowStats>,
    /// Open TCP connections, when asked for.
    pub open_connections: Option<u64>,
}

/// Request figures over a window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowStats {
    pub requests: u64,
    pub success_rate: Option<f64>,
    pub rps: f64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub p99_ms: u64,
}

/// Who talks to whom, with the identities each side proved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeMetric {
    pub src: MetricsResource,
    pub dst: MetricsResource,
    /// The client's mTLS identity; `None` when the connection has none.
    pub client_id: Option<String>,
    pub server_id: Option<String>,
    /// Why there is no identity ("Not Provided By Remote" …); `None` when secured.
    pub no_identity_msg: Option<String>,
}

/// One poll of the metrics API: Prometheus-backed route, edge and workload figures over `window`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsSnapshot {
    /// `TopRoutes` rows of every polled resource, with the namespace they were asked in.
    pub routes: Vec<NamespacedRoute>,
    /// `Edges` of every tapped namespace, deduplicated.
    pub edges: Vec<EdgeMetric>,
    /// `StatSummary` rows of the deployments of every tapped namespace.
    pub workloads: Vec<WorkloadMetric>,
    pub window: Duration,
    /// The first call that failed in this poll; the figures above are what the others gave.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// A `TopRoutes` row and the namespace of the resource it was asked for (the row's `resource`,
/// `deploy/catalogue`, does not name it).
#[derive(Clone, Debug, PartialEq)]
pub struct NamespacedRoute {
    pub namespace: String,
    pub metric: RouteMetric,
}
