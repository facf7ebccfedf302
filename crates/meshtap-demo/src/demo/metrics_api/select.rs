//! Resolving a request's `Resource` to the simulated workloads it names, and the traffic flows
//! between them, the way the metrics API's Prometheus queries group by resource labels.

use std::collections::BTreeSet;

use super::figures::{Direction, Flow, route_rps};
use crate::demo::mesh::{Mesh, WorkloadId};
use crate::demo::sim::routes::ROUTES;
use crate::proto::viz;

/// One row's worth of the cluster: a deployment, a pod, a namespace or a service.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The resource as the response names it (canonical type, its namespace and name).
    pub resource: viz::Resource,
    pub workloads: BTreeSet<WorkloadId>,
    /// The subject's share of its workloads' traffic: `1 / replicas` for a single pod.
    pub scale: f64,
    pub meshed_pods: u64,
    pub running_pods: u64,
}

/// Short form of a canonical type, for `RouteTable.resource` (`deploy/catalogue`).
pub fn short_kind(kind: &str) -> &str {
    match kind {
        "deployment" => "deploy",
        "pod" => "po",
        "namespace" => "ns",
        "service" => "svc",
        other => other,
    }
}

/// The subjects `selector` names: one per matching resource, or a Kubernetes-style "not found".
pub fn resolve(mesh: &Mesh, selector: &viz::Resource) -> Result<Vec<Subject>, String> {
    let ns_ok = |ns: &str| selector.namespace.is_empty() || selector.namespace == ns;
    let name_ok = |name: &str| selector.name.is_empty() || selector.name == name;
    let resource = |namespace: &str, name: &str| viz::Resource {
        namespace: namespace.to_owned(),
        r#type: selector.r#type.clone(),
        name: name.to_owned(),
    };
    let mut subjects = Vec::new();
    let (plural, group) = match selector.r#type.as_str() {
        "deployment" => {
            for (id, w) in mesh.workloads.iter().enumerate() {
                if ns_ok(w.namespace) && name_ok(w.name) {
                    subjects.push(workload_subject(
                        mesh,
                        resource(w.namespace, w.name),
                        [id],
                        1.0,
                    ));
                }
            }
            ("deployments", ".apps")
        }
        "pod" => {
            for pod in &mesh.pods {
                let w = &mesh.workloads[pod.workload];
                if ns_ok(w.namespace) && name_ok(&pod.name) {
                    let mut subject = workload_subject(
                        mesh,
                        resource(w.namespace, &pod.name),
                        [pod.workload],
                        1.0 / w.pods.len().max(1) as f64,
                    );
                    subject.running_pods = 1;
                    subject.meshed_pods = u64::from(w.meshed);
                    subjects.push(subject);
                }
            }
            ("pods", "")
        }
        "service" => {
            for (id, w) in mesh.workloads.iter().enumerate() {
                if let Some(svc) = w.service.filter(|s| ns_ok(w.namespace) && name_ok(s)) {
                    subjects.push(workload_subject(
                        mesh,
                        resource(w.namespace, svc),
                        [id],
                        1.0,
                    ));
                }
            }
            ("services", "")
        }
        "namespace" => {
            let namespaces: BTreeSet<&str> = mesh.workloads.iter().map(|w| w.namespace).collect();
            for ns in namespaces.into_iter().filter(|ns| name_ok(ns)) {
                let ids = (0..mesh.workloads.len()).filter(|&i| mesh.workloads[i].namespace == ns);
                let named = viz::Resource {
                    namespace: String::new(),
                    r#type: "namespace".to_owned(),
                    name: ns.to_owned(),
                };
                subjects.push(workload_subject(mesh, named, ids, 1.0));
            }
            ("namespaces", "")
        }
        other => return Err(format!("unsupported resource type {other:?}")),
    };
    if subjects.is_empty() && !selector.name.is_empty() {
        return Err(format!("{plural}{group} \"{}\" not found", selector.name));
    }
    Ok(subjects)
}

fn workload_subject(
    mesh: &Mesh,
    resource: viz::Resource,
    ids: impl IntoIterator<Item = WorkloadId>,
    scale: f64,
) -> Subject {
    let workloads: BTreeSet<WorkloadId> = ids.into_iter().collect();
    let running: usize = workloads
        .iter()
        .map(|&i| mesh.workloads[i].pods.len())
        .sum();
    let meshed: usize = workloads
        .iter()
        .filter(|&&i| mesh.workloads[i].meshed)
        .map(|&i| mesh.workloads[i].pods.len())
        .sum();
    Subject {
        resource,
        workloads,
        scale,
        meshed_pods: meshed as u64,
        running_pods: running as u64,
    }
}

/// Whose proxy reports the flows, and the peer on the other end (if any).
#[derive(Debug, Clone, Copy)]
pub enum Peer<'a> {
    /// Everything the subject receives.
    Inbound,
    /// What the subject sends to `to`, seen by the subject's (client) proxies.
    To(&'a Subject),
    /// What the subject receives from `from`, seen by its (server) proxies.
    From(&'a Subject),
}

/// The traffic flows behind one subject's figures at the mesh `rate`. Only meshed proxies
/// report metrics, so an unmeshed subject has no outbound flows. `served` holds, per route of
/// [`ROUTES`], the share of its calls each workload serves (a split sends some to another
/// deployment than the route's own server).
pub fn flows(
    mesh: &Mesh,
    served: &[Vec<(WorkloadId, f64)>],
    subject: &Subject,
    peer: Peer<'_>,
    rate: f64,
) -> Vec<Flow> {
    let mut out = Vec::new();
    for (route, served) in ROUTES.iter().zip(served) {
        let Some(client) = mesh.workload_named(route.client) else {
            continue;
        };
        for &(server, share) in served {
            let (selected, scale) = match peer {
                Peer::Inbound => (subject.workloads.contains(&server), 1.0),
                Peer::From(from) => (
                    subject.workloads.contains(&server) && from.workloads.contains(&client),
                    from.scale,
                ),
                Peer::To(to) => (
                    subject.workloads.contains(&client)
                        && to.workloads.contains(&server)
                        && mesh.workloads[client].meshed,
                    to.scale,
                ),
            };
            let direction = match peer {
                Peer::To(_) => Direction::Outbound,
                Peer::Inbound | Peer::From(_) => Direction::Inbound,
            };
            if selected {
                out.push(Flow {
                    route,
                    client,
                    server,
                    direction,
                    rps: route_rps(route, rate) * share * subject.scale * scale,
                });
            }
        }
    }
    out
}

/// The FQDN authority Linkerd's route metrics carry for a route's server (`dst` label).
pub fn authority(mesh: &Mesh, server: &str) -> String {
    mesh.workload_named(server)
        .map(|id| {
            let w = &mesh.workloads[id];
            let svc = w.service.unwrap_or(w.name);
            format!("{svc}.{}.svc.cluster.local:{}", w.namespace, w.service_port)
        })
        .unwrap_or_default()
}
