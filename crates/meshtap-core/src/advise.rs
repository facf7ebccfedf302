//! `meshtap advise authz`: from the inbound side of observed traffic (what each server proxy
//! saw: its workload, the port, the client's `tls`/`client_id` labels), the Linkerd policy that
//! would allow exactly the clients seen, per workload port. Gathered one finished request at a
//! time in bounded memory; [`render`] writes the YAML.

pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::model::event::Direction;
use crate::model::request::{Request, workload};

/// Workload ports kept; requests to more are only counted.
pub const MAX_PORTS: usize = 2_000;
/// Distinct clients kept per workload port; more are only counted (and said).
pub const MAX_CLIENTS_PER_PORT: usize = 256;
/// Calling workloads named per client in its comment.
pub const MAX_CALLERS_PER_CLIENT: usize = 8;

/// The Linkerd proxy injector's per-owner pod labels (linkerd2 `pkg/k8s/labels.go`,
/// `Proxy*Label`): every meshed pod carries one, so a `podSelector` on it selects exactly the
/// workload's pods whatever the app's own labels are. Keyed by tap's owner label.
const OWNER_POD_LABELS: [(&str, &str); 6] = [
    ("deployment", "linkerd.io/proxy-deployment"),
    ("statefulset", "linkerd.io/proxy-statefulset"),
    ("daemonset", "linkerd.io/proxy-daemonset"),
    ("k8s_job", "linkerd.io/proxy-job"),
    ("replicaset", "linkerd.io/proxy-replicaset"),
    (
        "replicationcontroller",
        "linkerd.io/proxy-replicationcontroller",
    ),
];

/// One port of one server workload.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadPort {
    pub namespace: String,
    /// The short kind (`deploy`, `sts`, …) and name, as meshtap shows workloads.
    pub kind: &'static str,
    pub name: String,
    /// The injector's pod label that selects the workload's pods, e.g.
    /// `linkerd.io/proxy-deployment`.
    pub pod_label: &'static str,
    pub port: u16,
}

/// Who called a port, as the server's proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Client {
    /// A meshed client proven by mTLS: its identity (`client_id`).
    Identity(String),
    /// A client without a mesh identity: why (the `tls` label, e.g. `no_tls_from_remote`) and
    /// who (its workload, else its address).
    Unauthenticated { tls: String, from: String },
}

/// What was seen of one client on one port.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub requests: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Calling workloads (`deploy/web (emojivoto)`), at most [`MAX_CALLERS_PER_CLIENT`].
    pub callers: BTreeSet<String>,
}

/// Everything seen on one workload port.
#[derive(Clone, Debug, Default)]
pub struct PortSeen {
    pub requests: u64,
    /// Requests that ended with a gRPC status: all of them → the Server says `gRPC`.
    pub grpc: u64,
    /// Kubelet probes (`route_name=probe`): Linkerd's default probe route keeps allowing them
    /// under any Server without routes, so they are neither clients nor warnings.
    pub probes: u64,
    /// The `Server` that admitted the traffic today, when one did (`srv_kind=server`).
    pub existing_server: Option<String>,
    pub clients: BTreeMap<Client, Seen>,
    /// Requests from clients past [`MAX_CLIENTS_PER_PORT`].
    pub uncounted: u64,
}

/// Requests that could not be placed, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Outbound (client-side) views: the policy is the server's, so only inbound counts.
    pub outbound: u64,
    /// Inbound requests whose destination has no port.
    pub no_port: u64,
    /// Inbound requests to a bare pod (no owner): no injector label selects it.
    pub no_workload: u64,
    /// Requests to workload ports past [`MAX_PORTS`].
    pub overflow: u64,
}

/// The observed inbound traffic, per workload port.
#[derive(Clone, Debug, Default)]
pub struct AuthzAdvice {
    pub ports: BTreeMap<WorkloadPort, PortSeen>,
    pub inbound: u64,
    pub skipped: Skipped,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

impl AuthzAdvice {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one finished request (its inbound view only).
    pub fn record(&mut self, request: &Request) {
        if request.direction() != Direction::Inbound {
            self.skipped.outbound += 1;
            return;
        }
        let Some(port) = request.destination.addr.map(|a| a.port()) else {
            self.skipped.no_port += 1;
            return;
        };
        let Some(key) = workload_port(request, port) else {
            self.skipped.no_workload += 1;
            return;
        };
        if !self.ports.contains_key(&key) && self.ports.len() >= MAX_PORTS {
            self.skipped.overflow += 1;
            return;
        }
        self.inbound += 1;
        let at = request.started;
        self.first = Some(self.first.map_or(at, |t| t.min(at)));
        self.last = Some(self.last.map_or(at, |t| t.max(at)));
        let labels = &request.destination.labels;
        let seen = self.ports.entry(key).or_default();
        seen.requests += 1;
        if request.grpc_status().is_some() {
            seen.grpc += 1;
        }
        if seen.existing_server.is_none()
            && labels
                .get("srv_kind")
                .is_some_and(|k| k.eq_ignore_ascii_case("server"))
            && let Some(name) = labels.get("srv_name")
        {
            seen.existing_server = Some(name.to_owned());
        }
        if labels.get("route_name") == Some("probe") {
            seen.probes += 1;
            return;
        }
        let client = client_of(request);
        if !seen.clients.contains_key(&client) && seen.clients.len() >= MAX_CLIENTS_PER_PORT {
            seen.uncounted += 1;
            return;
        }
        let entry = seen.clients.entry(client).or_default();
        entry.requests += 1;
        entry.first = Some(entry.first.map_or(at, |t| t.min(at)));
        entry.last = Some(entry.last.map_or(at, |t| t.max(at)));
        if let Some(caller) = caller_of(request)
            && entry.callers.len() < MAX_CALLERS_PER_CLIENT
        {
            entry.callers.insert(caller);
        }
    }
}

fn workload_port(request: &Request, port: u16) -> Option<WorkloadPort> {
    let labels = &request.destination.labels;
    let (label, pod_label) = OWNER_POD_LABELS
        .iter()
        .find(|(label, _)| labels.get(label).is_some())?;
    let (namespace, kind, _) = workload(&request.destination)?;
    Some(WorkloadPort {
        namespace: namespace.to_owned(),
        kind,
        name: labels.get(label)?.to_owned(),
        pod_label,
        port,
    })
}

/// The client as the server's proxy authenticated it: `tls=true` with a `client_id` is an
/// identity; anything else is unauthenticated, whatever else the labels say.
fn client_of(request: &Request) -> Client {
    let (id, tls) = request.identity();
    match id {
        Some(id) if tls == "true" && !id.is_empty() => Client::Identity(id.to_owned()),
        _ => Client::Unauthenticated {
            tls: if tls.is_empty() { "unknown" } else { tls }.to_owned(),
            from: caller_of(request).unwrap_or_else(|| {
                request
                    .source
                    .addr
                    .map_or_else(|| "an unknown address".to_owned(), |a| a.ip().to_string())
            }),
        },
    }
}

fn caller_of(request: &Request) -> Option<String> {
    workload(&request.source).map(|(ns, kind, name)| format!("{kind}/{name} ({ns})"))
}

#[cfg(test)]
mod tests;
