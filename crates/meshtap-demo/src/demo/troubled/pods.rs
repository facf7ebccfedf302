//! The pods of `troubled`, each carrying what makes its workload's tap go quiet.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use super::{NAMESPACE, Trouble, WIDE_NOT_READY, WORKLOADS};
use crate::demo::mesh::suffix;
use crate::demo::pods::{PodObject, injected_annotations};

/// One pod of the namespace.
#[derive(Clone, Debug)]
pub struct TroubledPod {
    pub object: PodObject,
    pub deployment: &'static str,
    pub trouble: Trouble,
}

impl TroubledPod {
    pub fn json(&self) -> Value {
        self.object.json()
    }

    /// Whether Linkerd's tap server opens a stream to it: tap enabled and not disabled.
    pub fn tapped(&self) -> bool {
        !matches!(self.trouble, Trouble::TapDisabled | Trouble::BeforeViz)
    }
}

/// Every pod of `troubled`, in a fixed order with fixed names and addresses.
pub fn pods() -> Vec<TroubledPod> {
    let mut out = Vec::new();
    for (deployment, replicas, port, trouble) in WORKLOADS {
        let hash = suffix(deployment, 10);
        let replica_set = format!("{deployment}-{hash}");
        for replica in 0..replicas {
            let index = out.len();
            let mut labels = BTreeMap::new();
            let mut put = |k: &str, v: &str| {
                labels.insert(k.to_owned(), v.to_owned());
            };
            put("app", deployment);
            put("pod-template-hash", &hash);
            put("linkerd.io/control-plane-ns", "linkerd");
            put("linkerd.io/proxy-deployment", deployment);
            put("linkerd.io/workload-ns", NAMESPACE);
            let mut annotations = injected_annotations();
            match trouble {
                Trouble::TapDisabled => {
                    annotations.insert("viz.linkerd.io/disable-tap".into(), "true".into());
                }
                Trouble::BeforeViz => {
                    annotations.remove("viz.linkerd.io/tap-enabled");
                }
                Trouble::OpaqueDb => {
                    annotations.insert("config.linkerd.io/opaque-ports".into(), port.to_string());
                }
                Trouble::LongStream | Trouble::Wide => {}
            }
            let object = PodObject {
                name: format!(
                    "{replica_set}-{}",
                    suffix(&format!("{deployment}/{replica}"), 5)
                ),
                namespace: NAMESPACE.to_owned(),
                labels,
                annotations,
                replica_set: replica_set.clone(),
                service_account: deployment.to_owned(),
                // 10.43/16: apart from the main mesh's 10.42/16.
                ip: Ipv4Addr::new(10, 43, (index / 200) as u8, 10 + (index % 200) as u8),
                app_port: port,
                meshed: true,
                ready: !(trouble == Trouble::Wide && replica == WIDE_NOT_READY),
            };
            out.push(TroubledPod {
                object,
                deployment,
                trouble,
            });
        }
    }
    out
}
