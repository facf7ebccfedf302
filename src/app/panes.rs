//! Keys for the routes and identities panes, and keeping their tables in step with the filter.
//! The panes themselves (and their state types) belong to `ui::routes` and `ui::identities`.

use super::action::Action;
use super::state::AppState;
use crate::model::identities::IdentityTable;
use crate::model::routes::RouteTable;

impl AppState {
    pub(super) fn navigate_routes(&mut self, action: &Action) {
        let routes = self.routes_view.get_mut();
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
            _ => {}
        }
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
        self.identities = IdentityTable::rebuild(held);
        self.routes_view.get_mut().invalidate();
    }
}
