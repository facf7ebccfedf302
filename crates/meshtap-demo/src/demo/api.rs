//! The contract between the simulated control plane's HTTP server and whatever answers taps
//! behind it (the simulated mesh, or a scripted fake in tests).

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::proto::tap::TapByResourceRequest;

/// How the server answers one `POST .../tap`.
#[derive(Debug)]
pub enum TapReply {
    /// 200 `application/octet-stream`: every chunk received is written to the body as is (the
    /// sender frames events itself). The body ends when the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
    /// 200 with the `linkerd-error` header and a body of one framed `viz.ApiError`, as Linkerd's
    /// tap server answers e.g. "no pods to tap".
    LinkerdError(String),
    /// A non-200 answer from the kube-apiserver: a Kubernetes `Status` JSON body.
    KubeStatus {
        code: u16,
        reason: String,
        message: String,
    },
    /// A non-200 answer from the tap server itself: `{"error": "..."}`.
    TapServerError { code: u16, error: String },
}

/// Answers tap requests. `path` is the request path as received (for example
/// `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/sock-shop/deployments/front-end/tap`);
/// `request` is the decoded body. Implementations must not block: spawn a task that feeds the
/// stream.
pub trait TapApi: Send + Sync + 'static {
    fn tap(&self, path: &str, request: TapByResourceRequest) -> TapReply;

    /// The pods running in `namespace`, as the API server lists them (see [`super::pods`]):
    /// what meshtap reads to explain a quiet tap. None by default (scripted fakes).
    fn pods(&self, _namespace: &str) -> Vec<serde_json::Value> {
        Vec::new()
    }
}
