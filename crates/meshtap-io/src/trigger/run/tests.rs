//! The trigger runner: every firing reported, file names that never collide, the directory
//! prepared, and `--on-trigger` started without being waited for.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;
use crate::model::event::{Headers, HttpEvent, RequestInit, ResponseEnd, ResponseInit, StreamId};
use crate::model::store::Ingested;
use crate::model::store::fixtures::event;
use crate::trigger::hook::{Hook, HookOutput};

/// Joins one request on `stream` that starts at `start` and ends at `end` with `status`;
/// returns its seq.
pub(in crate::trigger) fn finish(
    store: &mut Store,
    stream: u64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    status: u32,
) -> u64 {
    let id = StreamId { base: 1, stream };
    let init = RequestInit {
        id,
        method: Some("GET".into()),
        scheme: None,
        authority: "web".into(),
        path: "/".into(),
        headers: Headers::default(),
        matched_route: None,
    };
    let response = ResponseInit {
        id,
        since_request_init: None,
        http_status: status,
        headers: Headers::default(),
    };
    let done = ResponseEnd {
        id,
        since_request_init: None,
        since_response_init: None,
        response_bytes: 0,
        eos: None,
        trailers: Headers::default(),
    };
    store.ingest(event(HttpEvent::RequestInit(init), start));
    store.ingest(event(HttpEvent::ResponseInit(response), end));
    match store.ingest(event(HttpEvent::ResponseEnd(done), end)) {
        Ingested::Finished(seq) => seq,
        other => panic!("not finished: {other:?}"),
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(2_000_000 + secs)
}

fn settings(dir: &Path, triggers: &[&str], max_files: usize, hook: Option<Hook>) -> Settings {
    Settings {
        triggers: triggers
            .iter()
            .map(|t| Trigger::parse(t).expect("trigger"))
            .collect(),
        window: Duration::from_secs(1),
        dir: dir.to_path_buf(),
        format: ExportFormat::Ndjson,
        max_files,
        hook,
        redactor: Redactor::default(),
    }
}

/// Two triggers fire on one request; runs everything and returns the reports of the end.
fn fire_twice(dir: &Path, max_files: usize) -> Vec<Fired> {
    let mut store = Store::new(16);
    let seq = finish(&mut store, 1, at(0), at(1), 500);
    let triggers = Triggers::start(
        settings(dir, &["status>=500", "status=500"], max_files, None),
        &SessionInfo::default(),
    )
    .expect("start");
    triggers.finished(store.get(seq).expect("request"), at(1));
    triggers.finish(&store)
}

/// F11: a firing skipped at the file limit is reported like a written one (headless prints
/// what `finish` and `poll` return), not only kept for the UI's list.
#[test]
fn skipped_firings_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fired = fire_twice(dir.path(), 1);
    assert_eq!(fired.len(), 2, "{fired:?}");
    let skipped: Vec<&Fired> = fired.iter().filter(|f| f.written.is_err()).collect();
    assert_eq!(skipped.len(), 1, "{fired:?}");
    assert!(
        skipped[0]
            .to_string()
            .contains("--trigger-max-files reached"),
        "{}",
        skipped[0]
    );
}

/// F12: two triggers on the same request, then a rerun of the same capture: every firing gets
/// a file of its own, and nothing suggests a `--force` that triggers do not take.
#[test]
fn trigger_file_names_never_collide() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for _run in 0..2 {
        for fired in fire_twice(dir.path(), 10) {
            let text = fired.to_string();
            assert!(!text.contains("--force"), "{text}");
            let (path, written) = fired.written.expect("written");
            assert_eq!(written, 1, "the matching request is in the file");
            paths.push(path);
        }
    }
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 4);
}

/// Item 3 (F13): a missing directory is created 0700; one where files cannot be created is
/// refused up front (`/proc/self` refuses even root).
#[test]
fn the_trigger_dir_is_created_private_and_checked_for_writing() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("a/b");
    prepare_dir(&nested).expect("created");
    for made in [dir.path().join("a"), nested] {
        let mode = std::fs::metadata(&made).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", made.display());
    }
    let refused = prepare_dir(Path::new("/proc/self")).expect_err("not writable");
    assert!(refused.to_string().contains("--trigger-dir"), "{refused}");
    let file = dir.path().join("file");
    std::fs::write(&file, "").expect("write");
    assert!(prepare_dir(&file).is_err(), "a file is not a directory");
}

/// Waits (bounded: 600 × 50 ms) until no `--on-trigger` command runs.
fn wait_for_hooks(triggers: &Triggers) {
    for _ in 0..600 {
        if triggers.hooks_running() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the --on-trigger command is still running");
}

/// Items 7 and 13 (F2, F8): the end of the session does not wait for the command, the timeout
/// stops its whole process group (a grandchild included), and its output goes where it was
/// sent (here the log file), never to stdout.
#[test]
fn on_trigger_runs_detached_with_a_timeout_and_its_output_kept_off_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("meshtap.log");
    let pid_file = dir.path().join("grandchild.pid");
    let command = format!(
        "echo HOOK-OUT; echo HOOK-ERR >&2; sleep 600 & echo $! > '{}'; wait",
        pid_file.display()
    );
    let hook = Hook {
        command,
        timeout: Duration::from_secs(1),
        output: HookOutput::Log(log.clone()),
    };
    let mut store = Store::new(16);
    let seq = finish(&mut store, 1, at(0), at(1), 500);
    let triggers = Triggers::start(
        settings(dir.path(), &["status>=500"], 10, Some(hook)),
        &SessionInfo::default(),
    )
    .expect("start");
    triggers.finished(store.get(seq).expect("request"), at(1));
    let fired = triggers.finish(&store);
    assert_eq!(fired.len(), 1, "{fired:?}");
    let report = fired[0].to_string();
    assert!(report.contains("--on-trigger started (pid "), "{report}");
    // `finish` came back while the command (sleeping 600 s) still runs.
    assert_eq!(triggers.hooks_running(), 1);
    wait_for_hooks(&triggers);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("HOOK-OUT") && text.contains("HOOK-ERR"),
        "{text}"
    );
    let pid = std::fs::read_to_string(&pid_file).expect("pid");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    // Gone, or a zombie waiting for whoever adopted it: either way no longer running.
    let state = stat.ok().and_then(|s| {
        s.rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
    });
    assert!(
        matches!(state, None | Some('Z')),
        "grandchild still {state:?}"
    );
}
