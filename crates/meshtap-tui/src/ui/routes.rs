//! The per-route stats pane: one row per route (or destination, or source → destination) with
//! requests, RPS, success rate, latency percentiles, bytes and a sparkline; sortable on every
//! column, the selection held by [`RouteKey`] so streaming updates never move the cursor.

mod config;
pub mod format;
pub mod prom;
mod tree;

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget};

use self::format::{bytes, count, counted, error_sparkline, latency, percent, rps, sparkline};
use crate::app::routes::RoutesState;
pub use crate::app::routes::SortColumn;
use crate::app::routes::columns::{self, Column, Extras, MIN_NAME_WIDTH};
use crate::app::sides::SideView;
use crate::app::theme::Theme;
use crate::model::metrics::MetricsView;
use crate::model::routes::{RouteRow, RouteTable};
use tree::Place;

/// The routes pane: the rows the app refreshed, in its order, scrolled where it says.
pub struct RoutesPane<'a> {
    table: &'a RouteTable,
    state: &'a RoutesState,
    theme: &'a Theme,
    focused: bool,
    metrics: Option<&'a MetricsView>,
    /// Which side of each meshed call is counted (`D`), said in the title.
    side: SideView,
}

impl<'a> RoutesPane<'a> {
    pub fn new(table: &'a RouteTable, state: &'a RoutesState, theme: &'a Theme) -> Self {
        Self {
            table,
            state,
            theme,
            focused: true,
            metrics: None,
            side: SideView::Both,
        }
    }

    #[must_use]
    pub fn side(mut self, side: SideView) -> Self {
        self.side = side;
        self
    }

    /// The latest metrics API figures, shown beside the live ones.
    #[must_use]
    pub fn metrics(mut self, metrics: Option<&'a MetricsView>) -> Self {
        self.metrics = metrics;
        self
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }

    /// The title for a pane `width` wide: the default side view's label is the first thing to
    /// go when it does not fit (a chosen side always shows).
    fn title(&self, state: &RoutesState, width: u16) -> Line<'static> {
        let side = format!(" {} ·", self.side.label());
        let text = self.title_text(state, &side);
        if self.side == SideView::Both && text.chars().count() + 2 > usize::from(width) {
            return Line::styled(self.title_text(state, ""), self.theme.title);
        }
        Line::styled(text, self.theme.title)
    }

    fn title_text(&self, state: &RoutesState, side: &str) -> String {
        let (column, descending) = state.sort();
        let arrow = if descending { "▼" } else { "▲" };
        let mut text = format!(
            " Routes ·{side} {}{} · {} · {} · by {} {arrow} ",
            self.table.grouping().label(),
            if self.table.backends() {
                " + backend"
            } else {
                ""
            },
            state.window.label(),
            counted(state.rows().len(), "row", "rows"),
            column.header(),
        );
        let folded = self.table.stats().overflowed;
        if folded > 0 {
            let _ = write!(text, "· {} folded into other ", count(folded));
        }
        text
    }
}

impl Widget for RoutesPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.state;
        let border = if self.focused {
            self.theme.border_focused
        } else {
            self.theme.border
        };
        let mut block = Block::bordered()
            .border_style(border)
            .title(self.title(state, area.width));
        if let Some(metrics) = self.metrics {
            block = block.title_bottom(prom::status(metrics, self.theme));
        }
        let inner = block.inner(area);
        block.render(area, buf);
        if state.rows().is_empty() {
            Paragraph::new("No finished requests yet.")
                .style(self.theme.dim)
                .alignment(Alignment::Center)
                .render(inner, buf);
            return;
        }
        let metrics = self.metrics.filter(|m| !m.routes.is_empty());
        let extras = Extras::of(self.table, state.rows());
        let (columns, footer) = columns::layout(inner.width, metrics.is_some(), extras);
        let (inner, footer) = match metrics {
            Some(metrics) if footer && inner.height > 2 => {
                let [table, line] =
                    Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
                (table, Some((line, metrics)))
            }
            _ => (inner, None),
        };
        let (sort, descending) = state.sort();
        let header = Row::new(columns.iter().map(|c| match c {
            Column::Live(c) => {
                let text = if *c == sort {
                    sorted_header(c.header(), descending, usize::from(c.width()))
                } else {
                    c.header().to_owned()
                };
                Cell::from(align(&text, *c))
            }
            Column::Prom(p) => Cell::from(Line::from(p.header()).alignment(Alignment::Right)),
            Column::Config(c @ (columns::ConfigColumn::Weight | columns::ConfigColumn::Share)) => {
                Cell::from(Line::from(c.header()).alignment(Alignment::Right))
            }
            Column::Config(c) => Cell::from(c.header()),
        }))
        .style(self.theme.header);
        let spark_width = SortColumn::Spark.width() as usize;
        let fixed: u16 = columns.iter().map(|c| columns::column_width(*c) + 1).sum();
        let name_width = usize::from(inner.width.saturating_sub(fixed));
        let all = state.rows();
        let rows = all.iter().enumerate().map(|(i, row)| {
            let found = metrics.and_then(|m| m.routes.lookup(&row.key));
            // The first row on screen is always shown in full.
            let previous = i
                .checked_sub(1)
                .filter(|_| i > state.offset())
                .map(|p| &all[p].key);
            let place = Place::of(previous, &row.key, all.get(i + 1).map(|r| &r.key));
            let columns = &columns;
            Row::new(columns.iter().map(move |c| match c {
                Column::Live(SortColumn::Name) => {
                    Cell::from(tree::name(&row.key, place, name_width, self.theme))
                }
                Column::Live(other) => cell(row, *other, spark_width, self.theme),
                Column::Prom(p) => prom::cell(found, *p, self.theme),
                Column::Config(c) => config::cell(row, *c, self.theme),
            }))
        });
        let widths = columns.iter().map(|c| match c {
            Column::Live(SortColumn::Name) => Constraint::Min(MIN_NAME_WIDTH),
            other => Constraint::Length(columns::column_width(*other)),
        });
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(self.theme.selected)
            .column_spacing(1);
        // The app keeps the offset showing the selection; this table state lives for one frame.
        let mut table_state = TableState::default()
            .with_offset(state.offset())
            .with_selected(state.selected_index());
        StatefulWidget::render(table, inner, buf, &mut table_state);
        if let Some((line, metrics)) = footer {
            let found = state.selected().and_then(|key| metrics.routes.lookup(key));
            prom::footer(found, metrics, self.theme).render(line, buf);
        }
    }
}

/// The sorted column's header with its arrow, in `width` columns (0: no limit): the header is
/// cut at its end to make room, never at its start (`Succes▼`, not `uccess▼`: a right-aligned
/// cell overflowing would lose the first letter).
fn sorted_header(header: &str, descending: bool, width: usize) -> String {
    let arrow = if descending { '▼' } else { '▲' };
    let room = if width == 0 { usize::MAX } else { width - 1 };
    let mut text: String = header.chars().take(room).collect();
    text.push(arrow);
    text
}

/// Right-aligns numeric headers so they sit over their numbers.
fn align(text: &str, column: SortColumn) -> Line<'static> {
    let line = Line::from(text.to_owned());
    match column {
        SortColumn::Name | SortColumn::Direction | SortColumn::Spark | SortColumn::ErrorSpark => {
            line
        }
        _ => line.alignment(Alignment::Right),
    }
}

fn cell(row: &RouteRow, column: SortColumn, spark_width: usize, theme: &Theme) -> Cell<'static> {
    let s = &row.summary;
    let dash = || "-".to_owned();
    let (text, style) = match column {
        SortColumn::Name | SortColumn::Direction => {
            return Cell::from(Span::styled(row.key.direction.short(), theme.dim));
        }
        SortColumn::Requests => (count(s.requests), theme.text),
        SortColumn::Rps => (rps(s.rps), theme.text),
        SortColumn::Success => (
            s.success_rate.map_or_else(dash, percent),
            success_style(s.success_rate, theme),
        ),
        SortColumn::P50 => (s.p50_us.map_or_else(dash, latency), theme.text),
        SortColumn::P95 => (s.p95_us.map_or_else(dash, latency), theme.text),
        SortColumn::P99 => (s.p99_us.map_or_else(dash, latency), theme.text),
        SortColumn::Max => (s.max_us.map_or_else(dash, latency), theme.text),
        SortColumn::Bytes => (bytes(s.bytes), theme.text),
        SortColumn::Spark => {
            let tail = &row.sparkline[row.sparkline.len().saturating_sub(spark_width)..];
            return Cell::from(Span::styled(sparkline(tail), theme.text));
        }
        SortColumn::ErrorSpark => {
            let tail = &row.errors[row.errors.len().saturating_sub(spark_width)..];
            return Cell::from(Span::styled(error_sparkline(tail), theme.status_server_err));
        }
    };
    Cell::from(Line::styled(text, style).alignment(Alignment::Right))
}

/// Green when nothing failed, then warning and error as failures grow (Linkerd's dashboards use
/// the same 95% line for a red success rate).
pub fn success_style(rate: Option<f64>, theme: &Theme) -> Style {
    match rate {
        None => theme.dim,
        Some(r) if r >= 1.0 => theme.status_ok,
        Some(r) if r >= 0.99 => theme.text,
        Some(r) if r >= 0.95 => theme.warning,
        Some(_) => theme.status_server_err,
    }
}

#[cfg(test)]
mod tests;
