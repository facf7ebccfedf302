//! Per-route stats: what `linkerd viz top` shows, but bounded, windowed and sortable.
//!
//! The main loop calls [`RouteTable::record`] once for every request that finishes or expires;
//! the routes pane asks for [`RouteTable::rows`] at most once per frame. Recording does not
//! allocate once a route has been seen: the key is written into a reused buffer and looked up by
//! `&str`.

// Shared with the tests of the layers above (the `fixtures` feature, a dev-dependency there).
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod key;
mod shares;
pub mod stats;
pub mod template;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::event::Direction;
use super::policy::MatchedRoute;
use super::request::Request;
pub use key::{RouteKey, key_of};
pub use stats::{ERROR_RATE_SCALE, RING_SECONDS, RouteStats, Sample, Summary};

/// Distinct rows kept; requests for further routes are summed in one "other" row.
pub const MAX_ROUTES: usize = 2_000;
/// The route name of the overflow row.
pub const OTHER_ROUTES: &str = "(other routes)";

/// Which stretch of time a summary covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Window {
    Last10s,
    #[default]
    Last1m,
    Capture,
}

impl Window {
    pub fn seconds(self) -> Option<i64> {
        match self {
            Window::Last10s => Some(10),
            Window::Last1m => Some(60),
            Window::Capture => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Last10s => "last 10 s",
            Window::Last1m => "last 1 min",
            Window::Capture => "whole capture",
        }
    }

    /// The next window, for a key that cycles through them.
    pub fn next(self) -> Self {
        match self {
            Window::Last10s => Window::Last1m,
            Window::Last1m => Window::Capture,
            Window::Capture => Window::Last10s,
        }
    }
}

/// What a row stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Grouping {
    /// Destination workload + route: the `ServiceProfile` route, else the inbound `HTTPRoute` /
    /// `GRPCRoute`, else method + path template.
    #[default]
    Route,
    /// Destination workload.
    Destination,
    /// Source workload → destination workload.
    SourceDestination,
}

impl Grouping {
    pub fn label(self) -> &'static str {
        match self {
            Grouping::Route => "by route",
            Grouping::Destination => "by destination",
            Grouping::SourceDestination => "by source → destination",
        }
    }

    pub fn next(self) -> Self {
        match self {
            Grouping::Route => Grouping::Destination,
            Grouping::Destination => Grouping::SourceDestination,
            Grouping::SourceDestination => Grouping::Route,
        }
    }
}

/// One row of the routes pane over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteRow {
    pub key: RouteKey,
    pub summary: Summary,
    /// Requests per second over the last minute, oldest first.
    pub sparkline: [u32; RING_SECONDS],
    /// Each of those seconds' error rate, in [`ERROR_RATE_SCALE`]ths of its classified requests.
    pub errors: [u16; RING_SECONDS],
    /// The policy route of the row's latest request: its rule's timeouts and retry policy, and
    /// the backend's configured weight. `None` for the older kinds of row.
    pub matched: Option<Arc<MatchedRoute>>,
    /// With backends grouped: this backend's share of its rule's requests in the window.
    pub share: Option<f64>,
}

/// What the table has seen and had to fold away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteTableStats {
    pub recorded: u64,
    /// Requests that landed in the "other" row because the table was full.
    pub overflowed: u64,
}

/// One row's counters and the policy route it was last matched to.
#[derive(Debug)]
struct Entry {
    key: RouteKey,
    stats: RouteStats,
    matched: Option<Arc<MatchedRoute>>,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    grouping: Grouping,
    /// Rows also split by the Service that served the requests.
    backends: bool,
    index: HashMap<Box<str>, usize>,
    entries: Vec<Entry>,
    other: Option<usize>,
    scratch: String,
    stats: RouteTableStats,
    /// When the capture the table counts began: the rates' denominator (see `stats`).
    started: Option<DateTime<Utc>>,
}

impl RouteTable {
    pub fn new(grouping: Grouping) -> Self {
        Self {
            grouping,
            ..Self::default()
        }
    }

    /// A table holding `requests` that are finished or expired: what switching grouping or
    /// changing the filter does (feed it the requests that pass the filter).
    pub fn rebuild<'a>(
        grouping: Grouping,
        requests: impl IntoIterator<Item = &'a Request>,
    ) -> Self {
        let mut table = Self::new(grouping);
        for request in requests {
            if !request.is_open() {
                table.record(request);
            }
        }
        table
    }

    /// Rows also split by backend (`v` in the routes pane).
    #[must_use]
    pub fn by_backend(mut self, backends: bool) -> Self {
        self.backends = backends;
        self
    }

    /// A table grouped like this one, holding `requests` (see [`rebuild`](Self::rebuild)).
    #[must_use]
    pub fn refill<'a>(&self, requests: impl IntoIterator<Item = &'a Request>) -> Self {
        let mut table = Self::new(self.grouping).by_backend(self.backends);
        for request in requests {
            if !request.is_open() {
                table.record(request);
            }
        }
        table
    }

    pub fn grouping(&self) -> Grouping {
        self.grouping
    }

    pub fn backends(&self) -> bool {
        self.backends
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stats(&self) -> RouteTableStats {
        self.stats
    }

    /// When the counted capture began: the earliest request recorded, or earlier if told.
    pub fn started(&self) -> Option<DateTime<Utc>> {
        self.started
    }

    /// The capture began at `at` (or before): a filter that lets only later requests through
    /// must not shorten the time their rates are spread over.
    pub fn note_start(&mut self, at: DateTime<Utc>) {
        self.started = Some(self.started.map_or(at, |s| s.min(at)));
    }

    /// Adds one finished or expired request.
    pub fn record(&mut self, request: &Request) {
        self.stats.recorded += 1;
        self.note_start(request.started);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        key::write_lookup_key(&mut scratch, self.grouping, self.backends, request);
        let index = match self.index.get(scratch.as_str()) {
            Some(&index) => index,
            None => self.insert(&scratch, request.direction()),
        };
        self.scratch = scratch;
        if Some(index) == self.other {
            self.stats.overflowed += 1;
        }
        let policy = match self.grouping {
            Grouping::Route => key::policy_match(request),
            _ => None,
        };
        if let Some(entry) = self.entries.get_mut(index) {
            entry.stats.record(request);
            if let Some(matched) = policy {
                entry.matched = Some(Arc::clone(matched));
            }
        }
    }

    /// First sight of a key: the only place recording allocates.
    fn insert(&mut self, lookup: &str, direction: Direction) -> usize {
        if self.entries.len() >= MAX_ROUTES {
            if let Some(other) = self.other {
                return other;
            }
            let key = RouteKey::new(Direction::Unknown, "", "", OTHER_ROUTES);
            self.entries.push(Entry::new(key));
            self.other = Some(self.entries.len() - 1);
            return self.entries.len() - 1;
        }
        let key = key::key_from_lookup(lookup, direction);
        self.entries.push(Entry::new(key));
        let index = self.entries.len() - 1;
        self.index.insert(lookup.into(), index);
        index
    }

    /// Every row over `window` ending at `now`, in no particular order (the pane sorts).
    pub fn rows(&self, now: DateTime<Utc>, window: Window) -> Vec<RouteRow> {
        // Creating a histogram with a valid precision cannot fail.
        let Some(mut scratch) = stats::latency_scratch() else {
            return Vec::new();
        };
        let mut rows: Vec<RouteRow> = self
            .entries
            .iter()
            .map(|entry| RouteRow {
                key: entry.key.clone(),
                summary: entry.stats.summary(now, window, self.started, &mut scratch),
                sparkline: entry.stats.sparkline(now),
                errors: entry.stats.error_sparkline(now),
                matched: entry.matched.clone(),
                share: None,
            })
            .collect();
        if self.backends {
            shares::fill(&mut rows);
        }
        rows
    }

    pub fn get(&self, key: &RouteKey) -> Option<&RouteStats> {
        self.entry(key).map(|e| &e.stats)
    }

    /// The policy route `key`'s row was last matched to.
    pub fn matched(&self, key: &RouteKey) -> Option<&Arc<MatchedRoute>> {
        self.entry(key).and_then(|e| e.matched.as_ref())
    }

    fn entry(&self, key: &RouteKey) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.key == key)
    }
}

impl Entry {
    fn new(key: RouteKey) -> Self {
        Self {
            key,
            stats: RouteStats::new(),
            matched: None,
        }
    }
}
