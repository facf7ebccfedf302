//! Export and replay: every format written from a capture of the simulated mesh reads back as
//! the same requests, route stats and identities; Linkerd's format matches its golden bytes;
//! HAR is read back by an independent HAR crate; files are written safely.
use crate::support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meshtap::capture::CaptureRecord;
use meshtap::export::file::{CaptureHeader, ExportError, ExportFormat, ExportOptions, export};
use meshtap::export::{linkerd_json, ndjson};
use meshtap::model::event::TapEvent;
use meshtap::model::identities::IdentityTable;
use meshtap::model::request::Request;
use meshtap::model::routes::{Grouping, RouteTable, Window};
use meshtap::model::store::Store;
use meshtap::proto::tap;
use meshtap::session::Redactor;
use meshtap::session::SourceMsg;
use meshtap::source::replay::{self, ReplayError, ReplayFormat, Speed};
use meshtap::source::wire::{self, Interner};
use support::{GOLDEN_TEXT, TEST_TIMEOUT, framed, golden_events};

const FORMATS: [ExportFormat; 3] = [
    ExportFormat::Ndjson,
    ExportFormat::LinkerdJson,
    ExportFormat::Har,
];

fn t0() -> DateTime<Utc> {
    "2025-03-01T12:00:00Z".parse().unwrap()
}

/// Wire events as the cluster source converts them, arriving a millisecond apart.
fn model_events(wire_events: Vec<tap::TapEvent>) -> Vec<TapEvent> {
    let mut interner = Interner::default();
    wire_events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            wire::event(
                &mut interner,
                e,
                t0() + chrono::Duration::milliseconds(i64::try_from(i).unwrap()),
            )
        })
        .collect()
}

fn store_of(events: impl IntoIterator<Item = TapEvent>) -> Store {
    meshtap_testkit::store_of(100_000, events)
}

/// A capture of the simulated Sock Shop: the same traffic `meshtap demo` shows.
fn demo_store() -> Store {
    store_of(model_events(meshtap::demo::sim::generate(7, 1500)))
}

fn options(format: ExportFormat, redact: bool) -> ExportOptions {
    ExportOptions {
        format,
        filtered: false,
        force: false,
        redactor: Redactor::new(redact, Vec::new()),
    }
}

fn header() -> CaptureHeader {
    CaptureHeader {
        targets: vec!["ns/sock-shop".into()],
        context: "demo".into(),
        sampling: "max 100 rps".into(),
        evicted: 3,
        ..CaptureHeader::default()
    }
}

/// Everything a replay sent.
struct Loaded {
    events: Vec<TapEvent>,
    warnings: Vec<String>,
    skipped: usize,
    capture: Option<CaptureRecord>,
}

/// Plays an opened file at full speed and collects what it sends.
async fn play_all(opened: replay::Opened) -> Loaded {
    let capture = opened.loaded.capture.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let player = tokio::spawn(replay::play(opened, Speed::Max, tx));
    let (mut events, mut warnings) = (Vec::new(), Vec::new());
    for _ in 0..1_000_000 {
        match tokio::time::timeout(TEST_TIMEOUT, rx.recv()).await.unwrap() {
            Some(SourceMsg::Warning { message, .. }) => warnings.push(message),
            Some(SourceMsg::Events(batch)) => events.extend(batch),
            Some(
                SourceMsg::State { .. }
                | SourceMsg::Metrics(_)
                | SourceMsg::Notice(_)
                | SourceMsg::Pods(_),
            ) => {}
            None => break,
        }
    }
    let report = player.await.unwrap();
    assert_eq!(report.events, events.len());
    Loaded {
        events,
        warnings,
        skipped: report.skipped,
        capture,
    }
}

async fn replayed(path: &Path) -> (ReplayFormat, Store, Loaded) {
    let opened = replay::open(path).await.unwrap();
    let format = opened.format;
    let loaded = play_all(opened).await;
    let store = store_of(loaded.events.clone());
    (format, store, loaded)
}

/// What must survive a round trip, keyed by the request's join key.
fn projection(store: &Store, with_times: bool) -> BTreeMap<String, String> {
    store
        .requests()
        .iter()
        .map(|r: &Request| {
            let key = r.key();
            let key = format!("{:?} {:?} {}", key.direction, key.reporter, key.id);
            let micros = |d: Option<Duration>| d.map(|d| d.as_micros());
            let mut value = format!(
                "{} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                r.method(),
                r.authority(),
                r.path(),
                r.http_status(),
                micros(r.latency()),
                micros(r.duration()),
                r.reset_code(),
                r.success(),
                r.response_bytes(),
                r.identity(),
                r.source,
                r.destination,
                r.route,
                r.phase(),
                r.init.as_ref().map(|i| i.headers.len()),
            );
            if with_times {
                let _ = write!(
                    value,
                    " {} {:?} {:?}",
                    r.started,
                    r.ended_at,
                    r.grpc_status()
                );
            }
            (key, value)
        })
        .collect()
}

fn route_stats(store: &Store) -> Vec<String> {
    let table = RouteTable::rebuild(Grouping::Route, store.requests().iter());
    let mut rows: Vec<String> = table
        .rows(t0(), Window::Capture)
        .into_iter()
        .map(|row| {
            let s = row.summary;
            format!(
                "{} {} {:?} {:?} {:?} {:?} {}",
                row.key.label(),
                s.requests,
                s.success_rate,
                s.p50_us,
                s.p99_us,
                s.max_us,
                s.bytes
            )
        })
        .collect();
    rows.sort();
    rows
}

fn identities(store: &Store) -> Vec<String> {
    let table = IdentityTable::rebuild(store.requests().iter());
    let mut edges: Vec<String> = table
        .edges()
        .iter()
        .map(|e| format!("{:?} {} {:?} {:?}", e.key, e.requests, e.tls, e.identity))
        .collect();
    edges.sort();
    edges
}

#[tokio::test]
async fn every_format_round_trips_the_demo_capture() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    assert!(
        original.len() > 300,
        "a realistic capture: {}",
        original.len()
    );
    for format in FORMATS {
        let path = dir.path().join(format!("capture.{}", format.name()));
        let report = export(
            &path,
            original.requests(),
            &header(),
            &options(format, false),
        )
        .unwrap();
        assert_eq!(report.written, original.len(), "{format:?}");
        let (detected, store, loaded) = replayed(&path).await;
        assert_eq!(loaded.skipped, 0, "{format:?}: {:?}", loaded.warnings);
        assert_eq!(store.len(), original.len(), "{format:?}");
        // Linkerd's format has no timestamps, and prints gRPC OK like "no status".
        let exact = format != ExportFormat::LinkerdJson;
        let (want, got) = (projection(&original, exact), projection(&store, exact));
        for (key, value) in &want {
            assert_eq!(got.get(key), Some(value), "{format:?} request {key}");
        }
        assert_eq!(
            route_stats(&store),
            route_stats(&original),
            "{format:?} route stats"
        );
        assert_eq!(
            identities(&store),
            identities(&original),
            "{format:?} identities"
        );
        let expected_format = match format {
            ExportFormat::Ndjson => ReplayFormat::Ndjson,
            ExportFormat::LinkerdJson => ReplayFormat::LinkerdJson,
            ExportFormat::Har => ReplayFormat::Har,
            // Spans for a collector, not a capture: replay does not read them (not in FORMATS).
            ExportFormat::OtlpJson => panic!("otlp-json is not replayable"),
            ExportFormat::Pcapng => panic!("pcapng is not a replay format"),
        };
        assert_eq!(detected, expected_format);
    }
}

#[tokio::test]
async fn the_ndjson_header_describes_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.ndjson");
    export(
        &path,
        original.requests(),
        &header(),
        &options(ExportFormat::Ndjson, true),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let capture = &first["meshtap_capture"];
    assert_eq!(capture["format"], "meshtap-ndjson");
    assert_eq!(capture["version"], 1);
    assert_eq!(capture["meshtap_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(capture["targets"], serde_json::json!(["ns/sock-shop"]));
    assert_eq!(capture["requests"], original.len());
    assert_eq!(capture["evicted"], 3);
    assert_eq!(capture["filter"], serde_json::Value::Null);
    let open = original
        .requests()
        .iter()
        .filter(|r| r.end.is_none())
        .count();
    assert_eq!(capture["never_ended"], open);
    assert_eq!(text.lines().count(), original.len() + 1);
    let (_, _, loaded) = replayed(&path).await;
    assert_eq!(loaded.capture.unwrap().context, "demo");
}

/// Durations are written from integer nanoseconds: `6.469734`, never `6.469734000000001`, and
/// exactly the nanoseconds the proxy measured.
#[test]
fn ndjson_durations_print_exactly() {
    let original = demo_store();
    let redactor = Redactor::new(false, Vec::new());
    let mut checked = 0;
    for request in original.requests() {
        let mut line = Vec::new();
        ndjson::write_request(&mut line, request, &redactor).unwrap();
        let line = String::from_utf8(line).unwrap();
        let Some(latency) = request.latency() else {
            continue;
        };
        let field = line.split("\"latency_ms\":").nth(1).unwrap();
        let text = &field[..field.find(',').unwrap()];
        let nanos = latency.as_nanos();
        let exact = format!("{}.{:06}", nanos / 1_000_000, nanos % 1_000_000);
        let exact = exact.trim_end_matches('0').trim_end_matches('.');
        assert_eq!(text.trim_end_matches(".0"), exact, "{line}");
        checked += 1;
    }
    assert!(checked > 300, "{checked} latencies checked");
}

#[tokio::test]
async fn linkerd_json_export_matches_linkerd_golden_bytes() {
    let events = model_events(golden_events());
    let store = store_of(events.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.json");
    export(
        &path,
        store.requests(),
        &header(),
        &options(ExportFormat::LinkerdJson, true),
    )
    .unwrap();
    let out = std::fs::read_to_string(&path).unwrap();
    assert!(out.starts_with(support::golden_json_request()), "{out}");
    // The rest is what `linkerd viz tap -o json` prints for the same events, except that the
    // `unknown` event belongs to no request and the 1:0 end carries its request's labels (a
    // joined request keeps one label set; real proxies label every event alike).
    let mut expected_events: Vec<TapEvent> = events[..5].to_vec();
    expected_events[1].destination.labels = expected_events[0].destination.labels.clone();
    let mut expected = Vec::new();
    for event in &expected_events {
        linkerd_json::write_event(&mut expected, event, &|_| false).unwrap();
    }
    assert_eq!(out, String::from_utf8(expected.clone()).unwrap());
    // Reading it back and writing it again gives the same bytes.
    let (format, _, loaded) = replayed(&path).await;
    assert_eq!(format, ReplayFormat::LinkerdJson);
    let mut again = Vec::new();
    for event in &loaded.events {
        linkerd_json::write_event(&mut again, event, &|_| false).unwrap();
    }
    assert_eq!(again, expected);
}

/// A HAR entry's `_meshtap` is the request's NDJSON record (one type) with its number, but for
/// the header lists, which HAR holds in its own `request.headers` and `response.headers`.
#[test]
fn har_meshtap_is_the_ndjson_record_without_its_header_lists() {
    let original = demo_store();
    let redactor = Redactor::new(true, Vec::new());
    for request in original.requests() {
        let entry = serde_json::to_value(meshtap::export::har::entry(request, &redactor)).unwrap();
        let mut meshtap = entry["_meshtap"].clone();
        let fields = meshtap.as_object_mut().unwrap();
        assert_eq!(fields.remove("seq"), Some(serde_json::json!(request.seq)));
        let mut line = Vec::new();
        ndjson::write_request(&mut line, request, &redactor).unwrap();
        let mut record: serde_json::Value = serde_json::from_slice(&line).unwrap();
        let record_fields = record.as_object_mut().unwrap();
        for (list, har_list) in [
            ("request_headers", &entry["request"]["headers"]),
            ("response_headers", &entry["response"]["headers"]),
        ] {
            let headers = record_fields.remove(list).unwrap();
            let names = |v: &serde_json::Value| -> Vec<serde_json::Value> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["name"].clone())
                    .collect()
            };
            assert_eq!(names(&headers), names(har_list), "{list}");
        }
        assert_eq!(meshtap, record, "request {}", request.seq);
    }
}

/// A HAR file written before `_meshtap` held the whole record (no `v`, no `started`) replays as
/// it did: the start comes from the entry's `startedDateTime`.
#[tokio::test]
async fn a_har_meshtap_block_of_the_former_layout_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.har");
    export(
        &path,
        original.requests(),
        &header(),
        &options(ExportFormat::Har, true),
    )
    .unwrap();
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in document["log"]["entries"].as_array_mut().unwrap() {
        let fields = entry["_meshtap"].as_object_mut().unwrap();
        assert!(fields.remove("v").is_some() && fields.remove("started").is_some());
    }
    let former = dir.path().join("former.har");
    std::fs::write(&former, serde_json::to_vec(&document).unwrap()).unwrap();
    let (_, _, now) = replayed(&path).await;
    let (format, _, then) = replayed(&former).await;
    assert_eq!(format, ReplayFormat::Har);
    assert!(then.warnings.is_empty(), "{:?}", then.warnings);
    assert_eq!(then.events.len(), now.events.len());
    assert_eq!(then.events, now.events);
}

#[tokio::test]
async fn har_export_is_read_by_an_independent_har_reader() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.har");
    export(
        &path,
        original.requests(),
        &header(),
        &options(ExportFormat::Har, true),
    )
    .unwrap();
    let parsed = har::from_path(&path).unwrap();
    let har::Spec::V1_2(log) = parsed.log else {
        panic!("not HAR 1.2");
    };
    assert_eq!(log.creator.name, "meshtap");
    assert_eq!(log.creator.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(log.entries.len(), original.len());
    for (entry, request) in log.entries.iter().zip(original.requests()) {
        if request.init.is_some() {
            assert_eq!(entry.request.method, request.method());
            assert!(
                entry.request.url.ends_with(request.path()),
                "{}",
                entry.request.url
            );
            assert!(entry.request.url.contains(request.authority()));
        }
        assert_eq!(
            entry.response.status,
            i64::from(request.http_status().unwrap_or(0))
        );
        let wait_ns = (entry.timings.wait * 1e6).round() as u128;
        let latency_ns = request.latency().map_or(0, |l| l.as_nanos());
        assert!(
            wait_ns.abs_diff(latency_ns) < 1000,
            "{wait_ns} {latency_ns}"
        );
        assert!(entry.time >= 0.0 && entry.timings.receive >= 0.0);
        assert!(entry.started_date_time.starts_with("2025-03-01T12:"));
        assert_eq!(entry.request.headers_size, -1);
    }
}

#[tokio::test]
async fn sensitive_headers_are_redacted_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let secrets: Vec<String> = original
        .requests()
        .iter()
        .flat_map(|r| {
            let request = r.init.iter().flat_map(|i| i.headers.iter());
            let response = r.response.iter().flat_map(|i| i.headers.iter());
            request.chain(response).collect::<Vec<_>>()
        })
        .filter(|h| ["authorization", "cookie", "set-cookie"].contains(&h.name))
        .filter_map(|h| match h.value {
            meshtap::model::event::HeaderValue::Str(s) => Some(s.to_string()),
            meshtap::model::event::HeaderValue::Bin(_) => None,
        })
        .collect();
    assert!(
        secrets.len() > 10,
        "the demo sends credentials: {}",
        secrets.len()
    );
    for format in FORMATS {
        for redact in [true, false] {
            let path = dir.path().join(format!("{}-{redact}", format.name()));
            export(
                &path,
                original.requests(),
                &header(),
                &options(format, redact),
            )
            .unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let leaked = secrets.iter().filter(|s| text.contains(s.as_str())).count();
            if redact {
                assert_eq!(leaked, 0, "{format:?} leaks credentials");
                // Linkerd's JSON escapes `<` and `>` as Go does.
                let marker = match format {
                    ExportFormat::LinkerdJson => "\\u003credacted\\u003e",
                    _ => "<redacted>",
                };
                assert!(text.contains(marker), "{format:?}");
            } else {
                assert_eq!(leaked, secrets.len(), "{format:?} --no-redact keeps them");
            }
        }
    }
}

#[test]
fn an_existing_file_is_never_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.ndjson");
    std::fs::write(&path, "precious\n").unwrap();
    let store = store_of(model_events(golden_events()));
    let err = export(
        &path,
        store.requests(),
        &header(),
        &options(ExportFormat::Ndjson, true),
    )
    .unwrap_err();
    assert!(matches!(err, ExportError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    let mut forced = options(ExportFormat::Ndjson, true);
    forced.force = true;
    let report = export(&path, store.requests(), &header(), &forced).unwrap();
    assert_eq!(report.written, store.len());
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("{\"meshtap_capture\"")
    );
    // Only the export itself is left in the directory: no temporary files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The tests run as root, which ignores directory permissions, so an unwritable place is made
/// with a missing directory and with a parent that is a regular file.
#[test]
fn a_failed_export_leaves_nothing_and_the_capture_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(model_events(golden_events()));
    let before = store.len();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    for format in FORMATS {
        let missing = dir.path().join("missing").join("out");
        let err = export(
            &missing,
            store.requests(),
            &header(),
            &options(format, true),
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::NoDirectory { .. }), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
        let under_file = blocker.join("out");
        let err = export(
            &under_file,
            store.requests(),
            &header(),
            &options(format, true),
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::NotADirectory { .. }), "{err}");
        let err = export(
            dir.path(),
            store.requests(),
            &header(),
            &options(format, true),
        )
        .unwrap_err();
        assert!(matches!(err, ExportError::IsDirectory { .. }), "{err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing left behind"
    );
    // The capture is untouched and the user can retry elsewhere.
    assert_eq!(store.len(), before);
    let retry = dir.path().join("retry.ndjson");
    let report = export(
        &retry,
        store.requests(),
        &header(),
        &options(ExportFormat::Ndjson, true),
    )
    .unwrap();
    assert_eq!(report.written, before);
}

#[tokio::test]
async fn malformed_lines_are_reported_with_their_number_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_store();
    let path = dir.path().join("capture.ndjson");
    export(
        &path,
        original.requests(),
        &header(),
        &options(ExportFormat::Ndjson, true),
    )
    .unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[2] = "{not json".into();
    lines[4] = lines[4].replace("\"started\":\"", "\"started\":\"yesterday");
    let broken = dir.path().join("broken.ndjson");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let report = tokio::time::timeout(TEST_TIMEOUT, replay::replay(&broken, Speed::Max, tx))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.skipped, 2);
    let mut warnings = Vec::new();
    let mut store = Store::new(100_000);
    for _ in 0..100_000 {
        match rx.recv().await {
            Some(SourceMsg::Warning { message, .. }) => warnings.push(message),
            Some(SourceMsg::Events(events)) => events.into_iter().for_each(|e| {
                store.ingest(e);
            }),
            Some(
                SourceMsg::State { .. }
                | SourceMsg::Metrics(_)
                | SourceMsg::Notice(_)
                | SourceMsg::Pods(_),
            ) => {}
            None => break,
        }
    }
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("line 3: "), "{warnings:?}");
    assert!(warnings[1].starts_with("line 5: bad time"), "{warnings:?}");
    assert_eq!(store.len(), original.len() - 2);

    // Linkerd's format: a broken object is skipped and the next one found again.
    let json = dir.path().join("capture.json");
    export(
        &json,
        original.requests(),
        &header(),
        &options(ExportFormat::LinkerdJson, true),
    )
    .unwrap();
    let text = std::fs::read_to_string(&json).unwrap();
    let second = text.match_indices("\n{").next().unwrap().0 + 1;
    let line = text[..second].lines().count() + 1;
    let broken = format!(
        "{}{{ \"source\": oops\n{}",
        &text[..second],
        &text[second + 1..]
    );
    let broken_path = dir.path().join("broken.json");
    std::fs::write(&broken_path, broken).unwrap();
    let (_, _, loaded) = replayed(&broken_path).await;
    assert_eq!(loaded.skipped, 1);
    assert!(
        loaded.warnings[0].starts_with(&format!("line {line}: ")),
        "{:?}",
        loaded.warnings
    );
    let total = text.matches("\n{").count() + 1;
    assert_eq!(loaded.events.len(), total - 1);
}

#[tokio::test]
async fn empty_unreadable_and_foreign_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let blank = dir.path().join("blank");
    std::fs::write(&blank, "\n  \n").unwrap();
    let foreign = dir.path().join("foreign");
    std::fs::write(&foreign, "hello, world\n").unwrap();
    let useless = dir.path().join("useless.ndjson");
    std::fs::write(&useless, "{\"phase\": 1}\n{nope\n").unwrap();
    for path in [&empty, &blank] {
        let err = replay::open(path).await.unwrap_err();
        assert!(matches!(err, ReplayError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("is empty"), "{err}");
    }
    let err = replay::open(&dir.path().join("nope")).await.unwrap_err();
    assert!(matches!(err, ReplayError::Read { .. }), "{err}");
    let err = replay::open(&foreign).await.unwrap_err();
    assert!(matches!(err, ReplayError::UnknownFormat { .. }), "{err}");
    let err = replay::open(&useless).await.unwrap_err();
    assert!(
        matches!(err, ReplayError::NothingLoaded { skipped: 2, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn raw_frames_and_headerless_ndjson_replay_too() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tap.bin");
    std::fs::write(&frames, framed(&golden_events())).unwrap();
    let (format, store, loaded) = replayed(&frames).await;
    assert_eq!(format, ReplayFormat::Framed);
    assert_eq!(loaded.events.len(), 6);
    let text: String = loaded
        .events
        .iter()
        .map(|e| meshtap::export::text::line(e, false) + "\n")
        .collect();
    assert_eq!(text, GOLDEN_TEXT);
    assert_eq!(store.len(), 2);

    // `meshtap tap -o ndjson` writes records without a header line.
    let original = demo_store();
    let mut out = Vec::new();
    for request in original.requests() {
        ndjson::write_request(&mut out, request, &Redactor::new(false, Vec::new())).unwrap();
    }
    let path = dir.path().join("headless.ndjson");
    std::fs::write(&path, out).unwrap();
    let (format, store, loaded) = replayed(&path).await;
    assert_eq!(format, ReplayFormat::Ndjson);
    assert!(loaded.capture.is_none());
    assert_eq!(projection(&store, true), projection(&original, true));
}

#[tokio::test]
async fn a_speed_factor_reproduces_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store();
    let path = dir.path().join("capture.ndjson");
    export(
        &path,
        store.requests().iter().take(20),
        &header(),
        &options(ExportFormat::Ndjson, true),
    )
    .unwrap();
    let (_, _, loaded) = replayed(&path).await;
    let first = loaded.events.first().unwrap().arrived;
    let last = loaded.events.last().unwrap().arrived;
    let opened = replay::open(&path).await.unwrap();
    let span = (last - first).to_std().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let started = std::time::Instant::now();
    let player = tokio::spawn(replay::play(opened, Speed::Factor(4.0), tx));
    while tokio::time::timeout(TEST_TIMEOUT, rx.recv())
        .await
        .unwrap()
        .is_some()
    {}
    let elapsed = started.elapsed();
    assert!(elapsed >= span / 4, "{elapsed:?} < {span:?} / 4");
    assert!(elapsed < span / 4 + Duration::from_secs(5), "{elapsed:?}");
    assert!(player.await.unwrap().events > 0);
}

#[test]
fn the_cli_takes_replay_and_export_flags() {
    use clap::Parser;
    use meshtap::cli::{Cli, Command};
    let cli = Cli::try_parse_from([
        "meshtap",
        "replay",
        "cap.har",
        "--speed",
        "2",
        "-o",
        "json",
        "--export",
        "out.ndjson",
        "--export-format",
        "linkerd-json",
        "--force",
    ])
    .unwrap();
    let Some(Command::Replay(args)) = cli.command else {
        panic!("not replay")
    };
    assert_eq!(args.speed, Speed::Factor(2.0));
    assert_eq!(
        args.session.export.export_format,
        Some(ExportFormat::LinkerdJson)
    );
    assert!(args.session.export.force);
    let cli = Cli::try_parse_from([
        "meshtap",
        "tap",
        "deploy/web",
        "--export",
        "x.har",
        "--export-format",
        "har",
    ])
    .unwrap();
    let Some(Command::Tap(args)) = cli.command else {
        panic!("not tap")
    };
    assert_eq!(args.session.export.export_format, Some(ExportFormat::Har));
    assert!(Cli::try_parse_from(["meshtap", "replay", "f", "--speed", "0"]).is_err());
    let cli = Cli::try_parse_from(["meshtap", "replay", "-", "--speed", "max"]).unwrap();
    let Some(Command::Replay(args)) = cli.command else {
        panic!("not replay")
    };
    assert_eq!(args.speed, Speed::Max);
}

/// Linkerd's JSON is one name in `-o` and `--export-format`, `json`, with `linkerd-json` (the
/// export's former name) an alias in both; `--help` lists `json`.
#[test]
fn linkerd_json_has_one_name_and_an_alias_in_both_flags() {
    use clap::Parser;
    use meshtap::cli::{Cli, Command};
    use meshtap::pipeline::headless::Output;
    for name in ["json", "linkerd-json"] {
        let cli = Cli::try_parse_from([
            "meshtap",
            "tap",
            "deploy/web",
            "-o",
            name,
            "--export",
            "x.json",
            "--export-format",
            name,
        ])
        .expect(name);
        let Some(Command::Tap(args)) = cli.command else {
            panic!("not tap")
        };
        assert_eq!(args.output, Output::Json, "-o {name}");
        assert_eq!(
            args.session.export.export_format,
            Some(ExportFormat::LinkerdJson),
            "--export-format {name}"
        );
    }
    assert_eq!(ExportFormat::LinkerdJson.name(), Output::Json.name());
}

/// Headless `--filter` filters `--export` too (it wrote every request), the file name says the
/// format (`--export x.har` wrote NDJSON), and a name contradicting `--export-format` is
/// refused before anything is read.
#[test]
fn headless_exports_follow_the_filter_and_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tap.bin");
    std::fs::write(&frames, framed(&golden_events())).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meshtap"))
            .current_dir(dir.path())
            .arg("replay")
            .arg(&frames)
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[
        "-o",
        "ndjson",
        "--filter",
        "method=POST",
        "--export",
        "post.har",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("exported 1 requests to post.har (har)"),
        "{stderr}"
    );
    let har: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("post.har")).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["request"]["method"], "POST");
    assert_eq!(har["log"]["_meshtap"]["filter"], "method=POST");
    let output = run(&[
        "-o",
        "ndjson",
        "--export",
        "x.har",
        "--export-format",
        "ndjson",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--export: x.har names a har file but the format asked is ndjson"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "refused before reading");
    assert!(!dir.path().join("x.har").exists());
}

/// The real binary: `meshtap replay FILE -o text` prints Linkerd's golden lines for a recorded
/// tap stream, and `--export` converts it.
#[test]
fn the_binary_replays_headless_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tap.bin");
    std::fs::write(&frames, framed(&golden_events())).unwrap();
    let exported = dir.path().join("out.har");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .arg("replay")
        .arg(&frames)
        .args(["-o", "text", "--export-format", "har", "--export"])
        .arg(&exported)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), GOLDEN_TEXT);
    assert!(stderr.contains("exported 2 requests"), "{stderr}");
    assert_eq!(
        har::from_path(&exported).map(|h| h.version()).unwrap(),
        har::HarVersion::V1_2
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .arg("replay")
        .arg(&empty)
        .args(["-o", "text"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is empty"));
}
