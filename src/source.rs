//! Sources of tap events. Wire types stop here: sources send owned `TapEvent`s in batches over a
//! bounded channel to the one task that owns all state.

pub mod backoff;
pub mod cluster;
pub mod decode;
pub mod frames;
pub mod live;
pub mod metrics;
pub mod metrics_poll;
pub mod proxy;
pub mod record;
pub mod replay;
pub mod target;
pub mod wire;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::event::TapEvent;
use crate::source::metrics::{EdgeMetric, RouteMetric};

/// Capacity of the channel from sources to the main loop, in batches. Bounded so that a slow
/// consumer pushes back on the stream instead of growing memory.
pub const SOURCE_CHANNEL_BATCHES: usize = 64;
/// Most events a source puts in one batch.
pub const BATCH_MAX_EVENTS: usize = 1024;

/// A message from a source to the main loop.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceMsg {
    /// Events in arrival order.
    Events(Vec<TapEvent>),
    /// A stream's connection changed state. `stream` indexes the source's targets.
    State { stream: usize, state: StreamState },
    /// Something went wrong that lost a little data but not the stream (an undecodable frame
    /// was skipped); shown to the user.
    Warning { stream: usize, message: String },
    /// The latest figures from Linkerd viz's metrics API (`--metrics-api`); each replaces the
    /// last.
    Metrics(MetricsSnapshot),
}

/// One poll of the metrics API: Prometheus-backed route figures and edges over `window`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsSnapshot {
    /// `TopRoutes` rows of every polled resource, with the namespace they were asked in.
    pub routes: Vec<NamespacedRoute>,
    /// `Edges` of every tapped namespace, deduplicated.
    pub edges: Vec<EdgeMetric>,
    pub window: Duration,
    /// The first call that failed in this poll; the figures above are what the others gave.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// A `TopRoutes` row and the namespace of the resource it was asked for (the row's `resource`,
/// `deploy/catalogue`, does not name it).
#[derive(Clone, Debug, PartialEq)]
pub struct NamespacedRoute {
    pub namespace: String,
    pub metric: RouteMetric,
}

/// The connection state of one tap stream, as the status bar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamState {
    Connecting,
    Connected,
    /// The stream broke or ended; the next attempt starts after `after`.
    Reconnecting {
        after: Duration,
        error: String,
    },
    /// The stream ended and will not be retried (`--no-reconnect`, end of a replay file).
    Ended,
    /// A permanent error (4xx, bad target): shown to the user, not retried.
    Failed(String),
}

/// A change to what is tapped, asked for from the UI (`:ns`, `:target`, `:to`, `:maxrps`, or a
/// filter part that Linkerd's server can apply). The live source restarts its streams with it.
#[derive(Clone, Debug, PartialEq)]
pub enum TapCommand {
    Namespace(String),
    /// Targets as the user writes them (`deploy/web`, `ns/emojivoto`).
    Targets(Vec<String>),
    /// The `--to` resource, or `None` to clear it.
    To(Option<String>),
    MaxRps(f32),
    /// Server-side HTTP matches; `None` clears each.
    Http(HttpMatch),
}

/// The HTTP matches Linkerd's tap server can apply itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpMatch {
    pub method: Option<String>,
    /// A prefix.
    pub path: Option<String>,
    /// Exact.
    pub authority: Option<String>,
    pub scheme: Option<String>,
}

/// What the UI knows about the session it shows, for the status bar and empty-screen hints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionInfo {
    /// `demo`, a kube context name, `replay FILE`.
    pub context: String,
    /// One per stream, as the user wrote them.
    pub targets: Vec<String>,
    /// E.g. "max 100 rps split over 12 pods"; empty when unknown.
    pub sampling: String,
}
