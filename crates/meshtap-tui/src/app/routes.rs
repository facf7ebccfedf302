//! The routes pane's state and keys: window, sort and selection (held by [`RouteKey`] so
//! streaming updates never move the cursor), and the sorted rows of the last refresh, recomputed
//! by the app (never while drawing) when the table, the window or the time moved on.

pub mod columns;
mod sort;

use chrono::{DateTime, Utc};

pub use self::sort::SortColumn;
use super::action::Action;
use super::panes::Handoff;
use super::state::AppState;
use crate::model::routes::{RouteKey, RouteRow, RouteTable, Window};

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
    /// Rows the pane shows at the current terminal size, for paging and scrolling.
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

    /// The first row shown: the window scrolled just enough to keep the selection visible.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The selected row's index in [`rows`](Self::rows).
    pub fn selected_index(&self) -> Option<usize> {
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

    /// Keeps the selection in a window of `page` rows, scrolling as little as possible (the same
    /// rule a ratatui `Table` applies, so what is drawn is what the keys move through).
    pub fn fit(&mut self, page: usize) {
        self.page = page;
        if self.rows.is_empty() {
            return;
        }
        self.offset = scroll_to_show(self.offset, self.selected_index(), self.rows.len(), page);
    }

    fn resort(&mut self) {
        let (column, descending) = (self.sort, self.descending);
        self.rows.sort_by(|a, b| {
            let order = column.compare(a, b);
            let order = if descending { order.reverse() } else { order };
            // Ties fall back to the name so equal rows do not swap places between refreshes.
            order.then_with(|| a.key.cmp(&b.key))
        });
        sort::gather_routes(&mut self.rows);
        if self.selected_index().is_none() {
            self.select_first();
        }
    }
}

/// The first of `len` rows to show in `page` rows so that `selected` is visible, starting from
/// `offset`: unchanged when it already is, else scrolled just far enough.
pub fn scroll_to_show(offset: usize, selected: Option<usize>, len: usize, page: usize) -> usize {
    let last = len.saturating_sub(1);
    let mut start = offset.min(last);
    let Some(selected) = selected else {
        return start;
    };
    start = start.min(selected);
    let selected = selected.min(last);
    if page == 0 {
        return selected + 1;
    }
    if selected >= start + page {
        start = selected + 1 - page;
    }
    start
}

impl RoutesState {
    /// The routes pane's keys; call [`refresh`](Self::refresh) first, since keys may come
    /// before the first tick refreshed the rows (tests, a fast typist).
    pub fn on_key(&mut self, action: &Action) -> Handoff {
        match action {
            Action::Down | Action::ScrollDown(_) => self.move_by(1),
            Action::Up | Action::ScrollUp(_) => self.move_by(-1),
            Action::PageDown => self.page_down(),
            Action::PageUp => self.page_up(),
            Action::Top => self.select_first(),
            Action::Bottom => self.select_last(),
            Action::SortNext => self.sort_by(self.sort.next()),
            Action::SortReverse => self.sort_by(self.sort),
            Action::CycleWindow => self.set_window(self.window.next()),
            Action::CycleGrouping => return Handoff::Regroup,
            Action::ToggleBackends => return Handoff::ToggleBackends,
            Action::Open => {
                return self
                    .selected()
                    .cloned()
                    .map_or(Handoff::Warn("no route selected"), Handoff::OpenRoute);
            }
            _ => {}
        }
        Handoff::Done
    }
}

impl AppState {
    /// Brings the routes pane's rows, scroll and route detail up to date at `now` (model time).
    pub(super) fn refresh_routes(&mut self, now: DateTime<Utc>) {
        if let Some(open) = self.overlays.route_detail_mut() {
            open.state.sync(self.routes.get(&open.key));
        }
        let detail_open = self.overlays.route_detail().is_some();
        let Some(list) = super::layout::areas(self.area(), detail_open).list else {
            return;
        };
        let metrics = self.metrics.as_ref().is_some_and(|m| !m.routes.is_empty());
        self.routes_view.refresh(&self.routes, now);
        let extras = columns::Extras::of(&self.routes, self.routes_view.rows());
        self.routes_view
            .fit(columns::table_rows(list, metrics, extras));
    }
}
