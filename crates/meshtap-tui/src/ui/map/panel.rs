//! The map's side panel: the selected node's in and out figures (sampled, and what the metrics
//! API's `StatSummary` counted: every request received, its pods and open connections), its identities,
//! and each of its edges (the `Tab`-selected one highlighted) with RPS, success rate, p99 and TLS.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::canvas::Health;
use crate::app::AppState;
use crate::model::identities::{WorkloadId, short_identity};
use crate::model::map::EdgeFigures;
use crate::model::map::project::{DisplayKind, DisplayNode};
use crate::ui::routes::format::{latency, percent, rps};

/// `3.1/s 99.5% p99 45ms`: an edge's or a direction's figures in one short run.
pub fn figures_text(f: &EdgeFigures) -> String {
    if f.requests == 0 {
        return "idle".to_owned();
    }
    let sr = f.success_rate.map_or_else(|| "-".to_owned(), percent);
    let p99 = f.p99_us.map_or_else(|| "-".to_owned(), latency);
    format!("{}/s {sr} p99 {p99}", rps(f.rps))
}

/// What Prometheus saw a workload node receive (every request, not the tap's sample), its pods
/// and open connections: two lines from its `StatSummary` row.
fn workload_lines(state: &AppState, display: &DisplayNode, name: &str) -> Vec<Line<'static>> {
    if matches!(display.kind, DisplayKind::Namespace { .. }) {
        return Vec::new();
    }
    let id = WorkloadId {
        namespace: display.namespace.clone(),
        name: name.into(),
    };
    let Some(w) = state.metrics.as_ref().and_then(|m| m.workload(&id)) else {
        return Vec::new();
    };
    let figures = match &w.stats {
        Some(s) if s.requests > 0 => {
            let sr = s.success_rate.map_or_else(|| "-".to_owned(), percent);
            let p99 = latency(s.p99_ms.saturating_mul(1_000));
            format!("in {}/s {sr} p99 {p99}", rps(s.rps))
        }
        _ => "in idle".to_owned(),
    };
    let mut pods = format!("{}/{} meshed", w.meshed_pods, w.running_pods);
    if let Some(open) = w.open_connections {
        let _ = write!(pods, " · {open} TCP conns");
    }
    let theme = &state.theme;
    vec![
        Line::from(vec![
            Span::styled("api ", theme.label_key),
            Span::styled(figures, theme.dim),
        ]),
        Line::from(vec![
            Span::styled("pods ", theme.label_key),
            Span::styled(pods, theme.dim),
        ]),
    ]
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, figures: &[EdgeFigures]) {
    let theme = &state.theme;
    let map = &state.map_view;
    let block = Block::new()
        .borders(Borders::TOP | Borders::LEFT)
        .border_style(theme.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(node) = map.selected_node() else {
        return;
    };
    let display = &map.projection.nodes[node];
    let what = match display.kind {
        DisplayKind::Workload { meshed: true } => "meshed".to_owned(),
        DisplayKind::Workload { meshed: false } => "no proxy (unmeshed)".to_owned(),
        DisplayKind::Namespace { workloads } => format!("namespace, {workloads} workloads"),
        DisplayKind::MetricsOnly => "seen only by the metrics API".to_owned(),
    };
    let kind = display
        .key
        .strip_prefix(display.namespace.as_ref())
        .and_then(|k| k.strip_prefix('/'))
        .unwrap_or(&display.label);
    let mut lines = vec![Line::from(vec![
        Span::styled(kind.to_owned(), theme.header),
        Span::styled(format!("  {} · {what}", display.namespace), theme.dim),
    ])];
    let edges = map.projection.edges_of(node);
    let total = |into: bool| {
        let mut sum = EdgeFigures::default();
        for &e in &edges {
            if (map.projection.edges[e].to == node) == into {
                sum.merge(&figures[e]);
            }
        }
        sum
    };
    for (word, into) in [("in ", true), ("out", false)] {
        let f = total(into);
        let health = Health::of(f.success_rate, f.requests);
        lines.push(Line::from(vec![
            Span::styled(format!("{word} "), theme.label_key),
            Span::styled(figures_text(&f), super::health_style(health, theme)),
        ]));
    }
    let api = workload_lines(state, display, kind);
    let api_lines = api.len();
    lines.extend(api);
    let mut identities: Vec<&str> = display
        .members
        .iter()
        .filter_map(|&m| state.map.nodes().get(m))
        .flat_map(|n| n.identities.iter().map(|id| short_identity(id)))
        .collect();
    identities.dedup();
    if !identities.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("id  ", theme.label_key),
            Span::raw(identities.join(", ")),
        ]));
    }
    let cursor = map.selected_edge();
    for &e in &edges {
        let edge = &map.projection.edges[e];
        let f = &figures[e];
        let (arrow, other) = if edge.from == edge.to {
            ("↻", node)
        } else if edge.to == node {
            ("←", edge.from)
        } else {
            ("→", edge.to)
        };
        let name = &map.projection.nodes[other].label;
        let tls = if edge.metrics_only() {
            "metrics API only".to_owned()
        } else {
            format!("{} {}", figures_text(f), f.tls_mix().word())
        };
        let style = if Some(e) == cursor {
            theme.selected
        } else {
            super::health_style(Health::of(f.success_rate, f.requests), theme)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{arrow} {name:<14} "), style),
            Span::styled(tls, style),
        ]));
    }
    // The panel under a short graph has few rows: keep the Tab-selected edge in view.
    let skip = cursor
        .and_then(|c| edges.iter().position(|&e| e == c))
        .map_or(0, |i| {
            (i + 4 + api_lines).saturating_sub(usize::from(inner.height))
        });
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
