//! Flight-recorder triggers (`--trigger FILTER`): when a finished request matches one, the
//! window around it (`--trigger-window` before and after) is written to a file. This module is
//! the pure engine: fed finished requests with the session clock's time, it says which windows
//! to write now. `run` is the thin runner that gathers the window's requests from the store and
//! writes them on a thread.
//!
//! A storm writes one file per window, not one per request: while a trigger's window is open,
//! further matches only count, and the file says how many there were.

pub mod hook;
pub mod run;

use chrono::{DateTime, Utc};

use crate::filter::{Filter, FilterError};
use crate::model::request::Request;

/// `--trigger-window`'s default, before and after the match.
pub const DEFAULT_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

/// One `--trigger`.
#[derive(Clone, Debug)]
pub struct Trigger {
    /// As the user wrote it.
    pub text: String,
    filter: Filter,
}

impl Trigger {
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        Ok(Self {
            text: text.to_string(),
            filter: Filter::parse(text)?,
        })
    }
}

/// A window to write: what fired it and the time span it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The trigger's text.
    pub trigger: String,
    /// The seq of the request that opened the window.
    pub request: u64,
    /// When that request finished: the window's centre.
    pub at: DateTime<Utc>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Matches of the same trigger after the first, while the window was open.
    pub further: u64,
}

impl Window {
    /// Whether `request` belongs in the window: it was under way at some point inside it.
    pub fn holds(&self, request: &Request) -> bool {
        let ended = request.ended_at.unwrap_or(request.started);
        request.started <= self.to && ended >= self.from
    }
}

/// The trigger engine.
#[derive(Debug)]
pub struct Engine {
    triggers: Vec<Trigger>,
    window: chrono::Duration,
    /// The open window of each trigger, by index.
    open: Vec<Option<Window>>,
    /// Windows already complete (a later match came after their end), not yet handed out.
    closed: Vec<Window>,
}

impl Engine {
    pub fn new(triggers: Vec<Trigger>, window: std::time::Duration) -> Self {
        let open = vec![None; triggers.len()];
        Self {
            triggers,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX),
            open,
            closed: Vec::new(),
        }
    }

    /// Adds a trigger while the session runs (`:trigger FILTER`).
    pub fn add(&mut self, trigger: Trigger) {
        self.triggers.push(trigger);
        self.open.push(None);
    }

    pub fn triggers(&self) -> impl Iterator<Item = &str> {
        self.triggers.iter().map(|t| t.text.as_str())
    }

    /// A request finished: it opens a window centred on its own end (not on `now`, the
    /// session clock, which may be a later event of the same batch) for each trigger it matches
    /// that has none open, and counts as a further match in those that do. A match after the
    /// open window's end (a batch can hold both) completes that window and opens its own.
    /// `now` serves only for a request without an end time.
    pub fn finished(&mut self, request: &Request, now: DateTime<Utc>) {
        let now = request.ended_at.unwrap_or(now);
        for (trigger, open) in self.triggers.iter().zip(&mut self.open) {
            if !trigger.filter.matches(request, now) {
                continue;
            }
            if let Some(window) = open.as_mut() {
                if now <= window.to {
                    window.further += 1;
                    continue;
                }
                self.closed.extend(open.take());
            }
            *open = Some(Window {
                trigger: trigger.text.clone(),
                request: request.seq,
                at: now,
                from: now.checked_sub_signed(self.window).unwrap_or(now),
                to: now.checked_add_signed(self.window).unwrap_or(now),
                further: 0,
            });
        }
    }

    /// The windows whose "after" part has passed by `now`, to write now.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Window> {
        let mut due = std::mem::take(&mut self.closed);
        due.extend(
            self.open
                .iter_mut()
                .filter(|open| open.as_ref().is_some_and(|w| w.to <= now))
                .filter_map(Option::take),
        );
        due
    }

    /// Every window not yet handed out, for the end of the source or session (written with
    /// what there is).
    pub fn flush(&mut self) -> Vec<Window> {
        let mut all = std::mem::take(&mut self.closed);
        all.extend(self.open.iter_mut().filter_map(Option::take));
        all
    }
}

#[cfg(test)]
mod tests;
