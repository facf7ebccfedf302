//! `meshtap demo --clusters east,west`: one simulated control plane per cluster, each on its own
//! loopback port with its own API server CA, token and metrics API, all reached through one
//! kubeconfig with a context per cluster; the first cluster's front-end calls the Services the
//! others export, through their mirrored Services and gateways, as Linkerd multicluster does.

pub mod crossing;
mod feed;
pub mod topology;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use kube::config::Kubeconfig;

pub use topology::ClusterNames;

use super::metrics_api::{self, RunningMetricsApi};
use super::portforward::{MetricsApiPod, PodTable};
use super::proxy_metrics::{self, AdminServers, ProxyMetrics};
use super::server::{self, RunningServer, ServerOptions};
use super::tapper::SimTapApi;

/// The namespace every context defaults to.
pub const DEFAULT_NAMESPACE: &str = "sock-shop";

/// One simulated cluster's control plane.
#[derive(Debug)]
pub struct Plane {
    /// The cluster's name, also its kubeconfig context, cluster and user name.
    pub name: String,
    pub server: RunningServer,
    /// Its own metrics API, port-forwarded to through its own control plane.
    pub metrics_api: RunningMetricsApi,
    /// Its meshed pods' proxy admin servers (`/metrics`), port-forwarded to on 4191.
    pub admin: AdminServers,
    /// Its own policy controller, port-forwarded to on `linkerd-destination`'s 8090.
    pub policy_api: super::policy_api::DemoPolicyApi,
    pub gateway: topology::Gateway,
}

/// Every cluster's control plane and the kubeconfig reaching them all.
#[derive(Debug)]
pub struct Planes {
    pub planes: Vec<Plane>,
    /// One context per cluster (named after it); the current context is the first cluster.
    pub kubeconfig: Kubeconfig,
}

/// How to start the clusters.
#[derive(Debug, Clone)]
pub struct Options {
    pub names: ClusterNames,
    /// The loopback address every server binds (port 0 each).
    pub ip: IpAddr,
    pub tls: bool,
    pub seed: u64,
    /// Requests per second of each cluster's own mesh.
    pub rate: f64,
}

/// Starts one control plane per cluster.
pub async fn start(options: &Options) -> anyhow::Result<Planes> {
    anyhow::ensure!(
        options.ip.is_loopback(),
        "the demo serves on loopback only (127.0.0.1 or [::1]), not {}",
        options.ip
    );
    let names = &options.names.0;
    let crossings = crossing::Crossings::new(names, options.seed, options.rate);
    let mut planes = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let (Some(mesh), Some(gateway)) = (crossings.mesh(index), crossings.gateway(index)) else {
            anyhow::bail!("cluster {name} has no simulated mesh");
        };
        let metrics_addr = SocketAddr::new(options.ip, 0);
        let metrics_api =
            metrics_api::spawn_for(metrics_addr, Arc::new(mesh.clone()), options.rate).await?;
        // The first cluster keeps the single-cluster demo's seed; the others differ from it.
        let seed = options.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let api = SimTapApi::for_cluster(
            mesh.clone(),
            seed,
            options.rate,
            (names.len() > 1).then(|| crossings.for_cluster(index)),
        );
        // The cluster's own traffic, counted by its proxies; calls crossing from other clusters
        // are tapped but not counted here.
        let counters = Arc::new(ProxyMetrics::new(
            Arc::new(mesh.clone()),
            seed,
            options.rate,
        ));
        api.count_refusals_in(counters.clone());
        let admin = proxy_metrics::spawn(options.ip, mesh, counters).await?;
        let policy_api = super::policy_api::spawn(options.ip, Arc::new(mesh.clone())).await?;
        let mut pods = PodTable::from_admin(mesh, &admin);
        pods.pods.push(policy_api.pod());
        let pods = Arc::new(pods);
        let server_options = ServerOptions {
            addr: SocketAddr::new(options.ip, 0),
            tls: options.tls,
            token: None,
            metrics_pod: Some(MetricsApiPod {
                addr: metrics_api.addr(),
                forbid_port_forward: false,
            }),
            pods,
            broken: None,
        };
        let server = server::spawn(server_options, Arc::new(api)).await?;
        planes.push(Plane {
            name: name.clone(),
            server,
            metrics_api,
            admin,
            policy_api,
            gateway: gateway.clone(),
        });
    }
    let kubeconfig = kubeconfig(&planes)?;
    Ok(Planes { planes, kubeconfig })
}

/// One kubeconfig with a context, cluster and user per plane, each named after the cluster.
fn kubeconfig(planes: &[Plane]) -> anyhow::Result<Kubeconfig> {
    let mut merged = Kubeconfig {
        current_context: planes.first().map(|p| p.name.clone()),
        kind: Some("Config".to_owned()),
        api_version: Some("v1".to_owned()),
        ..Kubeconfig::default()
    };
    for plane in planes {
        let one = super::kubeconfig::for_server(&plane.server, Some(DEFAULT_NAMESPACE))?;
        let name = &plane.name;
        merged
            .clusters
            .extend(one.clusters.into_iter().map(|mut c| {
                c.name.clone_from(name);
                c
            }));
        merged
            .auth_infos
            .extend(one.auth_infos.into_iter().map(|mut a| {
                a.name.clone_from(name);
                a
            }));
        merged
            .contexts
            .extend(one.contexts.into_iter().map(|mut c| {
                c.name.clone_from(name);
                if let Some(context) = c.context.as_mut() {
                    context.cluster.clone_from(name);
                    context.user = Some(name.clone());
                }
                c
            }));
    }
    Ok(merged)
}
