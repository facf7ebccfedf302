//! Where the map's columns go: each layer's width (its longest label) and, in the gap after it,
//! a track column per source row so that edges leaving different nodes never run together.

use std::collections::HashMap;

use crate::model::map::layout::{Layout, Slot};
use crate::model::map::project::{DisplayKind, DisplayNode, Projection};

/// Longest node label, in characters, before it is cut with `…`.
pub const MAX_LABEL_CHARS: usize = 22;

/// Columns of each layer and gap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// First column of each layer.
    pub x: Vec<usize>,
    pub widths: Vec<usize>,
    /// Per gap (after layer L): the track column of each source row.
    pub tracks: Vec<HashMap<usize, usize>>,
    pub width: usize,
    pub height: usize,
}

/// A node's label as drawn: `[name]` meshed, `(name)` without a proxy, `[+ns 12]` a collapsed
/// namespace.
pub fn label(node: &DisplayNode) -> String {
    let text = match node.kind {
        DisplayKind::Workload { meshed: false } => format!("({})", node.label),
        DisplayKind::Workload { meshed: true } | DisplayKind::MetricsOnly => {
            format!("[{}]", node.label)
        }
        DisplayKind::Namespace { workloads } => format!("[+{} {workloads}]", node.label),
    };
    if text.chars().count() <= MAX_LABEL_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_LABEL_CHARS - 2).collect();
    cut.push('…');
    cut.push(text.chars().last().unwrap_or(']'));
    cut
}

impl Geometry {
    pub fn new(projection: &Projection, layout: &Layout) -> Self {
        let mut widths = vec![0; layout.layers];
        for (node, place) in projection.nodes.iter().zip(&layout.nodes) {
            widths[place.layer] = widths[place.layer].max(label(node).chars().count());
        }
        for (layer, slots) in layout.slots.iter().enumerate() {
            if slots.iter().any(|(_, s)| matches!(s, Slot::Through(_))) {
                widths[layer] = widths[layer].max(1);
            }
        }
        // Per gap: each source row's vertical span and the rows it enters.
        let mut spans: Vec<HashMap<usize, Span>> =
            vec![HashMap::new(); layout.layers.saturating_sub(1)];
        for path in &layout.edges {
            for pair in path.points.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let span = spans[a.layer].entry(a.row).or_insert(Span {
                    lo: a.row,
                    hi: a.row,
                    targets: Vec::new(),
                });
                span.lo = span.lo.min(b.row);
                span.hi = span.hi.max(b.row);
                span.targets.push(b.row);
            }
        }
        let mut tracks = Vec::with_capacity(spans.len());
        let mut x = Vec::with_capacity(layout.layers);
        let mut column = 0;
        for (layer, width) in widths.iter().enumerate() {
            x.push(column);
            column += width;
            let Some(gap) = spans.get(layer) else { break };
            let (assigned, count) = assign_tracks(gap);
            tracks.push(
                assigned
                    .into_iter()
                    .map(|(row, t)| (row, column + 1 + t))
                    .collect(),
            );
            column += count.max(1) + 2;
        }
        Geometry {
            x,
            widths,
            tracks,
            width: column,
            height: layout.rows,
        }
    }
}

/// One source row's edges across a gap.
#[derive(Clone, Debug)]
struct Span {
    lo: usize,
    hi: usize,
    targets: Vec<usize>,
}

/// Track columns (0-based) for each source row of a gap, and how many there are. Spans sharing
/// a row never share a track, and a source's track is left of every track that enters its row,
/// so its outgoing stub and a line coming into its row never run together. Sources are placed
/// in that order (top first among equals; a cycle of such constraints falls back to the top).
fn assign_tracks(gap: &HashMap<usize, Span>) -> (HashMap<usize, usize>, usize) {
    let mut waiting: Vec<usize> = gap.keys().copied().collect();
    waiting.sort_by_key(|row| (gap[row].lo, *row));
    let mut pending: std::collections::HashSet<usize> = waiting.iter().copied().collect();
    let mut ends: Vec<usize> = Vec::new();
    let mut assigned: HashMap<usize, usize> = HashMap::new();
    while !waiting.is_empty() {
        // A source may go once every other waiting source sitting on a row it enters is placed.
        let pick = waiting
            .iter()
            .position(|row| {
                gap[row]
                    .targets
                    .iter()
                    .all(|t| t == row || !pending.contains(t))
            })
            .unwrap_or(0);
        let row = waiting.remove(pick);
        pending.remove(&row);
        let span = &gap[&row];
        let floor = span
            .targets
            .iter()
            .filter(|t| **t != row)
            .filter_map(|t| assigned.get(t))
            .map(|t| t + 1)
            .max()
            .unwrap_or(0);
        let track = (floor..ends.len())
            .find(|&t| ends[t] < span.lo)
            .unwrap_or(ends.len());
        if track == ends.len() {
            ends.push(span.hi);
        } else {
            ends[track] = span.hi;
        }
        assigned.insert(row, track);
    }
    (assigned, ends.len())
}
