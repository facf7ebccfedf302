//! The metrics API asked per cluster: with several clusters open, each cluster's poller sends
//! into its own channel and one task hands the main loop a snapshot combining the latest of each
//! (the main loop keeps one snapshot, each replacing the last).

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::metrics_poll::{self, MetricsPoll};
use crate::model::figures::MetricsSnapshot;
use crate::session::SourceMsg;

/// Starts one poller per cluster (named, in the order given) and the task combining them. Holds
/// only a weak sender to the main loop, like a single poller, so the session still ends when
/// every tap stream has.
pub fn spawn(
    polls: Vec<(String, MetricsPoll)>,
    tx: &mpsc::Sender<SourceMsg>,
) -> Vec<JoinHandle<()>> {
    let (merge_tx, mut merge_rx) = mpsc::channel::<(usize, MetricsSnapshot)>(polls.len().max(1));
    let names: Vec<String> = polls.iter().map(|(name, _)| name.clone()).collect();
    let mut tasks = Vec::with_capacity(polls.len() * 2 + 1);
    for (index, (_, poll)) in polls.into_iter().enumerate() {
        // The poller's channel carries one snapshot at a time; the forwarder holds its strong
        // sender, so the poller runs exactly as long as the forwarder does.
        let (cluster_tx, mut cluster_rx) = mpsc::channel(1);
        tasks.push(tokio::spawn(metrics_poll::poll_until_closed(
            poll,
            cluster_tx.downgrade(),
        )));
        let merge_tx = merge_tx.clone();
        tasks.push(tokio::spawn(async move {
            let _keep = cluster_tx;
            while let Some(msg) = cluster_rx.recv().await {
                if let SourceMsg::Metrics(snapshot) = msg
                    && merge_tx.send((index, snapshot)).await.is_err()
                {
                    return;
                }
            }
        }));
    }
    drop(merge_tx);
    let tx = tx.downgrade();
    tasks.push(tokio::spawn(async move {
        let mut latest: Vec<Option<MetricsSnapshot>> = vec![None; names.len()];
        while let Some((index, snapshot)) = merge_rx.recv().await {
            if let Some(slot) = latest.get_mut(index) {
                *slot = Some(snapshot);
            }
            let Some(combined) = combine(&names, &latest) else {
                continue;
            };
            let Some(strong) = tx.upgrade() else { return };
            if strong.send(SourceMsg::Metrics(combined)).await.is_err() {
                return;
            }
        }
    }));
    tasks
}

/// The latest snapshot of every cluster as one: their rows together, each failure named with
/// its cluster, the newest time. `None` before any cluster answered.
pub fn combine(names: &[String], latest: &[Option<MetricsSnapshot>]) -> Option<MetricsSnapshot> {
    let mut answered = latest.iter().flatten();
    let mut combined = answered.next()?.clone();
    combined.routes.clear();
    combined.edges.clear();
    combined.workloads.clear();
    let mut errors = Vec::new();
    for (name, snapshot) in names.iter().zip(latest) {
        let Some(snapshot) = snapshot else { continue };
        combined.routes.extend(snapshot.routes.iter().cloned());
        combined
            .workloads
            .extend(snapshot.workloads.iter().cloned());
        for edge in &snapshot.edges {
            if !combined.edges.contains(edge) {
                combined.edges.push(edge.clone());
            }
        }
        combined.at = combined.at.max(snapshot.at);
        if let Some(error) = &snapshot.error {
            errors.push(format!("{name}: {error}"));
        }
    }
    combined.error = (!errors.is_empty()).then(|| errors.join("; "));
    Some(combined)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::figures::{NamespacedRoute, RouteMetric};

    fn snapshot(route: &str, error: Option<&str>, at: i64) -> MetricsSnapshot {
        MetricsSnapshot {
            routes: vec![NamespacedRoute {
                namespace: "shop".into(),
                metric: RouteMetric {
                    resource: "deploy/web".into(),
                    route: route.into(),
                    authority: None,
                    requests: 1,
                    success_rate: None,
                    actual_success_rate: None,
                    rps: 1.0,
                    p50_ms: 1,
                    p95_ms: 1,
                    p99_ms: 1,
                },
            }],
            edges: Vec::new(),
            workloads: Vec::new(),
            window: Duration::from_secs(60),
            error: error.map(str::to_owned),
            at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn every_cluster_counts_and_failures_name_their_cluster() {
        let names = ["east".to_owned(), "west".to_owned()];
        assert_eq!(combine(&names, &[None, None]), None);
        let combined = combine(
            &names,
            &[
                Some(snapshot("GET /a", None, 10)),
                Some(snapshot("GET /b", Some("refused"), 20)),
            ],
        )
        .expect("combined");
        let routes: Vec<&str> = combined
            .routes
            .iter()
            .map(|r| r.metric.route.as_str())
            .collect();
        assert_eq!(routes, ["GET /a", "GET /b"]);
        assert_eq!(combined.error.as_deref(), Some("west: refused"));
        assert_eq!(combined.at.timestamp(), 20);
    }
}
