//! The simulated mesh's metrics API: Linkerd viz's `linkerd2.viz.Api` (`StatSummary`, `TopRoutes`,
//! `Edges`) served over plaintext gRPC on loopback, as `metrics-api.linkerd-viz:8085` serves it in
//! a cluster, with figures derived from the route table at the demo's `--rate` ([`figures`]).
//!
//! Like the real service, request problems (an unknown resource, a bad window) come back as a
//! `ResourceError` inside an OK response, not as a gRPC status.

mod figures;
mod select;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

pub use figures::{Direction, Flow, Stats, failure_share, route_rps};
use select::{Peer, Subject, authority, flows, resolve, short_kind};

use super::mesh::{Mesh, WorkloadId};
use super::sim::routes::{ROUTES, profile_name};
use super::sim::routing::Routing;
use crate::proto::viz::{self, api_server};
use crate::source::metrics::parse_window;

/// The route name Linkerd gives requests no `ServiceProfile` route matched.
pub const DEFAULT_ROUTE: &str = "[DEFAULT]";

/// The service's state: the topology and the mesh-wide request rate.
#[derive(Debug, Clone)]
pub struct MetricsApi {
    mesh: Arc<Mesh>,
    rate: f64,
    /// Per route of [`ROUTES`], the share of its calls each workload serves
    /// ([`Routing::served_shares`]).
    served: Arc<Vec<Vec<(WorkloadId, f64)>>>,
}

/// A running metrics API server; dropping it stops the server.
#[derive(Debug)]
pub struct RunningMetricsApi {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningMetricsApi {
    /// Where it listens, for `--metrics-api`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RunningMetricsApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The server may already have stopped; nothing to tell then.
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

/// Serves the metrics API for a mesh running at `rate` requests per second on `addr`
/// (loopback only; port 0 picks a free one).
pub async fn spawn(addr: SocketAddr, rate: f64) -> anyhow::Result<RunningMetricsApi> {
    spawn_for(addr, Arc::new(Mesh::demo()), rate).await
}

/// [`spawn`] for one cluster's own `mesh` (`demo --clusters`).
pub async fn spawn_for(
    addr: SocketAddr,
    mesh: Arc<Mesh>,
    rate: f64,
) -> anyhow::Result<RunningMetricsApi> {
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the demo metrics API serves on loopback only, not {addr}"
    );
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the demo metrics API to {addr}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let service = api_server::ApiServer::new(MetricsApi::new(mesh, rate));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .serve_with_incoming_shutdown(service, TcpIncoming::from(listener), async {
                // A dropped sender means the handle is gone: stop as well.
                let _ = rx.await;
            })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "demo metrics API stopped");
        }
    });
    Ok(RunningMetricsApi {
        addr,
        shutdown: Some(tx),
        task,
    })
}

impl MetricsApi {
    pub fn new(mesh: Arc<Mesh>, rate: f64) -> Self {
        let routing = Routing::new(&mesh);
        let served = (0..ROUTES.len())
            .map(|route| routing.served_shares(&mesh, route))
            .collect();
        Self {
            mesh,
            rate,
            served: Arc::new(served),
        }
    }

    /// The selector's resource and the window in seconds, or the error text a `ResourceError`
    /// carries.
    fn parse(
        selector: Option<&viz::ResourceSelection>,
        window: &str,
    ) -> Result<(viz::Resource, f64), (viz::Resource, String)> {
        let resource = selector.and_then(|s| s.resource.clone());
        let Some(resource) = resource else {
            return Err((
                viz::Resource::default(),
                "request missing Selector Resource".into(),
            ));
        };
        let secs = match parse_window(window) {
            Some(d) if d > Duration::ZERO => d.as_secs_f64(),
            _ => return Err((resource, format!("invalid time window {window:?}"))),
        };
        Ok((resource, secs))
    }

    fn resolve_peer(&self, peer: Option<&viz::Resource>) -> Result<Option<Subject>, String> {
        let Some(peer) = peer else { return Ok(None) };
        let mut found = resolve(&self.mesh, peer)?;
        // A peer is one resource; several (an unnamed type) merge into one set of workloads.
        // Nothing matched: an empty peer, so the figures are empty rather than inbound ones.
        let Some(mut first) = found.pop() else {
            return Ok(Some(Subject {
                resource: peer.clone(),
                workloads: BTreeSet::new(),
                scale: 1.0,
                meshed_pods: 0,
                running_pods: 0,
            }));
        };
        for other in found {
            first.workloads.extend(other.workloads);
        }
        Ok(Some(first))
    }

    fn stat_summary_ok(
        &self,
        req: &viz::StatSummaryRequest,
    ) -> Result<Vec<viz::StatTable>, (viz::Resource, String)> {
        use viz::stat_summary_request::Outbound;
        let (resource, secs) = Self::parse(req.selector.as_ref(), &req.time_window)?;
        let subjects = resolve(&self.mesh, &resource).map_err(|e| (resource.clone(), e))?;
        let (to, from) = match &req.outbound {
            Some(Outbound::ToResource(r)) => (Some(r), None),
            Some(Outbound::FromResource(r)) => (None, Some(r)),
            Some(Outbound::None(_)) | None => (None, None),
        };
        let err = |e| (resource.clone(), e);
        let to = self.resolve_peer(to).map_err(err)?;
        let from = self.resolve_peer(from).map_err(err)?;
        let peer = match (&to, &from) {
            (Some(to), _) => Peer::To(to),
            (None, Some(from)) => Peer::From(from),
            (None, None) => Peer::Inbound,
        };
        let rows = subjects
            .iter()
            .map(|subject| {
                let flows = flows(&self.mesh, &self.served, subject, peer, self.rate);
                let has_traffic = flows.iter().any(|f| f.rps > 0.0);
                let stats =
                    (!req.skip_stats && has_traffic).then(|| basic(figures::stats(&flows, secs)));
                let tcp_stats = req.tcp_stats.then(|| viz::TcpStats {
                    open_connections: self.connections(subject, &flows),
                    read_bytes_total: 0,
                    write_bytes_total: flows
                        .iter()
                        .map(|f| {
                            (f.rps * secs * (f.route.bytes.0 + f.route.bytes.1) as f64 / 2.0) as u64
                        })
                        .sum(),
                });
                viz::stat_table::pod_group::Row {
                    resource: Some(subject.resource.clone()),
                    time_window: req.time_window.clone(),
                    status: "Running".to_owned(),
                    meshed_pod_count: subject.meshed_pods,
                    running_pod_count: subject.running_pods,
                    failed_pod_count: 0,
                    stats,
                    tcp_stats,
                    ..Default::default()
                }
            })
            .collect();
        Ok(vec![viz::StatTable {
            table: Some(viz::stat_table::Table::PodGroup(
                viz::stat_table::PodGroup { rows },
            )),
        }])
    }

    /// Open connections a subject's proxies hold for `flows`: one per client pod and server pod
    /// pair of each workload pair, as connection-pooling proxies keep.
    fn connections(&self, subject: &Subject, flows: &[Flow]) -> u64 {
        let pairs: BTreeSet<(WorkloadId, WorkloadId)> =
            flows.iter().map(|f| (f.client, f.server)).collect();
        let pods = |id: WorkloadId| self.mesh.workloads[id].pods.len() as u64;
        let total: u64 = pairs.iter().map(|&(c, s)| pods(c) * pods(s)).sum();
        (total as f64 * subject.scale).ceil() as u64
    }

    fn top_routes_ok(
        &self,
        req: &viz::TopRoutesRequest,
    ) -> Result<Vec<viz::RouteTable>, (viz::Resource, String)> {
        use viz::top_routes_request::Outbound;
        let (resource, secs) = Self::parse(req.selector.as_ref(), &req.time_window)?;
        let subjects = resolve(&self.mesh, &resource).map_err(|e| (resource.clone(), e))?;
        let to = match &req.outbound {
            Some(Outbound::ToResource(r)) => Some(r),
            Some(Outbound::None(_)) | None => None,
        };
        let to = self.resolve_peer(to).map_err(|e| (resource.clone(), e))?;
        let peer = to.as_ref().map_or(Peer::Inbound, Peer::To);
        let tables = subjects
            .iter()
            .map(|subject| {
                // Rows are keyed by (authority, route): ServiceProfile routes by name, everything
                // else under [DEFAULT], as Linkerd's `rt_route` metrics group them.
                let mut groups: BTreeMap<(String, bool, String), Vec<Flow>> = BTreeMap::default();
                for flow in flows(&self.mesh, &self.served, subject, peer, self.rate) {
                    let route = flow.route;
                    let name = if route.profiled {
                        profile_name(route)
                    } else {
                        DEFAULT_ROUTE.to_owned()
                    };
                    let key = (authority(&self.mesh, route.server), !route.profiled, name);
                    groups.entry(key).or_default().push(flow);
                }
                let rows = groups
                    .into_iter()
                    .map(|((authority, _, route), flows)| viz::route_table::Row {
                        route,
                        time_window: req.time_window.clone(),
                        authority,
                        stats: Some(basic(figures::stats(&flows, secs))),
                    })
                    .collect();
                viz::RouteTable {
                    rows,
                    resource: format!(
                        "{}/{}",
                        short_kind(&subject.resource.r#type),
                        subject.resource.name
                    ),
                }
            })
            .collect();
        Ok(tables)
    }

    /// `Edges` between meshed workloads (an unmeshed client has no outbound metrics to join, so
    /// Linkerd shows no edge for it), where either end is in the selected namespace.
    fn edges_ok(&self, req: &viz::EdgesRequest) -> Result<Vec<viz::Edge>, (viz::Resource, String)> {
        let resource = req.selector.as_ref().and_then(|s| s.resource.clone());
        let Some(resource) = resource else {
            return Err((
                viz::Resource::default(),
                "Edges request missing Selector Resource".into(),
            ));
        };
        if resource.r#type != "deployment" {
            let message = format!(
                "the demo serves edges of deployments, not {:?}",
                resource.r#type
            );
            return Err((resource, message));
        }
        let ns_ok = |ns: &str| resource.namespace.is_empty() || resource.namespace == ns;
        let pairs: BTreeSet<(WorkloadId, WorkloadId)> = ROUTES
            .iter()
            .zip(self.served.iter())
            .filter_map(|(r, served)| {
                let client = self.mesh.workload_named(r.client)?;
                Some(served.iter().map(move |&(server, _)| (client, server)))
            })
            .flatten()
            .collect();
        let named = |w: &super::mesh::Workload| viz::Resource {
            namespace: w.namespace.to_owned(),
            r#type: "deployment".to_owned(),
            name: w.name.to_owned(),
        };
        Ok(pairs
            .into_iter()
            .map(|(c, s)| (&self.mesh.workloads[c], &self.mesh.workloads[s]))
            .filter(|(c, s)| c.meshed && s.meshed && (ns_ok(c.namespace) || ns_ok(s.namespace)))
            .map(|(c, s)| viz::Edge {
                src: Some(named(c)),
                dst: Some(named(s)),
                client_id: c.identity(),
                server_id: s.identity(),
                no_identity_msg: String::new(),
            })
            .collect())
    }
}

fn basic(s: Stats) -> viz::BasicStats {
    viz::BasicStats {
        success_count: s.success_count,
        failure_count: s.failure_count,
        latency_ms_p50: s.p50_ms,
        latency_ms_p95: s.p95_ms,
        latency_ms_p99: s.p99_ms,
        // The simulation does not retry, so what the application saw is what the proxy saw.
        actual_success_count: s.success_count,
        actual_failure_count: s.failure_count,
    }
}

fn resource_error((resource, error): (viz::Resource, String)) -> viz::ResourceError {
    viz::ResourceError {
        resource: Some(resource),
        error,
    }
}

#[tonic::async_trait]
impl api_server::Api for MetricsApi {
    async fn stat_summary(
        &self,
        request: Request<viz::StatSummaryRequest>,
    ) -> Result<Response<viz::StatSummaryResponse>, Status> {
        use viz::stat_summary_response::{Ok as Tables, Response as R};
        let response = match self.stat_summary_ok(request.get_ref()) {
            Ok(stat_tables) => R::Ok(Tables { stat_tables }),
            Err(e) => R::Error(resource_error(e)),
        };
        Ok(Response::new(viz::StatSummaryResponse {
            response: Some(response),
        }))
    }

    async fn edges(
        &self,
        request: Request<viz::EdgesRequest>,
    ) -> Result<Response<viz::EdgesResponse>, Status> {
        use viz::edges_response::{Ok as Edges, Response as R};
        let response = match self.edges_ok(request.get_ref()) {
            Ok(edges) => R::Ok(Edges { edges }),
            Err(e) => R::Error(resource_error(e)),
        };
        Ok(Response::new(viz::EdgesResponse {
            response: Some(response),
        }))
    }

    async fn top_routes(
        &self,
        request: Request<viz::TopRoutesRequest>,
    ) -> Result<Response<viz::TopRoutesResponse>, Status> {
        use viz::top_routes_response::{Ok as Routes, Response as R};
        let response = match self.top_routes_ok(request.get_ref()) {
            Ok(routes) => R::Ok(Routes { routes }),
            Err(e) => R::Error(resource_error(e)),
        };
        Ok(Response::new(viz::TopRoutesResponse {
            response: Some(response),
        }))
    }
}
