//! Between panes: each pane's state handles its own keys (`requests`, `routes`,
//! `route_detail`, `identities`, `map`) and hands back what reaches past it, applied here; the
//! jump from a route's slow or failing request to the requests pane; and keeping the stats
//! tables in step with the filter.

use chrono::{DateTime, Utc};

use super::action::{Action, Pane, QuickField};
use super::detail::DetailState;
use super::overlay::Overlay;
use super::state::{AppState, Level, RouteDetailOpen};
use crate::model::identities::IdentityTable;
use crate::model::map::MapGraph;
use crate::model::routes::{RouteKey, RouteTable};

/// What a pane's key handling leaves to the app: whatever reaches past the pane itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Handoff {
    /// Nothing more to do (or the key means nothing there).
    Done,
    /// Say why the key did nothing.
    Warn(&'static str),
    /// Open the detail of request `seq`.
    OpenDetail(u64),
    /// Select request `seq` in the requests pane.
    ShowRequest(u64),
    /// Open the detail of a route.
    OpenRoute(RouteKey),
    /// Group the routes table the next way.
    Regroup,
    /// Split the routes by backend, or stop.
    ToggleBackends,
    /// Filter to the selection.
    QuickFilter(QuickField),
}

impl AppState {
    /// Hands a key to the pane on screen (or what is open over it), then applies its handoff.
    pub(super) fn pane_key(&mut self, action: &Action, now: DateTime<Utc>) {
        let (list_rows, detail_rows) = (self.list_rows(), self.detail_rows());
        let handoff = match self.pane {
            Pane::Requests => match self.overlays.detail_mut() {
                Some(open) => {
                    let Some(request) = self.store.get(open.seq) else {
                        return;
                    };
                    let nodes = super::clusters::nodes(
                        request,
                        &self.store,
                        &self.clusters,
                        &self.redactor,
                        open.reveal,
                    );
                    open.on_key(action, &nodes, detail_rows)
                }
                None => self.view.on_key(action, &self.store, list_rows),
            },
            Pane::Routes => {
                if let Some(open) = self.overlays.route_detail_mut() {
                    open.state.sync(self.routes.get(&open.key));
                    open.state.on_key(action)
                } else {
                    // Keys may come before the first tick refreshed the rows.
                    self.routes_view.refresh(&self.routes, self.clock.now(now));
                    self.routes_view.on_key(action)
                }
            }
            Pane::Identities => self.identities_view.on_key(action),
            Pane::Map => self.map_view.on_key(action, &self.map),
        };
        self.apply(handoff, now);
    }

    /// Brings the view caches of the pane on screen up to date (sorted route rows, the
    /// identities tree, scroll offsets), so drawing only reads. Cheap when nothing changed.
    pub(super) fn refresh_views(&mut self, now: DateTime<Utc>) {
        // A terminal too small shows no pane: nothing to fit.
        if super::layout::too_small(self.width, self.height) {
            return;
        }
        match self.pane {
            Pane::Routes => self.refresh_routes(self.clock.now(now)),
            Pane::Identities => self.refresh_identities(),
            // The map shows the routes pane's window, on the same clock.
            Pane::Map => {
                let window = self.routes_view.window;
                self.map_view
                    .refresh_figures(&self.map, window, self.clock.now(now));
            }
            Pane::Requests => {}
        }
    }

    fn apply(&mut self, handoff: Handoff, now: DateTime<Utc>) {
        match handoff {
            Handoff::Done => {}
            Handoff::Warn(why) => self.notify(Level::Warning, why, now),
            Handoff::OpenDetail(seq) => {
                let detail = DetailState::new(seq, self.store.get(seq));
                self.overlays.open(Overlay::Detail(detail));
            }
            Handoff::ShowRequest(seq) => self.show_request(seq, now),
            Handoff::OpenRoute(key) => {
                let mut state = super::route_detail::RouteDetailState::default();
                state.sync(self.routes.get(&key));
                self.overlays
                    .open(Overlay::RouteDetail(RouteDetailOpen { key, state }));
            }
            Handoff::Regroup => {
                self.routes = RouteTable::new(self.routes.grouping().next())
                    .by_backend(self.routes.backends());
                self.rebuild_stats();
            }
            Handoff::ToggleBackends => {
                self.routes =
                    RouteTable::new(self.routes.grouping()).by_backend(!self.routes.backends());
                self.rebuild_stats();
            }
            Handoff::QuickFilter(field) => self.quick_filter(field, now),
        }
    }

    /// Switches to the requests pane with `seq` selected, or says why it cannot be shown.
    pub(super) fn show_request(&mut self, seq: u64, now: DateTime<Utc>) {
        let Some(request) = self.store.get(seq) else {
            let text = format!(
                "request #{seq} is no longer held: newer requests pushed it out (capacity {})",
                self.store.capacity()
            );
            return self.notify(Level::Warning, text, now);
        };
        let hidden = if !self.view.shows(request) {
            Some("hidden by the filter")
        } else if self.view.paused_at.is_some_and(|last| seq > last) {
            Some("newer than the paused view")
        } else {
            None
        };
        let detail = self
            .overlays
            .detail()
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
        if let Some(detail) = detail {
            self.overlays.open(Overlay::Detail(detail));
        }
        self.pane = Pane::Requests;
        // The highlight alone is easy to miss in a busy list.
        self.notify(Level::Info, format!("request #{seq} selected"), now);
    }

    /// Recomputes the routes and identities tables from the held requests that pass the filter:
    /// after the filter or the grouping changed. Requests already evicted cannot be counted again.
    pub(super) fn rebuild_stats(&mut self) {
        let view = &self.view;
        let held = self.store.requests().iter().filter(|r| view.shows(r));
        self.routes = self.routes.refill(held.clone());
        self.identities = IdentityTable::rebuild(held.clone());
        self.map = MapGraph::rebuild(held);
        // Rates are spread over the capture, not over the span of what the filter lets through.
        if let Some(first) = self.store.requests().front() {
            self.routes.note_start(first.started);
            self.map.note_start(first.started);
        }
        self.routes_view.invalidate();
        self.identities_view.invalidate();
    }
}
