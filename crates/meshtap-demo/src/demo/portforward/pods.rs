//! The simulated mesh's pods as the kube-apiserver stand-in lists them, with the loopback
//! servers their forwarded ports reach (each meshed pod's proxy admin port, 4191).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::demo::mesh::Mesh;
use crate::demo::proxy_metrics::{ADMIN_PORT, AdminServers};

/// One pod that can be listed and port-forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub ip: String,
    /// (pod port, where the demo serves it).
    pub ports: Vec<(u16, SocketAddr)>,
}

/// Every forwardable pod besides the metrics API's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodTable {
    pub pods: Vec<ForwardPod>,
}

impl PodTable {
    /// The meshed pods of `mesh`, each forwarding its admin port to its admin server.
    pub fn from_admin(mesh: &Mesh, servers: &AdminServers) -> Self {
        let pods = servers
            .pods
            .iter()
            .map(|(pod, addr)| {
                let p = &mesh.pods[*pod];
                ForwardPod {
                    namespace: mesh.workload_of(*pod).namespace.to_owned(),
                    name: p.name.clone(),
                    labels: p.labels.clone(),
                    ip: p.ip.to_string(),
                    ports: vec![(ADMIN_PORT, *addr)],
                }
            })
            .collect();
        Self { pods }
    }

    pub fn find(&self, namespace: &str, name: &str) -> Option<&ForwardPod> {
        self.pods
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
    }

    /// The pods of `namespace` that `selected` keeps, as pod list items.
    pub fn list(
        &self,
        namespace: &str,
        selected: &dyn Fn(&ForwardPod) -> bool,
    ) -> Vec<serde_json::Value> {
        self.pods
            .iter()
            .filter(|p| p.namespace == namespace && selected(p))
            .map(|p| {
                serde_json::json!({
                    "metadata": { "name": p.name, "namespace": p.namespace, "labels": p.labels },
                    "status": { "phase": "Running", "podIP": p.ip },
                })
            })
            .collect()
    }
}
