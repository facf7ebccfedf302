//! Layered left-to-right layout of the map: callers before callees, cycles broken
//! deterministically, long edges routed through placeholder slots, rows grouped in bands (one per
//! namespace), and stable: a node that was placed before keeps its layer and its order among the
//! old nodes of its layer unless a new edge forces it further right.
//!
//! Pure and in grid units (layer, row); the pane turns it into character cells.

use std::collections::HashMap;

use crate::model::event::Text;

mod cycles;
mod layers;
mod order;
mod place;

use cycles::break_cycles;
use layers::assign_layers;
use order::order_layers;
use place::{bands, paths, rows};

/// A node to place: a unique key and the group (namespace) whose band it is drawn in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutNode {
    pub key: Text,
    pub group: Text,
}

#[derive(Clone, Debug, Default)]
pub struct LayoutInput {
    pub nodes: Vec<LayoutNode>,
    /// Caller → callee, as indices into `nodes`.
    pub edges: Vec<(usize, usize)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub layer: usize,
    pub row: usize,
}

/// What occupies a slot of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Node(usize),
    /// A long edge passing through this layer (index into the input's edges).
    Through(usize),
}

/// How one input edge is drawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgePath {
    /// The edge points right to left: it was reversed to break a cycle.
    pub reversed: bool,
    /// From the left end to the right end, one place per layer; empty for a self-loop.
    pub points: Vec<Place>,
}

/// A group's rows: its header row is `top`, its slots follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    pub group: Text,
    pub top: usize,
    pub height: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub layers: usize,
    pub rows: usize,
    /// Per input node.
    pub nodes: Vec<Place>,
    /// Per input edge.
    pub edges: Vec<EdgePath>,
    /// Per layer, top to bottom.
    pub slots: Vec<Vec<(usize, Slot)>>,
    pub bands: Vec<Band>,
    /// Where each node key was, for the next layout's stability.
    memory: HashMap<Text, Place>,
    /// The node at each place.
    at: HashMap<Place, usize>,
}

impl Layout {
    /// The node at `place`, if any.
    pub fn node_at(&self, place: Place) -> Option<usize> {
        self.at.get(&place).copied()
    }
}

/// Lays `input` out; `previous` (the last layout of the same view) keeps old nodes where they were.
pub fn layout(input: &LayoutInput, previous: Option<&Layout>) -> Layout {
    let n = input.nodes.len();
    // Deterministic visiting order: by group, then key — never by arrival order.
    let mut rank: Vec<usize> = (0..n).collect();
    rank.sort_by(|&a, &b| {
        let (x, y) = (&input.nodes[a], &input.nodes[b]);
        (&x.group, &x.key).cmp(&(&y.group, &y.key))
    });
    let mut position = vec![0; n];
    for (i, &node) in rank.iter().enumerate() {
        position[node] = i;
    }
    let reversed = break_cycles(input, &rank, &position);
    let dag: Vec<(usize, usize)> = input
        .edges
        .iter()
        .zip(&reversed)
        .map(|(&(a, b), &r)| if r { (b, a) } else { (a, b) })
        .collect();
    let layer_of = assign_layers(n, &dag, &rank, &position, |node| {
        previous.and_then(|p| p.memory.get(&input.nodes[node].key).map(|p| p.layer))
    });
    let layers = layer_of.iter().max().map_or(0, |m| m + 1);

    // Slots per layer: the nodes, then every long edge passing through.
    let mut slots: Vec<Vec<Slot>> = vec![Vec::new(); layers];
    for (node, &layer) in layer_of.iter().enumerate() {
        slots[layer].push(Slot::Node(node));
    }
    for (edge, &(a, b)) in dag.iter().enumerate() {
        if a != b {
            for slot in slots.iter_mut().take(layer_of[b]).skip(layer_of[a] + 1) {
                slot.push(Slot::Through(edge));
            }
        }
    }
    let mut groups: Vec<&Text> = input.nodes.iter().map(|node| &node.group).collect();
    groups.sort();
    groups.dedup();
    let node_group: Vec<usize> = input
        .nodes
        .iter()
        .map(|node| groups.binary_search(&&node.group).unwrap_or(0))
        .collect();
    // A long edge's placeholders sit in its caller's band.
    let group_index = |slot: Slot| match slot {
        Slot::Node(node) => node_group[node],
        Slot::Through(edge) => node_group[dag[edge].0],
    };

    order_layers(
        input,
        &dag,
        &layer_of,
        &mut slots,
        previous,
        &group_index,
        &position,
    );

    let bands = bands(&groups, &slots, &group_index);
    let top = bands.last().map_or(0, |b| b.top + b.height);
    let place::Rows {
        placed,
        nodes,
        through,
    } = rows(&slots, &bands, n, &group_index);
    let edges = paths(&dag, &reversed, &layer_of, &nodes, &through);
    let memory = input
        .nodes
        .iter()
        .zip(&nodes)
        .map(|(node, place)| (node.key.clone(), *place))
        .collect();
    let at = nodes.iter().enumerate().map(|(n, p)| (*p, n)).collect();
    Layout {
        layers,
        rows: top,
        at,
        nodes,
        edges,
        slots: placed,
        bands,
        memory,
    }
}

#[cfg(test)]
mod tests;
