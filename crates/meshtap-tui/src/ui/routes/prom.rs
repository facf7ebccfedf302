//! The routes pane's columns, and the metrics API's figures in it: Prometheus success, RPS and p99 columns beside
//! the live ones when the pane is wide enough, else a footer line for the selected row; and the
//! bottom title saying which window they cover or why there are none. Matching is
//! [`RouteMetricsIndex::lookup`](crate::model::metrics::RouteMetricsIndex::lookup).

use ratatui::layout::Alignment;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::format::{latency, percent, rps};
use super::success_style;
use crate::app::routes::columns::PromColumn;
use crate::app::theme::Theme;
use crate::model::metrics::{Figures, MatchKind, MetricsView};
use crate::units::format_window;

/// One Prometheus cell. Workload-level `[DEFAULT]` figures on a route row are dimmed: they are
/// not this route's own.
pub(super) fn cell(
    found: Option<(Figures, MatchKind)>,
    column: PromColumn,
    theme: &Theme,
) -> Cell<'static> {
    let Some((figures, kind)) = found else {
        return Cell::from(Line::styled("-", theme.dim).alignment(Alignment::Right));
    };
    let (text, style) = match column {
        PromColumn::Success => (
            figures.success_rate.map_or_else(|| "-".to_owned(), percent),
            success_style(figures.success_rate, theme),
        ),
        PromColumn::Rps => (rps(figures.rps), theme.text),
        PromColumn::P99 => (latency(figures.p99_ms.saturating_mul(1_000)), theme.text),
    };
    let style = if kind == MatchKind::Unprofiled {
        theme.dim
    } else {
        style
    };
    Cell::from(Line::styled(text, style).alignment(Alignment::Right))
}

/// The footer for a narrow pane: the selected row's figures in one line.
pub(super) fn footer(
    found: Option<(Figures, MatchKind)>,
    metrics: &MetricsView,
    theme: &Theme,
) -> Line<'static> {
    let head = Span::styled(
        format!("Prometheus {} · ", format_window(metrics.snapshot.window)),
        theme.dim,
    );
    let Some((figures, kind)) = found else {
        return Line::from(vec![
            head,
            Span::styled("no figures for this row", theme.dim),
        ]);
    };
    let mut spans = vec![
        head,
        Span::styled(
            format!(
                "success {}",
                figures.success_rate.map_or_else(|| "-".to_owned(), percent)
            ),
            success_style(figures.success_rate, theme),
        ),
        Span::styled(
            format!(
                " · {} rps · p99 {}",
                rps(figures.rps),
                latency(figures.p99_ms.saturating_mul(1_000))
            ),
            theme.text,
        ),
    ];
    if kind == MatchKind::Unprofiled {
        spans.push(Span::styled(" · workload [DEFAULT]", theme.dim));
    }
    Line::from(spans)
}

/// The bottom title: the window the figures cover, and the last error if the poll had one.
pub fn status(metrics: &MetricsView, theme: &Theme) -> Line<'static> {
    let snapshot = &metrics.snapshot;
    let window = format!(" metrics API: {} window ", format_window(snapshot.window));
    match &snapshot.error {
        None => Line::styled(window, theme.dim),
        Some(error) if metrics.routes.is_empty() => {
            Line::styled(format!(" {error} "), theme.warning)
        }
        Some(error) => Line::from(vec![
            Span::styled(window, theme.dim),
            Span::styled(format!("· {error} "), theme.warning),
        ]),
    }
}
