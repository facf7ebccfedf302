//! Rolling segment recordings (`--record-dir`) and flight-recorder triggers (`--trigger`):
//! time ranges read back exactly, torn segments, the disk budget under a fast demo, trigger
//! windows, their cooldown, and `--on-trigger`'s environment.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use crossterm::event::KeyCode;
use meshtap::export::file::ExportFormat;
use meshtap::model::event::{
    Direction, Endpoint, Headers, HttpEvent, Labels, RequestInit, ResponseEnd, ResponseInit,
    StreamId, TapEvent,
};
use meshtap::model::store::{Ingested, Store};
use meshtap::pipeline::segments::{self, read, write};
use meshtap::session::{Redactor, SessionInfo, SourceMsg};
use meshtap::source::replay::Speed;
use meshtap::trigger::Trigger;
use meshtap::trigger::hook::{Hook, HookOutput};
use meshtap::trigger::run::{Settings, Triggers};
use support::process::{interrupt, meshtap, mode, wait_bounded};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

pub(crate) fn at(seconds: u64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds.cast_signed())
}

/// The three events of request `stream` (path `path`, HTTP `status`), all arriving at `when`.
fn request(stream: u64, path: &str, status: u32, when: DateTime<Utc>) -> Vec<TapEvent> {
    let id = StreamId { base: 1, stream };
    let event = |http| TapEvent {
        cluster: None,
        arrived: when,
        source: Endpoint {
            addr: Some("10.0.0.1:5000".parse().expect("addr")),
            labels: [("namespace", "shop")].into_iter().collect::<Labels>(),
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
            path: path.into(),
            headers: Headers::default(),
            matched_route: None,
        })),
        event(HttpEvent::ResponseInit(ResponseInit {
            id,
            since_request_init: Some(Duration::from_millis(1)),
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

/// Writes requests `/items/0` … `/items/{n-1}`, one a second from `t0`, as segments in `dir`.
pub(crate) fn write_segments(dir: &Path, n: u64, budget: u64) {
    let mut ring = write::Ring::open(dir, budget).expect("ring");
    let keep = |_: &str| true;
    for i in 0..n {
        let mut chunk = Vec::new();
        for event in request(i, &format!("/items/{i}"), 200, at(i)) {
            let frame = |out: &mut Vec<u8>| {
                meshtap::source::wire::frame(&event, &keep, "<redacted>", out);
            };
            write::timed_frame(event.arrived, frame, &mut chunk);
        }
        std::io::Write::write_all(&mut ring, &chunk).expect("write");
    }
    ring.close().expect("close");
}

/// The paths of the requests joined from `events`, sorted by their number.
fn paths_of(events: Vec<TapEvent>) -> Vec<String> {
    let mut store = Store::default();
    for event in events {
        store.ingest(event);
    }
    store
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect()
}

pub(crate) fn items(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
    range.map(|i| format!("/items/{i}")).collect()
}

#[test]
fn a_time_range_across_segments_returns_exactly_the_requests_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("segs");
    // 128 KiB: 16 KiB segments, so 400 requests span several; nothing is deleted.
    write_segments(&segs, 400, 128 * 1024);
    let all = segments::list(&segs).expect("list");
    assert!(all.len() >= 3, "{} segments", all.len());
    let range = read::Range {
        from: Some(at(20)),
        until: Some(at(39)),
    };
    let plan = read::plan(&segs, range).expect("plan");
    assert!(plan.len() < all.len(), "the index skips segments");
    let mut events = Vec::new();
    let mut interner = meshtap::source::wire::Interner::default();
    for segment in &plan {
        let read = read::read_segment(segment, range, &mut interner).expect("read");
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        events.extend(read.events);
    }
    assert_eq!(paths_of(events), items(20..=39));
    // The same through `meshtap replay DIR --from --until`.
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (out, stderr) =
        replay_with_stderr(&segs, &["--from", &time(at(20)), "--until", &time(at(39))]);
    assert_eq!(ndjson_paths(&out), items(20..=39));
    assert!(stderr.is_empty(), "{stderr}");
    // A relative time (which starts with a hyphen) is a value, not a flag: everything recorded
    // in January is before "a day ago".
    assert_eq!(ndjson_paths(&replay(&segs, &["--until", "-1d"])).len(), 400);
    // `--to`, the former name, still ends the range, with a warning naming `--until`.
    let (old, stderr) =
        replay_with_stderr(&segs, &["--from", &time(at(20)), "--to", &time(at(39))]);
    assert_eq!(ndjson_paths(&old), items(20..=39));
    assert!(
        stderr.contains("replay --to is deprecated: use --until"),
        "{stderr}"
    );
}

/// `--to` is a destination in `tap` and an end time nowhere: replay's end is `--until`, and the
/// hidden former name cannot be given beside it or shown in the help.
#[test]
fn replays_end_is_until_and_its_former_name_to_is_hidden() {
    use clap::{CommandFactory as _, Parser as _};
    use meshtap::cli::Cli;
    let both = ["meshtap", "replay", "dir", "--until", "-1h", "--to", "-2h"];
    assert!(
        Cli::try_parse_from(both).is_err(),
        "--to beside --until is refused"
    );
    let mut command = Cli::command();
    let replay = command.find_subcommand_mut("replay").expect("replay");
    let help = replay.render_long_help().to_string();
    assert!(help.contains("--until <TIME>"), "{help}");
    assert!(!help.contains("--to "), "{help}");
}

/// The event batches `read::play` sends for the segments in `dir` at `speed`, and how long it took.
async fn play_segments(dir: &Path, speed: Speed) -> (Vec<usize>, Duration) {
    let plan = read::plan(dir, read::Range::default()).expect("plan");
    let ready = read::spawn_reader(plan, read::Range::default()).expect("reader");
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let started = Instant::now();
    let sent = read::play(ready, speed, tx).await;
    let took = started.elapsed();
    let mut batches = Vec::new();
    while let Ok(message) = rx.try_recv() {
        if let SourceMsg::Events(events) = message {
            batches.push(events.len());
        }
    }
    assert_eq!(batches.iter().sum::<usize>() as u64, sent);
    (batches, took)
}

#[tokio::test]
async fn segment_replay_honours_speed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("segs");
    // 10 requests one second apart, three events each at the same instant.
    write_segments(&segs, 10, 1 << 20);
    // At most speed everything goes at once, in one batch.
    let (batches, _) = play_segments(&segs, Speed::Max).await;
    assert_eq!(batches, [30]);
    // At 10x the recorded pace each second-long gap is a 100 ms wait, so the run cannot take
    // less than the nine gaps (a lower bound the pacer guarantees, however loaded the machine).
    let (batches, took) = play_segments(&segs, Speed::Factor(10.0)).await;
    assert_eq!(batches.iter().sum::<usize>(), 30);
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

/// `meshtap replay DIR -o ndjson ARGS…`'s stdout; it must succeed.
pub(crate) fn replay(dir: &Path, args: &[&str]) -> String {
    replay_with_stderr(dir, args).0
}

/// `meshtap replay DIR -o ndjson ARGS…`'s stdout and stderr; it must succeed.
fn replay_with_stderr(dir: &Path, args: &[&str]) -> (String, String) {
    let out = meshtap()
        .args(["replay", "-o", "ndjson"])
        .args(args)
        .arg(dir)
        .output()
        .expect("replay runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The `path` of every NDJSON request line.
pub(crate) fn ndjson_paths(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json");
            value["path"].as_str().expect("path").to_string()
        })
        .collect()
}

#[test]
fn a_torn_last_frame_is_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("segs");
    write_segments(&segs, 10, 1 << 20);
    let (_, segment) = segments::list(&segs)
        .expect("list")
        .pop()
        .expect("a segment");
    // A crash mid-write: the last frame loses its tail.
    let bytes = std::fs::read(&segment).expect("read");
    std::fs::write(&segment, &bytes[..bytes.len() - 5]).expect("tear");
    let mut interner = meshtap::source::wire::Interner::default();
    let read = read::read_segment(&segment, read::Range::default(), &mut interner).expect("read");
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    assert!(read.warnings[0].contains("torn"), "{:?}", read.warnings);
    // Every frame but the torn one: 10 requests of 3 events, less the last end.
    assert_eq!(read.events.len(), 29);
    assert_eq!(paths_of(read.events), items(0..=9));
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum()
}

#[test]
fn the_disk_budget_holds_under_a_fast_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("d");
    let budget: u64 = 256 * 1024;
    let mut child = meshtap()
        .args([
            "demo",
            "--rate",
            "5000",
            "-o",
            "ndjson",
            "--record-max",
            "256KiB",
        ])
        .arg("--record-dir")
        .arg(&segs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshtap demo starts");
    // Until the ring has gone round more than once (a budget of 8 segments): bounded in time.
    let started = Instant::now();
    let wrapped = |segs: &Path| {
        segments::list(segs).is_ok_and(|l| l.last().is_some_and(|(seq, _)| *seq > 12))
    };
    while !wrapped(&segs) && started.elapsed() < Duration::from_secs(60) {
        assert!(dir_bytes_or_zero(&segs) <= budget + 2 * segments::segment_bytes(budget));
        std::thread::sleep(Duration::from_millis(100));
    }
    interrupt(&child);
    assert!(wait_bounded(&mut child).success());
    assert!(wrapped(&segs), "the demo wrote more than the budget");
    let list = segments::list(&segs).expect("list");
    assert!(list[0].0 > 1, "the oldest segments were deleted");
    // The budget, plus the one segment open at the end (which may run over by a frame).
    let frame_slack = 64 * 1024;
    let used = dir_bytes(&segs);
    assert!(
        used <= budget + segments::segment_bytes(budget) + frame_slack,
        "{used} bytes for a {budget}-byte budget"
    );
    assert_eq!(mode(&segs), 0o700);
    assert_eq!(mode(&list[0].1), 0o600);
}

fn dir_bytes_or_zero(dir: &Path) -> u64 {
    if dir.is_dir() { dir_bytes(dir) } else { 0 }
}

fn settings(dir: &Path, triggers: &[&str], on_trigger: Option<String>) -> Settings {
    Settings {
        triggers: triggers
            .iter()
            .map(|t| Trigger::parse(t).expect("trigger"))
            .collect(),
        window: Duration::from_secs(10),
        dir: dir.to_path_buf(),
        format: ExportFormat::Ndjson,
        max_files: 10,
        hook: on_trigger.map(|command| Hook {
            command,
            timeout: Duration::from_secs(60),
            output: HookOutput::Null,
        }),
        redactor: Redactor::default(),
    }
}

/// Feeds requests `/items/i` (status from `status(i)`), one a second, to triggers as a sink
/// would, then ends the session. Returns the trigger files written, oldest first.
fn fire(
    settings: Settings,
    n: u64,
    status: impl Fn(u64) -> u32,
    path: impl Fn(u64) -> String,
) -> Vec<PathBuf> {
    let dir = settings.dir.clone();
    let triggers = Triggers::start(settings, &SessionInfo::default()).expect("start");
    let mut store = Store::default();
    for i in 0..n {
        for event in request(i, &path(i), status(i), at(i)) {
            if let Ingested::Finished(seq) = store.ingest(event) {
                triggers.finished(store.get(seq).expect("request"), at(i));
            }
        }
        triggers.poll(&store, at(i));
    }
    let fired = triggers.finish(&store);
    assert!(fired.iter().all(|f| f.written.is_ok()), "{fired:?}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    files
}

/// The header's trigger object and the paths of a trigger file.
fn trigger_file(path: &Path) -> (serde_json::Value, Vec<String>) {
    let text = std::fs::read_to_string(path).expect("read");
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("header")).expect("json");
    let paths = ndjson_paths(&lines.collect::<Vec<_>>().join("\n"));
    (header["meshtap_capture"]["trigger"].clone(), paths)
}

fn item(i: u64) -> String {
    format!("/items/{i}")
}

#[test]
fn a_trigger_window_holds_the_match_and_its_neighbours_within_the_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = fire(
        settings(dir.path(), &["status>=500"], None),
        60,
        |i| if i == 30 { 503 } else { 200 },
        item,
    );
    assert_eq!(files.len(), 1, "{files:?}");
    let (trigger, paths) = trigger_file(&files[0]);
    assert_eq!(paths, items(20..=40));
    assert_eq!(trigger["trigger"], "status>=500");
    assert_eq!(trigger["further_matches"], 0);
    assert_eq!(trigger["request"], "GET api/items/30 -> 503");
    assert_eq!(mode(&files[0]), 0o600);
}

#[test]
fn a_storm_writes_one_file_per_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = fire(
        settings(dir.path(), &["status>=500"], None),
        60,
        |i| {
            if [30, 31, 35, 55].contains(&i) {
                500
            } else {
                200
            }
        },
        item,
    );
    assert_eq!(files.len(), 2, "{files:?}");
    let (first, paths) = trigger_file(&files[0]);
    assert_eq!(first["further_matches"], 2);
    assert_eq!(paths, items(20..=40));
    // The last window is still open when the session ends: written with what there is.
    let (second, paths) = trigger_file(&files[1]);
    assert_eq!(second["further_matches"], 0);
    assert_eq!(paths, items(45..=59));
}

#[test]
fn on_trigger_gets_its_variables_and_nothing_in_a_request_reaches_the_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let hostile = format!("/x$(touch {d}/pwned1);touch {d}/pwned2;`touch {d}/pwned3`");
    let trigger = format!("path~\"$(touch {d}/pwned1)\"");
    let out = dir.path().join("env.txt");
    let command = format!(
        "printf '%s|%s|%s|%s\\n' \"$MESHTAP_TRIGGER_FILE\" \"$MESHTAP_TRIGGER\" \
         \"$MESHTAP_TRIGGER_MATCHES\" \"$MESHTAP_TRIGGER_REQUESTS\" > '{}'",
        out.display()
    );
    let files = fire(
        settings(dir.path(), &[&trigger], Some(command)),
        20,
        |_| 200,
        |i| if i == 10 { hostile.clone() } else { item(i) },
    );
    assert_eq!(files.len(), 1, "{files:?}");
    // The command runs detached: wait for it (bounded: 400 × 50 ms).
    let mut env = String::new();
    for _ in 0..400 {
        env = std::fs::read_to_string(&out).unwrap_or_default();
        if env.ends_with('\n') {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        env.trim_end(),
        format!("{}|{trigger}|1|20", files[0].display()),
        "file, trigger, matches, requests (all 20 are within 10 s of the match)"
    );
    let (_, paths) = trigger_file(&files[0]);
    assert!(paths.contains(&hostile), "{paths:?}");
    for name in ["pwned1", "pwned2", "pwned3"] {
        assert!(!dir.path().join(name).exists(), "{name} was created");
    }
}

/// The UI feeds its finished requests to the triggers and counts the firings for the status bar,
/// on the session's clock (here a replay's event time).
#[test]
fn the_ui_counts_trigger_firings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let triggers = Triggers::start(
        settings(dir.path(), &["status>=500"], None),
        &SessionInfo::default(),
    )
    .expect("start");
    let mut state = meshtap::app::AppState::new(
        Store::default(),
        SessionInfo::default(),
        meshtap::app::config::from_text("", "", true),
    );
    state.clock = meshtap::session::Clock::new(meshtap::session::ClockKind::Event);
    let triggers = std::sync::Arc::new(triggers);
    state.triggers = Some(triggers.clone());
    let wall = Utc::now();
    for i in 0..30 {
        let status = if i == 5 { 500 } else { 200 };
        let events = request(i, &item(i), status, at(i));
        state.ingest(meshtap::session::SourceMsg::Events(events), wall);
        state.tick(wall);
    }
    assert_eq!(state.trigger_firings, 1);
    // `:trigger` adds one live; it fires on the next 404.
    state.add_trigger("status=404", wall);
    for i in 30..50 {
        let status = if i == 33 { 404 } else { 200 };
        let events = request(i, &item(i), status, at(i));
        state.ingest(meshtap::session::SourceMsg::Events(events), wall);
        state.tick(wall);
    }
    assert_eq!(state.trigger_firings, 2);
    // Waits for the writer thread.
    triggers.finish(&state.store);
    let fired = triggers.fired();
    let requests: Vec<u64> = fired.iter().map(|f| f.window.request).collect();
    assert_eq!(requests, [5, 33]);
    assert!(fired.iter().all(|f| f.written.is_ok()), "{fired:?}");
    // `:triggers 1` jumps to the first firing's request.
    let command = meshtap::app::command::parse("triggers 1").expect("parses");
    assert_eq!(command, meshtap::app::command::Command::Triggers(Some(1)));
    state.show_triggers(Some(1), wall);
    assert_eq!(state.view.selected, Some(5));
    assert!(meshtap::app::command::parse("trigger").is_err());
    // `:triggers` lists every firing, the latest highlighted; Up then Enter jumps to the first.
    state.show_triggers(Some(2), wall);
    assert_eq!(state.view.selected, Some(33));
    state.open_triggers_list(wall);
    let view = state.triggers_view().expect("the list is open");
    assert_eq!(view.rows.len(), 2);
    assert_eq!(view.selected, 1);
    insta::assert_snapshot!("triggers_list", render_triggers(&view, &state.theme));
    // The list's own keys (its `triggers` keymap context), not the requests pane's behind it.
    let press = |state: &mut meshtap::app::AppState, code| {
        let key = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
        let action = state.action_for_key(&key).expect("bound");
        state.handle(action, wall);
    };
    press(&mut state, KeyCode::Char('k'));
    assert_eq!(state.triggers_view().expect("still open").selected, 0);
    assert_eq!(state.view.selected, Some(33), "the list behind stays put");
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.triggers_view().expect("still open").selected, 1);
    press(&mut state, KeyCode::Up);
    press(&mut state, KeyCode::Enter);
    assert!(state.triggers_view().is_none(), "Enter closes the list");
    assert_eq!(state.view.selected, Some(5));
    state.open_triggers_list(wall);
    press(&mut state, KeyCode::Esc);
    assert!(state.overlays.triggers().is_none(), "Esc closes the list");
    state.open_triggers_list(wall);
    press(&mut state, KeyCode::Char('q'));
    assert!(state.overlays.triggers().is_none(), "q closes the list");
    assert!(!state.quit, "q closes the list rather than quitting");
}

/// The `:triggers` popup alone on a 100x12 test terminal, as text (`TestBackend`'s display: one
/// quoted line per row).
fn render_triggers(view: &meshtap::app::TriggersView, theme: &meshtap::ui::theme::Theme) -> String {
    let backend = ratatui::backend::TestBackend::new(100, 12);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    terminal
        .draw(|frame| meshtap::ui::triggers::render(frame, frame.area(), view, theme))
        .expect("draw");
    terminal.backend().to_string()
}
