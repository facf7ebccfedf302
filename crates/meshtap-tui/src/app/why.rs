//! `:why`: the per-pod tap health of every target, in a popup (the empty requests pane shows it
//! too); the status bar carries its one-line summary.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::overlay::{Layer, Overlay};
use super::state::{AppState, Level};
use crate::health::TargetHealth;

/// The `:why` view, open while its overlay is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WhyOpen {
    pub scroll: usize,
}

impl AppState {
    /// `:why`: opens the table, or says there is nothing to explain yet.
    pub fn open_why(&mut self, now: DateTime<Utc>) {
        if self.health_now(now).is_empty() {
            let text = "no pod list yet: tap health appears once the targets' pods are listed";
            return self.notify(Level::Info, text, now);
        }
        self.overlays.open(Overlay::Why(WhyOpen::default()));
    }

    /// Every target's health, in stream order.
    pub fn health_now(&self, now: DateTime<Utc>) -> Vec<TargetHealth> {
        self.health.all(self.clock.now(now))
    }

    /// An action while `:why` is open; `true` when it was the view's.
    pub(super) fn why_action(&mut self, action: &Action) -> bool {
        let Some(open) = self.overlays.why_mut() else {
            return false;
        };
        match action {
            Action::Back => {
                self.overlays.close(Layer::Why);
            }
            Action::Down | Action::ScrollDown(_) => open.scroll = open.scroll.saturating_add(1),
            Action::Up | Action::ScrollUp(_) => open.scroll = open.scroll.saturating_sub(1),
            Action::PageDown => open.scroll = open.scroll.saturating_add(10),
            Action::PageUp => open.scroll = open.scroll.saturating_sub(10),
            Action::Top => open.scroll = 0,
            // Everything else (quit, help, panes) works as usual with the view open.
            _ => return false,
        }
        true
    }
}
