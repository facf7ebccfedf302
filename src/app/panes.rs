//! Keys for the routes pane, its route detail and the identities pane, the jump from a route's
//! slow or failing request to the requests pane, and keeping the tables in step with the filter.
//! The panes themselves (and their state types) belong to `ui::routes`, `ui::route_detail` and
//! `ui::identities`.

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use super::action::{Action, Pane};
use super::detail::DetailState;
use super::state::{AppState, Level, RouteDetailOpen};
use crate::model::identities::IdentityTable;
use crate::model::map::MapGraph;
use crate::model::routes::RouteTable;
use crate::ui::route_detail::RouteDetailState;

impl AppState {
    pub(super) fn navigate_routes(&mut self, action: &Action, now: DateTime<Utc>) {
        if self.route_detail.is_some() {
            return self.navigate_route_detail(action, now);
        }
        let routes = self.routes_view.get_mut();
        // Rows are computed when drawn; a key may come first (tests, a fast typist at start-up).
        routes.refresh(&self.routes, now);
        match action {
            Action::Down | Action::ScrollDown(_) => routes.move_by(1),
            Action::Up | Action::ScrollUp(_) => routes.move_by(-1),
            Action::PageDown => routes.page_down(),
            Action::PageUp => routes.page_up(),
            Action::Top => routes.select_first(),
            Action::Bottom => routes.select_last(),
            Action::SortNext => {
                let (column, _) = routes.sort();
                routes.sort_by(column.next());
            }
            Action::SortReverse => {
                let (column, _) = routes.sort();
                routes.sort_by(column);
            }
            Action::CycleWindow => {
                let window = routes.window.next();
                routes.set_window(window);
            }
            Action::CycleGrouping => {
                let grouping = self.routes.grouping().next();
                self.routes = RouteTable::new(grouping);
                self.rebuild_stats();
            }
            Action::Open => {
                if let Some(key) = routes.selected().cloned() {
                    let mut state = RouteDetailState::default();
                    state.sync(self.routes.get(&key));
                    self.route_detail = Some(RouteDetailOpen {
                        key,
                        state: RefCell::new(state),
                    });
                } else {
                    self.notify(Level::Warning, "no route selected", now);
                }
            }
            _ => {}
        }
    }

    fn navigate_route_detail(&mut self, action: &Action, now: DateTime<Utc>) {
        let Some(open) = &mut self.route_detail else {
            return;
        };
        let state = open.state.get_mut();
        state.sync(self.routes.get(&open.key));
        match action {
            Action::Down | Action::ScrollDown(_) => state.move_by(1),
            Action::Up | Action::ScrollUp(_) => state.move_by(-1),
            Action::PageDown | Action::Bottom => state.move_by(isize::MAX / 2),
            Action::PageUp | Action::Top => state.move_by(isize::MIN / 2),
            Action::Open => match state.selected_seq() {
                Some(seq) => self.show_request(seq, now),
                None => self.notify(Level::Warning, "this route lists no requests", now),
            },
            _ => {}
        }
    }

    /// Switches to the requests pane with `seq` selected, or says why it cannot be shown.
    fn show_request(&mut self, seq: u64, now: DateTime<Utc>) {
        let Some(request) = self.store.get(seq) else {
            let text = format!(
                "request #{seq} is no longer held: newer requests pushed it out (capacity {})",
                self.store.capacity()
            );
            return self.notify(Level::Warning, text, now);
        };
        let hidden = if self.view.filter().is_some_and(|f| !f.matches(request)) {
            Some("hidden by the filter")
        } else if self.view.paused_at.is_some_and(|last| seq > last) {
            Some("newer than the paused view")
        } else {
            None
        };
        let detail = self
            .detail
            .as_ref()
            .filter(|d| d.seq != seq)
            .map(|_| DetailState::new(seq, Some(request)));
        if let Some(why) = hidden {
            return self.notify(Level::Warning, format!("request #{seq} is {why}"), now);
        }
        // A sorted list is rebuilt lazily; bring it up to date so the request is in it.
        self.view.refresh_sort(&self.store, now, true);
        if !self.view.select_seq(&self.store, seq) {
            return self.notify(Level::Warning, format!("request #{seq} is not listed"), now);
        }
        // An open request detail follows the jump rather than keep showing another request.
        if detail.is_some() {
            self.detail = detail;
        }
        self.pane = Pane::Requests;
        // The highlight alone is easy to miss in a busy list.
        self.notify(Level::Info, format!("request #{seq} selected"), now);
    }

    pub(super) fn navigate_identities(&mut self, action: &Action) {
        let identities = self.identities_view.get_mut();
        let tree = &mut identities.tree;
        match action {
            Action::Down | Action::ScrollDown(_) => {
                tree.key_down();
            }
            Action::Up | Action::ScrollUp(_) => {
                tree.key_up();
            }
            Action::Open => {
                tree.toggle_selected();
            }
            Action::Expand => {
                tree.key_right();
            }
            Action::Collapse => {
                tree.key_left();
            }
            Action::Top => {
                tree.select_first();
            }
            Action::Bottom => {
                tree.select_last();
            }
            Action::SortNext => identities.sort = identities.sort.next(),
            _ => {}
        }
    }

    /// Recomputes the routes and identities tables from the held requests that pass the filter:
    /// after the filter or the grouping changed. Requests already evicted cannot be counted again.
    pub(super) fn rebuild_stats(&mut self) {
        let filter = self.view.filter();
        let held = self
            .store
            .requests()
            .iter()
            .filter(|r| filter.is_none_or(|f| f.matches(r)));
        self.routes = RouteTable::rebuild(self.routes.grouping(), held.clone());
        self.identities = IdentityTable::rebuild(held.clone());
        self.map = MapGraph::rebuild(held);
        self.routes_view.get_mut().invalidate();
    }
}
