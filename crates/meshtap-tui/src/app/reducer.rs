//! The reducer: `AppState::handle(action, now)`, the only way user input changes the state.

use chrono::{DateTime, Utc};

use super::action::{Action, Pane};
use super::command::{self, Command};
use super::overlay::{Layer, Overlay};
use super::prompt::{Prompt, PromptKind, remember};
use super::state::{ActiveFilter, AppState, Effect, ExportRequest, Level, NarrowedTap, Until};
use super::view::SortKey;
use crate::app::layout;
use crate::filter::Filter;
use crate::session::TapCommand;

impl AppState {
    /// Applies one action.
    pub fn handle(&mut self, action: Action, now: DateTime<Utc>) {
        // Config warnings stay up until the user has had a chance to read them: the first key.
        if !matches!(action, Action::Resize { .. }) {
            self.warnings.clear();
        }
        // The overlay on top takes the action first; what it leaves acts as usual below.
        let top = self.overlays.top(self.pane);
        let taken = match top {
            Some(Layer::Prompt) => self.prompt_action(&action, now),
            Some(Layer::Copy) => self.copy_action(&action),
            Some(Layer::Explain) => self.explain_action(&action),
            Some(Layer::Triggers) => self.triggers_list_action(&action, now),
            Some(Layer::Why) => self.why_action(&action),
            Some(Layer::Diff) => self.diff_action(&action),
            Some(Layer::Trace) => self.trace_action(&action),
            Some(Layer::Help | Layer::Detail | Layer::RouteDetail) | None => false,
        };
        if taken {
            // The list and the waterfall can jump to a request: the panes follow.
            if matches!(top, Some(Layer::Triggers | Layer::Trace)) {
                self.settle();
                self.refresh_views(now);
            }
            return;
        }
        let pane = self.pane;
        self.dispatch(action, now);
        if self.pane != pane {
            self.settle_message(Until::PaneChange);
        }
        self.settle();
        self.refresh_views(now);
    }

    /// What an action does once no popup or prompt took it.
    fn dispatch(&mut self, action: Action, now: DateTime<Utc>) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => {
                if self.overlays.close(Layer::Help).is_none() {
                    self.overlays.open(Overlay::Help(0));
                }
            }
            Action::Back => self.back(),
            Action::Trace if self.pane == Pane::Requests => self.open_trace(now),
            Action::FilterPrompt => {
                let text = self.filter.as_ref().map_or("", |f| f.text.as_str());
                let prompt = Prompt::new(PromptKind::Filter, text);
                self.overlays.open(Overlay::Prompt(prompt));
            }
            Action::CommandPrompt => {
                let prompt = Prompt::new(PromptKind::Command, "");
                self.overlays.open(Overlay::Prompt(prompt));
            }
            Action::FindPrompt => {
                let prompt = Prompt::new(PromptKind::Find, "");
                self.overlays.open(Overlay::Prompt(prompt));
            }
            Action::NextPane => self.pane = Pane::ALL[(self.pane.index() + 1) % Pane::ALL.len()],
            Action::PrevPane => {
                self.pane = Pane::ALL[(self.pane.index() + Pane::ALL.len() - 1) % Pane::ALL.len()];
            }
            Action::ShowPane(pane) => self.pane = pane,
            Action::Pause => self.toggle_pause(now),
            Action::Follow => {
                self.view.paused_at = None;
                self.view.following = true;
                self.view.sort = SortKey::Time;
                self.view.descending = false;
                self.view.refresh_sort(&self.store, now, true);
            }
            Action::SortNext | Action::SortReverse if self.pane == Pane::Requests => {
                if matches!(action, Action::SortNext) {
                    self.view.sort = self.view.sort.next();
                } else {
                    self.view.descending = !self.view.descending;
                }
                self.view.following = false;
                self.view.refresh_sort(&self.store, now, true);
                let order = if self.view.descending {
                    "descending"
                } else {
                    "ascending"
                };
                self.notify(
                    Level::Info,
                    format!("sorted by {} {order}", self.view.sort.name()),
                    now,
                );
            }
            Action::Quick(field) => self.quick_filter(field, now),
            Action::Copy => self.open_copy(now),
            Action::Explain => self.open_explain(now),
            Action::ClearFilter => self.apply_filter("", now),
            Action::CycleSide => self.cycle_side(now),
            Action::OtherSide => self.jump_to_other_side(now),
            Action::Resize { width, height } => {
                self.width = width;
                self.height = height;
            }
            Action::Click { column, row } => self.click(column, row),
            other => self.navigate(&other, now),
        }
    }

    /// Esc closes what is on top (the popups that take keys close themselves).
    fn back(&mut self) {
        if let Some(layer) = self.overlays.top(self.pane) {
            self.overlays.close(layer);
        }
    }

    fn toggle_pause(&mut self, now: DateTime<Utc>) {
        if self.view.paused_at.is_some() {
            self.view.paused_at = None;
            self.view.following = self.resume_following;
        } else {
            self.resume_following = self.view.following;
            self.view.paused_at = Some(self.store.requests().back().map_or(0, |r| r.seq));
            self.view.following = false;
        }
        self.view.refresh_sort(&self.store, now, true);
    }

    /// Movement, whichever part of the screen has focus: help scrolls here, the panes handle
    /// their own keys (`panes`).
    fn navigate(&mut self, action: &Action, now: DateTime<Utc>) {
        if let Some(scroll) = self.overlays.help_mut() {
            *scroll = match action {
                Action::Down | Action::ScrollDown(_) => scroll.saturating_add(1),
                Action::Up | Action::ScrollUp(_) => scroll.saturating_sub(1),
                Action::PageDown => scroll.saturating_add(10),
                Action::PageUp => scroll.saturating_sub(10),
                Action::Top => 0,
                // Drawing clamps the scroll to the last page.
                Action::Bottom => usize::MAX / 2,
                _ => *scroll,
            };
            return;
        }
        self.pane_key(action, now);
    }

    fn click(&mut self, column: u16, row: u16) {
        let area = ratatui::layout::Rect::new(0, 0, self.width, self.height);
        let areas = layout::areas(area, self.overlays.is_open(Layer::Detail));
        if row == areas.tabs.y {
            // Tabs are drawn as " N Title " cells from the left edge.
            let mut x = 0;
            for pane in Pane::ALL {
                let w = u16::try_from(pane.title().len() + 5).unwrap_or(u16::MAX);
                if column >= x && column < x + w {
                    self.pane = pane;
                }
                x = x.saturating_add(w);
            }
            return;
        }
        let Some(list) = areas.list.filter(|_| self.pane == Pane::Requests) else {
            return;
        };
        // Two rows above the data: the border and the header.
        let first = list.y + 2;
        if row < first
            || row >= list.y + list.height.saturating_sub(1)
            || column < list.x
            || column >= list.x + list.width
        {
            return;
        }
        let rows = self.view.rows(&self.store);
        let (top, _) = self.view.window(&rows, self.list_rows());
        let index = top + usize::from(row - first);
        if index < rows.len() {
            self.overlays.close(Layer::Detail);
            self.view.following = false;
            self.view.select_index(&self.store, index);
        }
    }

    /// Handles an action while a prompt is open; `false` lets it fall through (e.g. Quit).
    fn prompt_action(&mut self, action: &Action, now: DateTime<Utc>) -> bool {
        let Some(prompt) = self.overlays.prompt_mut() else {
            return false;
        };
        let history = match prompt.kind {
            PromptKind::Filter => &self.filter_history,
            PromptKind::Command => &self.command_history,
            PromptKind::Find => &self.find_history,
        };
        match action {
            Action::Input(c) => prompt.insert(*c),
            Action::DeleteBack => prompt.delete_back(),
            Action::DeleteForward => prompt.delete_forward(),
            Action::ClearLine => prompt.clear(),
            Action::CursorLeft => prompt.left(),
            Action::CursorRight => prompt.right(),
            Action::CursorHome => prompt.home(),
            Action::CursorEnd => prompt.end(),
            Action::HistoryPrev => prompt.history_prev(history),
            Action::HistoryNext => prompt.history_next(history),
            Action::Back => {
                self.overlays.close(Layer::Prompt);
            }
            Action::Submit => {
                let (kind, text) = (prompt.kind, prompt.input.clone());
                if kind == PromptKind::Filter
                    && let Some(Err(e)) = &prompt.validation
                {
                    // Keep the prompt open so the user can fix it; the prompt shows where.
                    let message = format!("filter: {} at column {}", e.message, e.position + 1);
                    self.notify(Level::Error, message, now);
                    return true;
                }
                self.overlays.close(Layer::Prompt);
                match kind {
                    PromptKind::Filter => {
                        remember(&mut self.filter_history, &text);
                        self.apply_filter(&text, now);
                    }
                    PromptKind::Command => {
                        remember(&mut self.command_history, &text);
                        self.run_command(&text, now);
                    }
                    PromptKind::Find => {
                        remember(&mut self.find_history, &text);
                        self.find_node(&text, now);
                    }
                }
                self.settle();
            }
            Action::Resize { .. } | Action::Quit => return false,
            _ => {}
        }
        true
    }

    /// Installs the view filter `text` (empty clears it). It only picks what is shown and
    /// counted: the capture, the recording and the export keep everything the tap delivers.
    /// Narrowing the tap itself is `:tap` ([`AppState::narrow_tap`]).
    pub fn apply_filter(&mut self, text: &str, now: DateTime<Utc>) {
        // Whatever a previous filter left in the status bar is about to be untrue.
        self.settle_message(Until::FilterChange);
        let text = text.trim();
        if text.is_empty() {
            if self.filter.is_some() {
                self.filter = None;
                self.install_view_filter(None, now);
                self.notify_until(Level::Info, "filter cleared", now, Until::FilterChange);
            }
            return;
        }
        let filter = match Filter::parse(text) {
            Ok(filter) => filter,
            Err(e) => {
                let message = format!("filter: {} at column {}", e.message, e.position + 1);
                self.notify_until(Level::Error, message, now, Until::FilterChange);
                return;
            }
        };
        self.filter = Some(ActiveFilter {
            text: filter.to_string(),
        });
        self.install_view_filter(Some(filter), now);
    }

    /// `:tap EXPR`: restarts the live tap with the matches Linkerd applies itself (`method=`,
    /// `path~/prefix*`, `authority=`, `scheme=`, `to=`), on top of the command line's. This
    /// narrows what is captured — everything else stops being recorded, counted and exported —
    /// so it is an act of its own, said in the status bar for as long as it holds. `:tap` alone
    /// captures everything again.
    pub fn narrow_tap(&mut self, text: &str, now: DateTime<Utc>) {
        if !self.live {
            return self.notify(
                Level::Error,
                format!(
                    ":tap not applied: {} cannot be restarted with new settings",
                    self.info.context
                ),
                now,
            );
        }
        let text = text.trim();
        let next = if text.is_empty() {
            None
        } else {
            let filter = match Filter::parse(text) {
                Ok(filter) => filter,
                Err(e) => {
                    let message = format!(":tap {} at column {}", e.message, e.position + 1);
                    return self.notify(Level::Error, message, now);
                }
            };
            let (server, to, rest) = filter.split_server_side();
            let rest = rest.to_string();
            if !rest.is_empty() {
                return self.notify(
                    Level::Error,
                    format!(
                        ":tap takes only what Linkerd matches (method= path~/prefix* authority= \
                         scheme= to=); `{rest}` can only filter the view: type it at /"
                    ),
                    now,
                );
            }
            Some(NarrowedTap {
                text: filter.to_string(),
                server,
                to,
            })
        };
        let (old_server, old_to) = self
            .narrowed
            .as_ref()
            .map(|n| (n.server.clone(), n.to.clone()))
            .unwrap_or_default();
        let (server, to) = next
            .as_ref()
            .map(|n| (n.server.clone(), n.to.clone()))
            .unwrap_or_default();
        if server != old_server {
            self.effects.push(Effect::Tap(TapCommand::Http(server)));
        }
        if to != old_to {
            self.effects.push(Effect::Tap(TapCommand::To(to)));
        }
        let message = match &next {
            Some(narrowed) => format!(
                "tap narrowed to {}: other requests are no longer captured (:tap alone restores)",
                narrowed.text
            ),
            None => "tap restored: everything the targets serve is captured again".to_owned(),
        };
        self.narrowed = next;
        self.notify(Level::Warning, message, now);
    }

    fn run_command(&mut self, line: &str, now: DateTime<Utc>) {
        let command = match command::parse(line) {
            Ok(c) => c,
            Err(e) => return self.notify(Level::Error, e, now),
        };
        let tap = match command {
            Command::Quit => return self.quit = true,
            Command::Help => return self.overlays.open(Overlay::Help(0)),
            Command::Filter(text) => return self.apply_filter(&text, now),
            Command::Tap(text) => return self.narrow_tap(&text, now),
            Command::Trigger(text) => return self.add_trigger(&text, now),
            Command::Triggers(None) => return self.open_triggers_list(now),
            Command::Triggers(n) => return self.show_triggers(n, now),
            Command::Why => return self.open_why(now),
            Command::Diff(path) => return self.effects.push(Effect::Diff(path)),
            Command::Export { path, args } => {
                return self
                    .effects
                    .push(Effect::Export(ExportRequest { path, args }));
            }
            Command::Namespace(ns) => TapCommand::Namespace(ns),
            Command::Targets(targets) => TapCommand::Targets(targets),
            Command::To(to) => TapCommand::To(to),
            Command::MaxRps(rps) => TapCommand::MaxRps(rps),
        };
        if !self.live {
            // Replay and the direct proxy tap have no command channel: nothing changes.
            return self.notify(
                Level::Error,
                format!(
                    ":{line} not applied: {} cannot be restarted with new settings",
                    self.info.context
                ),
                now,
            );
        }
        // Relabel only a command that is carried out.
        if let TapCommand::Targets(targets) = &tap {
            // Every cluster restarts with the same targets: their streams follow each other.
            let clusters = self.info.clusters.len().max(1);
            self.info.targets = (0..clusters)
                .flat_map(|_| targets.iter().cloned())
                .collect();
        }
        self.notify_until(
            Level::Info,
            format!("restarting the tap: :{line}"),
            now,
            Until::TapSettled,
        );
        self.effects.push(Effect::Tap(tap));
    }
}
