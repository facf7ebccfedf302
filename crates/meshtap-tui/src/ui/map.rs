//! The map pane: workloads grouped by namespace, callers left of callees, edges coloured by
//! success and drawn by TLS state, a legend, and a side panel with the selected node's figures
//! and edges. Reads the layout and the figures the app cached: drawing computes nothing.

pub mod canvas;
mod panel;

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use self::canvas::{Canvas, EdgeLook, Health, Stroke, Tone};
use crate::app::AppState;
use crate::app::layout;
use crate::app::theme::Theme;
use crate::model::map::project::DisplayKind;
use crate::model::map::{EdgeFigures, TlsMix};
use crate::model::routes::Window;

/// The routes pane's window: the map shows the same stretch of time.
fn window(state: &AppState) -> Window {
    state.routes_view.window
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let map = &state.map_view;
    let theme = &state.theme;
    let window = window(state);
    // Computed by the app on the tick before the frame (`app::map::figures`): drawing only
    // reads them. A layout redone since then draws idle until the next tick.
    let idle: Vec<EdgeFigures>;
    let figures = if map.figures.edges.len() == map.projection.edges.len() {
        &map.figures.edges[..]
    } else {
        idle = vec![EdgeFigures::default(); map.projection.edges.len()];
        &idle[..]
    };
    let mut title = format!(
        " Map · {} · {} nodes, {} edges ",
        window.label(),
        map.projection.nodes.len(),
        map.projection.edges.len()
    );
    if state.side != crate::app::sides::SideView::Both {
        let _ = write!(title, "· {} ", state.side.label());
    }
    if let Some(filter) = &state.filter {
        // The map draws only what the filter lets through (and no metrics-API-only edges). A
        // long filter ends with `…` inside the border rather than be cut by it.
        let room = usize::from(area.width).saturating_sub(title.chars().count() + 12);
        let text = if filter.text.chars().count() > room {
            let mut cut: String = filter.text.chars().take(room.saturating_sub(1)).collect();
            cut.push('…');
            cut
        } else {
            filter.text.clone()
        };
        let _ = write!(title, "· filter {text} ");
    }
    if map.auto_folded > 0 {
        let folded = crate::ui::routes::format::counted(map.auto_folded, "namespace", "namespaces");
        let _ = write!(title, "· {folded} folded to fit ");
    }
    let dropped = state.map.stats().dropped;
    if dropped > 0 {
        let _ = write!(title, "· {dropped} requests past the map's bounds ");
    }
    let block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .border_style(theme.border_focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (graph, legend, panel) = layout::map_split(inner);
    frame.render_widget(legend_line(theme), legend);
    panel::render(frame, panel, state, figures);
    if map.projection.nodes.is_empty() {
        let text = "No calls yet: the map draws who calls whom as finished requests arrive.";
        frame.render_widget(Paragraph::new(text).style(theme.dim), graph);
        return;
    }
    let selected_edge = map.selected_edge();
    let looks: Vec<EdgeLook> = map
        .projection
        .edges
        .iter()
        .zip(figures)
        .enumerate()
        .map(|(e, (edge, f))| EdgeLook {
            stroke: Stroke::of(f.tls_mix(), edge.metrics_only()),
            health: Health::of(f.success_rate, f.requests),
            tls: f.tls_mix(),
            selected: Some(e) == selected_edge,
        })
        .collect();
    let canvas = Canvas::draw(&map.projection, &map.layout, &map.geometry, &looks);
    blit(frame, graph, &canvas, state);
}

/// Copies the part of `canvas` that keeps the selected node in view into `area`.
fn blit(frame: &mut Frame, area: Rect, canvas: &Canvas, state: &AppState) {
    let map = &state.map_view;
    let selected = map.selected_node();
    let (row, column, width) = selected
        .and_then(|n| canvas.nodes.get(n).copied())
        .unwrap_or((0, 0, 0));
    let (w, h) = (usize::from(area.width), usize::from(area.height));
    let offset = |at: usize, size: usize, room: usize, total: usize| {
        if total <= room || at + size < room {
            0
        } else {
            (at + size + 2).saturating_sub(room).min(total - room)
        }
    };
    let ox = offset(column, width, w, canvas.width);
    let oy = offset(row, 1, h, canvas.height);
    let buffer = frame.buffer_mut();
    for y in 0..h.min(canvas.height.saturating_sub(oy)) {
        for x in 0..w.min(canvas.width.saturating_sub(ox)) {
            let Some(cell) = canvas.cell(oy + y, ox + x) else {
                continue;
            };
            if cell.tone == Tone::Blank {
                continue;
            }
            let style = tone_style(cell.tone, state, selected);
            let position = (area.x + x as u16, area.y + y as u16);
            buffer[position].set_char(cell.ch).set_style(style);
        }
    }
}

fn tone_style(tone: Tone, state: &AppState, selected: Option<usize>) -> Style {
    let theme = &state.theme;
    match tone {
        Tone::Blank => theme.text,
        Tone::Header => theme.map_namespace,
        Tone::Selected => theme.map_edge_selected,
        Tone::Line(health) => health_style(health, theme),
        Tone::Arrow(tls) => tls_style(tls, theme),
        Tone::Node(n) if Some(n) == selected => theme.selected,
        Tone::Node(n) => match state.map_view.projection.nodes.get(n).map(|n| &n.kind) {
            Some(DisplayKind::Workload { meshed: false }) => theme.map_node_unmeshed,
            Some(DisplayKind::Namespace { .. }) => theme.map_namespace,
            Some(DisplayKind::MetricsOnly) => theme.dim,
            _ => theme.map_node,
        },
    }
}

pub fn health_style(health: Health, theme: &Theme) -> Style {
    match health {
        Health::Idle => theme.dim,
        Health::Ok => theme.status_ok,
        Health::Degraded => theme.status_client_err,
        Health::Failing => theme.status_server_err,
    }
}

pub fn tls_style(tls: TlsMix, theme: &Theme) -> Style {
    match tls {
        TlsMix::Mtls => theme.tls_ok,
        TlsMix::Plaintext => theme.tls_plain,
        TlsMix::Mixed => theme.warning,
        TlsMix::Unknown => theme.dim,
    }
}

fn legend_line(theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            "─ mTLS  ╌ plaintext  ━ mixed  ┈ metrics API only  ",
            theme.dim,
        ),
        Span::styled("(unmeshed)", theme.map_node_unmeshed),
        Span::styled("  [+ns n] folded", theme.dim),
    ])
}
