//! A client for Linkerd viz's metrics API (`linkerd2.viz.Api` on `metrics-api.linkerd-viz:8085`,
//! plaintext gRPC): Prometheus-backed figures over a time window, to put beside the live sampled
//! ones. `TopRoutes` gives per-route success/RPS/latency, `StatSummary` per-workload figures (the
//! map's panel), `Edges` who talks to whom with which mTLS identities.
//!
//! Wire types stop here: callers get the plain structs below. The metrics API is an extra, so
//! every failure is a [`MetricsError`] whose message says the panes keep working on live data.

mod convert;
pub mod portforward;

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::model::figures::{EdgeMetric, RouteMetric, WorkloadMetric};
use crate::proto::viz::{self, api_client::ApiClient};
use crate::source::target::Resource;
pub use crate::units::{format_window, parse_window};

/// How long to wait for the TCP connection (and the HTTP/2 handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one call may take: the real server queries Prometheus, which can be slow.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The metrics API's port in a cluster (`metrics-api.linkerd-viz:8085`).
pub const METRICS_API_PORT: u16 = 8085;

/// Why the metrics API gave no figures. Every message ends by saying live data still works.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("invalid metrics API address {addr:?}: expected HOST:PORT (e.g. 127.0.0.1:8085)")]
    Address { addr: String },
    #[error(
        "metrics API not reachable through a port-forward: {reason}; pass --metrics-api or --no-metrics (the panes keep working on live data)"
    )]
    PortForward { reason: String },
    #[error(
        "the metrics API at {addr} is unreachable: {reason}; the panes keep working on live data"
    )]
    Unreachable { addr: String, reason: String },
    #[error(
        "the metrics API at {addr} failed {call} ({code:?}): {message}; the panes keep working on live data"
    )]
    Status {
        addr: String,
        call: &'static str,
        code: tonic::Code,
        message: String,
    },
    #[error(
        "the metrics API at {addr} could not answer {call}: {message}; the panes keep working on live data"
    )]
    Resource {
        addr: String,
        call: &'static str,
        message: String,
    },
}

/// A connected metrics API client. Cheap to clone; calls may run concurrently.
#[derive(Clone, Debug)]
pub struct MetricsClient {
    addr: String,
    api: ApiClient<Channel>,
}

impl MetricsClient {
    /// Connects to `addr` (`HOST:PORT`, or an `http://` URL) with plaintext gRPC, failing within
    /// about [`CONNECT_TIMEOUT`] if nothing answers.
    pub async fn connect(addr: &str) -> Result<Self, MetricsError> {
        let url = if addr.contains("://") {
            addr.to_owned()
        } else {
            format!("http://{addr}")
        };
        let bad = || MetricsError::Address {
            addr: addr.to_owned(),
        };
        if !url.starts_with("http://") {
            return Err(bad());
        }
        let endpoint = Endpoint::from_shared(url)
            .map_err(|_| bad())?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        // The connect timeout covers TCP only; this bounds the HTTP/2 handshake too, for a peer
        // that accepts and then says nothing.
        let channel = match tokio::time::timeout(CONNECT_TIMEOUT * 2, endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(error)) => return Err(unreachable(addr, &error)),
            Err(_) => {
                return Err(MetricsError::Unreachable {
                    addr: addr.to_owned(),
                    reason: format!("no answer within {}s", (CONNECT_TIMEOUT * 2).as_secs()),
                });
            }
        };
        Ok(Self {
            addr: addr.to_owned(),
            api: ApiClient::new(channel),
        })
    }

    /// The address as given to [`connect`](Self::connect).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `TopRoutes`: the inbound routes of `target` (`deploy/catalogue`) over `window`.
    pub async fn route_stats(
        &self,
        target: &Resource,
        window: Duration,
    ) -> Result<Vec<RouteMetric>, MetricsError> {
        use viz::top_routes_request::Outbound;
        use viz::top_routes_response::Response as R;
        const CALL: &str = "TopRoutes";
        let request = viz::TopRoutesRequest {
            selector: Some(convert::selection(target)),
            time_window: format_window(window),
            outbound: Some(Outbound::None(viz::Empty {})),
        };
        let response = self
            .api
            .clone()
            .top_routes(request)
            .await
            .map_err(|s| self.status(CALL, &s))?
            .into_inner();
        match response.response {
            Some(R::Ok(ok)) => Ok(convert::routes(ok.routes, window)),
            Some(R::Error(e)) => Err(self.resource_error(CALL, &e)),
            None => Err(self.empty(CALL)),
        }
    }

    /// `StatSummary`: one row per resource `selector` names (`deploy` for every deployment of a
    /// namespace, `deploy/web` for one) with what it received over `window`, its pods and open
    /// TCP connections.
    pub async fn workload_stats(
        &self,
        selector: &Resource,
        window: Duration,
    ) -> Result<Vec<WorkloadMetric>, MetricsError> {
        use viz::stat_summary_request::Outbound;
        use viz::stat_summary_response::Response as R;
        const CALL: &str = "StatSummary";
        let request = viz::StatSummaryRequest {
            selector: Some(convert::selection(selector)),
            time_window: format_window(window),
            outbound: Some(Outbound::None(viz::Empty {})),
            skip_stats: false,
            tcp_stats: true,
        };
        let response = self
            .api
            .clone()
            .stat_summary(request)
            .await
            .map_err(|s| self.status(CALL, &s))?
            .into_inner();
        match response.response {
            Some(R::Ok(ok)) => Ok(convert::workloads(ok.stat_tables, window)),
            Some(R::Error(e)) => Err(self.resource_error(CALL, &e)),
            None => Err(self.empty(CALL)),
        }
    }

    /// `Edges` between deployments where either end is in `namespace` (empty: every namespace).
    pub async fn edges(&self, namespace: &str) -> Result<Vec<EdgeMetric>, MetricsError> {
        use viz::edges_response::Response as R;
        const CALL: &str = "Edges";
        let request = viz::EdgesRequest {
            selector: Some(viz::ResourceSelection {
                resource: Some(viz::Resource {
                    namespace: namespace.to_owned(),
                    r#type: "deployment".to_owned(),
                    name: String::new(),
                }),
                label_selector: String::new(),
            }),
        };
        let response = self
            .api
            .clone()
            .edges(request)
            .await
            .map_err(|s| self.status(CALL, &s))?
            .into_inner();
        match response.response {
            Some(R::Ok(ok)) => Ok(ok.edges.into_iter().map(convert::edge).collect()),
            Some(R::Error(e)) => Err(self.resource_error(CALL, &e)),
            None => Err(self.empty(CALL)),
        }
    }

    /// A gRPC failure: transport trouble reads as "unreachable", the rest names the status.
    fn status(&self, call: &'static str, status: &tonic::Status) -> MetricsError {
        // tonic reports its own request timeout as `Cancelled` with this message and no source.
        if status.code() == tonic::Code::Cancelled
            && status.message() == tonic::TimeoutExpired(()).to_string()
        {
            return MetricsError::Unreachable {
                addr: self.addr.clone(),
                reason: format!("{call}: no answer within {}s", REQUEST_TIMEOUT.as_secs()),
            };
        }
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => MetricsError::Unreachable {
                addr: self.addr.clone(),
                reason: format!("{call}: {}", status.message()),
            },
            code => MetricsError::Status {
                addr: self.addr.clone(),
                call,
                code,
                message: status.message().to_owned(),
            },
        }
    }

    fn resource_error(&self, call: &'static str, error: &viz::ResourceError) -> MetricsError {
        MetricsError::Resource {
            addr: self.addr.clone(),
            call,
            message: error.error.clone(),
        }
    }

    fn empty(&self, call: &'static str) -> MetricsError {
        MetricsError::Resource {
            addr: self.addr.clone(),
            call,
            message: "the response carried neither figures nor an error".to_owned(),
        }
    }
}

/// The connection error with its causes, which name what actually failed (refused, DNS, …).
fn unreachable(addr: &str, error: &(dyn std::error::Error + 'static)) -> MetricsError {
    let mut reason = error.to_string();
    let mut source = error.source();
    // Bounded: error chains are short, but a cyclic `source` must not loop forever.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        source = cause.source();
    }
    MetricsError::Unreachable {
        addr: addr.to_owned(),
        reason,
    }
}
