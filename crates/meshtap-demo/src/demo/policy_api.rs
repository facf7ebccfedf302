//! The simulated policy controller: `OutboundPolicies` (`Get`, `Watch`) answering the demo's
//! routes ([`super::policy::outbound_policy`]), served on loopback and reached through the
//! simulated kube-apiserver's port-forward to the `linkerd-destination` pod's port 8090, exactly
//! as meshtap reaches a real one.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::watch;

use super::mesh::Mesh;
use super::policy::outbound_policy;
use super::portforward::ForwardPod;
use crate::source::metrics::portforward::{DESTINATION_SELECTOR, LINKERD_NAMESPACE};
use crate::source::policy::serve::{self, Answers, PolicyService, RunningPolicyApi};
use crate::source::policy::{POLICY_API_PORT, TargetAddr};

/// The simulated destination pod's name, shaped like a Deployment's pod.
pub const POD_NAME: &str = "linkerd-destination-5f7d9c8b6d-h4k2p";

/// A running simulated controller; stops when dropped.
#[derive(Debug)]
pub struct DemoPolicyApi {
    pub server: RunningPolicyApi,
    /// Held so open watches stay open: the demo's routes never change.
    _generation: watch::Sender<u64>,
}

impl DemoPolicyApi {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The `linkerd-destination` pod the kube-apiserver stand-in lists and forwards 8090 of.
    pub fn pod(&self) -> ForwardPod {
        let (key, value) = DESTINATION_SELECTOR
            .split_once('=')
            .unwrap_or((DESTINATION_SELECTOR, ""));
        ForwardPod {
            namespace: LINKERD_NAMESPACE.to_owned(),
            name: POD_NAME.to_owned(),
            labels: BTreeMap::from([
                (key.to_owned(), value.to_owned()),
                (
                    "linkerd.io/control-plane-ns".to_owned(),
                    LINKERD_NAMESPACE.to_owned(),
                ),
            ]),
            ip: self.addr().ip().to_string(),
            ports: vec![(POLICY_API_PORT, self.addr())],
        }
    }
}

/// Serves `mesh`'s outbound policies on `ip` (any free port).
pub async fn spawn(ip: IpAddr, mesh: Arc<Mesh>) -> anyhow::Result<DemoPolicyApi> {
    anyhow::ensure!(
        ip.is_loopback(),
        "the demo serves on loopback only, not {ip}"
    );
    // Lookups by address are the proxy's for IP authorities; the demo's clients use names.
    let answers: Answers = Arc::new(move |_namespace: &str, target: &TargetAddr| match target {
        TargetAddr::Authority(authority) => outbound_policy(&mesh, authority),
        TargetAddr::Addr(_) => None,
    });
    let (generation, rx) = watch::channel(0);
    let server = serve::spawn(SocketAddr::new(ip, 0), PolicyService::new(answers, rx)).await?;
    Ok(DemoPolicyApi {
        server,
        _generation: generation,
    })
}
