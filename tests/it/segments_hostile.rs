//! Segment directories meshtap did not write, or wrote and someone changed: a symlink to
//! `/dev/zero`, FIFOs in place of a segment or an index, a million garbage frames, doctored
//! indexes, planted names, a world-writable directory, a backwards range, odd relative times,
//! and replays from a pipe. Each is reported and skipped (or refused) without hanging, flooding
//! or losing what the good segments hold.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use meshtap::pipeline::segments::{self, write};

use crate::capture::{at, items, ndjson_paths, replay, write_segments};
use crate::support::process::{meshtap, wait_bounded};

/// Runs `meshtap ARGS` with `stdin`'s bytes on a pipe (or nothing), bounded; (success, stdout,
/// stderr).
fn run(args: &[&str], stdin: Option<&Path>) -> (bool, String, String) {
    let mut command = meshtap();
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = command.spawn().expect("meshtap starts");
    // A pipe, as `cat FILE | meshtap replay /dev/stdin` gives it.
    let feeder = stdin.map(|path| {
        let bytes = std::fs::read(path).expect("stdin file");
        let mut pipe = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            // The child may stop reading early; that is its answer, not a test failure.
            let _ = std::io::Write::write_all(&mut pipe, &bytes);
        })
    });
    // Read both pipes on threads so a full pipe cannot stall the child.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut out, &mut text).expect("stdout");
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err, &mut text).expect("stderr");
        text
    });
    let status = wait_bounded(&mut child);
    if let Some(feeder) = feeder {
        feeder.join().expect("feeder");
    }
    (
        status.success(),
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// A segment header, then `frames` frames of `payload` each arriving at `at(0)`.
fn raw_segment(path: &Path, frames: usize, payload: &[u8]) {
    let mut bytes = segments::SEGMENT_MAGIC.to_vec();
    bytes.extend_from_slice(&segments::SEGMENT_VERSION.to_le_bytes());
    let micros = at(0).timestamp_micros();
    for _ in 0..frames {
        bytes.extend_from_slice(&micros.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(payload);
    }
    std::fs::write(path, bytes).expect("segment");
}

#[test]
fn devices_and_fifos_are_skipped_and_the_real_segments_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("segs");
    write_segments(&segs, 5, 1 << 20);
    let real = segments::list(&segs).expect("list");
    assert_eq!(real.len(), 1);
    // Planted before and after it: a link to an endless device, a FIFO no one writes, and a
    // FIFO where the real segment's index would be.
    std::os::unix::fs::symlink("/dev/zero", segments::segment_path(&segs, 0)).expect("symlink");
    mkfifo(&segments::segment_path(&segs, 7));
    std::fs::remove_file(segments::index_path(&real[0].1)).expect("index");
    mkfifo(&segments::index_path(&real[0].1));
    let segs_arg = segs.to_str().expect("utf-8");
    let (ok, out, err) = run(&["replay", "-o", "ndjson", segs_arg], None);
    assert!(ok, "{err}");
    assert_eq!(ndjson_paths(&out), items(0..=4));
    assert_eq!(err.matches("not a regular file").count(), 2, "{err}");
}

#[test]
fn warnings_are_capped_and_said_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("segs");
    std::fs::create_dir(&segs).expect("dir");
    std::fs::set_permissions(&segs, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // 20,000 frames that are not tap events.
    raw_segment(&segments::segment_path(&segs, 1), 20_000, b"\xff\xff\xff");
    let (ok, out, err) = run(
        &["replay", "-o", "ndjson", segs.to_str().expect("utf-8")],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() <= 102, "{} lines:\n{err}", lines.len());
    assert!(err.contains("19900 more warnings not shown"), "{err}");
    let first = lines[0];
    assert_eq!(
        first.matches("segment-0000000001.mtseg").count(),
        1,
        "{first}"
    );
    assert_eq!(first.matches("(skipped)").count(), 1, "{first}");
}

#[test]
fn a_doctored_index_hides_nothing_and_a_backwards_range_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let segs = dir.path().join("segs");
    // 64 KiB: several 16 KiB segments, each closed with an index.
    write_segments(&segs, 200, 64 * 1024);
    let all = segments::list(&segs).expect("list");
    assert!(all.len() >= 3);
    let index = |n: usize| segments::index_path(&all[n].1);
    std::fs::write(
        index(0),
        r#"{"version":1,"first":null,"last":null,"count":0,"bytes":0}"#,
    )
    .expect("doctor");
    let mut stale = segments::read::index_of(&all[1].1).expect("index");
    stale.first = Some(at(0) - chrono::TimeDelta::days(9000));
    stale.last = Some(at(0) - chrono::TimeDelta::days(8999));
    std::fs::write(index(1), serde_json::to_vec(&stale).expect("json")).expect("doctor");
    assert_eq!(ndjson_paths(&replay(&segs, &[])).len(), 200);
    let time = |s: u64| at(s).to_rfc3339();
    let out = replay(&segs, &["--from", &time(0), "--until", &time(199)]);
    assert_eq!(ndjson_paths(&out).len(), 200);
    let (ok, out, err) = run(
        &[
            "replay",
            "-o",
            "ndjson",
            "--from",
            &time(30),
            "--until",
            &time(10),
            segs.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("is after --until"), "{err}");
    for odd in ["-1é", "-ß", "-é", "-1\u{1F600}"] {
        let (ok, _, err) = run(
            &[
                "replay",
                "-o",
                "ndjson",
                "--from",
                odd,
                segs.to_str().expect("utf-8"),
            ],
            None,
        );
        assert!(!ok, "{odd}");
        assert!(!err.contains("panicked"), "{odd}: {err}");
        assert!(err.contains("expected RFC 3339"), "{odd}: {err}");
    }
}

#[test]
fn planted_names_and_shared_directories_are_not_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    // World-writable (or group-writable) directories are refused, as ssh refuses them.
    for mode in [0o777, 0o1777, 0o770] {
        let shared = dir.path().join(format!("shared-{mode:o}"));
        std::fs::create_dir(&shared).expect("dir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let err = write::Ring::open(&shared, 1 << 20).expect_err("refused");
        assert!(err.to_string().contains("writable by other users"), "{err}");
    }
    // A planted name with a huge number is not a segment of ours: numbering goes on from the
    // real ones, and an orphan index moves the next number past it.
    let segs = dir.path().join("segs");
    write_segments(&segs, 3, 1 << 20);
    std::fs::write(segs.join("segment-18446744073709551615.mtseg"), b"planted").expect("plant");
    std::fs::write(
        segments::index_path(&segments::segment_path(&segs, 5)),
        b"{}",
    )
    .expect("plant");
    write_segments(&segs, 3, 1 << 20);
    let seqs: Vec<u64> = segments::list(&segs)
        .expect("list")
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(seqs, [1, 6]);
    assert!(segments::read::index_of(&segments::segment_path(&segs, 6)).is_some());
    // The last number there is: refused, never wrapped to segment 0.
    let full = dir.path().join("full");
    std::fs::create_dir(&full).expect("dir");
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::write(
        segments::segment_path(&full, segments::MAX_SEGMENT_SEQ),
        b"x",
    )
    .expect("plant");
    let err = write::Ring::open(&full, 1 << 20).expect_err("refused");
    assert!(err.to_string().contains("every segment number"), "{err}");
}

/// `replay /dev/stdin` (a pipe) reads every byte: the segment probe reads regular files only.
#[test]
fn a_pipe_replays_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A recording in the tap API's framing, and an NDJSON export with its header line.
    let recording = dir.path().join("rec.bin");
    let export = dir.path().join("exp.ndjson");
    let segs = dir.path().join("segs");
    write_segments(&segs, 4, 1 << 20);
    let segs_arg = segs.to_str().expect("utf-8");
    let (ok, _, err) = run(
        &[
            "replay",
            "-o",
            "ndjson",
            segs_arg,
            "--record",
            recording.to_str().expect("utf-8"),
            "--export",
            export.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(ok, "{err}");
    for file in [&recording, &export] {
        let (ok, out, err) = run(&["replay", "-o", "ndjson", "/dev/stdin"], Some(file));
        assert!(ok, "{}: {err}", file.display());
        assert_eq!(ndjson_paths(&out), items(0..=3), "{}", file.display());
        assert!(!err.contains("skipped"), "{}: {err}", file.display());
    }
}
