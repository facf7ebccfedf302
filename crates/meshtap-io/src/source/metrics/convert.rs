//! Wire ↔ domain conversions for the metrics API: requests from [`Resource`]s, and responses into
//! the plain structs the UI uses. Rates follow Linkerd's CLI: requests over the row's window.

use std::time::Duration;

use super::parse_window;
use crate::model::figures::{
    EdgeMetric, MetricsResource, RouteMetric, WindowStats, WorkloadMetric,
};
use crate::proto::viz;
use crate::source::target::Resource;

pub fn resource(r: &Resource) -> viz::Resource {
    viz::Resource {
        namespace: r.namespace.clone(),
        r#type: r.kind.to_owned(),
        name: r.name.clone(),
    }
}

pub fn selection(r: &Resource) -> viz::ResourceSelection {
    viz::ResourceSelection {
        resource: Some(resource(r)),
        label_selector: String::new(),
    }
}

fn metrics_resource(r: Option<viz::Resource>) -> MetricsResource {
    let r = r.unwrap_or_default();
    MetricsResource {
        namespace: r.namespace,
        kind: r.r#type,
        name: r.name,
    }
}

/// The row's own window if it names one, else the one asked for; never zero.
fn window_secs(row_window: &str, asked: Duration) -> f64 {
    parse_window(row_window)
        .filter(|d| !d.is_zero())
        .unwrap_or(asked)
        .as_secs_f64()
        .max(1e-3)
}

fn rate(success: u64, failure: u64) -> Option<f64> {
    let total = success.saturating_add(failure);
    (total > 0).then(|| success as f64 / total as f64)
}

fn window_stats(stats: &viz::BasicStats, secs: f64) -> WindowStats {
    let requests = stats.success_count.saturating_add(stats.failure_count);
    WindowStats {
        requests,
        success_rate: rate(stats.success_count, stats.failure_count),
        rps: requests as f64 / secs,
        p50_ms: stats.latency_ms_p50,
        p95_ms: stats.latency_ms_p95,
        p99_ms: stats.latency_ms_p99,
    }
}

pub fn routes(tables: Vec<viz::RouteTable>, asked: Duration) -> Vec<RouteMetric> {
    let mut out = Vec::new();
    for table in tables {
        for row in table.rows {
            let secs = window_secs(&row.time_window, asked);
            let stats = row.stats.unwrap_or_default();
            let figures = window_stats(&stats, secs);
            out.push(RouteMetric {
                resource: table.resource.clone(),
                route: row.route,
                authority: Some(row.authority).filter(|a| !a.is_empty()),
                requests: figures.requests,
                success_rate: figures.success_rate,
                actual_success_rate: rate(stats.actual_success_count, stats.actual_failure_count),
                rps: figures.rps,
                p50_ms: figures.p50_ms,
                p95_ms: figures.p95_ms,
                p99_ms: figures.p99_ms,
            });
        }
    }
    out
}

pub fn workloads(tables: Vec<viz::StatTable>, asked: Duration) -> Vec<WorkloadMetric> {
    let mut out = Vec::new();
    for table in tables {
        let Some(viz::stat_table::Table::PodGroup(group)) = table.table else {
            continue;
        };
        for row in group.rows {
            let secs = window_secs(&row.time_window, asked);
            out.push(WorkloadMetric {
                resource: metrics_resource(row.resource),
                meshed_pods: row.meshed_pod_count,
                running_pods: row.running_pod_count,
                failed_pods: row.failed_pod_count,
                stats: row.stats.map(|s| window_stats(&s, secs)),
                open_connections: row.tcp_stats.map(|t| t.open_connections),
            });
        }
    }
    out
}

pub fn edge(e: viz::Edge) -> EdgeMetric {
    let some = |s: String| Some(s).filter(|s| !s.is_empty());
    EdgeMetric {
        src: metrics_resource(e.src),
        dst: metrics_resource(e.dst),
        client_id: some(e.client_id),
        server_id: some(e.server_id),
        no_identity_msg: some(e.no_identity_msg),
    }
}
