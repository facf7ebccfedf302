//! The core `v1` objects the simulated kube-apiserver lists, so kubectl finds what a cluster has:
//! `kubectl get ns` and `kubectl get pods -A` (or `-n NS`) answer from the demo's topology, the
//! same namespaces and pods meshtap can tap. Read-only; every pod is Running.

use serde_json::{Value, json};

use super::mesh::Mesh;

/// Namespaces a cluster running Linkerd always has besides the workloads'.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "linkerd", "linkerd-viz"];
/// When the simulated objects were created (their age in `kubectl get`).
const CREATED: &str = "2026-01-01T00:00:00Z";

/// The JSON document for a `GET` of `path`, if it is a core list or object the demo serves;
/// `Err` carries a 404 message for a namespace that does not exist.
pub fn document(path: &str) -> Option<Result<Value, String>> {
    let rest = path.strip_prefix("/api/v1/")?;
    let mesh = Mesh::demo();
    let segments: Vec<&str> = rest.split('/').collect();
    Some(match segments.as_slice() {
        ["namespaces"] => Ok(list(
            "NamespaceList",
            &namespaces(&mesh).map(|n| namespace(&n)).collect::<Vec<_>>(),
        )),
        ["namespaces", name] => namespaces(&mesh)
            .find(|ns| ns == name)
            .map(|n| namespace(&n))
            .ok_or_else(|| format!("namespaces \"{name}\" not found")),
        ["pods"] => Ok(list("PodList", &pods(&mesh, None))),
        ["namespaces", name, "pods"] => Ok(list("PodList", &pods(&mesh, Some(name)))),
        _ => return None,
    })
}

fn namespaces(mesh: &Mesh) -> impl Iterator<Item = String> + '_ {
    let mut names: Vec<String> = SYSTEM_NAMESPACES.iter().map(|n| (*n).to_owned()).collect();
    for workload in &mesh.workloads {
        if !names.iter().any(|n| n == workload.namespace) {
            names.push(workload.namespace.to_owned());
        }
    }
    names.sort();
    names.into_iter()
}

fn list(kind: &str, items: &[Value]) -> Value {
    json!({
        "kind": kind,
        "apiVersion": "v1",
        "metadata": { "resourceVersion": "1" },
        "items": items,
    })
}

fn namespace(name: &str) -> Value {
    json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": { "name": name, "creationTimestamp": CREATED },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" },
    })
}

fn pods(mesh: &Mesh, namespace: Option<&str>) -> Vec<Value> {
    mesh.pods
        .iter()
        .enumerate()
        .filter(|(id, _)| namespace.is_none_or(|ns| mesh.workload_of(*id).namespace == ns))
        .map(|(id, pod)| {
            let workload = mesh.workload_of(id);
            let containers = if workload.meshed {
                vec![workload.name, "linkerd-proxy"]
            } else {
                vec![workload.name]
            };
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| json!({ "name": c, "ready": true, "restartCount": 0, "image": format!("demo/{c}"), "imageID": "", "started": true, "state": { "running": { "startedAt": CREATED } } }))
                .collect();
            json!({
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {
                    "name": pod.name,
                    "namespace": workload.namespace,
                    "labels": pod.labels,
                    "creationTimestamp": CREATED,
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": workload.replica_set(),
                        "uid": "", "controller": true
                    }],
                },
                "spec": {
                    "serviceAccountName": workload.service_account,
                    "containers": containers.iter().map(|c| json!({ "name": c, "image": format!("demo/{c}") })).collect::<Vec<_>>(),
                },
                "status": {
                    "phase": "Running",
                    "podIP": pod.ip.to_string(),
                    "containerStatuses": statuses,
                    "conditions": [{ "type": "Ready", "status": "True" }],
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_pods_are_the_tappable_ones() {
        let Some(Ok(ns)) = document("/api/v1/namespaces") else {
            panic!("namespaces listed")
        };
        let names: Vec<&str> = ns["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|n| n["metadata"]["name"].as_str())
            .collect();
        assert!(
            names.contains(&"sock-shop") && names.contains(&"kube-system"),
            "{names:?}"
        );
        let Some(Ok(pods)) = document("/api/v1/namespaces/sock-shop/pods") else {
            panic!("pods listed")
        };
        let pods = pods["items"].as_array().expect("items");
        assert!(!pods.is_empty());
        assert!(
            pods.iter()
                .all(|p| p["metadata"]["namespace"] == "sock-shop")
        );
        let Some(Ok(all)) = document("/api/v1/pods") else {
            panic!("all pods")
        };
        assert!(all["items"].as_array().expect("items").len() > pods.len());
        assert!(matches!(
            document("/api/v1/namespaces/nowhere"),
            Some(Err(_))
        ));
        assert!(document("/api/v1/services").is_none());
    }
}
