//! Between panes: the jump from a route's slow or failing request to the requests pane, and
//! keeping the stats tables in step with the filter. Each pane's own keys live with its state
//! (`routes`, `route_detail`, `identities`, `map`, `reducer` for the requests).

use chrono::{DateTime, Utc};

use super::action::Pane;
use super::detail::DetailState;
use super::state::{AppState, Level};
use crate::model::identities::IdentityTable;
use crate::model::map::MapGraph;
use crate::model::routes::RouteTable;

impl AppState {
    /// Switches to the requests pane with `seq` selected, or says why it cannot be shown.
    pub(super) fn show_request(&mut self, seq: u64, now: DateTime<Utc>) {
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
        self.routes_view.invalidate();
        self.identities_view.invalidate();
    }
}
