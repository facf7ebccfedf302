//! Render snapshots of the whole screen (`TestBackend` + insta) at 80×24 and 160×48: empty with each
//! "why no data" hint, streaming, paused, filtered, detail, help, prompt, errors, too small.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use meshtap::app::action::QuickField;
use meshtap::app::config;
use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::{
    Direction, Endpoint, Eos, Header, HeaderValue, Headers, HttpEvent, Labels, RequestInit,
    ResponseEnd, ResponseInit, StreamId, TapEvent,
};
use meshtap::model::store::Store;
use meshtap::session::{ErrorKind, SessionInfo, SourceMsg, StreamError, StreamState};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

// The routes and identities tests live beside this file; they share its helpers and, through
// `snapshot`, its snapshot directory.
#[path = "tui_snapshots/clusters.rs"]
mod clusters;
#[path = "tui_snapshots/copy.rs"]
mod copy;
#[path = "tui_snapshots/denials.rs"]
mod denials;
#[path = "tui_snapshots/inflight.rs"]
mod inflight;
#[path = "tui_snapshots/map.rs"]
mod map;
#[path = "tui_snapshots/metrics.rs"]
mod metrics;
#[path = "tui_snapshots/routes.rs"]
mod routes;
#[path = "tui_snapshots/sides.rs"]
mod sides;
#[path = "tui_snapshots/trace.rs"]
mod trace;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn at(ms: i64) -> DateTime<Utc> {
    t0() + TimeDelta::milliseconds(ms)
}

fn state(width: u16, height: u16) -> AppState {
    let info = SessionInfo {
        clusters: Vec::new(),
        context: "demo".into(),
        targets: vec!["ns/sock-shop".into()],
        sampling: "max 100 rps split over 12 pods".into(),
    };
    meshtap_testkit::app(1_000, info, width, height, t0())
}

fn render(state: &AppState, now: DateTime<Utc>) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(state.width, state.height)).expect("terminal");
    terminal
        .draw(|frame| meshtap::ui::draw(frame, state, now))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn endpoint(ip: &str, port: u16, labels: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        addr: Some(SocketAddr::new(ip.parse().expect("ip"), port)),
        labels: labels.iter().copied().collect::<Labels>(),
    }
}

struct Call {
    stream: u64,
    from: &'static str,
    to: &'static str,
    path: &'static str,
    status: Option<u32>,
    eos: Option<Eos>,
    latency_ms: u64,
    ended: bool,
}

fn call(stream: u64, to: &'static str, path: &'static str, status: u32) -> Call {
    Call {
        stream,
        from: "front-end",
        to,
        path,
        status: Some(status),
        eos: None,
        latency_ms: 3 + stream * 7 % 40,
        ended: true,
    }
}

/// The events of one outbound call from `from` to `to`, arriving at `ms`.
fn events(c: &Call, ms: i64) -> Vec<TapEvent> {
    let source = endpoint(
        "10.42.0.7",
        41000,
        &[
            ("namespace", "sock-shop"),
            ("deployment", c.from),
            ("pod", "front-end-6d8f9c7b5-x2x9q"),
        ],
    );
    let server_id = format!(
        "{}.sock-shop.serviceaccount.identity.linkerd.cluster.local",
        c.to
    );
    let destination = endpoint(
        "10.42.1.12",
        8080,
        &[
            ("namespace", "sock-shop"),
            ("deployment", c.to),
            ("pod", "catalogue-7c9d-abcde"),
            ("service", c.to),
            ("tls", "true"),
            ("server_id", &server_id),
        ],
    );
    let id = StreamId {
        base: 1,
        stream: c.stream,
    };
    let event = |http, offset: i64| TapEvent {
        cluster: None,
        arrived: at(ms + offset),
        source: source.clone(),
        destination: destination.clone(),
        direction: Direction::Outbound,
        route: Labels::default(),
        http: Some(http),
    };
    let latency = Duration::from_millis(c.latency_ms);
    let mut out = vec![event(
        HttpEvent::RequestInit(RequestInit {
            id,
            method: Some("GET".into()),
            scheme: Some("http".into()),
            authority: format!("{}.sock-shop.svc.cluster.local:80", c.to).into(),
            path: c.path.into(),
            headers: vec![
                Header {
                    name: "user-agent",
                    value: HeaderValue::Str("curl/8.5"),
                },
                Header {
                    name: "authorization",
                    value: HeaderValue::Str("Bearer s3cr3t"),
                },
            ]
            .into(),
            matched_route: None,
        }),
        0,
    )];
    if let Some(http_status) = c.status {
        out.push(event(
            HttpEvent::ResponseInit(ResponseInit {
                id,
                since_request_init: Some(latency),
                http_status,
                headers: vec![Header {
                    name: "content-type",
                    value: HeaderValue::Str("application/json"),
                }]
                .into(),
            }),
            1,
        ));
    }
    if c.ended {
        out.push(event(
            HttpEvent::ResponseEnd(ResponseEnd {
                id,
                since_request_init: Some(latency + Duration::from_millis(2)),
                since_response_init: Some(Duration::from_millis(2)),
                response_bytes: 1_200 + c.stream * 37,
                eos: c.eos,
                trailers: Headers::default(),
            }),
            2,
        ));
    }
    out
}

/// A mix of outcomes: ok, client error, server error, gRPC, reset, slow, in flight, expired.
fn traffic() -> Vec<Call> {
    let mut calls = Vec::new();
    let services = [
        ("catalogue", "/catalogue"),
        ("carts", "/carts/57a98d98e4b00679b4a830b2/items"),
        ("orders", "/orders"),
        ("user", "/customers/57a98d98e4b00679b4a830af"),
    ];
    for stream in 0..24 {
        let (to, path) = services[(stream % 4) as usize];
        calls.push(call(stream, to, path, 200));
    }
    calls[3].status = Some(404);
    calls[5].status = Some(503);
    calls[9].status = Some(200);
    calls[9].eos = Some(Eos::Grpc(14));
    calls[11].eos = Some(Eos::Reset(2));
    calls[14].latency_ms = 1_250;
    calls[20].ended = false;
    calls[22].ended = false;
    calls[22].status = None;
    calls
}

fn feed(state: &mut AppState, calls: &[Call]) {
    state.tick(at(0));
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Connected,
        },
        t0(),
    );
    for (i, c) in calls.iter().enumerate() {
        let ms = i64::try_from(i).expect("small") * 50;
        state.ingest(SourceMsg::Events(events(c, ms)), at(ms));
    }
    // A second rate sample after the events so events/s is shown.
    state.tick(at(1_200));
}

fn streaming(width: u16, height: u16) -> AppState {
    let mut state = state(width, height);
    feed(&mut state, &traffic());
    state
}

fn snapshot(name: &str, state: &AppState) {
    snapshot_at(name, state, at(1_500));
}

fn snapshot_at(name: &str, state: &AppState, now: DateTime<Utc>) {
    let text = render(state, now);
    insta::assert_snapshot!(format!("{name}_{}x{}", state.width, state.height), text);
}

#[test]
fn empty_states_explain_why() {
    let cases = [
        ("empty_connecting", StreamState::Connecting),
        ("empty_no_traffic", StreamState::Connected),
        (
            "empty_forbidden",
            StreamState::Failed(StreamError::new(
                ErrorKind::Forbidden,
                "403 Forbidden: User \"dev\" cannot watch resource \"namespaces/tap\" in API group \"tap.linkerd.io\"",
            )),
        ),
        (
            "empty_viz_missing",
            StreamState::Failed(StreamError::new(
                ErrorKind::VizMissing,
                "404 Not Found: the server could not find the requested resource (tap.linkerd.io/v1alpha1); is linkerd-viz installed?",
            )),
        ),
        (
            "empty_reconnecting",
            StreamState::Reconnecting {
                after: Duration::from_secs(4),
                error: StreamError::new(ErrorKind::Transport, "connection refused"),
            },
        ),
    ];
    for (name, stream) in cases {
        for (w, h) in SIZES {
            let mut state = state(w, h);
            state.ingest(
                SourceMsg::State {
                    stream: 0,
                    state: stream.clone(),
                },
                t0(),
            );
            snapshot(name, &state);
        }
    }
}

/// First contact failures in the empty requests pane: the message names the server, user or
/// command, the kind's hint says what to do; a transient one counts down to its retry.
#[test]
fn first_contact_failures_explain_themselves() {
    let cases = [
        (
            "empty_connection_refused",
            StreamState::Reconnecting {
                after: Duration::from_secs(2),
                error: StreamError::new(
                    ErrorKind::Transport,
                    "the connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port? (context \"kind-dev\")",
                ),
            },
        ),
        (
            "empty_credential_plugin_missing",
            StreamState::Failed(StreamError::new(
                ErrorKind::CredentialPluginMissing,
                "the credential plugin \"aws\" of user \"eks-admin\" is not on PATH (context \"prod\")",
            )),
        ),
        (
            "empty_certificate_unknown_authority",
            StreamState::Failed(StreamError::new(
                ErrorKind::ApiServerCertificate,
                "the certificate of the server https://10.0.0.1:6443 does not verify: it is signed by an authority the kubeconfig's certificate-authority does not contain (context \"prod\")",
            )),
        ),
    ];
    for (name, stream) in cases {
        let mut state = state(80, 24);
        state.ingest(
            SourceMsg::State {
                stream: 0,
                state: stream,
            },
            t0(),
        );
        snapshot(name, &state);
    }
}

#[test]
fn streaming_follows_the_newest() {
    for (w, h) in SIZES {
        let state = streaming(w, h);
        assert!(state.view.following);
        snapshot("streaming", &state);
    }
}

#[test]
fn paused_view_freezes_while_capture_goes_on() {
    for (w, h) in SIZES {
        let mut state = streaming(w, h);
        state.handle(Action::Pause, at(1_300));
        let before = render(&state, at(1_500));
        let more: Vec<Call> = (100..110)
            .map(|s| call(s, "payment", "/paymentAuth", 200))
            .collect();
        for (i, c) in more.iter().enumerate() {
            state.ingest(
                SourceMsg::Events(events(c, 1_400 + i64::try_from(i).expect("small"))),
                at(1_400),
            );
        }
        let after = render(&state, at(1_500));
        // Only the status bar (PAUSED +n, held count) may change; the rows are frozen.
        let rows = |s: &str| {
            s.lines()
                .skip(1)
                .take(usize::from(h) - 3)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(&before)[1..], rows(&after)[1..]);
        snapshot("paused", &state);
    }
}

#[test]
fn selection_moves_and_stays_put_while_streaming() {
    let mut state = streaming(80, 24);
    state.handle(Action::Top, at(1_300));
    state.handle(Action::Down, at(1_300));
    let selected = state.view.selected;
    assert_eq!(selected, Some(1));
    feed(&mut state, &[call(200, "catalogue", "/catalogue", 200)]);
    assert_eq!(state.view.selected, selected);
    assert!(!state.view.following);
    snapshot("moved", &state);
}

#[test]
fn filtered_view() {
    for (w, h) in SIZES {
        let mut state = streaming(w, h);
        state.handle(Action::FilterPrompt, at(1_300));
        for c in "status=5xx".chars() {
            state.handle(Action::Input(c), at(1_300));
        }
        state.handle(Action::Submit, at(1_300));
        assert!(state.filter.is_some());
        snapshot("filtered", &state);
    }
}

/// Item 5: while `:tap` narrows a live tap, the status bar says so and what is not captured; a
/// view filter says nothing of the kind (it narrows nothing).
#[test]
fn a_narrowed_tap_is_said_in_the_status_bar() {
    let mut state = streaming(160, 48);
    state.live = true;
    let type_line = |state: &mut AppState, prompt: Action, line: &str| {
        state.handle(prompt, at(1_300));
        for c in line.chars() {
            state.handle(Action::Input(c), at(1_300));
        }
        state.handle(Action::Submit, at(1_300));
    };
    type_line(&mut state, Action::FilterPrompt, "method=GET");
    let screen = render(&state, at(1_300));
    assert!(!screen.contains("TAP NARROWED"), "{screen}");
    assert!(!screen.contains("server:"), "{screen}");
    type_line(&mut state, Action::CommandPrompt, "tap method=GET");
    // Long after the command's message has gone, the bar still says it.
    let screen = render(&state, at(600_000));
    assert!(
        screen.contains("TAP NARROWED method=GET: nothing else is captured (:tap restores)"),
        "{screen}"
    );
    type_line(&mut state, Action::CommandPrompt, "tap");
    let screen = render(&state, at(600_000));
    assert!(!screen.contains("TAP NARROWED"), "{screen}");
}

#[test]
fn filter_prompt_validates_as_you_type() {
    for (w, h) in SIZES {
        let mut state = streaming(w, h);
        state.handle(Action::FilterPrompt, at(1_300));
        for c in "status=5xx and (lat>".chars() {
            state.handle(Action::Input(c), at(1_300));
        }
        snapshot("prompt_invalid", &state);
    }
}

#[test]
fn long_prompt_input_scrolls_to_keep_the_cursor_visible() {
    let mut state = streaming(60, 12);
    state.handle(Action::FilterPrompt, at(1_300));
    let typed = "path ~ \"/catalogue\" and status = 2xx and latency > 1ms and dst = 日本語";
    for c in typed.chars() {
        state.handle(Action::Input(c), at(1_300));
    }
    let screen = render(&state, at(1_300));
    let prompt_row = screen.lines().last().expect("prompt row");
    // The end of what was typed is on screen, not clipped off the right edge.
    assert!(
        prompt_row.contains("dst = 日"),
        "prompt row: {prompt_row:?}"
    );
}

#[test]
fn a_long_context_name_does_not_cover_the_tabs() {
    let info = SessionInfo {
        clusters: Vec::new(),
        context: "arn:aws:eks:eu-west-1:123456789012:cluster/production".into(),
        targets: vec!["ns/sock-shop".into()],
        sampling: String::new(),
    };
    let state = meshtap_testkit::app(10, info, 80, 24, t0());
    let screen = render(&state, t0());
    let tabs = screen.lines().next().expect("tab row");
    assert!(tabs.contains("3 Identities "), "tab row: {tabs:?}");
}

#[test]
fn detail_tree_masks_secrets_until_revealed() {
    for (w, h) in SIZES {
        let mut state = streaming(w, h);
        state.handle(Action::Top, at(1_300));
        state.handle(Action::Open, at(1_300));
        assert!(state.overlays.detail().is_some());
        let masked = render(&state, at(1_500));
        assert!(masked.contains("<redacted>"), "{masked}");
        assert!(!masked.contains("s3cr3t"));
        snapshot("detail", &state);
        state.handle(Action::Reveal, at(1_300));
        assert!(render(&state, at(1_500)).contains("Bearer s3cr3t"));
    }
}

#[test]
fn help_is_generated_from_the_keymap() {
    for (w, h) in SIZES {
        let mut state = streaming(w, h);
        state.handle(Action::Help, at(1_300));
        snapshot("help", &state);
    }
}

#[test]
fn errors_show_in_the_status_bar() {
    for (w, h) in SIZES {
        let mut state = streaming(w, h);
        state.ingest(
            SourceMsg::State {
                stream: 0,
                state: StreamState::Reconnecting {
                    after: Duration::from_secs(2),
                    error: StreamError::new(ErrorKind::Stream, "stream reset by the API server"),
                },
            },
            at(1_300),
        );
        state.handle(Action::CommandPrompt, at(1_300));
        for c in "ns emojivoto".chars() {
            state.handle(Action::Input(c), at(1_300));
        }
        state.handle(Action::Submit, at(1_300));
        snapshot("error", &state);
    }
}

#[test]
fn config_warnings_are_visible() {
    let config = config::from_text("bind requests Hyper-x quit\n", "meshtap.conf", false);
    let mut state = AppState::new(Store::new(10), SessionInfo::default(), config);
    state.handle(
        Action::Resize {
            width: 80,
            height: 24,
        },
        t0(),
    );
    let text = render(&state, t0());
    assert!(
        text.contains("config: meshtap.conf:1: unknown key"),
        "{text}"
    );
}

#[test]
fn too_small() {
    let state = state(40, 10);
    snapshot("too_small", &state);
}

#[test]
fn other_panes() {
    let mut state = streaming(80, 24);
    state.handle(Action::ShowPane(Pane::Routes), at(1_300));
    snapshot("routes", &state);
    state.handle(Action::NextPane, at(1_300));
    assert_eq!(state.pane, Pane::Identities);
    snapshot("identities", &state);
}

#[test]
fn quick_filter_from_selected_row() {
    let mut state = streaming(160, 48);
    state.handle(Action::Top, at(1_300));
    state.handle(Action::Quick(QuickField::Deployment), at(1_300));
    assert_eq!(
        state.filter.as_ref().map(|f| f.text.as_str()),
        Some("deploy=catalogue")
    );
    state.handle(Action::Quick(QuickField::Status), at(1_300));
    let text = state
        .filter
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    assert!(
        text.contains("deploy=catalogue") && text.contains("status=200"),
        "{text}"
    );
    let shown = state.view.rows(&state.store).len();
    assert!((1..24).contains(&shown), "{shown}");
}

#[test]
fn the_status_bar_shows_lag_when_the_ui_falls_behind() {
    let mut state = streaming(160, 48);
    let now = at(2_000);
    assert!(!render(&state, now).contains("lag:"));
    state.backlog = meshtap::session::SOURCE_CHANNEL_BATCHES;
    let screen = render(&state, now);
    assert!(
        screen.contains(&format!(
            "lag: {} batches waiting",
            meshtap::session::SOURCE_CHANNEL_BATCHES
        )),
        "{screen}"
    );
}

#[test]
fn reconnects_count_down_and_leave_gap_markers() {
    let mut state = streaming(160, 48);
    let reconnecting = StreamState::Reconnecting {
        after: std::time::Duration::from_secs(8),
        error: StreamError::new(ErrorKind::Ended, "the server ended the stream"),
    };
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: reconnecting,
        },
        at(10_000),
    );
    let screen = render(&state, at(13_000));
    assert!(
        screen.contains("reconnecting in 5s (the server ended the stream)"),
        "{screen}"
    );
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Connected,
        },
        at(18_000),
    );
    let screen = render(&state, at(19_000));
    assert!(
        screen.contains("connected, 1 gap (last 12:00:10)"),
        "{screen}"
    );
}

/// A capture is untrusted: a path carrying an OSC title sequence and bidirectional overrides is
/// shown, in the list and in the detail, without any character a terminal would act on.
#[test]
fn hostile_strings_never_reach_the_terminal() {
    let hostile = "/x\u{202E}gpj.exe\u{2066}\x1b]0;pwned\x07\u{9b}31m/y";
    let mut state = state(160, 48);
    let mut calls = traffic();
    calls.push(call(99, "catalogue", hostile, 200));
    feed(&mut state, &calls);
    state.handle(Action::Top, at(1_300));
    state.handle(Action::Open, at(1_300));
    assert!(state.overlays.detail().is_some());
    let screen = render(&state, at(1_500));
    assert!(screen.contains("gpj.exe"), "the path is shown: {screen}");
    let unsafe_chars: Vec<char> = screen
        .chars()
        .filter(|&c| c != '\n' && meshtap::export::text::is_terminal_unsafe(c))
        .collect();
    assert!(unsafe_chars.is_empty(), "{unsafe_chars:?}\n{screen}");
}

#[test]
fn the_empty_pane_and_the_status_bar_count_down_together() {
    let mut state = state(160, 48);
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Reconnecting {
                after: Duration::from_secs(8),
                error: StreamError::new(ErrorKind::Transport, "connection refused"),
            },
        },
        at(10_000),
    );
    let screen = render(&state, at(13_000));
    assert!(
        screen.contains("reconnecting in 5s (connection refused)"),
        "{screen}"
    );
    assert!(
        screen.contains("No data: reconnecting in 5s after: connection refused"),
        "{screen}"
    );
}

#[test]
fn a_proxy_tap_is_named_once() {
    let name = "proxy 10.42.0.7:4190";
    let info = SessionInfo {
        clusters: Vec::new(),
        context: name.into(),
        targets: vec![name.into()],
        sampling: "at most 100 requests per 1-second window".into(),
    };
    let state = meshtap_testkit::app(10, info, 160, 48, t0());
    let screen = render(&state, t0());
    let status = screen
        .lines()
        .find(|l| l.contains("connecting…"))
        .unwrap_or_default();
    assert_eq!(status.matches(name).count(), 1, "{status}");
    assert!(
        screen.contains(&format!("Connecting to {name}…")),
        "{screen}"
    );
}
