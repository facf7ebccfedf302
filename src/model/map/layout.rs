//! Layered left-to-right layout of the map: callers before callees, cycles broken
//! deterministically, long edges routed through placeholder slots, rows grouped in bands (one per
//! namespace), and stable: a node that was placed before keeps its layer and its order among the
//! old nodes of its layer unless a new edge forces it further right.
//!
//! Pure and in grid units (layer, row); the pane turns it into character cells.

use std::collections::HashMap;

use crate::model::event::Text;

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
    let mut placed: Vec<Vec<(usize, Slot)>> = Vec::with_capacity(layers);
    let mut nodes = vec![Place::default(); n];
    let mut through: HashMap<(usize, usize), usize> = HashMap::new();
    for (layer, list) in slots.iter().enumerate() {
        let mut next_row: Vec<usize> = bands.iter().map(|b| b.top + 1).collect();
        let mut rows = Vec::with_capacity(list.len());
        for &slot in list {
            let g = group_index(slot);
            let row = next_row[g];
            next_row[g] += 1;
            match slot {
                Slot::Node(node) => nodes[node] = Place { layer, row },
                Slot::Through(edge) => {
                    through.insert((edge, layer), row);
                }
            }
            rows.push((row, slot));
        }
        placed.push(rows);
    }
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

/// Each edge as drawn: its ends and the placeholder slots between them.
fn paths(
    dag: &[(usize, usize)],
    reversed: &[bool],
    layer_of: &[usize],
    nodes: &[Place],
    through: &HashMap<(usize, usize), usize>,
) -> Vec<EdgePath> {
    dag.iter()
        .zip(reversed)
        .enumerate()
        .map(|(edge, (&(a, b), &reversed))| {
            if a == b {
                return EdgePath::default();
            }
            let mut points = vec![nodes[a]];
            for layer in layer_of[a] + 1..layer_of[b] {
                let row = through.get(&(edge, layer)).copied().unwrap_or(0);
                points.push(Place { layer, row });
            }
            points.push(nodes[b]);
            EdgePath { reversed, points }
        })
        .collect()
}

/// A band per group: a header row, then as many rows as the group's fullest layer needs.
fn bands(groups: &[&Text], slots: &[Vec<Slot>], group_index: &dyn Fn(Slot) -> usize) -> Vec<Band> {
    let mut heights = vec![0usize; groups.len()];
    for layer in slots {
        let mut counts = vec![0usize; groups.len()];
        for slot in layer {
            counts[group_index(*slot)] += 1;
        }
        for (height, count) in heights.iter_mut().zip(counts) {
            *height = (*height).max(count);
        }
    }
    let mut bands = Vec::with_capacity(groups.len());
    let mut top = 0;
    for (group, height) in groups.iter().zip(heights) {
        bands.push(Band {
            group: (*group).clone(),
            top,
            height: height + 1,
        });
        top += height + 1;
    }
    bands
}

/// Marks the edges to reverse so the rest is acyclic: nodes are put in a line by the greedy
/// heuristic of Eades, Lin and Smyth (sinks to the right, sources to the left, else the node with
/// the most outgoing over incoming edges, the lowest rank on a tie) and every edge pointing
/// backwards in that line is reversed. Unlike a depth-first search it keeps dense graphs shallow.
/// Self-loops are never reversed.
fn break_cycles(input: &LayoutInput, rank: &[usize], position: &[usize]) -> Vec<bool> {
    let n = input.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut inn: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &input.edges {
        if a != b {
            out[a].push(b);
            inn[b].push(a);
        }
    }
    let (mut outdeg, mut indeg): (Vec<usize>, Vec<usize>) = (
        (0..n).map(|v| out[v].len()).collect(),
        (0..n).map(|v| inn[v].len()).collect(),
    );
    let mut removed = vec![false; n];
    let (mut left, mut right) = (Vec::with_capacity(n), Vec::new());
    let remove =
        |v: usize, removed: &mut Vec<bool>, outdeg: &mut Vec<usize>, indeg: &mut Vec<usize>| {
            removed[v] = true;
            for &w in &out[v] {
                indeg[w] -= 1;
            }
            for &u in &inn[v] {
                outdeg[u] -= 1;
            }
        };
    let mut left_count = 0;
    while left_count + right.len() < n {
        let live = || rank.iter().copied().filter(|&v| !removed[v]);
        if let Some(sink) = live().find(|&v| outdeg[v] == 0) {
            remove(sink, &mut removed, &mut outdeg, &mut indeg);
            right.push(sink);
            continue;
        }
        let pick = live().find(|&v| indeg[v] == 0).or_else(|| {
            live().max_by_key(|&v| {
                (
                    outdeg[v].cast_signed() - indeg[v].cast_signed(),
                    std::cmp::Reverse(position[v]),
                )
            })
        });
        let Some(v) = pick else { break };
        remove(v, &mut removed, &mut outdeg, &mut indeg);
        left.push(v);
        left_count += 1;
    }
    left.extend(right.into_iter().rev());
    let mut at = vec![0usize; n];
    for (i, &v) in left.iter().enumerate() {
        at[v] = i;
    }
    input
        .edges
        .iter()
        .map(|&(a, b)| a != b && at[a] > at[b])
        .collect()
}

/// Longest path from the sources, never left of where a node was before (`remembered`).
fn assign_layers(
    n: usize,
    dag: &[(usize, usize)],
    rank: &[usize],
    position: &[usize],
    remembered: impl Fn(usize) -> Option<usize>,
) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(a, b) in dag {
        if a != b {
            out[a].push(b);
            indegree[b] += 1;
        }
    }
    let mut layer: Vec<usize> = (0..n).map(|v| remembered(v).unwrap_or(0)).collect();
    // Kahn's order, smallest rank first, so equal inputs give equal layouts.
    let mut ready: std::collections::BTreeSet<usize> = rank
        .iter()
        .filter(|&&v| indegree[v] == 0)
        .map(|&v| position[v])
        .collect();
    while let Some(p) = ready.pop_first() {
        let v = rank[p];
        for &w in &out[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.insert(position[w]);
            }
        }
    }
    layer
}

/// Orders each layer: by band, then old slots in their old order, then new ones at the mean
/// position of their callers in the layer before (one left-to-right sweep), then by key.
fn order_layers(
    input: &LayoutInput,
    dag: &[(usize, usize)],
    layer_of: &[usize],
    slots: &mut [Vec<Slot>],
    previous: Option<&Layout>,
    group_index: &dyn Fn(Slot) -> usize,
    position: &[usize],
) {
    let n = input.nodes.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); input.nodes.len()];
    for &(a, b) in dag {
        if a != b && layer_of[b] == layer_of[a] + 1 {
            preds[b].push(a);
        }
    }
    let mut index_in_layer: HashMap<Slot, usize> = HashMap::new();
    for (layer, list) in slots.iter_mut().enumerate() {
        // Ties break on the key's rank (nodes), then on the ends' ranks (long edges, after
        // every node): never on input order.
        let score = |slot: Slot| -> (usize, u8, f64, usize) {
            let g = group_index(slot);
            let (callers, key): (Vec<Slot>, usize) = match slot {
                Slot::Node(node) => {
                    let key = &input.nodes[node].key;
                    if let Some(place) = previous
                        .and_then(|p| p.memory.get(key))
                        .filter(|p| p.layer == layer)
                    {
                        return (g, 0, place.row as f64, position[node]);
                    }
                    let callers = preds[node].iter().map(|&p| Slot::Node(p)).collect();
                    (callers, position[node])
                }
                Slot::Through(edge) => {
                    let (a, b) = dag[edge];
                    let caller = if layer == layer_of[a] + 1 {
                        Slot::Node(a)
                    } else {
                        Slot::Through(edge)
                    };
                    (vec![caller], n + position[a] * n + position[b])
                }
            };
            let known: Vec<f64> = callers
                .iter()
                .filter_map(|c| index_in_layer.get(c).map(|&i| i as f64))
                .collect();
            let mean = if known.is_empty() {
                f64::MAX
            } else {
                known.iter().sum::<f64>() / known.len() as f64
            };
            (g, 1, mean, key)
        };
        let mut scored: Vec<((usize, u8, f64, usize), Slot)> =
            list.iter().map(|&s| (score(s), s)).collect();
        scored.sort_by(|(a, _), (b, _)| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then(a.2.total_cmp(&b.2))
                .then_with(|| a.3.cmp(&b.3))
        });
        *list = scored.into_iter().map(|(_, s)| s).collect();
        // Only the layer just ordered matters to the next one (a long edge keeps its key
        // from layer to layer, so its caller is its own slot one layer back).
        index_in_layer.clear();
        for (i, slot) in list.iter().enumerate() {
            index_in_layer.insert(*slot, i);
        }
    }
}

#[cfg(test)]
mod tests;
