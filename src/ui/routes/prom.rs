//! The routes pane's columns, and the metrics API's figures in it: Prometheus success, RPS and p99 columns beside
//! the live ones when the pane is wide enough, else a footer line for the selected row; and the
//! bottom title saying which window they cover or why there are none. Matching is
//! [`RouteMetricsIndex::lookup`](crate::model::metrics::RouteMetricsIndex::lookup).

use ratatui::layout::Alignment;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::format::{latency, percent, rps};
use super::{MIN_NAME_WIDTH, SortColumn, success_style};
use crate::model::metrics::{Figures, MatchKind, MetricsView};
use crate::source::metrics::format_window;
use crate::ui::theme::Theme;

/// A column of the pane: a live, sortable one or a metrics API one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Column {
    Live(SortColumn),
    Prom(PromColumn),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PromColumn {
    Success,
    Rps,
    P99,
}

impl PromColumn {
    const ALL: [PromColumn; 3] = [PromColumn::Success, PromColumn::Rps, PromColumn::P99];
    /// Wide enough for the header and `100.0%` / `1.2k` / `999ms`.
    pub(super) const WIDTH: u16 = 8;

    pub(super) fn header(self) -> &'static str {
        match self {
            PromColumn::Success => "Prom SR",
            PromColumn::Rps => "Prom RPS",
            PromColumn::P99 => "Prom P99",
        }
    }
}

/// Live columns that fit in `width`, dropping from the right.
pub(super) fn fitting_columns(width: u16) -> Vec<SortColumn> {
    let mut columns: Vec<SortColumn> = SortColumn::ALL.to_vec();
    while columns.len() > 2 {
        let fixed: u16 = columns.iter().map(|c| c.width() + 1).sum();
        if fixed + MIN_NAME_WIDTH <= width {
            break;
        }
        columns.pop();
    }
    columns
}

/// The columns for `width`, and whether the metrics figures need the footer line instead. The
/// Prometheus columns go right after the live P99 they compare with, and only when every live
/// column up to P99 still fits beside them: a pane that drops live latency to make room would
/// trade the sample for the averages.
pub(super) fn layout(width: u16, with_prom: bool) -> (Vec<Column>, bool) {
    let live = || {
        fitting_columns(width)
            .into_iter()
            .map(Column::Live)
            .collect()
    };
    if !with_prom {
        return (live(), false);
    }
    let extra = (PromColumn::WIDTH + 1) * PromColumn::ALL.len() as u16;
    let narrower = fitting_columns(width.saturating_sub(extra));
    if !narrower.contains(&SortColumn::P99) {
        return (live(), true);
    }
    let mut columns = Vec::new();
    for column in narrower {
        columns.push(Column::Live(column));
        if column == SortColumn::P99 {
            columns.extend(PromColumn::ALL.map(Column::Prom));
        }
    }
    (columns, false)
}

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
