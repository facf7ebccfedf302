//! Pods as the simulated kube-apiserver lists them (`GET /api/v1/namespaces/NS/pods`): metadata
//! with the labels, annotations and owner Linkerd's injector and a Deployment leave, the app and
//! proxy containers, and the status (phase, readiness) that decides whether tap reaches them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use http::{Response, StatusCode};

use super::api::TapApi;
use super::checks::Break;
use super::mesh::{DEMO_USER, Mesh};
use super::server::{Body, json as json_response, kube_status};
use super::tapper::plan::Selector;

/// Linkerd's proxy ports, declared on its container like the injector does.
const PROXY_PORTS: [(&str, u16); 2] = [("linkerd-proxy", 4143), ("linkerd-admin", 4191)];

/// One pod to list.
#[derive(Clone, Debug)]
pub struct PodObject {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The `ReplicaSet` owning it.
    pub replica_set: String,
    pub service_account: String,
    pub ip: Ipv4Addr,
    pub app_port: u16,
    /// Runs a linkerd2-proxy container.
    pub meshed: bool,
    /// The proxy (and so the pod) is ready.
    pub ready: bool,
}

/// The annotations Linkerd's injectors leave on a pod meshed after viz was installed.
pub fn injected_annotations() -> BTreeMap<String, String> {
    [
        (
            "linkerd.io/created-by",
            "linkerd/proxy-injector edge-26.8.2",
        ),
        ("linkerd.io/proxy-version", "edge-26.8.2"),
        ("viz.linkerd.io/tap-enabled", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl PodObject {
    /// The pod as JSON, shaped like the API server's.
    pub fn json(&self) -> Value {
        let mut containers = vec![json!({
            "name": "app",
            "image": format!("example/{}:1.0", self.service_account),
            "ports": [{ "containerPort": self.app_port, "name": "http", "protocol": "TCP" }],
        })];
        let mut statuses = vec![json!({ "name": "app", "ready": self.ready || !self.meshed,
            "started": true, "state": { "running": { "startedAt": "2026-12-01T08:00:00Z" } } })];
        if self.meshed {
            let ports: Vec<Value> = PROXY_PORTS
                .iter()
                .map(|(name, port)| json!({ "containerPort": port, "name": name, "protocol": "TCP" }))
                .collect();
            containers.push(json!({
                "name": "linkerd-proxy",
                "image": "cr.l5d.io/linkerd/proxy:edge-26.8.2",
                "ports": ports,
            }));
            statuses.push(
                json!({ "name": "linkerd-proxy", "ready": self.ready, "started": true,
                "state": { "running": { "startedAt": "2026-12-01T08:00:00Z" } } }),
            );
        }
        let ready = if self.ready || !self.meshed {
            "True"
        } else {
            "False"
        };
        json!({
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": self.labels,
                "annotations": self.annotations,
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": self.replica_set,
                    "uid": format!("00000000-0000-4000-8000-{:012x}", u64::from(u32::from(self.ip))),
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": { "serviceAccountName": self.service_account, "containers": containers },
            "status": {
                "phase": "Running",
                "podIP": self.ip.to_string(),
                "conditions": [{ "type": "Ready", "status": ready }],
                "containerStatuses": statuses,
            },
        })
    }
}

/// Every pod of the main simulated mesh in `namespace`: all meshed after viz, all ready.
pub fn mesh_pods(mesh: &Mesh, namespace: &str) -> Vec<Value> {
    mesh.pods
        .iter()
        .filter(|pod| mesh.workloads[pod.workload].namespace == namespace)
        .map(|pod| {
            let w = &mesh.workloads[pod.workload];
            PodObject {
                name: pod.name.clone(),
                namespace: namespace.to_owned(),
                labels: pod.labels.clone(),
                annotations: if w.meshed {
                    injected_annotations()
                } else {
                    BTreeMap::new()
                },
                replica_set: w.replica_set(),
                service_account: w.service_account.to_owned(),
                ip: pod.ip,
                app_port: w.container_port,
                meshed: w.meshed,
                ready: true,
            }
            .json()
        })
        .collect()
}

/// A `PodList` of the `pods` matching `label_selector`, or the selector's parse error.
pub fn list(pods: Vec<Value>, label_selector: &str) -> Result<Value, String> {
    let selector = Selector::parse(label_selector)?;
    let items: Vec<Value> = pods
        .into_iter()
        .filter(|pod| {
            let labels: BTreeMap<String, String> = pod["metadata"]["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            selector.matches(&labels)
        })
        .collect();
    Ok(json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": { "resourceVersion": "1" },
        "items": items,
    }))
}

/// The namespace of a pod list path (`/api/v1/namespaces/NS/pods`).
pub fn list_namespace(path: &str) -> Option<&str> {
    let namespace = path
        .strip_prefix("/api/v1/namespaces/")?
        .strip_suffix("/pods")?;
    (!namespace.is_empty() && !namespace.contains('/')).then_some(namespace)
}

/// Answers `GET /api/v1/namespaces/NS/pods[?labelSelector=…]` with the pods `api` runs in NS,
/// or 403 as RBAC would without `list pods` (`demo --serve --break pods`).
pub fn answer(
    namespace: &str,
    query: &str,
    api: &dyn TapApi,
    broken: Option<Break>,
) -> Response<Body> {
    if broken == Some(Break::Pods) {
        let message = format!(
            "pods is forbidden: User \"{DEMO_USER}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{namespace}\""
        );
        return kube_status(StatusCode::FORBIDDEN, "Forbidden", &message);
    }
    let selector = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "labelSelector")
        .and_then(|(_, value)| super::discovery::percent_decode(&value.replace('+', " ")))
        .unwrap_or_default();
    match list(api.pods(namespace), &selector) {
        Ok(list) => json_response(StatusCode::OK, &list),
        Err(e) => kube_status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("unable to parse requirement: {e}"),
        ),
    }
}
