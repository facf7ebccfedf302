//! Per-route stats: what `linkerd viz top` shows, but bounded, windowed and sortable.
//!
//! The main loop calls [`RouteTable::record`] once for every request that finishes or expires;
//! the routes pane asks for [`RouteTable::rows`] at most once per frame. Recording does not
//! allocate once a route has been seen: the key is written into a reused buffer and looked up by
//! `&str`.

// Shared with the tests of the layers above (the `fixtures` feature, a dev-dependency there).
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod stats;
pub mod template;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::event::{Direction, Endpoint, Text};
use super::request::{Request, workload};
pub use stats::{RING_SECONDS, RouteStats, Sample, Summary};

/// Distinct rows kept; requests for further routes are summed in one "other" row.
pub const MAX_ROUTES: usize = 2_000;
/// The route name of the overflow row.
pub const OTHER_ROUTES: &str = "(other routes)";
/// Separates the parts of a key in the lookup buffer; never appears in labels or paths.
const SEP: char = '\u{1f}';

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

/// The stable identity of a row: selection is held by it, so streaming inserts never move the
/// cursor. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    pub direction: Direction,
    /// The destination's namespace ("" when unknown).
    pub namespace: Text,
    /// The destination workload, or `source → destination` when grouping by both; led by
    /// `cluster/` when the request came from one of several clusters (a route is per cluster).
    pub peer: Text,
    /// The route within `peer`; empty unless grouping by route.
    pub route: Text,
}

impl RouteKey {
    /// What the Route column shows.
    pub fn label(&self) -> String {
        if self.route.is_empty() {
            self.peer.to_string()
        } else {
            format!("{} {}", self.peer, self.route)
        }
    }

    pub fn is_other(&self) -> bool {
        self.route.as_ref() == OTHER_ROUTES
    }
}

/// One row of the routes pane over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteRow {
    pub key: RouteKey,
    pub summary: Summary,
    /// Requests per second over the last minute, oldest first.
    pub sparkline: [u32; RING_SECONDS],
}

/// What the table has seen and had to fold away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteTableStats {
    pub recorded: u64,
    /// Requests that landed in the "other" row because the table was full.
    pub overflowed: u64,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    grouping: Grouping,
    index: HashMap<Box<str>, usize>,
    entries: Vec<(RouteKey, RouteStats)>,
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

    pub fn grouping(&self) -> Grouping {
        self.grouping
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
        write_lookup_key(&mut scratch, self.grouping, request);
        let index = match self.index.get(scratch.as_str()) {
            Some(&index) => index,
            None => self.insert(&scratch, request.direction()),
        };
        self.scratch = scratch;
        if Some(index) == self.other {
            self.stats.overflowed += 1;
        }
        if let Some((_, stats)) = self.entries.get_mut(index) {
            stats.record(request);
        }
    }

    /// First sight of a key: the only place recording allocates.
    fn insert(&mut self, lookup: &str, direction: Direction) -> usize {
        if self.entries.len() >= MAX_ROUTES {
            if let Some(other) = self.other {
                return other;
            }
            let key = RouteKey {
                direction: Direction::Unknown,
                namespace: Text::from(""),
                peer: Text::from(""),
                route: Text::from(OTHER_ROUTES),
            };
            self.entries.push((key, RouteStats::new()));
            self.other = Some(self.entries.len() - 1);
            return self.entries.len() - 1;
        }
        let key = key_from_lookup(lookup, direction);
        self.entries.push((key, RouteStats::new()));
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
        self.entries
            .iter()
            .map(|(key, stats)| RouteRow {
                key: key.clone(),
                summary: stats.summary(now, window, self.started, &mut scratch),
                sparkline: stats.sparkline(now),
            })
            .collect()
    }

    pub fn get(&self, key: &RouteKey) -> Option<&RouteStats> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }
}

/// The key `request` is counted under with `grouping`: what one row of the routes pane stands
/// for (`meshtap diff` compares captures row by row).
pub fn key_of(grouping: Grouping, request: &Request) -> RouteKey {
    let mut lookup = String::new();
    write_lookup_key(&mut lookup, grouping, request);
    key_from_lookup(&lookup, request.direction())
}

fn key_from_lookup(lookup: &str, direction: Direction) -> RouteKey {
    let mut parts = lookup.split(SEP).skip(1);
    let mut next = || Text::from(parts.next().unwrap_or(""));
    RouteKey {
        direction,
        namespace: next(),
        peer: next(),
        route: next(),
    }
}

/// Writes `direction SEP namespace SEP peer SEP route` for `request` into `out`.
fn write_lookup_key(out: &mut String, grouping: Grouping, request: &Request) {
    out.push(match request.direction() {
        Direction::Inbound => 'i',
        Direction::Outbound => 'o',
        Direction::Unknown => 'u',
    });
    out.push(SEP);
    out.push_str(request.destination.labels.get("namespace").unwrap_or(""));
    out.push(SEP);
    // A route is per cluster: with several open its peer reads `cluster/peer`.
    if let Some(cluster) = &request.cluster {
        out.push_str(cluster.as_str());
        out.push('/');
    }
    match grouping {
        Grouping::Route => {
            write_workload(out, &request.destination, request.authority());
            out.push(SEP);
            write_route(out, request);
        }
        Grouping::Destination => write_workload(out, &request.destination, request.authority()),
        Grouping::SourceDestination => {
            write_workload(out, &request.source, "");
            let source_ns = request.source.labels.get("namespace").unwrap_or("");
            let destination_ns = request.destination.labels.get("namespace").unwrap_or("");
            if source_ns != destination_ns && !source_ns.is_empty() {
                out.push('.');
                out.push_str(source_ns);
            }
            out.push_str(" → ");
            write_workload(out, &request.destination, request.authority());
        }
    }
}

/// The workload's name, else its service, else the authority's host, else its IP.
fn write_workload(out: &mut String, endpoint: &Endpoint, authority: &str) {
    let labels = &endpoint.labels;
    if let Some((_, _, name)) = workload(endpoint) {
        out.push_str(name);
    } else if let Some(service) = labels.get("service") {
        out.push_str(service);
    } else if let Some(host) = authority_host(authority) {
        out.push_str(host);
    } else if let Some(addr) = endpoint.addr {
        let _ = write!(out, "{}", addr.ip());
    } else {
        out.push('?');
    }
}

fn authority_host(authority: &str) -> Option<&str> {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    (!host.is_empty()).then_some(host)
}

/// `ServiceProfile` route, else the inbound policy route unless it is the default one, else
/// method + path template.
fn write_route(out: &mut String, request: &Request) {
    if let Some(route) = request.route.get("route").filter(|r| !r.is_empty()) {
        out.push_str(route);
        return;
    }
    if request.direction() == Direction::Inbound {
        let labels = &request.destination.labels;
        let kind = labels.get("route_kind").unwrap_or("");
        let name = labels.get("route_name").unwrap_or("");
        // The default route carries no information: every request on the server matches it.
        if !name.is_empty() && name != "default" && kind != "default" {
            out.push_str(kind);
            out.push('/');
            out.push_str(name);
            return;
        }
    }
    if request.init.is_none() {
        out.push_str("(request not seen)");
        return;
    }
    let method = request.method();
    out.push_str(if method.is_empty() { "GET" } else { method });
    out.push(' ');
    template::write_template(out, request.path());
}
