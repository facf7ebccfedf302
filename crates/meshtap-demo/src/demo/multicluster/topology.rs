//! What a Linkerd multicluster setup looks like from inside each simulated cluster: cluster
//! names, each cluster's pods and addresses, its `linkerd-gateway`, the services it exports and
//! how they are mirrored elsewhere. The facts and where in Linkerd's sources they come from are
//! listed in `docs/multicluster.md`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::demo::mesh::{Mesh, suffix};

/// `--clusters` takes at most this many names.
pub const MAX_CLUSTERS: usize = 8;
/// Longest cluster name: a DNS label, and `<service>-<cluster>` must stay one too.
pub const MAX_NAME_CHARS: usize = 40;

/// The gateway's Deployment, Service and `ServiceAccount` name (`gateway.name`).
pub const GATEWAY_NAME: &str = "linkerd-gateway";
/// The namespace the multicluster extension installs the gateway in.
pub const GATEWAY_NAMESPACE: &str = "linkerd-multicluster";
/// The gateway's incoming port (`gateway.port`, named `mc-gateway`).
pub const GATEWAY_PORT: u16 = 4143;
/// The Services every cluster but the first exports (`mirror.linkerd.io/exported: "true"`),
/// in the first cluster's namespace of the same name.
pub const EXPORTED: [&str; 2] = ["catalogue", "carts"];
/// The trust domain shared by every cluster: one trust anchor, identities
/// `*.identity.linkerd.cluster.local` everywhere.
pub const TRUST_DOMAIN: &str = "cluster.local";
/// Linkerd's control-plane namespace, part of every identity and `control_plane_ns`.
const CONTROL_PLANE_NS: &str = "linkerd";

/// Cluster names from `--clusters a,b,…`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNames(pub Vec<String>);

impl ClusterNames {
    /// Parses a comma-separated list: 1 to [`MAX_CLUSTERS`] distinct DNS labels (lowercase
    /// letters, digits and `-`, starting and ending with a letter or digit).
    pub fn parse(text: &str) -> Result<Self, String> {
        let names: Vec<String> = text.split(',').map(|n| n.trim().to_owned()).collect();
        if names.len() > MAX_CLUSTERS {
            return Err(format!(
                "at most {MAX_CLUSTERS} clusters, not {}",
                names.len()
            ));
        }
        for (i, name) in names.iter().enumerate() {
            check_name(name)?;
            if names[..i].contains(name) {
                return Err(format!("cluster {name:?} is named twice"));
            }
        }
        Ok(Self(names))
    }

    pub fn first(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() {
        return Err("a cluster name is empty (expected names such as east,west)".into());
    }
    if name.len() > MAX_NAME_CHARS {
        return Err(format!(
            "cluster name {name:?} is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    let starts_ends = name.starts_with(alnum) && name.ends_with(alnum);
    if !starts_ends || !name.chars().all(|c| alnum(c) || c == '-') {
        return Err(format!(
            "cluster name {name:?} is not a DNS label: use lowercase letters, digits and '-', \
             starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// The Service a source cluster sees for `service` exported by `cluster`: `<service>-<cluster>`.
pub fn mirrored_name(service: &str, cluster: &str) -> String {
    format!("{service}-{cluster}")
}

/// The exported Service's name inside its own cluster, what a mirrored Service's
/// `mirror.linkerd.io/remote-svc-fq-name` annotation holds.
pub fn remote_fq_name(service: &str, namespace: &str) -> String {
    format!("{service}.{namespace}.svc.{TRUST_DOMAIN}")
}

/// The mTLS identity of a workload's proxies, in any cluster of the shared trust domain.
pub fn identity(service_account: &str, namespace: &str) -> String {
    format!(
        "{service_account}.{namespace}.serviceaccount.identity.{CONTROL_PLANE_NS}.{TRUST_DOMAIN}"
    )
}

/// The identity every gateway presents (and every source proxy expects from it).
pub fn gateway_identity() -> String {
    identity(GATEWAY_NAME, GATEWAY_NAMESPACE)
}

/// The second octet of cluster `index`'s pod network: 10.42.0.0/16, 10.43.0.0/16, …, so pod
/// addresses never overlap between clusters.
fn pod_octet(index: usize) -> u8 {
    42 + index.min(MAX_CLUSTERS) as u8
}

/// Cluster `index`'s mesh: the demo topology with the cluster's own pod network and, beyond the
/// first cluster (which is exactly the single-cluster demo), its own pod name suffixes (the
/// replica sets' hashes are the same, as for one manifest applied to several clusters).
pub fn mesh(index: usize, name: &str) -> Mesh {
    let mut mesh = Mesh::demo();
    if index == 0 {
        return mesh;
    }
    for workload in &mesh.workloads {
        for (replica, &pod) in workload.pods.iter().enumerate() {
            let p = &mut mesh.pods[pod];
            let [a, _, c, d] = p.ip.octets();
            p.ip = Ipv4Addr::new(a, pod_octet(index), c, d);
            let key = format!("{name}/{}/{replica}", workload.name);
            p.name = format!("{}-{}", workload.replica_set(), suffix(&key, 5));
        }
    }
    mesh
}

/// One cluster's multicluster gateway: its pod, and the load balancer address other clusters'
/// proxies connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub pod: String,
    pub template_hash: String,
    pub pod_ip: Ipv4Addr,
    /// The `LoadBalancer` Service's external address (a documentation range: never contacted).
    pub public_ip: Ipv4Addr,
}

impl Gateway {
    pub fn of(index: usize, name: &str) -> Self {
        let template_hash = suffix(&format!("{name}/{GATEWAY_NAME}"), 10);
        let pod = format!(
            "{GATEWAY_NAME}-{template_hash}-{}",
            suffix(&format!("{name}/{GATEWAY_NAME}/0"), 5)
        );
        Self {
            pod,
            template_hash,
            pod_ip: Ipv4Addr::new(10, pod_octet(index), 2, 240),
            public_ip: Ipv4Addr::new(192, 0, 2, 10 + index.min(MAX_CLUSTERS) as u8),
        }
    }

    /// The source labels an exported workload's inbound proxy reports for requests forwarded by
    /// the gateway: the tap server's hydration of the gateway pod, and its mTLS identity.
    pub fn source_labels(&self) -> BTreeMap<String, String> {
        labels(&[
            ("client_id", &gateway_identity()),
            ("control_plane_ns", CONTROL_PLANE_NS),
            ("deployment", GATEWAY_NAME),
            ("namespace", GATEWAY_NAMESPACE),
            ("pod", &self.pod),
            ("pod_template_hash", &self.template_hash),
            ("serviceaccount", GATEWAY_NAME),
            ("tls", "true"),
        ])
    }
}

/// The destination labels a source proxy reports for a mirrored Service in gateway mode: the
/// destination controller's labels for the mirror's Endpoints (no pod behind them, so no pod
/// labels), and the TLS identity it was told to expect (the remote gateway's).
pub fn mirror_labels(service: &str, namespace: &str, cluster: &str) -> BTreeMap<String, String> {
    labels(&[
        ("namespace", namespace),
        ("server_id", &gateway_identity()),
        ("service", &mirrored_name(service, cluster)),
        ("target_cluster", cluster),
        ("target_service", service),
        ("target_service_namespace", namespace),
        ("tls", "true"),
    ])
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_distinct_and_bounded() {
        assert_eq!(
            ClusterNames::parse("east,west").map(|n| n.0),
            Ok(vec!["east".to_owned(), "west".to_owned()])
        );
        assert!(ClusterNames::parse("east").is_ok());
        for bad in [
            "east,east",
            "East",
            "-east",
            "east-",
            "e_st",
            "",
            "east,",
            "a.b",
        ] {
            assert!(ClusterNames::parse(bad).is_err(), "{bad}");
        }
        assert!(ClusterNames::parse("a,b,c,d,e,f,g,h").is_ok());
        let nine = ClusterNames::parse("a,b,c,d,e,f,g,h,i").expect_err("nine");
        assert!(nine.contains("at most 8"), "{nine}");
        assert!(ClusterNames::parse(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn clusters_get_their_own_pods_and_addresses() {
        let east = mesh(0, "east");
        let west = mesh(1, "west");
        assert_eq!(east.pods[0].name, Mesh::demo().pods[0].name);
        assert_ne!(east.pods[0].name, west.pods[0].name);
        assert!(west.pods[0].name.starts_with("front-end-"));
        assert_eq!(east.pods[0].ip.octets()[1], 42);
        assert_eq!(west.pods[0].ip.octets()[1], 43);
        assert_ne!(Gateway::of(0, "east"), Gateway::of(1, "west"));
    }

    #[test]
    fn linkerd_names() {
        assert_eq!(mirrored_name("catalogue", "west"), "catalogue-west");
        assert_eq!(
            gateway_identity(),
            "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local"
        );
        assert_eq!(
            remote_fq_name("catalogue", "sock-shop"),
            "catalogue.sock-shop.svc.cluster.local"
        );
    }
}
