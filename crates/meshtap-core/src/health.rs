//! Per-pod tap health: why a tap target is silent or thin, worked out from its pods' Kubernetes
//! facts and from what the stream delivered, with the fix for each cause.
//!
//! Linkerd's tap server skips pods it cannot tap as long as one can be tapped, splits `maxRps`
//! over the pods it kept, and only logs a pod whose stream fails; none of that reaches the
//! client. These rules mirror the tap server's (viz `tap/api/grpc_server.go`, `viz/pkg/labels`)
//! so meshtap can say, per pod, what Linkerd did with it.

mod assess;
mod book;
mod facts;
mod observed;
#[cfg(test)]
mod tests;

pub use assess::{PodHealth, TargetHealth, TargetInfo, Verdict, assess};
pub use book::{HealthBook, PodList};
pub use facts::{Owner, PodFacts, ProxyStatus, annotations};
pub use observed::{InFlight, Observed, PodSeen};

use std::time::Duration;

/// A target that delivered nothing for this long (or a pod that stayed silent while its siblings
/// reported) is worth explaining.
pub const SILENT_AFTER: Duration = Duration::from_secs(10);
/// Linkerd's tap window: each pod is asked once per window for at most its share of `maxRps`.
pub const TAP_WINDOW: Duration = Duration::from_secs(1);
/// Seconds over which a target's sampled rate is measured.
pub const RATE_WINDOW_SECS: u32 = 10;
/// Linkerd's tap server uses this when the request's `maxRps` is 0.
pub const DEFAULT_MAX_RPS: f32 = 100.0;

/// Linkerd's split of `maxRps` over the tapped pods: `maxRps / pods` (100 when `maxRps` is 0),
/// at least 1, truncated to whole requests per 1-second window. Non-finite or negative values
/// count as the minimum.
pub fn per_pod_limit(max_rps: f32, pods: usize) -> u32 {
    let max_rps = if max_rps == 0.0 {
        DEFAULT_MAX_RPS
    } else {
        max_rps
    };
    let per_pod = max_rps / pods.max(1) as f32;
    // `!(x >= 1)` also catches NaN.
    let per_pod = if per_pod >= 1.0 { per_pod } else { 1.0 };
    per_pod as u32
}
