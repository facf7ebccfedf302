//! The route detail's state and keys (Enter on a route): which of the route's remembered
//! requests is selected, by seq, so the user can jump to it in the requests pane.

use super::action::Action;
use super::panes::Handoff;
use crate::model::routes::RouteStats;

/// Which remembered request is selected: the slowest list first, then the failures.
#[derive(Debug, Default)]
pub struct RouteDetailState {
    selected: usize,
    /// The seq under the cursor. A slower request arriving reorders the list; the cursor stays
    /// on the request the user picked rather than on its old row.
    anchor: Option<u64>,
    seqs: Vec<u64>,
}

impl RouteDetailState {
    /// Takes the route's current samples (none when the route is gone). The app does this each
    /// tick and before acting on a key.
    pub fn sync(&mut self, stats: Option<&RouteStats>) {
        self.seqs.clear();
        if let Some(stats) = stats {
            let samples = stats.slowest.iter().chain(stats.recent_failures());
            self.seqs.extend(samples.map(|s| s.seq));
        }
        // A slow failure is in both lists: keep the copy the cursor is on when it is still there.
        if self.seqs.get(self.selected) != self.anchor.as_ref()
            && let Some(index) = self
                .anchor
                .and_then(|a| self.seqs.iter().position(|s| *s == a))
        {
            self.selected = index;
        }
        self.move_by(0);
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.seqs.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        if let Some(&seq) = self.seqs.get(self.selected) {
            self.anchor = Some(seq);
        }
    }

    /// The index of the selection: the slowest list first, then the failures.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The seq of the selected request, to open it in the requests pane.
    pub fn selected_seq(&self) -> Option<u64> {
        self.seqs.get(self.selected).copied()
    }
}

impl RouteDetailState {
    /// The route detail's keys; call [`sync`](Self::sync) first.
    pub fn on_key(&mut self, action: &Action) -> Handoff {
        match action {
            Action::Down | Action::ScrollDown(_) => self.move_by(1),
            Action::Up | Action::ScrollUp(_) => self.move_by(-1),
            Action::PageDown | Action::Bottom => self.move_by(isize::MAX / 2),
            Action::PageUp | Action::Top => self.move_by(isize::MIN / 2),
            Action::Open => {
                return self.selected_seq().map_or(
                    Handoff::Warn("this route lists no requests"),
                    Handoff::ShowRequest,
                );
            }
            _ => {}
        }
        Handoff::Done
    }
}
