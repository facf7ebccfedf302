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
}

impl Layout {
    /// The node at `place`, if any.
    pub fn node_at(&self, place: Place) -> Option<usize> {
        self.slots.get(place.layer)?.iter().find_map(|(row, slot)| match slot {
            Slot::Node(n) if *row == place.row => Some(*n),
            _ => None,
        })
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
    let group_of = |slot: Slot| match slot {
        Slot::Node(node) => &input.nodes[node].group,
        Slot::Through(edge) => &input.nodes[dag[edge].0].group,
    };
    let mut groups: Vec<&Text> = input.nodes.iter().map(|node| &node.group).collect();
    groups.sort();
    groups.dedup();
    let group_index = |slot: Slot| groups.binary_search(&group_of(slot)).unwrap_or(0);

    order_layers(input, &dag, &layer_of, &mut slots, previous, &group_index);

    // Bands: a header row, then as many rows as the group's fullest layer needs.
    let mut bands = Vec::with_capacity(groups.len());
    let mut top = 0;
    for (g, group) in groups.iter().enumerate() {
        let height = slots
            .iter()
            .map(|layer| layer.iter().filter(|s| group_index(**s) == g).count())
            .max()
            .unwrap_or(0);
        bands.push(Band {
            group: (*group).clone(),
            top,
            height: height + 1,
        });
        top += height + 1;
    }
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
    let edges = dag
        .iter()
        .zip(&reversed)
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
        .collect();
    let memory = input
        .nodes
        .iter()
        .zip(&nodes)
        .map(|(node, place)| (node.key.clone(), *place))
        .collect();
    Layout {
        layers,
        rows: top,
        nodes,
        edges,
        slots: placed,
        bands,
        memory,
    }
}

/// Marks the edges that close a cycle (depth-first, sources first, then by rank); self-loops are
/// never reversed.
fn break_cycles(input: &LayoutInput, rank: &[usize], position: &[usize]) -> Vec<bool> {
    let n = input.nodes.len();
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for (edge, &(a, b)) in input.edges.iter().enumerate() {
        if a != b {
            out[a].push((position[b], edge));
            indegree[b] += 1;
        }
    }
    for list in &mut out {
        list.sort_unstable();
    }
    let mut reversed = vec![false; input.edges.len()];
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; n];
    let roots = rank
        .iter()
        .filter(|&&v| indegree[v] == 0)
        .chain(rank.iter().filter(|&&v| indegree[v] > 0));
    for &root in roots {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&(_, edge)) = out[node].get(*next) {
                *next += 1;
                let target = input.edges[edge].1;
                match state[target] {
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => reversed[edge] = true,
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    reversed
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
) {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); input.nodes.len()];
    for &(a, b) in dag {
        if a != b && layer_of[b] == layer_of[a] + 1 {
            preds[b].push(a);
        }
    }
    let mut index_in_layer: HashMap<Slot, usize> = HashMap::new();
    for (layer, list) in slots.iter_mut().enumerate() {
        let score = |slot: Slot| -> (usize, u8, f64, String) {
            let g = group_index(slot);
            let (callers, key): (Vec<Slot>, String) = match slot {
                Slot::Node(node) => {
                    let key = &input.nodes[node].key;
                    if let Some(place) = previous
                        .and_then(|p| p.memory.get(key))
                        .filter(|p| p.layer == layer)
                    {
                        return (g, 0, place.row as f64, key.to_string());
                    }
                    let callers = preds[node].iter().map(|&p| Slot::Node(p)).collect();
                    (callers, key.to_string())
                }
                Slot::Through(edge) => {
                    let (a, b) = dag[edge];
                    let caller = if layer == layer_of[a] + 1 {
                        Slot::Node(a)
                    } else {
                        Slot::Through(edge)
                    };
                    let key = format!("~{}\u{1f}{}", input.nodes[a].key, input.nodes[b].key);
                    (vec![caller], key)
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
        let mut scored: Vec<((usize, u8, f64, String), Slot)> =
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
