//! The per-route stats pane: one row per route (or destination, or source → destination) with
//! requests, RPS, success rate, latency percentiles, bytes and a sparkline; sortable on every
//! column, the selection held by [`RouteKey`] so streaming updates never move the cursor.

pub mod format;
pub mod prom;
mod sort;

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget};

use self::format::{bytes, count, counted, latency, percent, rps, sparkline};
use self::prom::Column;
pub use self::sort::SortColumn;
use crate::model::metrics::MetricsView;
use crate::model::routes::{RouteKey, RouteRow, RouteTable, Window};
use crate::ui::theme::Theme;

/// Narrowest the Route column gets before columns are dropped from the right.
const MIN_NAME_WIDTH: u16 = 30;
/// How often (in ms of `now`) rows are recomputed while requests keep arriving: percentiles over
/// 2,000 routes cost more than one frame should, and a stats table need not move faster.
const REFRESH_MS: i64 = 250;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CacheKey {
    tick: i64,
    window: Window,
    routes: usize,
    recorded: u64,
}

/// Selection, sort and window of the routes pane, plus the rows of the last refresh in display
/// order (navigation moves through those).
#[derive(Debug)]
pub struct RoutesState {
    pub window: Window,
    sort: SortColumn,
    descending: bool,
    selected: Option<RouteKey>,
    offset: usize,
    rows: Vec<RouteRow>,
    cache: Option<CacheKey>,
    /// Rows visible in the last render, for paging.
    page: usize,
}

impl Default for RoutesState {
    fn default() -> Self {
        Self::new()
    }
}

impl RoutesState {
    /// Busiest routes first, over the last minute.
    pub fn new() -> Self {
        Self {
            window: Window::default(),
            sort: SortColumn::default(),
            descending: true,
            selected: None,
            offset: 0,
            rows: Vec::new(),
            cache: None,
            page: 0,
        }
    }

    pub fn sort(&self) -> (SortColumn, bool) {
        (self.sort, self.descending)
    }

    /// Sorts by `column`; choosing the current column again flips the order.
    pub fn sort_by(&mut self, column: SortColumn) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.default_descending();
        }
        self.resort();
    }

    pub fn set_window(&mut self, window: Window) {
        self.window = window;
        self.cache = None;
    }

    /// Forget cached rows: call after replacing the table (grouping or filter changed).
    pub fn invalidate(&mut self) {
        self.cache = None;
    }

    pub fn selected(&self) -> Option<&RouteKey> {
        self.selected.as_ref()
    }

    pub fn select(&mut self, key: Option<RouteKey>) {
        self.selected = key;
    }

    /// Rows in display order, as of the last refresh.
    pub fn rows(&self) -> &[RouteRow] {
        &self.rows
    }

    fn selected_index(&self) -> Option<usize> {
        let key = self.selected.as_ref()?;
        self.rows.iter().position(|r| &r.key == key)
    }

    /// Moves the selection by `delta` rows, clamped.
    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() - 1;
        let index = match self.selected_index() {
            Some(i) => i.saturating_add_signed(delta).min(last),
            None => 0,
        };
        self.selected = Some(self.rows[index].key.clone());
    }

    pub fn select_first(&mut self) {
        self.selected = self.rows.first().map(|r| r.key.clone());
    }

    pub fn select_last(&mut self) {
        self.selected = self.rows.last().map(|r| r.key.clone());
    }

    pub fn page_down(&mut self) {
        self.move_by(self.page.max(1).cast_signed());
    }

    pub fn page_up(&mut self) {
        self.move_by(-self.page.max(1).cast_signed());
    }

    /// Recomputes rows when the table, the window, the sort or the time moved on.
    pub fn refresh(&mut self, table: &RouteTable, now: DateTime<Utc>) {
        let key = CacheKey {
            tick: now.timestamp_millis().div_euclid(REFRESH_MS),
            window: self.window,
            routes: table.len(),
            recorded: table.stats().recorded,
        };
        let stale = self.cache.is_none_or(|old| {
            old.window != key.window
                || old.routes != key.routes
                || (old.tick != key.tick && old.recorded != key.recorded)
                || old.tick.div_euclid(1_000 / REFRESH_MS)
                    != key.tick.div_euclid(1_000 / REFRESH_MS)
        });
        if stale {
            self.rows = table.rows(now, self.window);
            self.resort();
        }
        self.cache = Some(key);
    }

    fn resort(&mut self) {
        let (column, descending) = (self.sort, self.descending);
        self.rows.sort_by(|a, b| {
            let order = column.compare(a, b);
            let order = if descending { order.reverse() } else { order };
            // Ties fall back to the name so equal rows do not swap places between refreshes.
            order.then_with(|| a.key.cmp(&b.key))
        });
        if self.selected_index().is_none() {
            self.select_first();
        }
    }
}

/// The routes pane. `now` is the time the windows end at (wall clock live, last event in replay).
pub struct RoutesPane<'a> {
    table: &'a RouteTable,
    now: DateTime<Utc>,
    theme: &'a Theme,
    focused: bool,
    metrics: Option<&'a MetricsView>,
}

impl<'a> RoutesPane<'a> {
    pub fn new(table: &'a RouteTable, now: DateTime<Utc>, theme: &'a Theme) -> Self {
        Self {
            table,
            now,
            theme,
            focused: true,
            metrics: None,
        }
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

    fn title(&self, state: &RoutesState) -> Line<'static> {
        let (column, descending) = state.sort();
        let arrow = if descending { "▼" } else { "▲" };
        let mut text = format!(
            " Routes · {} · {} · {} · by {} {arrow} ",
            self.table.grouping().label(),
            state.window.label(),
            counted(state.rows.len(), "row", "rows"),
            column.header(),
        );
        let folded = self.table.stats().overflowed;
        if folded > 0 {
            let _ = write!(text, "· {} folded into other ", count(folded));
        }
        Line::styled(text, self.theme.title)
    }
}

impl StatefulWidget for RoutesPane<'_> {
    type State = RoutesState;

    fn render(self, area: Rect, buf: &mut Buffer, state: &mut RoutesState) {
        state.refresh(self.table, self.now);
        let border = if self.focused {
            self.theme.border_focused
        } else {
            self.theme.border
        };
        let mut block = Block::bordered()
            .border_style(border)
            .title(self.title(state));
        if let Some(metrics) = self.metrics {
            block = block.title_bottom(prom::status(metrics, self.theme));
        }
        let inner = block.inner(area);
        block.render(area, buf);
        if state.rows.is_empty() {
            Paragraph::new("No finished requests yet.")
                .style(self.theme.dim)
                .alignment(Alignment::Center)
                .render(inner, buf);
            return;
        }
        let metrics = self.metrics.filter(|m| !m.routes.is_empty());
        let (columns, footer) = prom::layout(inner.width, metrics.is_some());
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
                let mut text = c.header().to_owned();
                if *c == sort {
                    text.push(if descending { '▼' } else { '▲' });
                }
                Cell::from(align(&text, *c))
            }
            Column::Prom(p) => Cell::from(Line::from(p.header()).alignment(Alignment::Right)),
        }))
        .style(self.theme.header);
        let spark_width = SortColumn::Spark.width() as usize;
        let width = |c: &Column| match c {
            Column::Live(c) => c.width(),
            Column::Prom(_) => prom::PromColumn::WIDTH,
        };
        let fixed: u16 = columns.iter().map(|c| width(c) + 1).sum();
        let name_width = usize::from(inner.width.saturating_sub(fixed));
        let rows = state.rows.iter().map(|row| {
            let found = metrics.and_then(|m| m.routes.lookup(&row.key));
            Row::new(columns.iter().map(move |c| match c {
                Column::Live(SortColumn::Name) => {
                    Cell::from(name(&row.key, name_width, self.theme))
                }
                Column::Live(other) => cell(row, *other, spark_width, self.theme),
                Column::Prom(p) => prom::cell(found, *p, self.theme),
            }))
        });
        let widths = columns.iter().map(|c| match c {
            Column::Live(SortColumn::Name) => Constraint::Min(MIN_NAME_WIDTH),
            other => Constraint::Length(width(other)),
        });
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(self.theme.selected)
            .column_spacing(1);
        state.page = usize::from(inner.height.saturating_sub(1));
        let mut table_state = TableState::default()
            .with_offset(state.offset)
            .with_selected(state.selected_index());
        StatefulWidget::render(table, inner, buf, &mut table_state);
        state.offset = table_state.offset();
        if let Some((line, metrics)) = footer {
            let found = state
                .selected
                .as_ref()
                .and_then(|key| metrics.routes.lookup(key));
            prom::footer(found, metrics, self.theme).render(line, buf);
        }
    }
}

/// Right-aligns numeric headers so they sit over their numbers.
fn align(text: &str, column: SortColumn) -> Line<'static> {
    let line = Line::from(text.to_owned());
    match column {
        SortColumn::Name | SortColumn::Direction | SortColumn::Spark => line,
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
    };
    Cell::from(Line::styled(text, style).alignment(Alignment::Right))
}

/// The workload dimmed, then the route; cut with `…` so a cut name never passes for another.
fn name(key: &RouteKey, width: usize, theme: &Theme) -> Line<'static> {
    if key.route.is_empty() {
        return Line::styled(truncate(&key.peer, width), theme.text);
    }
    let peer = truncate(&key.peer, width);
    let rest = width.saturating_sub(peer.chars().count() + 1);
    Line::from(vec![
        Span::styled(peer, theme.dim),
        Span::raw(" "),
        Span::styled(truncate(&key.route, rest), theme.text),
    ])
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
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
