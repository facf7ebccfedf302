//! The map pane's state and keys: what is folded, the cached projection and layout (redone only
//! when the graph's shape, the folding, the metrics edges or the terminal size change), the
//! selected node and edge, and moving along edges.

pub mod figures;
pub mod geometry;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use self::geometry::Geometry;
use super::action::{Action, Pane, QuickField};
use super::panes::Handoff;
use super::state::{AppState, Level};
use crate::model::event::{Direction, Text};
use crate::model::identities::{IdentityTable, WorkloadId};
use crate::model::map::MapGraph;
use crate::model::map::layout::{Layout, layout};
use crate::model::map::project::{DisplayKind, Folding, Projection};
use crate::model::metrics::{MetricsView, metrics_only_edges};

/// What the cached layout was made from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Inputs {
    shape: u64,
    metrics: u64,
    filtered: bool,
    folding: Folding,
    size: (usize, usize),
}

#[derive(Debug, Default)]
pub struct MapState {
    /// What the user folded (`n`, `+`/`-`).
    pub folding: Folding,
    /// Namespaces folded on top of that because the map did not fit.
    pub auto_folded: usize,
    pub projection: Projection,
    pub layout: Layout,
    pub geometry: Geometry,
    /// The selected display node, by key, so it survives relayouts.
    pub selected: Option<Text>,
    /// With `Tab`: an index into the selected node's edges ([`Projection::edges_of`]).
    pub edge: Option<usize>,
    /// Bumped by every metrics snapshot.
    pub metrics_generation: u64,
    /// The frame's figures, computed off the draw path.
    pub figures: figures::FrameFigures,
    /// Bumped by every layout: the figures are indexed by its edges.
    layouts: u64,
    inputs: Option<Inputs>,
    /// The folding the cached layout used: a relayout under the same folding keeps old nodes put.
    laid_out_with: Option<Folding>,
}

impl MapState {
    /// Brings the projection and layout up to date; cheap when nothing they depend on changed.
    /// `filtered`: the graph holds only what a filter lets through, and the metrics API's edges
    /// are left out, since no filter can ask about them (as `meshtap map --filter` does).
    pub fn refresh(
        &mut self,
        graph: &MapGraph,
        identities: &IdentityTable,
        metrics: Option<&MetricsView>,
        filtered: bool,
        size: (usize, usize),
    ) {
        let inputs = Inputs {
            shape: graph.shape(),
            metrics: self.metrics_generation,
            filtered,
            folding: self.folding.clone(),
            size,
        };
        if self.inputs.as_ref() == Some(&inputs) {
            return;
        }
        let pairs: Vec<(WorkloadId, WorkloadId)> = metrics
            .filter(|_| !filtered)
            .map(|m| metrics_only_edges(identities, &m.snapshot.edges))
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.direction == Direction::Outbound)
            .map(|e| (e.local, e.peer))
            .collect();
        let mut folding = self.folding.clone();
        let keep_open = self
            .selected_namespace()
            .or_else(|| busiest(graph).map(|n| graph.nodes()[n].id.namespace.clone()));
        // Biggest namespaces fold first: they free the most room.
        let mut candidates: Vec<(usize, Text)> = namespaces(graph)
            .into_iter()
            .filter(|(_, ns)| !folding.folds(ns) && Some(ns) != keep_open.as_ref())
            .collect();
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut auto = 0;
        // The last layout shown keeps its nodes put if the map ends up folded the same way.
        let previous = self
            .laid_out_with
            .take()
            .map(|f| (f, std::mem::take(&mut self.layout)));
        loop {
            let same = previous.as_ref().filter(|(f, _)| *f == folding);
            self.lay_out(graph, &folding, &pairs, same.map(|(_, l)| l));
            let fits = self.geometry.width <= size.0 && self.geometry.height <= size.1;
            let Some((_, ns)) = (!fits).then(|| candidates.get(auto)).flatten() else {
                break;
            };
            folding.collapsed.insert(ns.clone());
            auto += 1;
        }
        self.auto_folded = auto;
        self.laid_out_with = Some(folding);
        self.inputs = Some(inputs);
        self.fix_selection();
    }

    fn lay_out(
        &mut self,
        graph: &MapGraph,
        folding: &Folding,
        pairs: &[(WorkloadId, WorkloadId)],
        previous: Option<&Layout>,
    ) {
        self.projection = Projection::new(graph, folding, pairs);
        self.layouts += 1;
        self.layout = layout(&self.projection.layout_input(), previous);
        self.geometry = Geometry::new(&self.projection, &self.layout);
    }

    /// The namespace of the selected node (a namespace node's key is its namespace).
    fn selected_namespace(&self) -> Option<Text> {
        let key = self.selected.as_ref()?;
        Some(
            key.split_once('/')
                .map_or_else(|| key.clone(), |(ns, _)| Text::from(ns)),
        )
    }

    /// Keeps a selection that still exists, else its namespace's node, else the first node.
    fn fix_selection(&mut self) {
        let exists = |key: &Text| self.projection.find(key).is_some();
        if self.selected.as_ref().is_some_and(exists) {
            return;
        }
        self.edge = None;
        let namespace = self.selected_namespace().filter(exists);
        // At first, the busiest node: the heart of the mesh, not whatever sorts first.
        self.selected = namespace.or_else(|| {
            let first = (0..self.projection.nodes.len()).min_by_key(|&n| {
                let place = self.layout.nodes[n];
                (
                    std::cmp::Reverse(self.projection.edges_of(n).len()),
                    place.layer,
                    place.row,
                )
            })?;
            Some(self.projection.nodes[first].key.clone())
        });
    }

    pub fn selected_node(&self) -> Option<usize> {
        self.projection.find(self.selected.as_ref()?)
    }

    /// The display edge under the `Tab` cursor.
    pub fn selected_edge(&self) -> Option<usize> {
        let node = self.selected_node()?;
        self.projection.edges_of(node).get(self.edge?).copied()
    }

    fn select(&mut self, node: usize) {
        self.selected = Some(self.projection.nodes[node].key.clone());
        self.edge = None;
    }

    /// The nearest node in the same layer above (`up`) or below.
    fn step_vertical(&mut self, up: bool) {
        let Some(current) = self.selected_node() else {
            return;
        };
        let here = self.layout.nodes[current];
        let next = self
            .layout
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.layer == here.layer
                    && if up {
                        p.row < here.row
                    } else {
                        p.row > here.row
                    }
            })
            .min_by_key(|(_, p)| p.row.abs_diff(here.row))
            .map(|(n, _)| n);
        if let Some(node) = next {
            self.select(node);
        }
    }

    /// Along an edge: to a callee (`forward`) or a caller; the `Tab`-selected edge if it goes
    /// that way, else the nearest by row. Without such an edge, to the nearest node in the next
    /// layer that way.
    fn step_along(&mut self, forward: bool) {
        let Some(current) = self.selected_node() else {
            return;
        };
        let here = self.layout.nodes[current];
        let other = |e: usize| {
            let edge = &self.projection.edges[e];
            if forward {
                (edge.from == current && edge.to != current).then_some(edge.to)
            } else {
                (edge.to == current && edge.from != current).then_some(edge.from)
            }
        };
        let chosen = self.selected_edge().and_then(other).or_else(|| {
            (0..self.projection.edges.len())
                .filter_map(other)
                .min_by_key(|&n| (self.layout.nodes[n].row.abs_diff(here.row), n))
        });
        let fallback = || {
            let layer = if forward {
                here.layer + 1
            } else {
                here.layer.checked_sub(1)?
            };
            (0..self.layout.nodes.len())
                .filter(|&n| self.layout.nodes[n].layer == layer)
                .min_by_key(|&n| self.layout.nodes[n].row.abs_diff(here.row))
        };
        if let Some(node) = chosen.or_else(fallback) {
            self.select(node);
        }
    }

    /// The node best named by `text` (any case): a label equal to it, else starting with it,
    /// else containing it (in the label or the key). Among equals, the first in reading order
    /// after the selection, wrapping, so repeating a search walks through them.
    pub fn find(&self, text: &str) -> Option<usize> {
        let needle = text.trim().to_lowercase();
        let quality = |n: usize| {
            let node = &self.projection.nodes[n];
            let label = node.label.to_lowercase();
            if label == needle {
                Some(0)
            } else if label.starts_with(&needle) {
                Some(1)
            } else if label.contains(&needle) || node.key.to_lowercase().contains(&needle) {
                Some(2)
            } else {
                None
            }
        };
        let best = (0..self.projection.nodes.len()).filter_map(quality).min()?;
        let mut order: Vec<usize> = (0..self.projection.nodes.len())
            .filter(|&n| quality(n) == Some(best))
            .collect();
        order.sort_by_key(|&n| (self.layout.nodes[n].layer, self.layout.nodes[n].row));
        let start = self
            .selected_node()
            .and_then(|s| order.iter().position(|&n| n == s))
            .map_or(0, |p| p + 1);
        order.get(start % order.len()).copied()
    }
}

/// The graph node with the most edges (the first on a tie).
fn busiest(graph: &MapGraph) -> Option<usize> {
    let mut degree = vec![0usize; graph.nodes().len()];
    for edge in graph.edges() {
        degree[edge.from] += 1;
        degree[edge.to] += 1;
    }
    (0..degree.len()).max_by_key(|&n| (degree[n], std::cmp::Reverse(n)))
}

/// Each namespace of the graph with its number of workloads.
fn namespaces(graph: &MapGraph) -> Vec<(usize, Text)> {
    let mut names: Vec<&Text> = graph.nodes().iter().map(|n| &n.id.namespace).collect();
    names.sort();
    let mut out: Vec<(usize, Text)> = Vec::new();
    for name in names {
        match out.last_mut() {
            Some((count, last)) if last == name => *count += 1,
            _ => out.push((1, name.clone())),
        }
    }
    out
}

impl MapState {
    /// The map's keys: moving between nodes and along edges, folding and zooming; Enter filters
    /// to the selection. `graph` names a folded namespace's first workload.
    pub fn on_key(&mut self, action: &Action, graph: &MapGraph) -> Handoff {
        match action {
            Action::Up | Action::ScrollUp(_) => self.step_vertical(true),
            Action::Down | Action::ScrollDown(_) => self.step_vertical(false),
            Action::Left => self.step_along(false),
            Action::Right => self.step_along(true),
            Action::NextEdge => {
                let count = self
                    .selected_node()
                    .map_or(0, |n| self.projection.edges_of(n).len());
                self.edge = match self.edge {
                    _ if count == 0 => None,
                    None => Some(0),
                    Some(e) if e + 1 < count => Some(e + 1),
                    Some(_) => None,
                };
            }
            Action::ToggleNamespace => return self.toggle_namespace(graph),
            Action::ZoomOut => self.folding.namespaces_only = true,
            Action::ZoomIn => {
                self.folding.namespaces_only = false;
                self.folding.collapsed = BTreeSet::new();
            }
            Action::Open => return Handoff::QuickFilter(QuickField::Edge),
            _ => {}
        }
        Handoff::Done
    }

    fn toggle_namespace(&mut self, graph: &MapGraph) -> Handoff {
        let Some(node) = self.selected_node().map(|n| &self.projection.nodes[n]) else {
            return Handoff::Warn("nothing selected");
        };
        let namespace = node.namespace.clone();
        if matches!(node.kind, DisplayKind::Namespace { .. }) {
            self.folding.namespaces_only = false;
            self.folding.collapsed.remove(&namespace);
            // Its first workload takes the selection, so the namespace stays in view.
            let first = graph
                .nodes()
                .iter()
                .find(|n| n.id.namespace == namespace)
                .map(|n| Text::from(format!("{}/{}", n.id.namespace, n.id.name)));
            self.selected = first;
        } else {
            self.folding.collapsed.insert(namespace.clone());
            self.selected = Some(namespace);
        }
        self.edge = None;
        Handoff::Done
    }
}

impl AppState {
    pub(super) fn find_node(&mut self, text: &str, now: DateTime<Utc>) {
        match self.map_view.find(text) {
            Some(node) => self.map_view.select(node),
            None => self.notify_until(
                Level::Warning,
                format!("no node on the map matches {text:?}"),
                now,
                super::state::Until::PaneChange,
            ),
        }
    }

    pub(super) fn refresh_map(&mut self) {
        let size = super::layout::map_graph_size(self.width, self.height);
        let filtered = self.view.filter().is_some();
        self.map_view.refresh(
            &self.map,
            &self.identities,
            self.metrics.as_ref(),
            filtered,
            size,
        );
    }

    /// The filter clause for the selected map node, or its `Tab`-selected edge.
    pub(super) fn map_clause(&self) -> Result<String, &'static str> {
        let map = &self.map_view;
        let node = map.selected_node().ok_or("nothing selected")?;
        let term = |n: usize| {
            let node = &map.projection.nodes[n];
            match node.kind {
                DisplayKind::Namespace { .. } => None,
                _ => super::quick::workload_term(&WorkloadId {
                    namespace: node.namespace.clone(),
                    name: node.key[node.namespace.len() + 1..].into(),
                }),
            }
        };
        let namespace = |n: usize| map.projection.nodes[n].namespace.to_string();
        if let Some(edge) = map.selected_edge().map(|e| &map.projection.edges[e]) {
            let side = |n: usize, field: &str| match term(n) {
                Some(w) => format!("{field}={w}"),
                None => format!("{field}.ns={}", super::quick::quote(&namespace(n))),
            };
            return Ok(format!(
                "{} and {}",
                side(edge.from, "src"),
                side(edge.to, "dst")
            ));
        }
        Ok(match term(node) {
            Some(w) => format!("(src={w} or dst={w})"),
            None => format!("ns={}", super::quick::quote(&namespace(node))),
        })
    }
}

/// Which pane a quick filter switches to afterwards: from the identities and the map, the
/// requests, since seeing them is the point.
pub(super) fn shows_requests_after_quick_filter(pane: Pane) -> bool {
    matches!(pane, Pane::Identities | Pane::Map)
}
