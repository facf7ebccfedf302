//! All UI state, owned by the main loop: the store, the view over it, what is open, and messages.
//! Nothing here does IO or reads the clock; `now` is passed in, so tests drive it directly.

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Pane};
use super::config::UiConfig;
use super::identities::IdentitiesState;
use super::keymap::{Context, Key, Keymap};
use super::layout;
use super::map::MapState;
use super::overlay::{Layer, Overlays};
use super::rates::Rates;
use super::route_detail::RouteDetailState;
use super::routes::RoutesState;
use super::theme::Theme;
use super::view::RequestsView;
use crate::model::identities::IdentityTable;
use crate::model::map::MapGraph;
use crate::model::metrics::MetricsView;
use crate::model::routes::{Grouping, RouteKey, RouteTable};
use crate::model::store::{Ingested, Store};
use crate::session::{Clock, HttpMatch, Redactor, SessionInfo, SourceMsg, StreamState, TapCommand};

/// How long an informational message stays in the status bar.
pub const MESSAGE_TTL_SECS: i64 = 8;
/// Errors stay longer: the user may have looked away.
pub const ERROR_MESSAGE_TTL_SECS: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// What makes a status message stale before its time runs out: the state it describes has
/// moved on, and a message saying otherwise would mislead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Until {
    /// Only its time.
    #[default]
    Expiry,
    /// Another filter is applied ("filter cleared", a filter error).
    FilterChange,
    /// A stream connects or fails after a restart ("restarting the tap: …"): the first status
    /// line says the rest.
    TapSettled,
    /// The user leaves the pane it is about (a map search).
    PaneChange,
}

/// A transient line in the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub level: Level,
    pub at: DateTime<Utc>,
    pub until: Until,
}

/// `:export FILE ARGS…`, handed to the export hook by the main loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    pub path: std::path::PathBuf,
    pub args: Vec<String>,
}

/// Something the reducer wants done outside itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Restart the live tap with a change.
    Tap(TapCommand),
    Export(ExportRequest),
    /// Put text on the clipboard: OSC 52, a tmux buffer or a file (`tui::clipboard`).
    Clipboard(String),
    /// `:diff FILE`: read the saved capture (off the UI thread) to compare with the live one.
    Diff(std::path::PathBuf),
}

/// The view filter: what is shown and counted. It never changes what is captured.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveFilter {
    pub text: String,
}

/// `:tap EXPR`: the matches the live tap was restarted with, so what else the targets serve is
/// not captured while it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct NarrowedTap {
    pub text: String,
    /// Sent to the tap server, on top of the command line's matches.
    pub server: HttpMatch,
    /// The `--to` resource sent to the tap server (`to=kind/name`).
    pub to: Option<String>,
}

/// The route detail, opened with Enter on a route.
#[derive(Debug)]
pub struct RouteDetailOpen {
    pub key: RouteKey,
    /// The selection, brought up to date with the route's samples by each refresh.
    pub state: RouteDetailState,
}

#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub info: SessionInfo,
    /// Indexed like `info.targets`.
    pub streams: Vec<StreamState>,
    /// Indexed like `streams`: the gaps each stream has had (events lost while reconnecting).
    pub gaps: Vec<Gaps>,
    /// The source channel closed: nothing more will arrive.
    pub source_closed: bool,
    /// Batches waiting in the source channel when the frame was drawn: the UI is behind the
    /// stream and backpressure is slowing the sources.
    pub backlog: usize,
    /// Whether `TapCommand`s can reach a live source.
    pub live: bool,
    pub pane: Pane,
    pub view: RequestsView,
    /// Per-route stats of every finished or expired request.
    pub routes: RouteTable,
    /// Who talks to whom, with which identities.
    pub identities: IdentityTable,
    /// Who calls whom, for the map.
    pub map: MapGraph,
    /// The map's folding, cached layout and selection: updated by the reducer and ingest,
    /// only read while drawing.
    pub map_view: MapState,
    /// The latest metrics API poll (`--metrics-api`); `None` when it is not configured.
    pub metrics: Option<MetricsView>,
    /// The routes pane's window, sort, selection and sorted rows: refreshed by `tick` and after
    /// each action while the pane is shown, only read while drawing.
    pub routes_view: RoutesState,
    /// The identities tree, its open nodes, selection and scroll: refreshed like `routes_view`.
    pub identities_view: IdentitiesState,
    /// What is open over the panes (details, popups, help, the prompt), in one priority order.
    pub overlays: Overlays,
    pub filter: Option<ActiveFilter>,
    /// Which side of each meshed call is listed and counted (`D`), joined to `filter`.
    pub side: super::sides::SideView,
    /// `:tap EXPR` in force (live sessions only).
    pub narrowed: Option<NarrowedTap>,
    pub filter_history: Vec<String>,
    pub command_history: Vec<String>,
    pub find_history: Vec<String>,
    pub message: Option<Message>,
    /// Problems with the user's config, shown until dismissed by any key.
    pub warnings: Vec<String>,
    pub rates: Rates,
    /// The model's time: the wall clock live, the latest event's time in a replay.
    pub clock: Clock,
    /// What the detail pane masks: the same redactor as every other output.
    pub redactor: Redactor,
    pub keymap: Keymap,
    pub theme: Theme,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
    pub(super) resume_following: bool,
    pub(super) effects: Vec<Effect>,
    /// `--trigger`: sees each finished request (`ingest`), polled by `tick`.
    pub triggers: Option<std::sync::Arc<crate::trigger::run::Triggers>>,
    /// Trigger firings so far, for the status bar.
    pub trigger_firings: usize,
    /// The clusters shown (`--context A,B`): the cluster column appears with more than one.
    pub clusters: super::clusters::ClustersSeen,
    /// Per-pod tap health of every stream's target: the status bar's line, `:why`, the empty
    /// pane.
    pub health: crate::health::HealthBook,
    /// The latest reading of the proxies' refusal counters, per cluster (live sessions): for
    /// explain and the identities pane's flag.
    pub denials: crate::routestats::Readings,
}

/// A stream's gaps: each reconnect loses the events sent while it was down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gaps {
    pub count: u32,
    /// When the last gap began.
    pub last: Option<DateTime<Utc>>,
    /// When the pending reconnect is due (for the countdown).
    pub retry_at: Option<DateTime<Utc>>,
}

impl Gaps {
    /// Whole seconds left before the pending reconnect, rounded up: counted down from
    /// `retry_at`, or all of `after` when none was announced. Every countdown shown uses this.
    pub fn retry_secs(&self, after: std::time::Duration, now: DateTime<Utc>) -> u64 {
        let left_ms = self.retry_at.map_or_else(
            || u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            |at| u64::try_from((at - now).num_milliseconds()).unwrap_or(0),
        );
        left_ms.div_ceil(1000)
    }
}

impl AppState {
    pub fn new(store: Store, info: SessionInfo, config: UiConfig) -> Self {
        let streams = vec![StreamState::Connecting; info.targets.len().max(1)];
        Self {
            clusters: super::clusters::ClustersSeen::new(&info),
            store,
            info,
            gaps: vec![Gaps::default(); streams.len()],
            streams,
            source_closed: false,
            backlog: 0,
            live: false,
            pane: Pane::Requests,
            view: RequestsView::new(),
            routes: RouteTable::new(Grouping::default()),
            identities: IdentityTable::new(),
            map: MapGraph::new(),
            map_view: MapState::default(),
            metrics: None,
            routes_view: RoutesState::new(),
            identities_view: IdentitiesState::new(),
            overlays: Overlays::default(),
            filter: None,
            side: super::sides::SideView::Both,
            narrowed: None,
            filter_history: Vec::new(),
            command_history: Vec::new(),
            find_history: Vec::new(),
            message: None,
            warnings: config.warnings,
            rates: Rates::default(),
            clock: Clock::default(),
            redactor: Redactor::default(),
            keymap: config.keymap,
            theme: config.theme,
            width: 80,
            height: 24,
            quit: false,
            resume_following: true,
            effects: Vec::new(),
            triggers: None,
            trigger_firings: 0,
            health: crate::health::HealthBook::default(),
            denials: crate::routestats::Readings::default(),
        }
    }

    /// Applies a message from the source.
    pub fn ingest(&mut self, msg: SourceMsg, now: DateTime<Utc>) {
        match msg {
            SourceMsg::Events(events) => {
                self.clock.observe(&events);
                self.health.observe(&events, self.clock.now(now));
                for event in events {
                    let (seq, finished) = match self.store.ingest(event) {
                        Ingested::Open(seq) => (seq, false),
                        Ingested::Finished(seq) => (seq, true),
                        Ingested::Ignored => continue,
                    };
                    if let Some(request) = self.store.get(seq) {
                        self.clusters.note(request.cluster.as_ref());
                        if let (true, Some(triggers)) = (finished, &self.triggers) {
                            triggers.finished(request, self.clock.now(now));
                        }
                        self.view.on_update(request, self.clock.now(now));
                        // The stats panes count what the filter lets through.
                        if finished && self.view.shows(request) {
                            self.routes.record(request);
                            self.identities.record(request);
                            self.map.record(request);
                        }
                    }
                    self.follow_request(seq);
                }
                self.view.on_evict(&self.store);
                self.settle();
            }
            SourceMsg::State { stream, state } => {
                if self.streams.len() <= stream {
                    self.streams.resize(stream + 1, StreamState::Connecting);
                    self.gaps.resize(stream + 1, Gaps::default());
                }
                if let StreamState::Reconnecting { after, .. } = &state {
                    let gaps = &mut self.gaps[stream];
                    gaps.count += 1;
                    gaps.last = Some(now);
                    gaps.retry_at = chrono::Duration::from_std(*after).ok().map(|d| now + d);
                }
                self.health.state(stream, &state, self.clock.now(now));
                if matches!(state, StreamState::Connected | StreamState::Failed(_)) {
                    self.settle_message(Until::TapSettled);
                }
                self.streams[stream] = state;
            }
            SourceMsg::Pods(list) => self.health.pods(*list),
            SourceMsg::Denials(reading) => self.on_denials(*reading),
            SourceMsg::Warning { stream, message } => {
                let target = self.info.targets.get(stream).map_or("", String::as_str);
                let text = if target.is_empty() {
                    message
                } else {
                    format!("{target}: {message}")
                };
                self.notify(Level::Warning, text, now);
            }
            SourceMsg::Notice(text) => self.notify(Level::Error, text, now),
            SourceMsg::Metrics(snapshot) => {
                // A new or changed error reaches the status bar once; the panes keep saying it.
                let before = self
                    .metrics
                    .as_ref()
                    .and_then(|m| m.snapshot.error.as_ref());
                if let Some(error) = &snapshot.error
                    && before != Some(error)
                {
                    self.notify(Level::Warning, error.clone(), now);
                }
                self.health.metrics(&snapshot);
                self.metrics = Some(MetricsView::new(snapshot));
                self.map_view.metrics_generation += 1;
                self.refresh_map();
            }
        }
    }

    /// The source channel closed.
    /// Nothing more will arrive, so the trigger windows still open are written now with what
    /// there is: a replay's clock stops at its last event and would never close them.
    pub fn source_ended(&mut self) {
        self.source_closed = true;
        for stream in &mut self.streams {
            if matches!(stream, StreamState::Connecting | StreamState::Connected) {
                *stream = StreamState::Ended;
            }
        }
        if let Some(triggers) = &self.triggers {
            // Firings come back through `tick`'s poll once written (skipped ones are listed in
            // `:triggers`).
            triggers.close_all(&self.store);
        }
    }

    /// Periodic work: expiry, rates, sorted views, message timeouts. Returns whether anything
    /// visible changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        let mut dirty = false;
        let clock_now = self.clock.now(now);
        for seq in self.store.expire(clock_now) {
            if let Some(request) = self.store.get(seq) {
                self.view.on_update(request, clock_now);
                if self.view.shows(request) {
                    self.routes.record(request);
                    self.identities.record(request);
                    self.map.record(request);
                }
                self.follow_request(seq);
                dirty = true;
            }
        }
        let stats = self.store.stats();
        dirty |= self.rates.sample(now, stats.events, stats.requests);
        // Sampling happens twice a second and marks the frame dirty: that also redraws the stats
        // panes, whose windows slide with time even when no request arrives.
        // `age<2m` and `since=-5m` let rows go as time passes; the stats follow the list.
        if self.view.refresh_clock(&self.store, clock_now) {
            self.rebuild_stats();
            dirty = true;
        }
        dirty |= self.view.refresh_sort(&self.store, now, false);
        if let Some(triggers) = &self.triggers {
            let fired = triggers.poll(&self.store, self.clock.now(now));
            dirty |= self.trigger_firings != triggers.firings();
            self.trigger_firings = triggers.firings();
            if let Some(last) = fired.last() {
                self.notify(Level::Info, last.to_string(), now);
                dirty = true;
            }
        }
        if let Some(message) = &self.message {
            let ttl = match message.level {
                Level::Error => ERROR_MESSAGE_TTL_SECS,
                Level::Info | Level::Warning => MESSAGE_TTL_SECS,
            };
            if now - message.at > TimeDelta::seconds(ttl) {
                self.message = None;
                dirty = true;
            }
        }
        if dirty {
            self.settle();
        }
        self.refresh_views(now);
        dirty
    }

    /// The effects the reducer asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn notify(&mut self, level: Level, text: impl Into<String>, now: DateTime<Utc>) {
        self.notify_until(level, text, now, Until::Expiry);
    }

    /// A message that also goes when `until` happens (or a newer message replaces it).
    pub fn notify_until(
        &mut self,
        level: Level,
        text: impl Into<String>,
        now: DateTime<Utc>,
        until: Until,
    ) {
        self.message = Some(Message {
            text: text.into(),
            level,
            at: now,
            until,
        });
    }

    /// `event` happened: the message waiting for it goes.
    pub(super) fn settle_message(&mut self, event: Until) {
        if self.message.as_ref().is_some_and(|m| m.until == event) {
            self.message = None;
        }
    }

    /// The keymap contexts that apply now, innermost first: the overlay on top, else the pane;
    /// then the global bindings, except under a prompt, which takes every key.
    pub fn contexts(&self) -> Vec<Context> {
        match self.overlays.top(self.pane) {
            Some(Layer::Prompt) => vec![Context::Prompt],
            Some(layer) => vec![layer.context(), Context::Global],
            None => vec![self.pane.context(), Context::Global],
        }
    }

    /// The innermost context as if the help (and a prompt) were closed: what the help opens at,
    /// and what the footer's hints describe.
    pub fn context_under_help(&self) -> Context {
        self.overlays
            .shown(self.pane)
            .rev()
            .map(super::overlay::Overlay::layer)
            .find(|layer| !matches!(layer, Layer::Help | Layer::Prompt))
            .map_or_else(|| self.pane.context(), Layer::context)
    }

    /// What a key press means here: a binding, or text typed into an open prompt.
    pub fn action_for_key(&self, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        if let Some(action) = self.keymap.lookup(&self.contexts(), key) {
            return Some(action);
        }
        match event.code {
            KeyCode::Char(c)
                if self.overlays.is_open(Layer::Prompt)
                    && !event
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(Action::Input(c))
            }
            _ => None,
        }
    }

    /// The whole terminal.
    pub fn area(&self) -> ratatui::layout::Rect {
        ratatui::layout::Rect::new(0, 0, self.width, self.height)
    }

    pub fn list_rows(&self) -> usize {
        layout::list_rows(
            self.width,
            self.height,
            self.overlays.is_open(Layer::Detail),
        )
    }

    pub fn detail_rows(&self) -> usize {
        layout::detail_rows(self.width, self.height)
    }

    pub(super) fn settle(&mut self) {
        let rows = self.list_rows();
        self.view.settle(&self.store, rows);
        self.refresh_map();
    }
}
