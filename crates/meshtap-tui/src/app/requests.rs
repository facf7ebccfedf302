//! The requests pane's keys: moving through the list (by seq, so streaming never moves the
//! cursor) and through the open request's detail tree.

use super::action::Action;
use super::detail::{DetailState, Node};
use super::panes::Handoff;
use super::view::RequestsView;
use crate::model::store::Store;

impl RequestsView {
    /// The list's keys; `rows` is how many rows the list shows.
    pub fn on_key(&mut self, action: &Action, store: &Store, rows: usize) -> Handoff {
        let page = isize::try_from(rows).unwrap_or(isize::MAX);
        let lines = |n: u16| isize::from(i16::try_from(n).unwrap_or(i16::MAX));
        match action {
            Action::Down => self.move_by(store, 1),
            Action::Up => self.move_by(store, -1),
            Action::PageDown => self.move_by(store, page),
            Action::PageUp => self.move_by(store, -page),
            Action::Top => self.select_index(store, 0),
            Action::Bottom => self.select_index(store, usize::MAX),
            Action::ScrollDown(n) => self.scroll(store, lines(*n), rows),
            Action::ScrollUp(n) => self.scroll(store, -lines(*n), rows),
            Action::Open => {
                if let Some(seq) = self.listed_selection(store) {
                    self.following = false;
                    return Handoff::OpenDetail(seq);
                }
            }
            _ => {}
        }
        if matches!(action, Action::Up | Action::PageUp | Action::Top) {
            self.following = false;
        }
        Handoff::Done
    }
}

impl DetailState {
    /// The detail tree's keys over the request's `nodes`; `rows` is how many lines it shows.
    pub fn on_key(&mut self, action: &Action, nodes: &[Node], rows: usize) -> Handoff {
        let page = isize::try_from(rows).unwrap_or(isize::MAX);
        match action {
            Action::Down | Action::ScrollDown(_) => self.move_by(nodes, 1, rows),
            Action::Up | Action::ScrollUp(_) => self.move_by(nodes, -1, rows),
            Action::PageDown => self.move_by(nodes, page, rows),
            Action::PageUp => self.move_by(nodes, -page, rows),
            Action::Top => self.move_by(nodes, isize::MIN / 2, rows),
            Action::Bottom => self.move_by(nodes, isize::MAX / 2, rows),
            Action::Open => self.set_open(nodes, None, rows),
            Action::Expand => self.set_open(nodes, Some(true), rows),
            Action::Collapse => self.set_open(nodes, Some(false), rows),
            Action::Reveal => self.reveal = !self.reveal,
            _ => {}
        }
        Handoff::Done
    }
}
