//! The copy-as popup (`y`) and the explain view (`?`) on a request: their state, and the actions
//! they take while open. The text is computed here, when the user asks, so drawing only reads.

use chrono::{DateTime, Utc};

use super::action::{Action, Pane};
use super::overlay::{Layer, Overlay};
use super::progress::Progress;
use super::state::{AppState, Effect, Level};
use crate::copy::clipboard::Delivered;
use crate::copy::{self, Copied, CopyError, Format, Secrets};
use crate::explain::Statement;

/// Where the copy popup is: choosing a format, or showing what was copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyStage {
    Menu {
        selected: usize,
    },
    Shown {
        format: Format,
        reveal: bool,
        result: Result<Copied, CopyError>,
        /// Where the text went, once the terminal loop has sent it.
        clipboard: Clipboard,
    },
}

/// Where copied text went: said in the popup, since only the terminal loop can know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clipboard {
    /// Handed to the terminal loop, not sent yet.
    Pending,
    /// Sent: where to (`copy::clipboard::Delivered`), and how to reach the system clipboard
    /// when it did not go there.
    Sent {
        message: String,
        hint: Option<&'static str>,
    },
    /// Not sent, and why.
    NotSent(String),
}

/// The copy popup of request `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyState {
    pub seq: u64,
    pub stage: CopyStage,
}

/// The explain view of request `seq`: its statements, computed when opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplainState {
    pub seq: u64,
    pub statements: Vec<Statement>,
    /// First visible line.
    pub scroll: usize,
    /// Where the request was when the statements were made: explain follows it while it is in
    /// flight and says when it finished (D12).
    pub progress: Progress,
}

/// What a popup never swallows: quitting, the terminal's size, and help over it.
fn passes_through(action: &Action) -> bool {
    matches!(action, Action::Quit | Action::Resize { .. } | Action::Help)
}

impl AppState {
    /// The request `y` / `?` act on: the open detail's, else the selected row's.
    pub(super) fn focused_request(&self) -> Option<u64> {
        if self.pane != Pane::Requests {
            return None;
        }
        if let Some(open) = self.overlays.detail() {
            return Some(open.seq).filter(|seq| self.store.get(*seq).is_some());
        }
        self.view.listed_selection(&self.store)
    }

    pub(super) fn open_copy(&mut self, now: DateTime<Utc>) {
        match self.focused_request() {
            Some(seq) => {
                self.overlays.open(Overlay::Copy(CopyState {
                    seq,
                    stage: CopyStage::Menu { selected: 0 },
                }));
            }
            None => self.notify(Level::Info, "no request selected to copy", now),
        }
    }

    pub(super) fn open_explain(&mut self, now: DateTime<Utc>) {
        let Some(seq) = self.focused_request() else {
            self.notify(Level::Info, "no request selected to explain", now);
            return;
        };
        let request = self.store.get(seq);
        let statements = request
            .map(|r| super::denials::statements(&self.denials, r))
            .unwrap_or_default();
        let progress = Progress::of(request);
        self.overlays.open(Overlay::Explain(ExplainState {
            seq,
            statements,
            scroll: 0,
            progress,
        }));
    }

    /// An action while the copy popup is open; `true` when it was the popup's.
    pub(super) fn copy_action(&mut self, action: &Action) -> bool {
        let Some(open) = self.overlays.copy_mut() else {
            return false;
        };
        if passes_through(action) {
            return false;
        }
        match (&mut open.stage, action) {
            (_, Action::Back) => {
                self.overlays.close(Layer::Copy);
            }
            (CopyStage::Menu { selected }, Action::Down) => {
                *selected = (*selected + 1).min(Format::ALL.len() - 1);
            }
            (CopyStage::Menu { selected }, Action::Up) => *selected = selected.saturating_sub(1),
            (CopyStage::Menu { selected }, Action::Open) => {
                let format = Format::ALL[*selected];
                self.show_copy(format, false);
            }
            (CopyStage::Shown { format, reveal, .. }, Action::Reveal) => {
                let (format, reveal) = (*format, !*reveal);
                self.show_copy(format, reveal);
            }
            // Everything else is swallowed: the popup is modal.
            _ => {}
        }
        true
    }

    /// The terminal loop sent the copied text (or could not): the popup and the status bar say
    /// where it went.
    pub fn clipboard_sent(&mut self, sent: Result<Delivered, String>, now: DateTime<Utc>) {
        let (clipboard, level, text) = match sent {
            Ok(delivered) => {
                let message = delivered.to_string();
                let clipboard = Clipboard::Sent {
                    message: message.clone(),
                    hint: delivered.hint(),
                };
                let level = match delivered {
                    Delivered::TmuxBuffer { passthrough: false } | Delivered::File(_) => {
                        Level::Warning
                    }
                    _ => Level::Info,
                };
                (clipboard, level, message)
            }
            Err(why) => (Clipboard::NotSent(why.clone()), Level::Error, why),
        };
        if let Some(CopyState {
            stage: CopyStage::Shown {
                clipboard: open, ..
            },
            ..
        }) = self.overlays.copy_mut()
        {
            *open = clipboard;
        }
        self.notify(level, text, now);
    }

    fn show_copy(&mut self, format: Format, reveal: bool) {
        let Some(open) = self.overlays.copy() else {
            return;
        };
        let seq = open.seq;
        let secrets = Secrets {
            redactor: &self.redactor,
            reveal,
        };
        let result = self
            .store
            .get(seq)
            .map_or(Err(CopyError::NoRequest), |request| {
                copy::render(format, request, secrets)
            });
        // However long: a tmux buffer or a file takes what one OSC 52 sequence cannot.
        let clipboard = match &result {
            Ok(copied) => {
                self.effects.push(Effect::Clipboard(copied.text.clone()));
                Clipboard::Pending
            }
            Err(_) => Clipboard::NotSent("nothing copied".to_owned()),
        };
        self.overlays.open(Overlay::Copy(CopyState {
            seq,
            stage: CopyStage::Shown {
                format,
                reveal,
                result,
                clipboard,
            },
        }));
    }

    /// An action while the explain view is open; `true` when it was the view's.
    pub(super) fn explain_action(&mut self, action: &Action) -> bool {
        let Some(open) = self.overlays.explain_mut() else {
            return false;
        };
        if passes_through(action) {
            return false;
        }
        match action {
            Action::Back => {
                self.overlays.close(Layer::Explain);
            }
            Action::Down | Action::ScrollDown(_) => open.scroll = open.scroll.saturating_add(1),
            Action::Up | Action::ScrollUp(_) => open.scroll = open.scroll.saturating_sub(1),
            Action::Top => open.scroll = 0,
            Action::Copy => {
                self.overlays.close(Layer::Explain);
                return false;
            }
            _ => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::app::config;
    use crate::model::event::{
        Direction, Endpoint, Header, HttpEvent, Labels, RequestInit, StreamId, TapEvent,
    };
    use crate::model::store::Store;
    use crate::session::{SessionInfo, SourceMsg};

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    /// A UI holding one request with an `authorization` header, selected.
    fn with_requests() -> AppState {
        let mut state = AppState::new(
            Store::new(100),
            SessionInfo::default(),
            config::from_text("", "", true),
        );
        state.handle(
            Action::Resize {
                width: 80,
                height: 24,
            },
            now(),
        );
        let event = TapEvent {
            cluster: None,
            arrived: now(),
            source: Endpoint {
                addr: "10.0.0.1:5000".parse().ok(),
                labels: [("namespace", "shop"), ("deployment", "web")]
                    .into_iter()
                    .collect::<Labels>(),
            },
            destination: Endpoint::default(),
            direction: Direction::Outbound,
            route: Labels::default(),
            http: Some(HttpEvent::RequestInit(RequestInit {
                id: StreamId { base: 1, stream: 1 },
                method: Some("GET".into()),
                scheme: None,
                authority: "api".into(),
                path: "/x".into(),
                headers: [Header::str("authorization", "Bearer s3cret")]
                    .into_iter()
                    .collect(),
                matched_route: None,
            })),
        };
        state.ingest(SourceMsg::Events(vec![event]), now());
        state
    }

    #[test]
    fn y_opens_the_menu_enter_copies_and_r_reveals() {
        let mut state = with_requests();
        state.handle(Action::Copy, now());
        assert!(matches!(
            state.overlays.copy().map(|c| &c.stage),
            Some(CopyStage::Menu { selected: 0 })
        ));
        state.handle(Action::Open, now());
        let effects = state.take_effects();
        let Some(Effect::Clipboard(text)) = effects.first() else {
            panic!("no clipboard effect: {effects:?}");
        };
        assert!(text.contains("authorization: <redacted>"), "{text}");
        state.handle(Action::Reveal, now());
        let effects = state.take_effects();
        assert!(
            matches!(effects.first(), Some(Effect::Clipboard(t)) if t.contains("Bearer s3cret")),
            "{effects:?}"
        );
        assert!(matches!(
            state.overlays.copy().map(|c| &c.stage),
            Some(CopyStage::Shown { reveal: true, .. })
        ));
        state.handle(
            Action::Resize {
                width: 100,
                height: 30,
            },
            now(),
        );
        assert_eq!(
            state.width, 100,
            "a resize reaches the state under the popup"
        );
        state.handle(Action::NextPane, now());
        assert_eq!(state.pane, Pane::Requests, "other keys are the popup's");
        state.handle(Action::Back, now());
        assert!(state.overlays.copy().is_none());
        state.handle(Action::Copy, now());
        state.handle(Action::Quit, now());
        assert!(state.quit, "Ctrl-c quits from the popup");
    }

    /// The popup says where the text went only once the terminal loop has sent it, and a tmux
    /// buffer alone (tmux's default options) says how to reach the system clipboard.
    #[test]
    fn the_popup_says_where_the_text_went() {
        let mut state = with_requests();
        state.handle(Action::Copy, now());
        state.handle(Action::Open, now());
        let clipboard = |state: &AppState| match state.overlays.copy().map(|c| &c.stage) {
            Some(CopyStage::Shown { clipboard, .. }) => clipboard.clone(),
            other => panic!("not shown: {other:?}"),
        };
        assert_eq!(clipboard(&state), Clipboard::Pending);
        state.clipboard_sent(Ok(Delivered::TmuxBuffer { passthrough: false }), now());
        let Clipboard::Sent { message, hint } = clipboard(&state) else {
            panic!("not sent: {:?}", clipboard(&state));
        };
        assert!(message.contains("tmux buffer"), "{message}");
        assert!(hint.is_some_and(|h| h.contains("set-clipboard on")));
        let status = state.message.as_ref().map(|m| (m.level, m.text.clone()));
        assert_eq!(status, Some((Level::Warning, message)));
        state.clipboard_sent(Err("clipboard: no file either".to_owned()), now());
        assert_eq!(
            clipboard(&state),
            Clipboard::NotSent("clipboard: no file either".to_owned())
        );
    }

    #[test]
    fn explain_opens_on_the_selection_and_closes() {
        let mut state = with_requests();
        state.handle(Action::Explain, now());
        let open = state.overlays.explain().expect("explain open");
        assert!(!open.statements.is_empty());
        state.handle(Action::Down, now());
        assert_eq!(state.overlays.explain().map(|e| e.scroll), Some(1));
        state.handle(Action::Back, now());
        assert!(state.overlays.explain().is_none());
    }
}
