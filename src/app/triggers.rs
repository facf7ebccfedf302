//! The UI's flight-recorder commands: `:trigger FILTER` adds a trigger live, `:triggers [N]`
//! shows a firing and selects its request.

use chrono::{DateTime, Utc};

use super::action::Pane;
use super::state::{AppState, Level};

impl AppState {
    /// `:trigger FILTER`: one more trigger, writing like the session's `--trigger`s.
    pub fn add_trigger(&mut self, text: &str, now: DateTime<Utc>) {
        let Some(triggers) = &self.triggers else {
            let hint = ":trigger needs a session started with --trigger (it sets where files go)";
            return self.notify(Level::Error, hint, now);
        };
        match crate::pipeline::trigger::Trigger::parse(text) {
            Ok(trigger) => {
                triggers.add(trigger);
                self.notify(Level::Info, format!("trigger added: {text}"), now);
            }
            Err(e) => self.notify(Level::Error, format!("trigger: {e}"), now),
        }
    }

    /// `:triggers [N]`: how many fired, and firing N (1-based; default the latest) with its
    /// request selected.
    pub fn show_triggers(&mut self, n: Option<usize>, now: DateTime<Utc>) {
        let fired = self
            .triggers
            .as_ref()
            .map(|t| t.fired())
            .unwrap_or_default();
        let Some(index) = n.map_or(fired.len().checked_sub(1), |n| n.checked_sub(1)) else {
            return self.notify(Level::Info, "no trigger has fired", now);
        };
        let Some(firing) = fired.get(index) else {
            let text = format!(
                "{} triggers fired; there is no firing {}",
                fired.len(),
                index + 1
            );
            return self.notify(Level::Error, text, now);
        };
        let text = format!("{}/{}: {firing}", index + 1, fired.len());
        self.pane = Pane::Requests;
        if !self.view.select_seq(&self.store, firing.window.request) {
            return self.notify(
                Level::Warning,
                format!("{text} (the request is no longer held)"),
                now,
            );
        }
        self.notify(Level::Info, text, now);
    }
}
