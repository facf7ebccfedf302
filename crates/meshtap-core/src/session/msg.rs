//! What sources send to the sink, what the UI asks of a live source, and what is known about
//! the session.

use std::time::Duration;

use super::error::StreamError;
use crate::model::event::TapEvent;
use crate::model::figures::MetricsSnapshot;

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
    /// One of the session's own outputs failed (a recording on a full disk): said at once, on
    /// stderr headless and in the status bar, not only when the session ends.
    Notice(String),
    /// The latest figures from Linkerd viz's metrics API (`--metrics-api`); each replaces the
    /// last.
    Metrics(MetricsSnapshot),
    /// A stream's target and its namespace's pods, listed anew (or why they could not be), for
    /// tap health. Boxed: a pod list is large next to the other messages.
    Pods(Box<crate::health::PodList>),
    /// The latest reading of the refusal counters of the session's pods' proxies (live
    /// sessions only); each replaces the last of its cluster. Boxed: it holds every refusal.
    Denials(Box<crate::routestats::DenialsReading>),
}

/// The connection state of one tap stream, as the status bar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamState {
    Connecting,
    Connected,
    /// The stream broke or ended; the next attempt starts after `after`.
    Reconnecting {
        after: Duration,
        error: StreamError,
    },
    /// The stream ended and will not be retried (`--no-reconnect`, end of a replay file).
    Ended,
    /// A permanent error (4xx, bad target): shown to the user, not retried.
    Failed(StreamError),
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
    /// With several clusters open (`--context A,B`), their names in order; `targets` then lists
    /// each cluster's streams in turn (every cluster taps the same targets). Empty with one.
    pub clusters: Vec<String>,
}
