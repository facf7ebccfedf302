//! Placement: the bands (one per group) and each slot's row, and each edge's path through them.

use std::collections::HashMap;

use super::{Band, EdgePath, Place, Slot};
use crate::model::event::Text;

/// A band per group: a header row, then as many rows as the group's fullest layer needs.
pub(super) fn bands(
    groups: &[&Text],
    slots: &[Vec<Slot>],
    group_index: &dyn Fn(Slot) -> usize,
) -> Vec<Band> {
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

/// Where every slot went.
pub(super) struct Rows {
    /// Per layer, top to bottom: each slot with its row.
    pub placed: Vec<Vec<(usize, Slot)>>,
    /// Per node.
    pub nodes: Vec<Place>,
    /// A long edge's row in each layer it passes through, by (edge, layer).
    pub through: HashMap<(usize, usize), usize>,
}

/// Each slot's row: its band's rows in layer order.
pub(super) fn rows(
    slots: &[Vec<Slot>],
    bands: &[Band],
    n: usize,
    group_index: &dyn Fn(Slot) -> usize,
) -> Rows {
    let mut placed: Vec<Vec<(usize, Slot)>> = Vec::with_capacity(slots.len());
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
    Rows {
        placed,
        nodes,
        through,
    }
}

/// Each edge as drawn: its ends and the placeholder slots between them.
pub(super) fn paths(
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
