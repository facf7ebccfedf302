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
use meshtap::export::file::{
    CaptureHeader, ExportError, ExportFormat, ExportOptions, ExportReport, export,
};
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

/// Exports the whole of `store` as `format` with the test header.
fn write(
    path: &Path,
    store: &Store,
    format: ExportFormat,
    redact: bool,
) -> Result<ExportReport, ExportError> {
    export(path, store.requests(), &header(), &options(format, redact))
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
                | SourceMsg::Pods(_)
                | SourceMsg::Denials(_),
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

mod cli;
mod har;
mod replay_input;
mod round_trip;
mod safety;
