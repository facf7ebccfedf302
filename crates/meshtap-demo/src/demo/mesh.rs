//! The static topology of the simulated mesh: namespaces, workloads, pods, identities and the
//! label sets Linkerd attaches to tap events (PROTOCOL.md §3).
//!
//! The topology never depends on the seed: pod names and addresses are the same in every run so
//! that documentation and tests can name `po/front-end-…` targets. Pod IPs are plain label values
//! carried in events; nothing is ever contacted.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The namespace the simulated RBAC denies (`watch` on `*/tap`), to show meshtap's 403 screen.
pub const FORBIDDEN_NAMESPACE: &str = "restricted";
/// The simulated user the forbidden-namespace message names.
pub const DEMO_USER: &str = "demo";
/// Linkerd's control-plane namespace, carried as `control_plane_ns`.
const CONTROL_PLANE_NS: &str = "linkerd";

/// Index of a pod in [`Mesh::pods`].
pub type PodId = usize;
/// Index of a workload in [`Mesh::workloads`].
pub type WorkloadId = usize;

/// The inbound policy a workload's proxies apply: a `Server` with an `AuthorizationPolicy`, or
/// the cluster default (`all-unauthenticated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Default,
    Server {
        server: &'static str,
        authz: &'static str,
    },
}

/// One deployment with its Service.
#[derive(Debug, Clone)]
pub struct Workload {
    pub namespace: &'static str,
    pub name: &'static str,
    /// The Service selecting these pods, if any.
    pub service: Option<&'static str>,
    pub service_account: &'static str,
    pub service_port: u16,
    pub container_port: u16,
    /// Whether the pods run a linkerd2-proxy (the load generator does not).
    pub meshed: bool,
    pub policy: Policy,
    pub template_hash: String,
    pub pods: Vec<PodId>,
}

impl Workload {
    /// The replica set owning the pods, `<deployment>-<pod-template-hash>`.
    pub fn replica_set(&self) -> String {
        format!("{}-{}", self.name, self.template_hash)
    }

    /// The mTLS identity of this workload's proxies.
    pub fn identity(&self) -> String {
        format!(
            "{}.{}.serviceaccount.identity.linkerd.cluster.local",
            self.service_account, self.namespace
        )
    }
}

/// One simulated pod.
#[derive(Debug, Clone)]
pub struct Pod {
    pub name: String,
    pub workload: WorkloadId,
    pub ip: Ipv4Addr,
    /// The pod's Kubernetes labels, what label selectors see.
    pub labels: BTreeMap<String, String>,
}

/// The whole simulated cluster.
#[derive(Debug, Clone)]
pub struct Mesh {
    pub workloads: Vec<Workload>,
    pub pods: Vec<Pod>,
}

/// (namespace, deployment, service, service account, replicas, service port, container port,
/// meshed, policy)
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    usize,
    u16,
    u16,
    bool,
    Policy,
);

const PAYMENT_POLICY: Policy = Policy::Server {
    server: "payment-http",
    authz: "payment-from-orders",
};

#[rustfmt::skip]
const TOPOLOGY: &[Row] = &[
    ("sock-shop", "front-end", Some("front-end"), "front-end", 3, 80, 8079, true, Policy::Default),
    ("sock-shop", "catalogue", Some("catalogue"), "catalogue", 2, 80, 80, true, Policy::Default),
    ("sock-shop", "catalogue-db", Some("catalogue-db"), "catalogue-db", 1, 8080, 8080, true, Policy::Default),
    ("sock-shop", "carts", Some("carts"), "carts", 2, 80, 80, true, Policy::Default),
    ("sock-shop", "carts-db", Some("carts-db"), "carts-db", 1, 8080, 8080, true, Policy::Default),
    ("sock-shop", "orders", Some("orders"), "orders", 2, 80, 80, true, Policy::Default),
    ("sock-shop", "orders-db", Some("orders-db"), "orders-db", 1, 8080, 8080, true, Policy::Default),
    ("sock-shop", "payment", Some("payment"), "payment", 1, 80, 80, true, PAYMENT_POLICY),
    ("sock-shop", "shipping", Some("shipping"), "shipping", 1, 80, 80, true, Policy::Default),
    ("sock-shop", "queue-master", Some("queue-master"), "queue-master", 1, 80, 80, true, Policy::Default),
    ("sock-shop", "rabbitmq", Some("rabbitmq"), "rabbitmq", 1, 15672, 15672, true, Policy::Default),
    ("sock-shop", "user", Some("user"), "user", 2, 80, 80, true, Policy::Default),
    ("sock-shop", "user-db", Some("user-db"), "user-db", 1, 8080, 8080, true, Policy::Default),
    ("loadtest", "load-generator", None, "load-generator", 1, 0, 8089, false, Policy::Default),
    ("emojivoto", "web", Some("web-svc"), "web", 2, 80, 8080, true, Policy::Default),
    ("emojivoto", "emoji", Some("emoji-svc"), "emoji", 2, 8080, 8080, true,
        Policy::Server { server: "emoji-grpc", authz: "emoji-grpc" }),
    ("emojivoto", "voting", Some("voting-svc"), "voting", 1, 8080, 8080, true,
        Policy::Server { server: "voting-grpc", authz: "voting-grpc" }),
    ("emojivoto", "vote-bot", None, "default", 1, 0, 8080, true, Policy::Default),
    ("restricted", "vault", Some("vault"), "vault", 1, 8200, 8200, true, Policy::Default),
    // The canary `catalogue-split` sends some catalogue calls to. Last, so that adding it moved
    // no other pod's name or address.
    ("sock-shop", "catalogue-v2", Some("catalogue-v2"), "catalogue-v2", 1, 80, 80, true, Policy::Default),
];

/// The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A fixed, seed-independent suffix derived from `key`, so names are stable across runs.
pub(crate) fn suffix(key: &str, len: usize) -> String {
    // FNV-1a, then splitmix steps: tiny, dependency-free and stable across platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..len)
        .map(|_| {
            h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = h;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            char::from(NAME_ALPHABET[(z % NAME_ALPHABET.len() as u64) as usize])
        })
        .collect()
}

impl Mesh {
    /// The Sock Shop, the emojivoto gRPC namespace, the unmeshed load generator and the
    /// forbidden namespace.
    pub fn demo() -> Self {
        let mut workloads = Vec::with_capacity(TOPOLOGY.len());
        let mut pods = Vec::new();
        for (wid, &(namespace, name, service, sa, replicas, svc_port, port, meshed, policy)) in
            TOPOLOGY.iter().enumerate()
        {
            let template_hash = suffix(name, 10);
            let mut workload = Workload {
                namespace,
                name,
                service,
                service_account: sa,
                service_port: svc_port,
                container_port: port,
                meshed,
                policy,
                template_hash,
                pods: Vec::new(),
            };
            for replica in 0..replicas {
                let id = pods.len();
                let pod_name = format!(
                    "{}-{}",
                    workload.replica_set(),
                    suffix(&format!("{name}/{replica}"), 5)
                );
                // Spread pods over three simulated nodes' pod CIDRs like a real scheduler would.
                let ip = Ipv4Addr::new(10, 42, (id % 3) as u8, 10 + id as u8);
                let mut labels = BTreeMap::new();
                labels.insert("app".to_owned(), name.to_owned());
                labels.insert("name".to_owned(), name.to_owned());
                labels.insert(
                    "pod-template-hash".to_owned(),
                    workload.template_hash.clone(),
                );
                if meshed {
                    labels.insert(
                        "linkerd.io/control-plane-ns".to_owned(),
                        CONTROL_PLANE_NS.to_owned(),
                    );
                    labels.insert("linkerd.io/proxy-deployment".to_owned(), name.to_owned());
                    labels.insert("linkerd.io/workload-ns".to_owned(), namespace.to_owned());
                }
                pods.push(Pod {
                    name: pod_name,
                    workload: wid,
                    ip,
                    labels,
                });
                workload.pods.push(id);
            }
            workloads.push(workload);
        }
        Self { workloads, pods }
    }

    /// The workload named `name` (deployment names are unique across the demo's namespaces).
    pub fn workload_named(&self, name: &str) -> Option<WorkloadId> {
        self.workloads.iter().position(|w| w.name == name)
    }

    /// The workload a pod belongs to.
    pub fn workload_of(&self, pod: PodId) -> &Workload {
        &self.workloads[self.pods[pod].workload]
    }

    /// Whether any workload lives in `namespace`.
    pub fn has_namespace(&self, namespace: &str) -> bool {
        self.workloads.iter().any(|w| w.namespace == namespace)
    }

    /// The labels the tap server hydrates from a pod IP: pod, owner, service account, namespace,
    /// plus the proxy's `control_plane_ns` and the `pod_template_hash`.
    pub fn hydrated_labels(&self, pod: PodId, labels: &mut BTreeMap<String, String>) {
        let w = self.workload_of(pod);
        labels.insert("pod".to_owned(), self.pods[pod].name.clone());
        labels.insert("deployment".to_owned(), w.name.to_owned());
        labels.insert("serviceaccount".to_owned(), w.service_account.to_owned());
        labels.insert("namespace".to_owned(), w.namespace.to_owned());
        labels.insert("pod_template_hash".to_owned(), w.template_hash.clone());
        if w.meshed {
            labels.insert("control_plane_ns".to_owned(), CONTROL_PLANE_NS.to_owned());
        }
    }

    /// The labels an outbound proxy gets from service discovery for an endpoint, with the TLS
    /// status and the identity it expects from the server.
    pub fn discovery_labels(&self, pod: PodId) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        self.hydrated_labels(pod, &mut labels);
        let w = self.workload_of(pod);
        if let Some(service) = w.service {
            labels.insert("service".to_owned(), service.to_owned());
        }
        labels.insert("tls".to_owned(), "true".to_owned());
        labels.insert("server_id".to_owned(), w.identity());
        labels
    }

    /// The labels an inbound proxy attaches to its own side: the policy that admitted the
    /// request (`route` is an HTTPRoute/GRPCRoute name, `None` for the default route).
    pub fn inbound_policy_labels(
        &self,
        pod: PodId,
        route: Option<(&str, &str)>,
    ) -> BTreeMap<String, String> {
        let w = self.workload_of(pod);
        let mut labels = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            labels.insert(k.to_owned(), v.to_owned());
        };
        match w.policy {
            Policy::Default => {
                put("srv_group", "");
                put("srv_kind", "default");
                put("srv_name", "all-unauthenticated");
                put("authz_group", "");
                put("authz_kind", "default");
                put("authz_name", "all-unauthenticated");
            }
            Policy::Server { server, authz } => {
                put("srv_group", "policy.linkerd.io");
                put("srv_kind", "server");
                put("srv_name", server);
                put("authz_group", "policy.linkerd.io");
                put("authz_kind", "authorizationpolicy");
                put("authz_name", authz);
            }
        }
        let (group, kind, name) = match route {
            Some((kind, name)) => ("gateway.networking.k8s.io", kind, name),
            None => ("", "default", "default"),
        };
        put("route_group", group);
        put("route_kind", kind);
        put("route_name", name);
        put("tls", "loopback");
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_kubernetes_shaped() {
        let a = Mesh::demo();
        let b = Mesh::demo();
        assert_eq!(a.pods[0].name, b.pods[0].name);
        let fe = &a.pods[a.workloads[0].pods[0]].name;
        assert!(fe.starts_with("front-end-"), "{fe}");
        assert_eq!(fe.len(), "front-end-".len() + 10 + 1 + 5);
        let mut names: Vec<_> = a.pods.iter().map(|p| &p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), a.pods.len(), "pod names unique");
    }

    #[test]
    fn identities_follow_linkerd_naming() {
        let mesh = Mesh::demo();
        let cat = mesh.workload_named("catalogue").expect("catalogue");
        assert_eq!(
            mesh.workloads[cat].identity(),
            "catalogue.sock-shop.serviceaccount.identity.linkerd.cluster.local"
        );
        let lg = mesh.workload_named("load-generator").expect("lg");
        assert!(!mesh.workloads[lg].meshed);
    }
}
