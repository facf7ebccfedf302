//! The service map's graph: one node per workload, one edge per caller → callee, each edge with
//! windowed figures (the routes pane's [`RouteStats`]) and its TLS mix. Fed the same finished
//! requests as the route and identity tables, incrementally; bounded by [`MAX_NODES`] and
//! [`MAX_EDGES`], counting the requests it could not place.
//!
//! A meshed call is reported twice, by the client's proxy (outbound) and the server's (inbound);
//! each edge keeps both views apart and shows the fuller one, so a call is never counted twice.

pub mod layout;
pub mod project;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;

use super::event::{Direction, Text};
use super::identities::{TlsState, WorkloadId, write_workload};
use super::request::Request;
use super::routes::{RouteStats, Window};

/// Distinct workloads kept; requests to or from further ones are only counted.
pub const MAX_NODES: usize = 1_000;
/// Distinct caller → callee pairs kept; requests on further pairs are only counted.
pub const MAX_EDGES: usize = 4_000;
/// Identities remembered per workload for its details (one is normal; more means a change).
pub const MAX_NODE_IDENTITIES: usize = 4;

#[derive(Clone, Debug)]
pub struct MapNode {
    pub id: WorkloadId,
    /// Runs a proxy: it reported a request, or answered one over mTLS.
    pub meshed: bool,
    /// The identities it presented, first seen first.
    pub identities: Vec<Text>,
}

/// One proxy's view of an edge.
#[derive(Debug, Default)]
pub struct EdgeSide {
    pub stats: RouteStats,
    /// Requests per [`TlsState`], indexed by [`TlsState::index`].
    pub tls: [u64; TlsState::COUNT],
}

#[derive(Debug)]
pub struct MapEdge {
    pub from: usize,
    pub to: usize,
    /// What the caller's proxy reported.
    pub outbound: Option<Box<EdgeSide>>,
    /// What the callee's proxy reported.
    pub inbound: Option<Box<EdgeSide>>,
}

impl MapEdge {
    /// The view the map shows: the one that saw more requests (the caller's on a tie).
    pub fn side(&self) -> Option<&EdgeSide> {
        match (&self.outbound, &self.inbound) {
            (Some(out), Some(inb)) if inb.stats.requests > out.stats.requests => Some(inb),
            (Some(out), _) => Some(out),
            (None, inb) => inb.as_deref(),
        }
    }
}

/// The TLS state of an edge in one word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMix {
    Mtls,
    Plaintext,
    /// Some requests on mTLS, some not.
    Mixed,
    /// Loopback, passthru or no label: nothing to say either way.
    #[default]
    Unknown,
}

impl TlsMix {
    pub fn of(tls: &[u64; TlsState::COUNT]) -> Self {
        let mtls = tls[TlsState::Mtls.index()];
        let plain: u64 = TlsState::ALL
            .iter()
            .filter(|s| s.is_plaintext())
            .map(|s| tls[s.index()])
            .sum();
        match (mtls > 0, plain > 0) {
            (true, true) => TlsMix::Mixed,
            (true, false) => TlsMix::Mtls,
            (false, true) => TlsMix::Plaintext,
            (false, false) => TlsMix::Unknown,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            TlsMix::Mtls => "mTLS",
            TlsMix::Plaintext => "plaintext",
            TlsMix::Mixed => "mixed",
            TlsMix::Unknown => "unknown",
        }
    }
}

/// An edge's (or several edges') figures over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EdgeFigures {
    pub requests: u64,
    /// Rolling 10 s, as in the routes pane.
    pub rps: f64,
    pub success_rate: Option<f64>,
    /// When edges merge, the largest p99: percentiles do not add, the largest is an upper bound.
    pub p99_us: Option<u64>,
    pub tls: [u64; TlsState::COUNT],
}

impl EdgeFigures {
    pub fn tls_mix(&self) -> TlsMix {
        TlsMix::of(&self.tls)
    }

    /// Adds another edge's figures (a collapsed namespace, a node's total).
    pub fn merge(&mut self, other: &EdgeFigures) {
        let successes = |f: &EdgeFigures| f.success_rate.map(|r| r * f.requests as f64);
        let known = |f: &EdgeFigures| {
            if f.success_rate.is_some() {
                f.requests
            } else {
                0
            }
        };
        let total = known(self) + known(other);
        let sum = successes(self).unwrap_or(0.0) + successes(other).unwrap_or(0.0);
        self.success_rate = (total > 0).then(|| sum / total as f64);
        self.requests += other.requests;
        self.rps += other.rps;
        self.p99_us = self.p99_us.max(other.p99_us);
        for (a, b) in self.tls.iter_mut().zip(other.tls) {
            *a += b;
        }
    }
}

/// What the graph has seen and could not keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapStats {
    pub recorded: u64,
    /// Requests not drawn because [`MAX_NODES`] or [`MAX_EDGES`] was reached.
    pub dropped: u64,
}

#[derive(Debug, Default)]
pub struct MapGraph {
    node_index: HashMap<Box<str>, usize>,
    nodes: Vec<MapNode>,
    edge_index: HashMap<(usize, usize), usize>,
    edges: Vec<MapEdge>,
    scratch: String,
    /// When the counted capture began: the rates' denominator (as in the routes table).
    started: Option<DateTime<Utc>>,
    /// Grows whenever a node, an edge or a node's meshed mark appears: layouts are redone only
    /// when it moves.
    shape: u64,
    stats: MapStats,
}

impl MapGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// A graph of `requests` that are finished or expired (after the filter changed).
    pub fn rebuild<'a>(requests: impl IntoIterator<Item = &'a Request>) -> Self {
        let mut graph = Self::new();
        for request in requests {
            if !request.is_open() {
                graph.record(request);
            }
        }
        graph
    }

    pub fn nodes(&self) -> &[MapNode] {
        &self.nodes
    }

    pub fn edges(&self) -> &[MapEdge] {
        &self.edges
    }

    pub fn shape(&self) -> u64 {
        self.shape
    }

    pub fn stats(&self) -> MapStats {
        self.stats
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node of workload `id`.
    pub fn node(&self, id: &WorkloadId) -> Option<usize> {
        self.node_index
            .get(format!("{}/{}", id.namespace, id.name).as_str())
            .copied()
    }

    /// The capture began at `at` (or before); see `RouteTable::note_start`.
    pub fn note_start(&mut self, at: DateTime<Utc>) {
        self.started = Some(self.started.map_or(at, |s| s.min(at)));
    }

    /// Adds one finished or expired request.
    pub fn record(&mut self, request: &Request) {
        self.stats.recorded += 1;
        self.note_start(request.started);
        let (Some(from), Some(to)) = (
            self.node_of(&request.source),
            self.node_of(&request.destination),
        ) else {
            self.stats.dropped += 1;
            return;
        };
        let Some(edge) = self.edge_of(from, to) else {
            self.stats.dropped += 1;
            return;
        };
        let outbound = request.direction() != Direction::Inbound;
        let (reporter, peer) = if outbound { (from, to) } else { (to, from) };
        let (identity, label) = request.identity();
        let state = TlsState::from_label(label);
        let edge = &mut self.edges[edge];
        let side = if outbound {
            &mut edge.outbound
        } else {
            &mut edge.inbound
        };
        let side = side.get_or_insert_with(Box::default);
        side.stats.record(request);
        side.tls[state.index()] += 1;
        // The identity speaks for the peer: the server's on outbound, the client's on inbound.
        if let Some(id) = identity.filter(|id| !id.is_empty()) {
            let node = &mut self.nodes[peer];
            if !node.identities.iter().any(|known| known.as_ref() == id)
                && node.identities.len() < MAX_NODE_IDENTITIES
            {
                node.identities.push(Text::from(id));
            }
        }
        self.mark_meshed(reporter);
        if state.is_mtls() {
            self.mark_meshed(peer);
        }
    }

    fn mark_meshed(&mut self, node: usize) {
        if !self.nodes[node].meshed {
            self.nodes[node].meshed = true;
            self.shape += 1;
        }
    }

    fn node_of(&mut self, endpoint: &super::event::Endpoint) -> Option<usize> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        write_workload(&mut scratch, endpoint);
        let found = self.node_index.get(scratch.as_str()).copied();
        let node = found.or_else(|| {
            if self.nodes.len() >= MAX_NODES {
                return None;
            }
            let (namespace, name) = scratch.split_once('/').unwrap_or(("", "?"));
            self.nodes.push(MapNode {
                id: WorkloadId {
                    namespace: Text::from(namespace),
                    name: Text::from(name),
                },
                meshed: false,
                identities: Vec::new(),
            });
            self.node_index
                .insert(scratch.as_str().into(), self.nodes.len() - 1);
            self.shape += 1;
            Some(self.nodes.len() - 1)
        });
        self.scratch = scratch;
        node
    }

    fn edge_of(&mut self, from: usize, to: usize) -> Option<usize> {
        if let Some(&edge) = self.edge_index.get(&(from, to)) {
            return Some(edge);
        }
        if self.edges.len() >= MAX_EDGES {
            return None;
        }
        self.edges.push(MapEdge {
            from,
            to,
            outbound: None,
            inbound: None,
        });
        self.edge_index.insert((from, to), self.edges.len() - 1);
        self.shape += 1;
        Some(self.edges.len() - 1)
    }

    /// The figures of edge `edge` over `window` ending at `now`. With `scratch` (reused between
    /// edges so a frame does not allocate a histogram per edge) the p99 too; without it only
    /// the counters, which costs no histogram merge.
    pub fn figures(
        &self,
        edge: usize,
        now: DateTime<Utc>,
        window: Window,
        scratch: Option<&mut Histogram<u32>>,
    ) -> EdgeFigures {
        let Some(side) = self.edges.get(edge).and_then(MapEdge::side) else {
            return EdgeFigures::default();
        };
        let summary = match scratch {
            Some(scratch) => side.stats.summary(now, window, self.started, scratch),
            None => side.stats.counts(now, window, self.started),
        };
        EdgeFigures {
            requests: summary.requests,
            rps: summary.rps,
            success_rate: summary.success_rate,
            p99_us: summary.p99_us,
            tls: side.tls,
        }
    }

    /// Every edge's figures, indexed like [`MapGraph::edges`].
    pub fn all_figures(&self, now: DateTime<Utc>, window: Window) -> Vec<EdgeFigures> {
        // Creating a histogram with a valid precision cannot fail.
        let Some(mut scratch) = super::routes::stats::latency_scratch() else {
            return Vec::new();
        };
        (0..self.edges.len())
            .map(|edge| self.figures(edge, now, window, Some(&mut scratch)))
            .collect()
    }

    /// Every edge's figures without p99, and with it for the edges in `with_p99`: a frame
    /// needs latencies only where it prints them (the side panel), and merging a histogram per
    /// edge is what a large map's frame would spend its time on.
    pub fn figures_for_frame(
        &self,
        now: DateTime<Utc>,
        window: Window,
        with_p99: &[usize],
    ) -> Vec<EdgeFigures> {
        let mut figures: Vec<EdgeFigures> = (0..self.edges.len())
            .map(|edge| self.figures(edge, now, window, None))
            .collect();
        if let Some(mut scratch) = super::routes::stats::latency_scratch() {
            for &edge in with_p99 {
                if let Some(slot) = figures.get_mut(edge) {
                    *slot = self.figures(edge, now, window, Some(&mut scratch));
                }
            }
        }
        figures
    }
}
