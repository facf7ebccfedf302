//! What the Kubernetes API says about one pod, reduced to what decides whether Linkerd can tap
//! it. Parsed from the pod's JSON as the API server sends it, so this layer needs no Kubernetes
//! client types.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// The annotations and labels Linkerd's tap path looks at.
pub mod annotations {
    /// Set by viz's tap injector on pods created after viz was installed.
    pub const TAP_ENABLED: &str = "viz.linkerd.io/tap-enabled";
    /// Makes Linkerd's tap server skip the pod.
    pub const VIZ_DISABLE_TAP: &str = "viz.linkerd.io/disable-tap";
    /// Starts the proxy without its tap server: the tap server still counts the pod in its
    /// split of `maxRps`, and its stream to the pod fails (logged only on its side).
    pub const CONFIG_DISABLE_TAP: &str = "config.linkerd.io/disable-tap";
    /// Ports whose traffic the proxy forwards as TCP: no HTTP, so no tap events.
    pub const OPAQUE_PORTS: &str = "config.linkerd.io/opaque-ports";
    /// Inbound ports the proxy never sees.
    pub const SKIP_INBOUND_PORTS: &str = "config.linkerd.io/skip-inbound-ports";
    /// The label the proxy injector sets: its value is the control plane's namespace. Linkerd
    /// counts a pod as meshed by this label alone.
    pub const CONTROL_PLANE_NS: &str = "linkerd.io/control-plane-ns";
    /// The proxy's container name.
    pub const PROXY_CONTAINER: &str = "linkerd-proxy";
}

/// The pod's controller, from `metadata.ownerReferences`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// As Kubernetes writes it: `ReplicaSet`, `StatefulSet`, `Job`…
    pub kind: String,
    pub name: String,
}

/// The proxy container's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ProxyStatus {
    /// No `linkerd-proxy` container.
    Absent,
    Ready,
    /// Present but not ready; `reason` is the container's waiting/terminated reason if any.
    NotReady {
        reason: String,
    },
}

/// One pod, as far as tapping it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PodFacts {
    pub name: String,
    pub namespace: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    pub phase: String,
    /// Has a deletion timestamp.
    pub terminating: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub owner: Option<Owner>,
    /// The pod's `Ready` condition.
    pub ready: bool,
    pub proxy: ProxyStatus,
    /// Ports the application containers declare (the proxy's own are left out).
    pub app_ports: Vec<u16>,
}

/// Go's `strconv.ParseBool` true values, which is what Linkerd accepts in its annotations.
fn go_true(value: Option<&String>) -> bool {
    matches!(
        value.map(String::as_str),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    )
}

fn strings(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

impl PodFacts {
    /// Reads a pod object (`kind: Pod`, or one item of a `PodList`). Missing fields read as
    /// empty: a pod the API server sends is never refused, only described less precisely.
    pub fn from_json(pod: &Value) -> Self {
        let meta = &pod["metadata"];
        let status = &pod["status"];
        let owner = meta["ownerReferences"].as_array().and_then(|owners| {
            // The controller if one is marked, else the only owner.
            let controller = owners
                .iter()
                .find(|o| o["controller"].as_bool() == Some(true))
                .or_else(|| (owners.len() == 1).then(|| &owners[0]))?;
            Some(Owner {
                kind: text(&controller["kind"]),
                name: text(&controller["name"]),
            })
        });
        let ready = status["conditions"].as_array().is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        // The proxy runs as a container, or as a native sidecar (an init container that keeps
        // running) since Linkerd 2.15.
        let statuses = status["containerStatuses"]
            .as_array()
            .into_iter()
            .chain(status["initContainerStatuses"].as_array())
            .flatten();
        let mut proxy = ProxyStatus::Absent;
        for s in statuses {
            if s["name"] != annotations::PROXY_CONTAINER {
                continue;
            }
            proxy = if s["ready"].as_bool() == Some(true) {
                ProxyStatus::Ready
            } else {
                let state = &s["state"];
                let reason = state["waiting"]["reason"]
                    .as_str()
                    .or_else(|| state["terminated"]["reason"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                ProxyStatus::NotReady { reason }
            };
        }
        let spec = &pod["spec"];
        let declared = |list: &Value| {
            list.as_array()
                .into_iter()
                .flatten()
                .any(|c| c["name"] == annotations::PROXY_CONTAINER)
        };
        if proxy == ProxyStatus::Absent
            && (declared(&spec["containers"]) || declared(&spec["initContainers"]))
        {
            // Declared but no status yet (a pod still being scheduled).
            proxy = ProxyStatus::NotReady {
                reason: String::new(),
            };
        }
        let mut app_ports: Vec<u16> = spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["name"] != annotations::PROXY_CONTAINER)
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .filter_map(|p| u16::try_from(p["containerPort"].as_u64()?).ok())
            .collect();
        app_ports.sort_unstable();
        app_ports.dedup();
        Self {
            name: text(&meta["name"]),
            namespace: text(&meta["namespace"]),
            phase: text(&status["phase"]),
            terminating: !meta["deletionTimestamp"].is_null(),
            labels: strings(&meta["labels"]),
            annotations: strings(&meta["annotations"]),
            owner,
            ready,
            proxy,
            app_ports,
        }
    }

    /// Every pod of a `PodList`.
    pub fn list_from_json(list: &Value) -> Vec<Self> {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Self::from_json)
            .collect()
    }

    /// Linkerd's `IsMeshed`: the injector's control-plane label is present.
    pub fn meshed(&self) -> bool {
        self.labels.contains_key(annotations::CONTROL_PLANE_NS)
    }

    /// Linkerd's `IsTapEnabled`.
    pub fn tap_enabled(&self) -> bool {
        go_true(self.annotations.get(annotations::TAP_ENABLED))
    }

    /// The annotation that disables tap on this pod, if one does.
    pub fn tap_disabled_by(&self) -> Option<&'static str> {
        [
            annotations::VIZ_DISABLE_TAP,
            annotations::CONFIG_DISABLE_TAP,
        ]
        .into_iter()
        .find(|a| go_true(self.annotations.get(*a)))
    }

    /// Pending or Running and not being deleted: the pods Linkerd's tap server considers.
    pub fn considered(&self) -> bool {
        matches!(self.phase.as_str(), "Pending" | "Running") && !self.terminating
    }

    /// Whether Linkerd's tap server opens a stream to this pod (and so counts it when it splits
    /// `maxRps`): meshed, considered, not disabled by the viz annotation, tap enabled.
    pub fn tapped_by_linkerd(&self) -> bool {
        self.considered()
            && self.meshed()
            && !go_true(self.annotations.get(annotations::VIZ_DISABLE_TAP))
            && self.tap_enabled()
    }

    /// The application ports the proxy carries as TCP only (opaque) or never sees (skipped),
    /// with the annotation that says so; empty unless every declared port is one of them.
    pub fn only_tcp_ports(&self) -> Vec<(u16, &'static str)> {
        if self.app_ports.is_empty() {
            return Vec::new();
        }
        let covered: Vec<(u16, &'static str)> = self
            .app_ports
            .iter()
            .filter_map(|&port| {
                [annotations::OPAQUE_PORTS, annotations::SKIP_INBOUND_PORTS]
                    .into_iter()
                    .find(|a| {
                        self.annotations
                            .get(*a)
                            .is_some_and(|list| port_listed(list, port))
                    })
                    .map(|a| (port, a))
            })
            .collect();
        if covered.len() == self.app_ports.len() {
            covered
        } else {
            Vec::new()
        }
    }

    /// `deploy/NAME` (or the owner in kubectl's spelling) for a `kubectl rollout restart`, when
    /// the pod has a controller that can be restarted.
    pub fn workload(&self) -> Option<String> {
        let owner = self.owner.as_ref()?;
        match owner.kind.as_str() {
            "ReplicaSet" => {
                // A Deployment names its ReplicaSets `<deployment>-<pod-template-hash>`.
                let hash = self.labels.get("pod-template-hash")?;
                let deployment = owner.name.strip_suffix(hash)?.strip_suffix('-')?;
                Some(format!("deploy/{deployment}"))
            }
            "StatefulSet" => Some(format!("sts/{}", owner.name)),
            "DaemonSet" => Some(format!("ds/{}", owner.name)),
            _ => None,
        }
    }

    /// Whether the pod belongs to the target `kind/name` (Linkerd's canonical singular kind).
    /// An empty name means every pod of that kind; a namespace target takes every pod.
    pub fn belongs_to(&self, kind: &str, name: &str) -> bool {
        let owner = self.owner.as_ref();
        let owned =
            |k: &str| owner.is_some_and(|o| o.kind == k && (name.is_empty() || o.name == name));
        match kind {
            "namespace" => true,
            "pod" => name.is_empty() || self.name == name,
            "deployment" => match self.workload() {
                Some(w) => w
                    .strip_prefix("deploy/")
                    .is_some_and(|d| name.is_empty() || d == name),
                None => false,
            },
            "replicaset" => owned("ReplicaSet"),
            "statefulset" => owned("StatefulSet"),
            "daemonset" => owned("DaemonSet"),
            "job" => owned("Job"),
            "replicationcontroller" => owned("ReplicationController"),
            // A CronJob names its Jobs `<cronjob>-<scheduled time>`.
            "cronjob" => owner.is_some_and(|o| {
                o.kind == "Job"
                    && (name.is_empty()
                        || o.name
                            .strip_prefix(name)
                            .and_then(|rest| rest.strip_prefix('-'))
                            .is_some_and(|t| {
                                !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
                            }))
            }),
            _ => false,
        }
    }
}

/// Whether `port` is in a Linkerd port list: comma-separated ports and `LOW-HIGH` ranges
/// (named ports cannot be resolved from the list alone and never match).
fn port_listed(list: &str, port: u16) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|item| match item.split_once('-') {
            Some((low, high)) => match (low.trim().parse::<u16>(), high.trim().parse::<u16>()) {
                (Ok(low), Ok(high)) => (low..=high).contains(&port),
                _ => false,
            },
            None => item.parse::<u16>() == Ok(port),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists() {
        assert!(port_listed("5432", 5432));
        assert!(port_listed("25, 5000-5500", 5432));
        assert!(!port_listed("25,5000-5100", 5432));
        assert!(!port_listed("postgres", 5432));
        assert!(!port_listed("", 5432));
    }
}
