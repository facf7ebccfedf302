//! `:diff FILE`: the live capture compared with a saved one (core `diff` does the comparing), shown
//! in its own view over the panes. The file is read off the UI thread (the session's diff hook);
//! when its side arrives the live side is summed from the store's finished requests and the two
//! compared here.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::overlay::{Layer, Overlay};
use super::state::{AppState, Level};
use crate::diff::render::{self, Mark};
use crate::diff::{Side, compare};

/// The diff view, open while its overlay is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffOpen {
    /// The saved capture's name (its path), for the title.
    pub saved: String,
    /// The report, one marked line each, as `meshtap diff -o text` prints it.
    pub lines: Vec<(Mark, String)>,
    pub scroll: usize,
}

impl AppState {
    /// A saved capture's side has been read: compare it (before) with the live capture (after)
    /// and open the view, or say why there is nothing to compare.
    pub fn show_diff(&mut self, saved: &Side, now: DateTime<Utc>) {
        let mut live = Side::new("live");
        live.sampling.clone_from(&self.info.sampling);
        for request in self.store.requests().iter().filter(|r| !r.is_open()) {
            live.record(request);
        }
        if live.requests == 0 {
            let text = "nothing to compare yet: the live capture has no finished request";
            return self.notify(Level::Info, text, now);
        }
        let diff = compare(saved, &live);
        self.overlays.open(Overlay::Diff(DiffOpen {
            saved: saved.name.clone(),
            lines: render::lines(&diff),
            scroll: 0,
        }));
    }

    /// An action while the diff view is open; `true` when it was the view's.
    pub(super) fn diff_action(&mut self, action: &Action) -> bool {
        let Some(open) = self.overlays.diff_mut() else {
            return false;
        };
        let last = open.lines.len().saturating_sub(1);
        match action {
            Action::Back => {
                self.overlays.close(Layer::Diff);
            }
            Action::Down | Action::ScrollDown(_) => open.scroll = (open.scroll + 1).min(last),
            Action::Up | Action::ScrollUp(_) => open.scroll = open.scroll.saturating_sub(1),
            Action::PageDown => open.scroll = (open.scroll + 10).min(last),
            Action::PageUp => open.scroll = open.scroll.saturating_sub(10),
            Action::Top => open.scroll = 0,
            // Everything else (quit, help, panes) works as usual with the view open.
            _ => return false,
        }
        true
    }
}
