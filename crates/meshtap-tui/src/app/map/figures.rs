//! The map's figures for the next frame: every display edge's requests, RPS, success rate and
//! TLS, with p99 only on the selected node's edges (the side panel prints them). Computed here,
//! once per tick or key at most, and redone only when what they depend on moved (the graph's
//! requests, the layout, the selection, the window, the second), so drawing only reads them:
//! with folded namespaces a selected node's p99 merges hundreds of histograms.

use chrono::{DateTime, Utc};

use super::MapState;
use crate::model::event::Text;
use crate::model::map::{EdgeFigures, MapGraph};
use crate::model::routes::Window;

/// What the cached figures were computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    recorded: u64,
    layout: u64,
    selected: Option<Text>,
    window: Window,
    /// The windows roll by the second: within one, the same requests give the same figures.
    second: i64,
}

#[derive(Debug, Default)]
pub struct FrameFigures {
    /// Indexed like the projection's edges.
    pub edges: Vec<EdgeFigures>,
    key: Option<Key>,
}

impl MapState {
    /// Brings [`MapState::figures`] up to date for a frame at `now`; cheap when nothing moved.
    pub fn refresh_figures(&mut self, graph: &MapGraph, window: Window, now: DateTime<Utc>) {
        let key = Key {
            recorded: graph.stats().recorded,
            layout: self.layouts,
            selected: self.selected.clone(),
            window,
            second: now.timestamp(),
        };
        if self.figures.key.as_ref() == Some(&key) {
            return;
        }
        let projection = &self.projection;
        let shown: Vec<usize> = self
            .selected_node()
            .map(|n| projection.edges_of(n))
            .unwrap_or_default()
            .into_iter()
            .flat_map(|e| projection.edges[e].members.iter().copied())
            .collect();
        let per_edge = graph.figures_for_frame(now, window, &shown);
        self.figures.edges = (0..projection.edges.len())
            .map(|e| projection.figures(e, &per_edge))
            .collect();
        self.figures.key = Some(key);
    }
}
