//! A client for the policy controller's `io.linkerd.proxy.outbound.OutboundPolicies` (`Get`,
//! `Watch`; plaintext gRPC on port 8090 of the `linkerd-destination` pod): the routes, backends,
//! timeouts and retries a client proxy gets for a target, which meshtap matches tapped outbound
//! requests against (`pipeline::attribute`).
//!
//! Wire types stop here: callers get core's [`OutboundPolicy`]. The policy API is an extra: an
//! unreachable or too old controller is said once, and requests fall back to the routes tap
//! names itself (`ServiceProfile`) or to templates, never to a guessed route.

pub mod cache;
mod convert;
pub mod serve;
pub mod target;
mod watch;

use std::time::Duration;

use linkerd2_proxy_api::outbound::{self, outbound_policies_client::OutboundPoliciesClient};
use tonic::transport::{Channel, Endpoint};

pub use convert::{from_proto, to_proto};
pub use target::{PolicyTarget, TargetAddr};

use super::metrics::portforward::PortForward;
use crate::model::policy::{OutboundPolicy, PolicyError};

/// The policy controller's gRPC port in the `linkerd-destination` pod.
pub const POLICY_API_PORT: u16 = 8090;
/// How long one `Get`, or a `Watch` until its first answer, may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the TCP connection (a port-forward takes longer: see
/// [`crate::source::metrics::portforward::PORT_FORWARD_TIMEOUT`]).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// HTTP/2 keepalive on a watch: a policy may not change for hours, so silence proves nothing;
/// an unanswered PING finds a dead port-forward.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// Why the policy controller gave no policy. [`PolicyApiError::fault`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PolicyApiError {
    #[error("invalid policy API address {addr:?}: expected HOST:PORT (e.g. 127.0.0.1:8090)")]
    Address { addr: String },
    #[error("the policy controller at {addr} is unreachable: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error(
        "the policy controller at {addr} does not serve OutboundPolicies (a Linkerd older than 2.13?): {message}"
    )]
    Unimplemented { addr: String, message: String },
    #[error("the policy controller at {addr} knows no policy for {target}: {message}")]
    Unknown {
        addr: String,
        target: String,
        message: String,
    },
    #[error("the policy controller at {addr} failed ({code:?}) for {target}: {message}")]
    Status {
        addr: String,
        target: String,
        code: tonic::Code,
        message: String,
    },
    #[error("the policy controller at {addr} sent an unusable policy for {target}: {error}")]
    Invalid {
        addr: String,
        target: String,
        error: PolicyError,
    },
}

/// What a failure means for the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No controller to ask (unreachable, too old): said once; every target falls back.
    Controller,
    /// This target has no policy (not a Service the controller knows): it falls back, quietly.
    Target,
    /// Worth another try later (an internal error, a broken stream).
    Transient,
}

impl PolicyApiError {
    pub fn fault(&self) -> Fault {
        match self {
            PolicyApiError::Address { .. }
            | PolicyApiError::Unreachable { .. }
            | PolicyApiError::Unimplemented { .. } => Fault::Controller,
            PolicyApiError::Unknown { .. } | PolicyApiError::Invalid { .. } => Fault::Target,
            PolicyApiError::Status { .. } => Fault::Transient,
        }
    }
}

/// A client for one cluster's policy controller. Cheap to clone; calls run concurrently over
/// one HTTP/2 connection, made when first needed and made again after it breaks.
#[derive(Clone, Debug)]
pub struct PolicyClient {
    addr: String,
    api: OutboundPoliciesClient<Channel>,
}

/// How the session reaches a cluster's policy controller.
#[derive(Clone, Debug)]
pub enum PolicyApi {
    /// `HOST:PORT` (`--policy-api`).
    Addr(String),
    /// A kube port-forward to the `linkerd-destination` pod: the default in a cluster.
    PortForward(PortForward),
}

impl PolicyApi {
    /// A client; nothing is dialled until the first call.
    pub fn client(&self) -> Result<PolicyClient, PolicyApiError> {
        match self {
            PolicyApi::Addr(addr) => PolicyClient::lazy(addr),
            PolicyApi::PortForward(forward) => Ok(PolicyClient::port_forward(forward)),
        }
    }
}

impl PolicyClient {
    /// A client for `addr` (`HOST:PORT` or `http://HOST:PORT`), plaintext gRPC.
    pub fn lazy(addr: &str) -> Result<Self, PolicyApiError> {
        let url = if addr.contains("://") {
            addr.to_owned()
        } else {
            format!("http://{addr}")
        };
        let bad = || PolicyApiError::Address {
            addr: addr.to_owned(),
        };
        if !url.starts_with("http://") {
            return Err(bad());
        }
        let endpoint = Endpoint::from_shared(url)
            .map_err(|_| bad())?
            .connect_timeout(CONNECT_TIMEOUT);
        Ok(Self {
            addr: addr.to_owned(),
            api: OutboundPoliciesClient::new(keepalive(endpoint).connect_lazy()),
        })
    }

    /// A client whose every connection is a fresh port-forward to the controller's pod.
    pub fn port_forward(forward: &PortForward) -> Self {
        let addr = forward.display_addr();
        let endpoint = Endpoint::from_static("http://linkerd-policy.linkerd:8090")
            .connect_timeout(crate::source::metrics::portforward::PORT_FORWARD_TIMEOUT);
        let channel = keepalive(endpoint).connect_with_connector_lazy(forward.connector());
        Self {
            addr,
            api: OutboundPoliciesClient::new(channel),
        }
    }

    /// The address as given, or the port-forward's description.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `Get`: the target's policy now.
    pub async fn get(&self, target: &PolicyTarget) -> Result<OutboundPolicy, PolicyApiError> {
        let mut api = self.api.clone();
        let call = api.get(target.to_proto());
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, call)
            .await
            .map_err(|_| self.no_answer())?
            .map_err(|s| self.status(target, &s))?;
        self.convert(target, answer.into_inner())
    }

    /// `Watch`: the target's policy, then each change, until the stream breaks.
    pub async fn watch(&self, target: &PolicyTarget) -> Result<PolicyStream, PolicyApiError> {
        let mut api = self.api.clone();
        let call = api.watch(target.to_proto());
        let stream = tokio::time::timeout(REQUEST_TIMEOUT, call)
            .await
            .map_err(|_| self.no_answer())?
            .map_err(|s| self.status(target, &s))?
            .into_inner();
        Ok(PolicyStream {
            client: self.clone(),
            target: target.clone(),
            stream,
        })
    }

    fn convert(
        &self,
        target: &PolicyTarget,
        policy: outbound::OutboundPolicy,
    ) -> Result<OutboundPolicy, PolicyApiError> {
        from_proto(policy).map_err(|error| PolicyApiError::Invalid {
            addr: self.addr.clone(),
            target: target.to_string(),
            error,
        })
    }

    fn no_answer(&self) -> PolicyApiError {
        PolicyApiError::Unreachable {
            addr: self.addr.clone(),
            reason: format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()),
        }
    }

    /// A gRPC failure by its code: transport trouble reads as unreachable.
    fn status(&self, target: &PolicyTarget, status: &tonic::Status) -> PolicyApiError {
        let addr = self.addr.clone();
        let message = status.message().to_owned();
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                PolicyApiError::Unreachable {
                    addr,
                    reason: reason(status),
                }
            }
            tonic::Code::Unimplemented => PolicyApiError::Unimplemented { addr, message },
            tonic::Code::NotFound | tonic::Code::InvalidArgument => PolicyApiError::Unknown {
                addr,
                target: target.to_string(),
                message,
            },
            code => PolicyApiError::Status {
                addr,
                target: target.to_string(),
                code,
                message,
            },
        }
    }
}

fn keepalive(endpoint: Endpoint) -> Endpoint {
    endpoint
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_INTERVAL / 3)
        .keep_alive_while_idle(true)
}

/// The status's message with its causes (refused, DNS, the port-forward's own error).
fn reason(status: &tonic::Status) -> String {
    let mut text = status.message().to_owned();
    let mut source = std::error::Error::source(status);
    // Bounded: error chains are short, but a cyclic `source` must not loop forever.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        let next = cause.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text
}

/// A `Watch` in progress.
pub struct PolicyStream {
    client: PolicyClient,
    target: PolicyTarget,
    stream: tonic::Streaming<outbound::OutboundPolicy>,
}

impl PolicyStream {
    /// The next policy; `None` when the controller ended the stream.
    pub async fn next(&mut self) -> Option<Result<OutboundPolicy, PolicyApiError>> {
        match self.stream.message().await {
            Ok(Some(policy)) => Some(self.client.convert(&self.target, policy)),
            Ok(None) => None,
            Err(status) => Some(Err(self.client.status(&self.target, &status))),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
