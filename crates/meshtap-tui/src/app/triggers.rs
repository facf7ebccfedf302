//! The UI's flight-recorder commands: `:trigger FILTER` adds a trigger live, `:triggers` lists
//! the firings (Enter jumps to one's request), `:triggers N` jumps to firing N directly.

use chrono::{DateTime, Utc};

use super::action::{Action, Pane};
use super::overlay::{Layer, Overlay};
use super::state::{AppState, Level};

/// The `:triggers` list, while open (`Overlay::Triggers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TriggersList {
    /// The highlighted firing, 0-based in firing order.
    pub selected: usize,
}

/// One firing as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerRow {
    /// When the matching request finished (session clock, UTC).
    pub time: String,
    pub trigger: String,
    /// The matching request's arrival number.
    pub request: u64,
    /// The file's name and how many requests it holds, or why none was written.
    pub file: String,
    /// Matches of the same trigger that fell into the window after the first.
    pub further: u64,
}

/// What the list widget draws: every firing, oldest first, and the highlighted one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TriggersView {
    pub rows: Vec<TriggerRow>,
    pub selected: usize,
}

impl AppState {
    /// `:trigger FILTER`: one more trigger, writing like the session's `--trigger`s.
    pub fn add_trigger(&mut self, text: &str, now: DateTime<Utc>) {
        let Some(triggers) = &self.triggers else {
            let hint = ":trigger needs a session started with --trigger (it sets where files go)";
            return self.notify(Level::Error, hint, now);
        };
        match crate::trigger::Trigger::parse(text) {
            Ok(trigger) => {
                triggers.add(trigger);
                self.notify(Level::Info, format!("trigger added: {text}"), now);
            }
            Err(e) => self.notify(Level::Error, format!("trigger: {e}"), now),
        }
    }

    /// `:triggers`: opens the list of firings on the latest (or says none fired).
    pub fn open_triggers_list(&mut self, now: DateTime<Utc>) {
        let fired = self.triggers.as_ref().map_or(0, |t| t.fired().len());
        match fired.checked_sub(1) {
            Some(latest) => {
                let list = TriggersList { selected: latest };
                self.overlays.open(Overlay::Triggers(list));
            }
            None => self.notify(Level::Info, "no trigger has fired", now),
        }
    }

    /// The open list's rows, for the widget; `None` while the list is closed.
    pub fn triggers_view(&self) -> Option<TriggersView> {
        let list = *self.overlays.triggers()?;
        let fired = self
            .triggers
            .as_ref()
            .map(|t| t.fired())
            .unwrap_or_default();
        let rows: Vec<TriggerRow> = fired
            .iter()
            .map(|f| TriggerRow {
                time: f.window.at.format("%H:%M:%S%.3f").to_string(),
                trigger: f.window.trigger.clone(),
                request: f.window.request,
                file: match &f.written {
                    Ok((path, n)) => {
                        let name = path.file_name().unwrap_or(path.as_os_str());
                        format!("{} ({n} requests)", name.to_string_lossy())
                    }
                    Err(why) => format!("not written: {why}"),
                },
                further: f.window.further,
            })
            .collect();
        let selected = list.selected.min(rows.len().saturating_sub(1));
        Some(TriggersView { rows, selected })
    }

    /// Keys while the list is open: move, Enter jumps to the firing's request, Esc closes.
    /// Returns whether the action was the list's; others act as usual.
    pub(super) fn triggers_list_action(&mut self, action: &Action, now: DateTime<Utc>) -> bool {
        let Some(list) = self.overlays.triggers_mut() else {
            return false;
        };
        let last = self
            .triggers
            .as_ref()
            .map_or(0, |t| t.fired().len().saturating_sub(1));
        if action.move_in_list(&mut list.selected, last) {
            return true;
        }
        match action {
            Action::Back => {
                self.overlays.close(Layer::Triggers);
            }
            Action::Open => {
                let n = list.selected + 1;
                self.overlays.close(Layer::Triggers);
                self.show_triggers(Some(n), now);
            }
            _ => return false,
        }
        true
    }

    /// `:triggers N`: firing N (1-based; default the latest) with its request selected.
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
