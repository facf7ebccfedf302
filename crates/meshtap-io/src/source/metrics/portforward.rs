//! Reaches a control-plane gRPC server inside a cluster the way `kubectl port-forward` does:
//! find a Running pod by its label (the `metrics-api` pod in `linkerd-viz`, the
//! `linkerd-destination` pod whose policy controller serves `OutboundPolicies`), open a kube
//! port-forward (a WebSocket to the kube-apiserver) to its port, and let tonic speak gRPC over
//! that stream.
//!
//! A fresh port-forward is opened for every connection tonic makes, and the pod is looked up
//! again each time: a restarted server comes back under a new pod name, and tonic reconnects
//! through the same connector.

use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::io::DuplexStream;
use tonic::transport::Endpoint;

use super::{METRICS_API_PORT, MetricsClient, MetricsError, REQUEST_TIMEOUT};
use crate::proto::viz::api_client::ApiClient;

/// Where Linkerd viz installs its metrics API.
pub const VIZ_NAMESPACE: &str = "linkerd-viz";
/// The label viz's chart puts on the metrics API's pods (beside `linkerd.io/extension`, whose
/// value changed between releases, so it is left out).
pub const METRICS_API_SELECTOR: &str = "component=metrics-api";
/// Where Linkerd's control plane runs.
pub const LINKERD_NAMESPACE: &str = "linkerd";
/// The label of the pod holding the destination and policy controllers.
pub const DESTINATION_SELECTOR: &str = "linkerd.io/control-plane-component=destination";
/// Listing the pod and upgrading to a WebSocket are two round trips to the kube-apiserver, then
/// the HTTP/2 handshake crosses the forward: more than a direct TCP connection needs.
pub const PORT_FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a control-plane server through the kube-apiserver.
#[derive(Clone)]
pub struct PortForward {
    pub client: kube::Client,
    /// `linkerd-viz` for the metrics API, `linkerd` for the policy controller.
    pub namespace: String,
    /// The label selector finding the server's pod.
    pub selector: &'static str,
    /// The pod's port the server listens on.
    pub port: u16,
    /// What messages call the server (`metrics-api`, `linkerd-destination`).
    pub service: &'static str,
    /// Said when no pod is found.
    pub missing: &'static str,
}

impl std::fmt::Debug for PortForward {
    // `kube::Client` has nothing worth printing, and nothing that may leak credentials either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortForward")
            .field("namespace", &self.namespace)
            .field("selector", &self.selector)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Why no port-forward stream could be opened; the text becomes the reason in
/// [`MetricsError::PortForward`].
#[derive(Debug, thiserror::Error)]
pub enum PortForwardError {
    #[error("no Running pod labelled {selector} in namespace {namespace}{hint}")]
    NoPod {
        namespace: String,
        selector: String,
        /// What to check, with its leading separator ("" when nothing is known to say).
        hint: &'static str,
    },
    #[error("listing pods in namespace {namespace} was refused: {message}")]
    ListRefused { namespace: String, message: String },
    #[error(
        "port-forward to pod {namespace}/{pod} was refused: {message} (it needs RBAC verb \"create\" on \"pods/portforward\" in {namespace})"
    )]
    Forbidden {
        namespace: String,
        pod: String,
        message: String,
    },
    #[error("port-forward to pod {namespace}/{pod} failed: {reason}")]
    Forward {
        namespace: String,
        pod: String,
        reason: String,
    },
    #[error("could not ask the kube-apiserver about pods in {namespace}: {reason}")]
    Kube { namespace: String, reason: String },
}

impl PortForward {
    /// Port-forwards to the metrics API in `linkerd-viz` with `client`.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            namespace: VIZ_NAMESPACE.to_owned(),
            selector: METRICS_API_SELECTOR,
            port: METRICS_API_PORT,
            service: "metrics-api",
            missing: " (is linkerd viz installed? linkerd viz check)",
        }
    }

    /// Port-forwards to the policy controller (`OutboundPolicies`) in `linkerd` with `client`.
    pub fn policy(client: kube::Client) -> Self {
        Self {
            client,
            namespace: LINKERD_NAMESPACE.to_owned(),
            selector: DESTINATION_SELECTOR,
            port: crate::source::policy::POLICY_API_PORT,
            service: "linkerd-destination",
            missing: " (is Linkerd installed? linkerd check)",
        }
    }

    /// What error messages call this connection.
    pub fn display_addr(&self) -> String {
        format!(
            "{}.{}:{} (kube port-forward)",
            self.service, self.namespace, self.port
        )
    }

    /// The name of a Running, not terminating, pod of the server.
    pub async fn find_pod(&self) -> Result<String, PortForwardError> {
        running_pod(&self.client, &self.namespace, self.selector)
            .await
            .map_err(|error| match error {
                PortForwardError::NoPod {
                    namespace,
                    selector,
                    ..
                } => PortForwardError::NoPod {
                    namespace,
                    selector,
                    hint: self.missing,
                },
                other => other,
            })
    }

    /// One port-forward to the server's port: the stream carries the bytes of one TCP
    /// connection to it.
    pub async fn open(&self) -> Result<DuplexStream, PortForwardError> {
        let pod = self.find_pod().await?;
        forward(&self.client, &self.namespace, &pod, self.port).await
    }

    /// What tonic dials through: one port-forward per connection it makes.
    pub fn connector(
        &self,
    ) -> impl tower::Service<
        http::Uri,
        Response = TokioIo<DuplexStream>,
        Error = PortForwardError,
        Future = impl Future<Output = Result<TokioIo<DuplexStream>, PortForwardError>> + Send,
    > + Clone
    + Send
    + 'static {
        let forward = self.clone();
        tower::service_fn(move |_uri: http::Uri| {
            let forward = forward.clone();
            async move { forward.open().await.map(TokioIo::new) }
        })
    }
}

/// The name of a Running, not terminating, pod in `namespace` matching `selector`.
pub async fn running_pod(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
) -> Result<String, PortForwardError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(selector);
    let list = pods.list(&params).await.map_err(|error| match error {
        kube::Error::Api(status) if matches!(status.code, 401 | 403) => {
            PortForwardError::ListRefused {
                namespace: namespace.to_owned(),
                message: status.message,
            }
        }
        other => PortForwardError::Kube {
            namespace: namespace.to_owned(),
            reason: other.to_string(),
        },
    })?;
    list.items
        .into_iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .find(|pod| pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .and_then(|pod| pod.metadata.name)
        .ok_or_else(|| PortForwardError::NoPod {
            namespace: namespace.to_owned(),
            selector: selector.to_owned(),
            hint: "",
        })
}

/// One port-forward to `port` of `pod`: the stream carries the bytes of one TCP connection to it.
pub async fn forward(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<DuplexStream, PortForwardError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let forward_error = |reason: String| PortForwardError::Forward {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
        reason,
    };
    let mut forwarder = match pods.portforward(pod, &[port]).await {
        Ok(forwarder) => forwarder,
        Err(kube::Error::Api(status)) if matches!(status.code, 401 | 403) => {
            return Err(PortForwardError::Forbidden {
                namespace: namespace.to_owned(),
                pod: pod.to_owned(),
                message: status.message,
            });
        }
        Err(error) => return Err(forward_error(error.to_string())),
    };
    let Some(stream) = forwarder.take_stream(port) else {
        return Err(forward_error("the forwarder offered no stream".to_owned()));
    };
    let errors = forwarder.take_error(port);
    let pod = pod.to_owned();
    // The forwarder's own task ends when the stream closes; this one only reports what the
    // kubelet said went wrong (the pod refused the port …), which the stream cannot carry.
    tokio::spawn(async move {
        if let Some(errors) = errors
            && let Some(message) = errors.await
        {
            tracing::warn!(%pod, port, %message, "port-forward reported an error");
        }
        if let Err(error) = forwarder.join().await {
            tracing::debug!(%error, "port-forward ended with an error");
        }
    });
    Ok(stream)
}

impl MetricsClient {
    /// Connects through a kube port-forward, failing within about [`PORT_FORWARD_TIMEOUT`].
    /// Every failure to get there reads "metrics API not reachable through a port-forward".
    pub async fn connect_port_forward(forward: PortForward) -> Result<Self, MetricsError> {
        let addr = forward.display_addr();
        // The URI only names the connection (`:authority` of each call): the connector decides
        // where bytes go.
        let endpoint = Endpoint::from_static("http://metrics-api.linkerd-viz:8085")
            .connect_timeout(PORT_FORWARD_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        let connecting = endpoint.connect_with_connector(forward.connector());
        let channel = match tokio::time::timeout(PORT_FORWARD_TIMEOUT, connecting).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(error)) => {
                return Err(MetricsError::PortForward {
                    reason: reason(&error),
                });
            }
            Err(_) => {
                return Err(MetricsError::PortForward {
                    reason: format!(
                        "no answer within {}s from {addr}",
                        PORT_FORWARD_TIMEOUT.as_secs()
                    ),
                });
            }
        };
        Ok(Self {
            addr,
            api: ApiClient::new(channel),
        })
    }
}

/// Our own [`PortForwardError`] when tonic's error carries one (it says what to fix), else the
/// chain of causes.
fn reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    // Bounded: error chains are short, but a cyclic `source` must not loop forever.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        if let Some(ours) = cause.downcast_ref::<PortForwardError>() {
            return ours.to_string();
        }
        let next = cause.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text
}
