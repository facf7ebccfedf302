//! The main loop: one task owns all state. It drains every pending source batch, applies input,
//! and draws at most once per frame, only when something changed. The clock is read once per
//! iteration and passed in.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, EventStream, KeyEventKind, MouseEventKind};
use futures::StreamExt as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{Receiver, Sender, error::TrySendError};
use tokio::time::MissedTickBehavior;

use super::TerminalGuard;
use crate::app::action::Action;
use crate::app::config;
use crate::app::state::{AppState, Effect, ExportRequest, Level};
use crate::filter::Filter;
use crate::model::store::Store;
use crate::session::{Clock, ClockKind, Redactor, SessionInfo, SourceMsg, TapCommand};
use crate::ui;

/// Frame period: at most ~30 redraws a second, however fast events arrive.
pub const FRAME: Duration = Duration::from_millis(33);
/// Most source batches applied before input gets a turn, so a firehose cannot starve the keys.
pub const DRAIN_MAX_BATCHES: usize = 256;
/// Lines the mouse wheel scrolls.
const WHEEL_LINES: u16 = 3;

/// Starts an export of `:export`: parses the request, takes what it needs from the store and the
/// client-side filter in force (for a "filtered view" export) with the session clock's reading
/// the list was filtered at (relative times count back from it), and hands the writing to a thread.
/// Returns the status-bar message for the start; the thread's result comes back on
/// `RunParams::exports`.
pub type ExportHook = Box<
    dyn FnMut(&ExportRequest, &Store, Option<&Filter>, DateTime<Utc>) -> anyhow::Result<String>
        + Send,
>;

/// How an export thread ended: the message for the status bar, or why it failed.
pub type ExportDone = Result<String, String>;

/// Starts reading the saved capture of `:diff FILE` off the UI thread. Returns the status-bar
/// message for the start; the capture's side comes back on `RunParams::diffs`.
pub type DiffHook = Box<dyn FnMut(&std::path::Path) -> anyhow::Result<String> + Send>;

/// A saved capture read for `:diff`, or why it could not be.
pub type DiffDone = Result<crate::diff::Side, String>;

/// Everything the UI needs from its caller.
pub struct RunParams {
    pub events: Receiver<SourceMsg>,
    /// Present for live taps: where `:ns`, `:target`, `:to`, `:maxrps` and filter pushdown go.
    pub commands: Option<Sender<TapCommand>>,
    pub info: SessionInfo,
    /// Where requests are held (`--capacity`); handed back when the UI closes.
    pub store: Store,
    /// Which time the model runs on (wall clock live, event time in a replay).
    pub clock: ClockKind,
    /// The session's redactor: the detail pane masks what every other output redacts.
    pub redactor: Redactor,
    /// Keymap and theme overrides; `None` looks in the XDG config dir.
    pub config: Option<PathBuf>,
    /// Disable colours (also implied by a non-empty `NO_COLOR`).
    pub no_color: bool,
    /// Handles `:export`; without it `:export` says exports are unavailable in this session.
    pub export: Option<ExportHook>,
    /// Results of the exports `export` started.
    pub exports: Option<Receiver<ExportDone>>,
    /// Handles `:diff FILE`; without it `:diff` says it is unavailable in this session.
    pub diff: Option<DiffHook>,
    /// The saved captures `diff` read.
    pub diffs: Option<Receiver<DiffDone>>,
    /// `--trigger`: fed each finished request; firings are counted in the status bar.
    pub triggers: Option<std::sync::Arc<crate::trigger::run::Triggers>>,
    /// `--filter`: the starting filter, as if typed at `/` (shown in the filter line, `c`
    /// clears it).
    pub filter: Option<String>,
}

impl RunParams {
    /// Parameters with defaults for everything but the event channel and session.
    pub fn new(events: Receiver<SourceMsg>, info: SessionInfo) -> Self {
        Self {
            events,
            commands: None,
            info,
            store: Store::default(),
            clock: ClockKind::Wall,
            redactor: Redactor::default(),
            config: None,
            no_color: false,
            export: None,
            exports: None,
            diff: None,
            diffs: None,
            triggers: None,
            filter: None,
        }
    }
}

/// Runs the UI until the user quits or a signal arrives, and hands back the store. The terminal
/// is restored on every exit path, including errors and panics.
#[allow(
    clippy::too_many_lines,
    reason = "the one loop: a select arm per input (source, keys, frame, each hook's results); \
              split up, the order of a turn would be scattered"
)]
pub async fn run_terminal(params: RunParams) -> anyhow::Result<Store> {
    let RunParams {
        mut events,
        commands,
        info,
        store,
        clock,
        redactor,
        config: config_path,
        no_color,
        mut export,
        mut exports,
        mut diff,
        mut diffs,
        triggers,
        filter,
    } = params;
    let no_color = no_color || config::no_color_env();
    let ui_config = config::load(config_path.as_deref(), no_color);
    let mut state = AppState::new(store, info, ui_config);
    state.live = commands.is_some();
    state.clock = Clock::new(clock);
    state.redactor = redactor;
    state.triggers = triggers;
    if let Some(text) = filter {
        state.apply_filter(&text, Utc::now());
    }

    let mut stop = StopSignals::new()?;
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal().size()?;
    state.handle(
        Action::Resize {
            width: size.width,
            height: size.height,
        },
        Utc::now(),
    );

    let mut input = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut source_open = true;

    while !state.quit {
        tokio::select! {
            msg = events.recv(), if source_open => {
                let now = Utc::now();
                if let Some(msg) = msg {
                    state.ingest(msg, now);
                    // Drain what is already queued so one frame reflects all of it.
                    for _ in 1..DRAIN_MAX_BATCHES {
                        let Ok(msg) = events.try_recv() else { break };
                        state.ingest(msg, now);
                    }
                } else {
                    source_open = false;
                    state.source_ended();
                }
                dirty = true;
            }
            event = input.next() => {
                let now = Utc::now();
                match event {
                    Some(Ok(event)) => {
                        if let Some(action) = action_for(&state, &event) {
                            state.handle(action, now);
                            dirty = true;
                        }
                    }
                    Some(Err(e)) => anyhow::bail!("reading terminal input: {e}"),
                    None => break,
                }
            }
            _ = frame.tick() => {
                let now = Utc::now();
                dirty |= state.tick(now);
                state.backlog = events.len();
                if dirty {
                    guard.terminal().draw(|f| ui::draw(f, &state, now))?;
                    dirty = false;
                }
            }
            done = recv_done(diffs.as_mut()) => {
                if !diff_done(&mut state, done) {
                    diffs = None;
                }
                dirty = true;
            }
            done = recv_done(exports.as_mut()) => {
                let now = Utc::now();
                match done {
                    Some(Ok(message)) => state.notify(Level::Info, message, now),
                    Some(Err(message)) => state.notify(Level::Error, format!("export: {message}"), now),
                    None => exports = None,
                }
                dirty = true;
            }
            () = stop.recv() => break,
        }
        for effect in state.take_effects() {
            let hooks = Hooks {
                export: export.as_mut(),
                diff: diff.as_mut(),
            };
            perform(&mut state, effect, commands.as_ref(), hooks);
            dirty = true;
        }
    }
    drop(guard);
    Ok(state.store)
}

/// The signals that end the UI as `q` does (the session then writes its outputs): SIGTERM,
/// SIGHUP, and SIGINT from `kill -INT` (the keyboard's Ctrl-C is a key in raw mode).
struct StopSignals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// A saved capture read for `:diff`: the diff shown, or why not. `false` once the channel closed.
fn diff_done(state: &mut AppState, done: Option<DiffDone>) -> bool {
    let now = Utc::now();
    match done {
        Some(Ok(side)) => state.show_diff(&side, now),
        Some(Err(message)) => state.notify(Level::Error, format!("diff: {message}"), now),
        None => return false,
    }
    true
}

/// The next result from a hook's worker (an export, a capture read for `:diff`), or never when
/// there is no such channel.
async fn recv_done<T>(results: Option<&mut Receiver<T>>) -> Option<T> {
    match results {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn action_for(state: &AppState, event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => state.action_for_key(key),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::ScrollDown(WHEEL_LINES)),
            MouseEventKind::ScrollUp => Some(Action::ScrollUp(WHEEL_LINES)),
            MouseEventKind::Down(_) => Some(Action::Click {
                column: mouse.column,
                row: mouse.row,
            }),
            _ => None,
        },
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

/// The session's hooks an effect may need.
struct Hooks<'a> {
    export: Option<&'a mut ExportHook>,
    diff: Option<&'a mut DiffHook>,
}

fn perform(
    state: &mut AppState,
    effect: Effect,
    commands: Option<&Sender<TapCommand>>,
    hooks: Hooks<'_>,
) {
    let now = Utc::now();
    match effect {
        Effect::Tap(command) => {
            let Some(sender) = commands else { return };
            // Never block the UI on the source: a full queue means it is busy restarting.
            match sender.try_send(command) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    state.notify(Level::Warning, "the tap is busy; try again", now);
                }
                Err(TrySendError::Closed(_)) => {
                    state.notify(Level::Error, "the tap source has stopped", now);
                }
            }
        }
        Effect::Clipboard(text) => clipboard(state, &text, now),
        Effect::Diff(path) => match hooks.diff {
            Some(hook) => match hook(&path) {
                Ok(message) => state.notify(Level::Info, message, now),
                Err(e) => state.notify(Level::Error, format!("diff: {e:#}"), now),
            },
            None => state.notify(Level::Error, ":diff is not available in this session", now),
        },
        Effect::Export(request) => match hooks.export {
            Some(hook) => match hook(
                &request,
                &state.store,
                state.view.filter(),
                state.view.as_of(),
            ) {
                Ok(message) => state.notify(Level::Info, message, now),
                Err(e) => state.notify(Level::Error, format!("export: {e:#}"), now),
            },
            None => state.notify(Level::Error, "export is not available in this session", now),
        },
    }
}

/// Sends `text` where it can arrive (`super::clipboard`), between frames, and says where it went.
fn clipboard(state: &mut AppState, text: &str, now: chrono::DateTime<Utc>) {
    let sent = super::clipboard::deliver(text, &mut std::io::stdout());
    state.clipboard_sent(sent, now);
}
