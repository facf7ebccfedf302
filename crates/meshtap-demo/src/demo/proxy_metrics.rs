//! Every simulated pod's proxy admin server: `GET /metrics` in the Prometheus text format, on
//! its own loopback port, counting the traffic the demo simulates (route families on the
//! client's proxy, inbound and authorization families on the server's). The simulated
//! kube-apiserver port-forwards `POD:4191` here, and `demo --serve --file-sd FILE` lists these
//! addresses for a real Prometheus.

pub mod attribution;
pub mod families;
pub mod ledger;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::mesh::{Mesh, PodId};
use ledger::Ledger;

/// The port a real proxy's admin server listens on; what port-forwards ask for.
pub const ADMIN_PORT: u16 = 4191;
/// What Prometheus's text format 0.0.4 is served as.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";
/// Mixed into `--seed` so the counted traffic is its own seeded stream, like each tap's.
const LEDGER_SEED: u64 = 0x6d65_7472_6963_7321;

/// The counters of every simulated proxy of one cluster, advanced to the wall clock on each
/// scrape. Shared by the pods' admin servers; the lock is held only to count and render, never
/// across an await.
#[derive(Debug)]
pub struct ProxyMetrics {
    ledger: Mutex<Ledger>,
    started: Instant,
}

impl ProxyMetrics {
    pub fn new(mesh: Arc<Mesh>, seed: u64, rate: f64) -> Self {
        Self {
            ledger: Mutex::new(Ledger::new(mesh, seed ^ LEDGER_SEED, rate)),
            started: Instant::now(),
        }
    }

    /// A refusal a tap session showed: the refusing proxy's counter includes it
    /// ([`ledger::Ledger::witness_refusal`]).
    pub fn witness_refusal(&self, call: &crate::demo::sim::Call) {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.witness_refusal(call);
    }

    /// `pod`'s exposition now.
    pub fn scrape(&self, pod: PodId) -> String {
        let now_ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.scrape_at(pod, now_ns)
    }

    /// `pod`'s exposition at virtual time `now_ns` (tests drive the clock themselves).
    pub fn scrape_at(&self, pod: PodId, now_ns: u64) -> String {
        // A panic while counting leaves counters that are still valid numbers.
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.advance(now_ns);
        ledger.render(pod)
    }
}

/// The running admin servers: one per meshed pod. Dropping it stops them all.
#[derive(Debug)]
pub struct AdminServers {
    /// (pod, where its admin server listens), meshed pods only, in pod order.
    pub pods: Vec<(PodId, SocketAddr)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AdminServers {
    pub fn addr_of(&self, pod: PodId) -> Option<SocketAddr> {
        self.pods.iter().find(|(p, _)| *p == pod).map(|(_, a)| *a)
    }
}

impl Drop for AdminServers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts an admin server on `ip` (any free port) for every meshed pod of `mesh`.
pub async fn spawn(
    ip: IpAddr,
    mesh: &Mesh,
    metrics: Arc<ProxyMetrics>,
) -> anyhow::Result<AdminServers> {
    let mut pods = Vec::new();
    let mut tasks = Vec::new();
    for (pod, p) in mesh.pods.iter().enumerate() {
        if !mesh.workload_of(pod).meshed {
            continue;
        }
        let listener = TcpListener::bind(SocketAddr::new(ip, 0))
            .await
            .with_context(|| format!("binding the admin server of {}", p.name))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        pods.push((pod, addr));
        tasks.push(tokio::spawn(serve(listener, pod, metrics.clone())));
    }
    Ok(AdminServers { pods, tasks })
}

async fn serve(listener: TcpListener, pod: PodId, metrics: Arc<ProxyMetrics>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Finished connection tasks are reaped so the set stays as small as the open ones.
        while connections.try_join_next().is_some() {}
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(answer(&request, pod, &metrics)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(
    request: &Request<Incoming>,
    pod: PodId,
    metrics: &ProxyMetrics,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    if request.uri().path() != "/metrics" {
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    *response.body_mut() = Full::new(Bytes::from(metrics.scrape(pod)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}

/// A Prometheus `file_sd_configs` target list for `servers`: each pod's admin address with the
/// labels linkerd-viz's scrape configuration gives proxy series (`namespace`, `pod`, and the
/// owner from `linkerd.io/proxy-*`).
pub fn file_sd(mesh: &Mesh, servers: &AdminServers) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = servers
        .pods
        .iter()
        .map(|(pod, addr)| {
            let p = &mesh.pods[*pod];
            let mut labels = serde_json::Map::new();
            labels.insert("namespace".into(), mesh.workload_of(*pod).namespace.into());
            labels.insert("pod".into(), p.name.clone().into());
            for (key, value) in &p.labels {
                if let Some(owner) = key.strip_prefix("linkerd.io/proxy-") {
                    labels.insert(owner.to_owned(), value.clone().into());
                }
            }
            serde_json::json!({ "targets": [addr.to_string()], "labels": labels })
        })
        .collect();
    serde_json::Value::Array(groups)
}
