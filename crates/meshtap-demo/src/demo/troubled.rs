//! The namespace `troubled`: workloads that tap cannot see, or sees only in part, each for one of
//! the reasons Linkerd users meet (tap disabled, injected before viz, an opaque port, a
//! long-lived request holding the window, `maxRps` spread over many pods with one not ready).
//!
//! It is served beside the main simulated mesh: the pod list through the simulated API server
//! (with the annotations, labels and readiness that cause each case) and taps through a
//! [`TapApi`] that answers for `troubled` like Linkerd's tap server and hands every other tap to
//! the mesh behind it. The default demo session does not tap it.

mod pods;
mod stream;

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::api::{TapApi, TapReply};
use crate::proto::tap::TapByResourceRequest;
pub use pods::{TroubledPod, pods};

/// The namespace's name.
pub const NAMESPACE: &str = "troubled";

/// How each workload of the namespace misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// `viz.linkerd.io/disable-tap: "true"` on its pods.
    TapDisabled,
    /// Meshed before viz: no `viz.linkerd.io/tap-enabled`.
    BeforeViz,
    /// Its only port is in `config.linkerd.io/opaque-ports`: TCP, no HTTP events.
    OpaqueDb,
    /// One gRPC stream that never ends holds the pod's tap window.
    LongStream,
    /// Many pods sharing `maxRps`; one of them has a proxy that is not ready.
    Wide,
}

/// (deployment, replicas, container port, trouble)
pub const WORKLOADS: [(&str, usize, u16, Trouble); 5] = [
    ("tap-disabled", 2, 8080, Trouble::TapDisabled),
    ("before-viz", 2, 8080, Trouble::BeforeViz),
    ("opaque-db", 1, 5432, Trouble::OpaqueDb),
    ("long-stream", 1, 8080, Trouble::LongStream),
    ("wide", 20, 8080, Trouble::Wide),
];

/// The replica of `wide` whose proxy is not ready.
pub const WIDE_NOT_READY: usize = 7;
/// Requests per second each ready `wide` pod serves: far above its share of the default `maxRps`.
pub const WIDE_POD_RPS: u32 = 40;
/// The long-lived request of `long-stream`.
pub const LONG_STREAM_PATH: &str = "/watch.v1.Watcher/Watch";

/// Answers taps of `troubled` itself and hands every other tap to `inner`.
pub struct TroubledTapApi {
    inner: Arc<dyn TapApi>,
}

impl TroubledTapApi {
    pub fn new(inner: Arc<dyn TapApi>) -> Self {
        Self { inner }
    }
}

impl std::fmt::Debug for TroubledTapApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TroubledTapApi").finish_non_exhaustive()
    }
}

/// The namespace a tap request is for.
fn namespace_of(request: &TapByResourceRequest) -> Option<&str> {
    let res = request.target.as_ref()?.resource.as_ref()?;
    Some(if res.r#type == "namespace" {
        &res.name
    } else {
        &res.namespace
    })
}

impl TapApi for TroubledTapApi {
    fn tap(&self, path: &str, request: TapByResourceRequest) -> TapReply {
        if namespace_of(&request) != Some(NAMESPACE) {
            return self.inner.tap(path, request);
        }
        let plan = match stream::plan(&request) {
            Ok(plan) => plan,
            Err(reply) => return reply,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return TapReply::TapServerError {
                code: 500,
                error: "the simulated tap server has no async runtime".into(),
            };
        };
        let (tx, rx) = mpsc::channel(super::tapper::CHANNEL_CHUNKS);
        runtime.spawn(stream::run(plan, tx));
        TapReply::Stream(rx)
    }

    fn pods(&self, namespace: &str) -> Vec<Value> {
        if namespace == NAMESPACE {
            return pods().iter().map(TroubledPod::json).collect();
        }
        self.inner.pods(namespace)
    }
}
