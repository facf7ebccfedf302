//! The server side of `OutboundPolicies`, for the demo's simulated control plane and the client's
//! tests: answers come from a function of (client namespace, target) in core's terms, written to
//! the wire by [`to_proto`]; a `Watch` sends the answer, then sends it again whenever the
//! answers' generation changes and the answer with it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use linkerd2_proxy_api::outbound::{
    self, outbound_policies_server::OutboundPolicies,
    outbound_policies_server::OutboundPoliciesServer, traffic_spec,
};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tonic::transport::server::TcpIncoming;

use super::{TargetAddr, to_proto};
use crate::model::policy::OutboundPolicy;

/// What the controller answers for a client namespace and a target; `None` is "not found".
pub type Answers = Arc<dyn Fn(&str, &TargetAddr) -> Option<OutboundPolicy> + Send + Sync>;

/// An `OutboundPolicies` service over [`Answers`].
#[derive(Clone)]
pub struct PolicyService {
    answers: Answers,
    /// Bumped when the answers may have changed: open watches ask again.
    generation: watch::Receiver<u64>,
}

impl PolicyService {
    pub fn new(answers: Answers, generation: watch::Receiver<u64>) -> Self {
        Self {
            answers,
            generation,
        }
    }

    pub fn into_server(self) -> OutboundPoliciesServer<Self> {
        OutboundPoliciesServer::new(self)
    }

    /// The answer to `spec`, as the controller would send it.
    fn answer(
        &self,
        spec: &outbound::TrafficSpec,
    ) -> Result<outbound::OutboundPolicy, tonic::Status> {
        let (namespace, _pod) = spec
            .source_workload
            .split_once(':')
            .filter(|(ns, pod)| !ns.is_empty() && !pod.is_empty())
            .ok_or_else(|| {
                tonic::Status::invalid_argument(format!(
                    "Invalid workload: {}",
                    spec.source_workload
                ))
            })?;
        let target = match &spec.target {
            Some(traffic_spec::Target::Authority(authority)) => {
                TargetAddr::Authority(authority.clone())
            }
            Some(traffic_spec::Target::Addr(addr)) => TargetAddr::Addr(
                SocketAddr::try_from(*addr)
                    .map_err(|e| tonic::Status::invalid_argument(format!("bad target: {e}")))?,
            ),
            None => return Err(tonic::Status::invalid_argument("target is required")),
        };
        (self.answers)(namespace, &target)
            .map(|policy| to_proto(&policy))
            .ok_or_else(|| tonic::Status::not_found("unknown target"))
    }
}

type WatchStream =
    Pin<Box<dyn Stream<Item = Result<outbound::OutboundPolicy, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl OutboundPolicies for PolicyService {
    async fn get(
        &self,
        request: tonic::Request<outbound::TrafficSpec>,
    ) -> Result<tonic::Response<outbound::OutboundPolicy>, tonic::Status> {
        self.answer(request.get_ref()).map(tonic::Response::new)
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: tonic::Request<outbound::TrafficSpec>,
    ) -> Result<tonic::Response<WatchStream>, tonic::Status> {
        let spec = request.into_inner();
        let first = self.answer(&spec)?;
        let service = self.clone();
        let mut generation = self.generation.clone();
        generation.mark_unchanged();
        let stream = futures::stream::unfold(
            (Some(first), service, generation, spec),
            |(pending, service, mut generation, spec)| async move {
                if let Some(first) = pending {
                    return Some((Ok(first), (None, service, generation, spec)));
                }
                // Ends when the answers' owner is gone, as a controller's stream ends on drain.
                generation.changed().await.ok()?;
                let next = service.answer(&spec);
                Some((next, (None, service, generation, spec)))
            },
        );
        Ok(tonic::Response::new(Box::pin(stream)))
    }
}

/// A running server on loopback; dropping it stops it (open watches end when the answers'
/// generation sender is dropped, as a controller's streams end on drain).
#[derive(Debug)]
pub struct RunningPolicyApi {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for RunningPolicyApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `service` on `addr` (port 0: any free port) until dropped.
pub async fn spawn(addr: SocketAddr, service: PolicyService) -> std::io::Result<RunningPolicyApi> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .serve_with_incoming_shutdown(
                service.into_server(),
                TcpIncoming::from(listener),
                async {
                    // A dropped sender means the handle is gone: stop as well.
                    let _ = rx.await;
                },
            )
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "the policy API server stopped");
        }
    });
    Ok(RunningPolicyApi {
        addr,
        shutdown: Some(tx),
    })
}
