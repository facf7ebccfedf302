//! Polls Linkerd viz's metrics API (`--metrics-api`, or a kube port-forward) in the background and sends each result to
//! the main loop as one [`SourceMsg::Metrics`]: `TopRoutes` for every tap target, `Edges` and
//! `StatSummary` (its deployments) for every tapped namespace. The metrics API is an extra: failures become the snapshot's `error`
//! (the panes say so and keep working on live data), never a stopped UI.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;

use super::metrics::portforward::PortForward;
use super::metrics::{MetricsClient, MetricsError};
use super::target::Resource;
use crate::model::figures::EdgeMetric;
use crate::model::figures::{MetricsSnapshot, NamespacedRoute};
use crate::session::SourceMsg;

/// How often figures are asked for: the real server queries Prometheus, whose own scrape
/// interval is 10 s, so polling faster would only repeat figures.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// How long to wait before connecting again after a failed connection.
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(30);

/// How the poller reaches the metrics API.
#[derive(Clone, Debug)]
pub enum MetricsTarget {
    /// `HOST:PORT` (`--metrics-api`).
    Addr(String),
    /// A kube port-forward to a metrics API pod: the default in a cluster.
    PortForward(PortForward),
}

impl MetricsTarget {
    /// A client for this target; tonic reconnects it by itself afterwards.
    pub async fn connect(&self) -> Result<MetricsClient, MetricsError> {
        match self {
            Self::Addr(addr) => MetricsClient::connect(addr).await,
            Self::PortForward(forward) => {
                MetricsClient::connect_port_forward(forward.clone()).await
            }
        }
    }
}

/// What to poll and where.
#[derive(Clone, Debug)]
pub struct MetricsPoll {
    pub target: MetricsTarget,
    pub window: Duration,
    /// The tap targets as resources (`ns/X` is asked as every deployment of X).
    pub targets: Vec<Resource>,
}

impl MetricsPoll {
    /// The resources `TopRoutes` is asked about: a namespace target becomes its deployments
    /// (`deploy` in X), the way `linkerd viz routes` needs a workload, not a namespace.
    pub fn route_selectors(&self) -> Vec<Resource> {
        let mut out: Vec<Resource> = Vec::new();
        for target in &self.targets {
            let selector = if target.kind == "namespace" {
                Resource {
                    namespace: target.name.clone(),
                    kind: "deployment",
                    name: String::new(),
                }
            } else {
                target.clone()
            };
            if !out.contains(&selector) {
                out.push(selector);
            }
        }
        out
    }

    /// The namespaces `Edges` is asked about, once each.
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.targets
            .iter()
            .map(|t| {
                if t.kind == "namespace" {
                    t.name.clone()
                } else {
                    t.namespace.clone()
                }
            })
            .collect()
    }
}

/// Runs until the main loop's receiver is gone. Holds only a weak sender, so the channel still
/// closes (and the UI shows the session ended) when every tap stream has ended.
pub async fn poll_until_closed(poll: MetricsPoll, tx: mpsc::WeakSender<SourceMsg>) {
    let mut client: Option<MetricsClient> = None;
    // The loop ends when the receiver is dropped: every iteration sends, and a send to a closed
    // channel (or a failed upgrade) returns.
    loop {
        let (snapshot, wait) = match &client {
            Some(connected) => (query(connected, &poll).await, POLL_INTERVAL),
            None => match poll.target.connect().await {
                Ok(connected) => {
                    let snapshot = query(&connected, &poll).await;
                    client = Some(connected);
                    (snapshot, POLL_INTERVAL)
                }
                Err(error) => (
                    MetricsSnapshot {
                        routes: Vec::new(),
                        edges: Vec::new(),
                        workloads: Vec::new(),
                        window: poll.window,
                        error: Some(error.to_string()),
                        at: chrono::Utc::now(),
                    },
                    RECONNECT_INTERVAL,
                ),
            },
        };
        let Some(strong) = tx.upgrade() else { return };
        if strong.send(SourceMsg::Metrics(snapshot)).await.is_err() {
            return;
        }
        drop(strong);
        // Waiting must not keep the channel open either; `closed()` needs a strong sender, so
        // sleep and re-check on the next send.
        tokio::time::sleep(wait).await;
    }
}

/// One round of calls. A failed call leaves its figures out and names itself in `error`; the
/// rest still count. tonic's channel reconnects by itself, so a server that went away and came
/// back needs no new client.
pub async fn query(client: &MetricsClient, poll: &MetricsPoll) -> MetricsSnapshot {
    let mut error = None;
    let mut routes = Vec::new();
    for selector in poll.route_selectors() {
        match client.route_stats(&selector, poll.window).await {
            Ok(rows) => routes.extend(rows.into_iter().map(|metric| NamespacedRoute {
                namespace: selector.namespace.clone(),
                metric,
            })),
            Err(e) => {
                error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let mut edges: Vec<EdgeMetric> = Vec::new();
    let mut workloads = Vec::new();
    for namespace in poll.namespaces() {
        match client.edges(&namespace).await {
            Ok(found) => {
                // Edges crossing two tapped namespaces come back once per namespace.
                for edge in found {
                    if !edges.contains(&edge) {
                        edges.push(edge);
                    }
                }
            }
            Err(e) => {
                error.get_or_insert_with(|| e.to_string());
            }
        }
        let deployments = Resource {
            namespace: namespace.clone(),
            kind: "deployment",
            name: String::new(),
        };
        match client.workload_stats(&deployments, poll.window).await {
            Ok(rows) => workloads.extend(rows),
            Err(e) => {
                error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    MetricsSnapshot {
        routes,
        edges,
        workloads,
        window: poll.window,
        error,
        at: chrono::Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(text: &str, ns: &str) -> Resource {
        Resource::parse(text, ns).expect("resource")
    }

    #[test]
    fn namespace_targets_ask_for_their_deployments() {
        let poll = MetricsPoll {
            target: MetricsTarget::Addr("127.0.0.1:1".into()),
            window: Duration::from_secs(60),
            targets: vec![
                res("ns/sock-shop", "default"),
                res("deploy/web", "emojivoto"),
                res("ns/sock-shop", "x"),
            ],
        };
        assert_eq!(
            poll.route_selectors(),
            vec![res("deploy", "sock-shop"), res("deploy/web", "emojivoto")]
        );
        assert_eq!(
            poll.namespaces().into_iter().collect::<Vec<_>>(),
            vec!["emojivoto".to_owned(), "sock-shop".to_owned()]
        );
    }
}
