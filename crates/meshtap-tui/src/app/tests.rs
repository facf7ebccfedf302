//! Reducer and view tests: the state machine driven by actions, without a terminal.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::action::{Action, Pane};
use super::config;
use super::prompt::PromptKind;
use super::state::{AppState, Effect};
use super::view::SortKey;
use crate::model::event::{
    Direction, Endpoint, Headers, HttpEvent, Labels, RequestInit, ResponseEnd, ResponseInit,
    StreamId, TapEvent,
};
use crate::model::store::Store;
use crate::session::{HttpMatch, SessionInfo, SourceMsg, TapCommand};

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(ms)
}

fn state(capacity: usize) -> AppState {
    let mut state = AppState::new(
        Store::new(capacity),
        SessionInfo::default(),
        config::from_text("", "", true),
    );
    state.handle(
        Action::Resize {
            width: 80,
            height: 24,
        },
        at(0),
    );
    state
}

/// The three events of request `stream` with HTTP `status`.
fn request(stream: u64, status: u32) -> Vec<TapEvent> {
    let id = StreamId { base: 1, stream };
    let event = |http| TapEvent {
        cluster: None,
        arrived: at(0),
        source: Endpoint {
            addr: Some("10.0.0.1:5000".parse().expect("addr")),
            labels: [("namespace", "shop"), ("deployment", "web")]
                .into_iter()
                .collect::<Labels>(),
        },
        destination: Endpoint::default(),
        direction: Direction::Outbound,
        route: Labels::default(),
        http: Some(http),
    };
    vec![
        event(HttpEvent::RequestInit(RequestInit {
            id,
            method: Some("GET".into()),
            scheme: None,
            authority: "api".into(),
            path: format!("/items/{stream}").into(),
            headers: Headers::default(),
            matched_route: None,
        })),
        event(HttpEvent::ResponseInit(ResponseInit {
            id,
            since_request_init: Some(Duration::from_millis(stream)),
            http_status: status,
            headers: Headers::default(),
        })),
        event(HttpEvent::ResponseEnd(ResponseEnd {
            id,
            since_request_init: None,
            since_response_init: None,
            response_bytes: 1,
            eos: None,
            trailers: Headers::default(),
        })),
    ]
}

fn feed(state: &mut AppState, streams: std::ops::Range<u64>, status: u32) {
    for stream in streams {
        state.ingest(SourceMsg::Events(request(stream, status)), at(0));
    }
}

fn type_text(state: &mut AppState, text: &str) {
    for c in text.chars() {
        state.handle(Action::Input(c), at(0));
    }
}

#[test]
fn following_sticks_to_the_newest_and_moving_stops_it() {
    let mut state = state(100);
    feed(&mut state, 0..50, 200);
    assert_eq!(state.view.selected, Some(49));
    state.handle(Action::Up, at(0));
    assert_eq!(state.view.selected, Some(48));
    assert!(!state.view.following);
    feed(&mut state, 50..60, 200);
    assert_eq!(
        state.view.selected,
        Some(48),
        "streaming must not move the cursor"
    );
    state.handle(Action::Follow, at(0));
    assert_eq!(state.view.selected, Some(59));
}

#[test]
fn selection_survives_eviction_of_older_rows() {
    let mut state = state(20);
    feed(&mut state, 0..20, 200);
    state.handle(Action::Top, at(0));
    for _ in 0..5 {
        state.handle(Action::Down, at(0));
    }
    assert_eq!(state.view.selected, Some(5));
    feed(&mut state, 20..23, 200);
    assert_eq!(state.view.selected, Some(5));
    // Once its row is evicted the cursor moves to the oldest row still held.
    feed(&mut state, 23..40, 200);
    assert_eq!(state.view.selected, Some(20));
}

#[test]
fn pause_freezes_the_list_but_not_ingestion() {
    let mut state = state(100);
    feed(&mut state, 0..10, 200);
    state.handle(Action::Pause, at(0));
    feed(&mut state, 10..15, 200);
    assert_eq!(state.view.rows(&state.store).len(), 10);
    assert_eq!(state.store.len(), 15);
    assert_eq!(state.view.hidden_by_pause(&state.store), 5);
    state.handle(Action::Pause, at(0));
    assert_eq!(state.view.rows(&state.store).len(), 15);
    assert_eq!(state.view.selected, Some(14), "resuming restores following");
}

#[test]
fn filter_index_updates_incrementally_and_drops_evicted_rows() {
    let mut state = state(10);
    feed(&mut state, 0..4, 200);
    state.handle(Action::FilterPrompt, at(0));
    type_text(&mut state, "status>=500");
    assert!(matches!(
        state.overlays.prompt().and_then(|p| p.validation.clone()),
        Some(Ok(()))
    ));
    state.handle(Action::Submit, at(0));
    assert!(state.overlays.prompt().is_none());
    assert_eq!(state.view.rows(&state.store).len(), 0);
    feed(&mut state, 4..8, 503);
    feed(&mut state, 8..12, 200);
    let rows = state.view.rows(&state.store);
    assert_eq!(
        (0..rows.len())
            .filter_map(|i| rows.get(i))
            .collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    feed(&mut state, 12..17, 200);
    // Capacity 10: seqs 0..=6 are gone, so only 7 still matches.
    let rows = state.view.rows(&state.store);
    assert_eq!(
        (0..rows.len())
            .filter_map(|i| rows.get(i))
            .collect::<Vec<_>>(),
        [7]
    );
    state.handle(Action::ClearFilter, at(0));
    assert_eq!(state.view.rows(&state.store).len(), 10);
}

#[test]
fn an_invalid_filter_keeps_the_prompt_open() {
    let mut state = state(10);
    state.handle(Action::FilterPrompt, at(0));
    type_text(&mut state, "status=");
    state.handle(Action::Submit, at(0));
    assert!(state.overlays.prompt().is_some());
    assert!(state.filter.is_none());
    assert!(
        state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("column"))
    );
    state.handle(Action::Back, at(0));
    assert!(state.overlays.prompt().is_none());
}

#[test]
fn filter_history_recalls_with_up() {
    let mut state = state(10);
    for text in ["status=200", "method=GET"] {
        state.handle(Action::FilterPrompt, at(0));
        state.handle(Action::ClearLine, at(0));
        type_text(&mut state, text);
        state.handle(Action::Submit, at(0));
    }
    state.handle(Action::FilterPrompt, at(0));
    state.handle(Action::ClearLine, at(0));
    state.handle(Action::HistoryPrev, at(0));
    state.handle(Action::HistoryPrev, at(0));
    assert_eq!(
        state.overlays.prompt().map(|p| p.input.as_str()),
        Some("status=200")
    );
}

/// Item 5: a filter typed in a live session only picks what is shown; the tap goes on
/// capturing everything (the capture, stats and export keep it), and clearing it restarts
/// nothing. Commands still restart the tap.
#[test]
fn a_view_filter_never_narrows_a_live_tap() {
    let mut state = state(10);
    state.live = true;
    state.apply_filter(
        "method=POST and path~/api* and to=deploy/web and status=5xx",
        at(0),
    );
    assert!(state.filter.is_some());
    assert_eq!(state.take_effects(), [], "a view filter restarts nothing");
    assert!(state.narrowed.is_none());
    state.handle(Action::ClearFilter, at(0));
    assert_eq!(state.take_effects(), []);
    state.handle(Action::CommandPrompt, at(0));
    type_text(&mut state, "maxrps 5");
    state.handle(Action::Submit, at(0));
    assert_eq!(state.take_effects(), [Effect::Tap(TapCommand::MaxRps(5.0))]);
    // An accepted :target relabels the streams.
    state.handle(Action::CommandPrompt, at(0));
    type_text(&mut state, "target deploy/web");
    state.handle(Action::Submit, at(0));
    assert_eq!(
        state.take_effects(),
        [Effect::Tap(TapCommand::Targets(vec!["deploy/web".into()]))]
    );
    assert_eq!(state.info.targets, ["deploy/web"]);
}

fn command(state: &mut AppState, line: &str) {
    state.handle(Action::CommandPrompt, at(0));
    type_text(state, line);
    state.handle(Action::Submit, at(0));
}

/// Item 5: narrowing the capture is the explicit `:tap`, with only what Linkerd matches; it
/// holds (and is said) until `:tap` alone restores the full capture.
#[test]
fn tap_narrows_the_capture_explicitly_and_alone_restores_it() {
    let mut state = state(10);
    state.live = true;
    command(&mut state, "tap method=POST and to=deploy/web");
    let http = HttpMatch {
        method: Some("POST".into()),
        ..HttpMatch::default()
    };
    assert_eq!(
        state.take_effects(),
        [
            Effect::Tap(TapCommand::Http(http)),
            Effect::Tap(TapCommand::To(Some("deploy/web".into())))
        ]
    );
    let narrowed = state.narrowed.clone().expect("narrowed");
    assert_eq!(narrowed.text, "method=POST and to=deploy/web");
    let said = state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(said.contains("no longer captured"), "{said}");
    // The view filter is separate from it.
    assert!(state.filter.is_none());
    // What only meshtap can check is refused, and changes nothing.
    command(&mut state, "tap status=5xx");
    assert_eq!(state.take_effects(), []);
    assert_eq!(state.narrowed.as_ref(), Some(&narrowed));
    let said = state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(said.contains("can only filter the view"), "{said}");
    command(&mut state, "tap");
    assert_eq!(
        state.take_effects(),
        [
            Effect::Tap(TapCommand::Http(HttpMatch::default())),
            Effect::Tap(TapCommand::To(None))
        ]
    );
    assert!(state.narrowed.is_none());
}

/// A replay cannot be restarted: `:tap` says so and changes nothing.
#[test]
fn tap_is_refused_without_a_live_source() {
    let mut state = state(10);
    command(&mut state, "tap method=GET");
    assert_eq!(state.take_effects(), []);
    assert!(state.narrowed.is_none());
}

#[test]
fn a_refused_command_changes_nothing_and_says_why_once() {
    // A direct proxy tap: no command channel, and the proxy's name is both context and target.
    let name = "proxy 10.42.0.7:4190".to_string();
    let mut state = AppState::new(
        Store::new(10),
        SessionInfo {
            clusters: Vec::new(),
            context: name.clone(),
            targets: vec![name.clone()],
            sampling: String::new(),
        },
        config::from_text("", "", true),
    );
    for line in ["target deploy/web", "maxrps 5"] {
        state.handle(Action::CommandPrompt, at(0));
        type_text(&mut state, line);
        state.handle(Action::Submit, at(0));
        assert!(state.take_effects().is_empty(), "{line}");
        assert_eq!(
            state.info.targets,
            std::slice::from_ref(&name),
            "{line}: relabelled"
        );
        let text = state
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default();
        assert_eq!(
            text,
            format!(":{line} not applied: {name} cannot be restarted with new settings")
        );
    }
}

#[test]
fn offline_sessions_refuse_tap_commands_and_route_exports() {
    let mut state = state(10);
    state.handle(Action::CommandPrompt, at(0));
    type_text(&mut state, "ns other");
    state.handle(Action::Submit, at(0));
    assert!(state.take_effects().is_empty());
    assert!(
        state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("cannot be restarted with new settings"))
    );
    state.handle(Action::CommandPrompt, at(0));
    assert_eq!(
        state.overlays.prompt().map(|p| p.kind),
        Some(PromptKind::Command)
    );
    type_text(&mut state, "export out.ndjson --format har");
    state.handle(Action::Submit, at(0));
    assert!(matches!(
        state.take_effects().as_slice(),
        [Effect::Export(e)] if e.path.as_os_str() == "out.ndjson" && e.args == ["--format", "har"]
    ));
    state.handle(Action::CommandPrompt, at(0));
    type_text(&mut state, "q");
    state.handle(Action::Submit, at(0));
    assert!(state.quit);
}

#[test]
fn sorting_and_detail_navigation() {
    let mut state = state(100);
    feed(&mut state, 0..5, 200);
    state.handle(Action::SortNext, at(0));
    state.handle(Action::SortReverse, at(0));
    assert_eq!(state.view.sort, SortKey::Latency);
    let rows = state.view.rows(&state.store);
    assert_eq!(rows.get(0), Some(4), "slowest first");
    state.handle(Action::Top, at(0));
    state.handle(Action::Open, at(0));
    let detail = state.overlays.detail().expect("detail open");
    assert_eq!(detail.seq, 4);
    state.handle(Action::Down, at(0));
    assert_eq!(
        state.overlays.detail().map(|d| d.selected.clone()),
        Some(vec!["request".into(), "method".into()])
    );
    state.handle(Action::Collapse, at(0));
    state.handle(Action::Collapse, at(0));
    assert_eq!(state.overlays.detail().map(|d| d.selected.len()), Some(1));
    state.handle(Action::Back, at(0));
    assert!(state.overlays.detail().is_none());
}

#[test]
fn panes_cycle_and_keys_resolve_by_context() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut state = state(10);
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(state.action_for_key(&key('j')), Some(Action::Down));
    state.handle(Action::FilterPrompt, at(0));
    assert_eq!(state.action_for_key(&key('j')), Some(Action::Input('j')));
    assert_eq!(state.action_for_key(&key('q')), Some(Action::Input('q')));
    state.handle(Action::Back, at(0));
    state.handle(Action::PrevPane, at(0));
    assert_eq!(state.pane, Pane::Map);
    // In the map, Tab walks the node's edges and `F` finds a node, while `/` filters as in
    // every pane; BackTab still leaves.
    let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(state.action_for_key(&tab), Some(Action::NextEdge));
    assert_eq!(state.action_for_key(&key('F')), Some(Action::FindPrompt));
    assert_eq!(state.action_for_key(&key('/')), Some(Action::FilterPrompt));
    assert_eq!(state.action_for_key(&key('?')), Some(Action::Help));
    assert_eq!(state.action_for_key(&key('h')), Some(Action::Left));
    state.handle(Action::NextPane, at(0));
    assert_eq!(state.pane, Pane::Requests);
}

/// A replay runs on the capture's clock: a request whose end comes in a later batch is still
/// waiting, not expired, however old the capture is by the wall clock.
#[test]
fn a_replay_does_not_expire_old_requests_on_the_wall_clock() {
    let mut state = state(100);
    state.clock = crate::session::Clock::new(crate::session::ClockKind::Event);
    let events = request(7, 200);
    let (first, rest) = events.split_at(1);
    state.ingest(SourceMsg::Events(first.to_vec()), at(0));
    // A year of wall clock later, the capture's own time has not moved.
    let wall = at(0) + TimeDelta::days(365);
    state.tick(wall);
    assert_eq!(
        state.store.stats().expired,
        0,
        "nothing expires on the wall clock"
    );
    state.ingest(SourceMsg::Events(rest.to_vec()), wall);
    let request = state.store.requests().front().expect("one request");
    assert!(!request.is_open(), "the request finished normally");
    assert_eq!(state.store.len(), 1, "no orphan twin");

    // The same on the wall clock (a live source): the request expires.
    let mut live = self::state(100);
    live.ingest(SourceMsg::Events(first.to_vec()), at(0));
    live.tick(wall);
    assert_eq!(live.store.stats().expired, 1);
}

/// `--redact-header NAME` reaches the detail pane: the one redactor masks it there too.
#[test]
fn the_detail_pane_masks_what_the_session_redacts() {
    let mut events = request(1, 200);
    if let Some(HttpEvent::RequestInit(init)) = &mut events[0].http {
        init.headers = vec![crate::model::event::Header::str("x-api-key", "s3cret")].into();
    }
    let mut store = Store::new(10);
    for event in events {
        store.ingest(event);
    }
    let request = store.requests().front().expect("request");
    let text = |redactor: &crate::session::Redactor| {
        format!("{:?}", super::detail::nodes(request, redactor, false))
    };
    assert!(text(&crate::session::Redactor::default()).contains("s3cret"));
    let redactor = crate::session::Redactor::new(true, vec!["X-Api-Key".into()]);
    assert!(!text(&redactor).contains("s3cret"));
    assert!(format!("{:?}", super::detail::nodes(request, &redactor, true)).contains("s3cret"));
}

mod clock;
mod diff;
mod inflight;
mod views;

/// Status messages go when what they describe is over, not only when their time runs out:
/// "filter cleared" under a new filter, "restarting the tap" once the stream is back, a map
/// search's miss once the user has left the map.
#[test]
fn stale_status_messages_are_replaced_by_the_state_they_describe() {
    use crate::session::StreamState;
    let mut state = state(10);
    state.live = true;
    let text = |state: &AppState| state.message.as_ref().map(|m| m.text.clone());
    state.apply_filter("status=5xx", at(0));
    state.handle(Action::ClearFilter, at(0));
    assert_eq!(text(&state).as_deref(), Some("filter cleared"));
    state.apply_filter("ns=shop", at(1));
    assert_eq!(text(&state), None, "no 'filter cleared' under a filter");

    state.handle(Action::CommandPrompt, at(2));
    type_text(&mut state, "maxrps 5");
    state.handle(Action::Submit, at(2));
    assert_eq!(
        text(&state).as_deref(),
        Some("restarting the tap: :maxrps 5")
    );
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Connecting,
        },
        at(2),
    );
    assert!(text(&state).is_some(), "still restarting while connecting");
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Connected,
        },
        at(3),
    );
    assert_eq!(text(&state), None, "the stream's state says the rest");

    state.handle(Action::ShowPane(Pane::Map), at(4));
    state.handle(Action::FindPrompt, at(4));
    type_text(&mut state, "nowhere");
    state.handle(Action::Submit, at(4));
    assert!(text(&state).is_some_and(|t| t.contains("no node on the map")));
    state.handle(Action::Down, at(4));
    assert!(text(&state).is_some(), "still in the map");
    state.handle(Action::ShowPane(Pane::Requests), at(5));
    assert_eq!(text(&state), None, "left behind with the map");
}

/// Item 8 (F3): in a UI replay the event clock stops at the last event, so a trigger window
/// would never close before `q`; when the source ends, the window is written with what there is.
#[test]
fn a_replay_writes_its_trigger_windows_when_the_source_ends() {
    use crate::session::{Clock, ClockKind};
    use crate::trigger::run::{Settings, Triggers};
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        triggers: vec![crate::trigger::Trigger::parse("status>=500").expect("trigger")],
        window: Duration::from_secs(30),
        dir: dir.path().to_path_buf(),
        format: crate::export::file::ExportFormat::Ndjson,
        max_files: 10,
        hook: None,
        redactor: crate::session::Redactor::default(),
    };
    let triggers =
        std::sync::Arc::new(Triggers::start(settings, &SessionInfo::default()).expect("start"));
    let mut state = state(10);
    state.clock = Clock::new(ClockKind::Event);
    state.triggers = Some(triggers.clone());
    state.ingest(SourceMsg::Events(request(1, 503)), at(0));
    state.tick(at(0));
    assert_eq!(triggers.firings(), 0, "the window is still open");
    state.source_ended();
    // The writer thread writes the file; ticks collect it (bounded: 200 × 10 ms).
    for _ in 0..200 {
        state.tick(at(0));
        if triggers.fired().iter().any(|f| f.written.is_ok()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let fired = triggers.fired();
    assert_eq!(fired.len(), 1, "{fired:?}");
    let (path, written) = fired[0].written.clone().expect("written");
    assert_eq!(written, 1);
    assert!(path.starts_with(dir.path()));
    let said = state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(said.contains("fired on request"), "{said}");
}

/// A recording that fails mid-session says so in the status bar at once, as an error.
#[test]
fn a_failed_recording_is_said_at_once() {
    let mut state = state(100);
    feed(&mut state, 0..3, 200);
    let failed =
        "the recording rec.bin failed: File too large (os error 27); nothing more is recorded";
    state.ingest(SourceMsg::Notice(failed.to_owned()), at(1));
    let message = state.message.as_ref().expect("a message");
    assert_eq!(message.text, failed);
    assert_eq!(message.level, super::state::Level::Error);
}
