//! What the map draws: the graph's workloads, or whole namespaces where they are collapsed, with
//! the edges between them merged, plus the edges only the metrics API knows. Its output is the
//! layout's input.

use std::collections::{BTreeSet, HashMap};

use super::layout::{LayoutInput, LayoutNode};
use super::{EdgeFigures, MapGraph};
use crate::model::event::Text;
use crate::model::identities::WorkloadId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisplayKind {
    /// One workload; `meshed` is false for a peer without a proxy (a load generator).
    Workload { meshed: bool },
    /// A collapsed namespace of this many workloads.
    Namespace { workloads: usize },
    /// A workload only the metrics API named.
    MetricsOnly,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayNode {
    /// Unique: `ns/kind/name` for a workload, `ns` for a namespace.
    pub key: Text,
    pub namespace: Text,
    /// What the box says: the workload's name without its kind, or the namespace.
    pub label: Text,
    pub kind: DisplayKind,
    /// The graph nodes it stands for.
    pub members: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayEdge {
    pub from: usize,
    pub to: usize,
    /// The graph edges it stands for; empty when only the metrics API knows it.
    pub members: Vec<usize>,
}

impl DisplayEdge {
    pub fn metrics_only(&self) -> bool {
        self.members.is_empty()
    }
}

/// Which workloads the map folds into their namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Folding {
    /// Every namespace is one node (zoomed out).
    pub namespaces_only: bool,
    pub collapsed: BTreeSet<Text>,
}

impl Folding {
    pub fn folds(&self, namespace: &str) -> bool {
        self.namespaces_only || self.collapsed.contains(namespace)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Projection {
    pub nodes: Vec<DisplayNode>,
    pub edges: Vec<DisplayEdge>,
    index: HashMap<Text, usize>,
}

impl Projection {
    /// Projects `graph` under `folding`; `metrics_only` are caller → callee pairs the metrics
    /// API reported and the sample has not seen.
    pub fn new(
        graph: &MapGraph,
        folding: &Folding,
        metrics_only: &[(WorkloadId, WorkloadId)],
    ) -> Self {
        let mut out = Projection::default();
        let mut of_node = Vec::with_capacity(graph.nodes().len());
        for (i, node) in graph.nodes().iter().enumerate() {
            let kind = DisplayKind::Workload {
                meshed: node.meshed,
            };
            let display = out.intern(&node.id, folding, kind);
            out.nodes[display].members.push(i);
            of_node.push(display);
        }
        let mut edge_index: HashMap<(usize, usize), usize> = HashMap::new();
        for (i, edge) in graph.edges().iter().enumerate() {
            let (from, to) = (of_node[edge.from], of_node[edge.to]);
            let display = *edge_index.entry((from, to)).or_insert_with(|| {
                out.edges.push(DisplayEdge {
                    from,
                    to,
                    members: Vec::new(),
                });
                out.edges.len() - 1
            });
            out.edges[display].members.push(i);
        }
        for (client, server) in metrics_only {
            let from = out.intern(client, folding, DisplayKind::MetricsOnly);
            let to = out.intern(server, folding, DisplayKind::MetricsOnly);
            edge_index.entry((from, to)).or_insert_with(|| {
                out.edges.push(DisplayEdge {
                    from,
                    to,
                    members: Vec::new(),
                });
                out.edges.len() - 1
            });
        }
        for node in &mut out.nodes {
            if let DisplayKind::Namespace { workloads } = &mut node.kind {
                *workloads = node.members.len();
            }
        }
        out
    }

    fn intern(&mut self, id: &WorkloadId, folding: &Folding, kind: DisplayKind) -> usize {
        let folded = folding.folds(&id.namespace);
        let key: Text = if folded {
            id.namespace.clone()
        } else {
            format!("{}/{}", id.namespace, id.name).into()
        };
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let (label, kind) = if folded {
            (
                id.namespace.clone(),
                DisplayKind::Namespace { workloads: 0 },
            )
        } else {
            let name = id.name.split_once('/').map_or(&*id.name, |(_, name)| name);
            (Text::from(name), kind)
        };
        self.nodes.push(DisplayNode {
            key: key.clone(),
            namespace: id.namespace.clone(),
            label,
            kind,
            members: Vec::new(),
        });
        self.index.insert(key, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    pub fn find(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    pub fn layout_input(&self) -> LayoutInput {
        LayoutInput {
            nodes: self
                .nodes
                .iter()
                .map(|n| LayoutNode {
                    key: n.key.clone(),
                    group: n.namespace.clone(),
                })
                .collect(),
            edges: self.edges.iter().map(|e| (e.from, e.to)).collect(),
        }
    }

    /// A display edge's figures, from the graph's per-edge figures.
    pub fn figures(&self, edge: usize, per_edge: &[EdgeFigures]) -> EdgeFigures {
        let mut total = EdgeFigures::default();
        for &member in self.edges.get(edge).map_or(&[][..], |e| &e.members) {
            if let Some(f) = per_edge.get(member) {
                total.merge(f);
            }
        }
        total
    }

    /// The edges into and out of `node`, as display edge indices: callers first, then callees.
    pub fn edges_of(&self, node: usize) -> Vec<usize> {
        let into = (0..self.edges.len()).filter(|&e| self.edges[e].to == node);
        let out = (0..self.edges.len())
            .filter(|&e| self.edges[e].from == node && self.edges[e].to != node);
        into.chain(out).collect()
    }
}
