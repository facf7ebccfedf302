//! The session pipeline through the real binary: every mode records, exports and stops the same
//! way. The demo is the source (a real control plane on loopback), so these run anywhere.

use crate::support;

use std::process::Stdio;
use std::time::Duration;

use support::process::{interrupted_after, meshtap, mode};

/// `--record` re-encodes through the one redactor: stdout and the recording both hide the demo's
/// `authorization` tokens, the file is private, and it replays.
#[test]
fn a_recording_holds_nothing_stdout_would_redact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("rec.bin");
    let mut demo = meshtap();
    demo.args([
        "demo", "--seed", "5", "--rate", "400", "-o", "json", "--record",
    ])
    .arg(&recording)
    .stdout(Stdio::null());
    let (status, stderr) = interrupted_after(demo, Duration::from_secs(3));
    assert!(status.success(), "{status:?}: {stderr}");
    let bytes = std::fs::read(&recording).expect("recording");
    assert!(
        bytes.len() > 1000,
        "the demo recorded {} bytes",
        bytes.len()
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("authorization"), "headers are recorded");
    assert!(!text.contains("Bearer "), "credentials are not");
    assert!(text.contains("<redacted>"));
    assert_eq!(mode(&recording), 0o600);
    let replay = meshtap()
        .arg("replay")
        .arg(&recording)
        .args(["-o", "ndjson"])
        .output()
        .expect("replay");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(String::from_utf8_lossy(&replay.stdout).lines().count() > 10);
}

/// Output paths are checked before any tap opens: an existing file is refused at once, naming
/// `--force`, and nothing is replaced.
#[test]
fn existing_outputs_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let existing = dir.path().join("capture.ndjson");
    std::fs::write(&existing, "keep me").expect("write");
    for flag in ["--export", "--record"] {
        let output = meshtap()
            .args(["demo", "-o", "ndjson", flag])
            .arg(&existing)
            .output()
            .expect("meshtap runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag}: {stderr}");
        assert!(stderr.contains("--force"), "{flag}: {stderr}");
        assert!(output.stdout.is_empty(), "{flag}: nothing was tapped");
        assert_eq!(std::fs::read_to_string(&existing).expect("read"), "keep me");
    }
    let missing = dir.path().join("no-such-dir").join("x.ndjson");
    let output = meshtap()
        .args(["replay", "-", "-o", "text", "--export"])
        .arg(&missing)
        .stdin(Stdio::null())
        .output()
        .expect("meshtap runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
}

/// Ctrl-C ends a headless run promptly even when nobody reads stdout, and `--export` is still
/// written (0600).
#[test]
fn ctrl_c_with_a_stalled_reader_still_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("capture.ndjson");
    // stdout is a pipe nobody reads: it fills, and the writer thread blocks on it.
    let mut demo = meshtap();
    demo.args([
        "demo", "--seed", "2", "--rate", "2000", "-o", "json", "--export",
    ])
    .arg(&export)
    .stdout(Stdio::piped());
    let (status, stderr) = interrupted_after(demo, Duration::from_secs(3));
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("exported"), "{stderr}");
    let text = std::fs::read_to_string(&export).expect("export");
    assert!(text.lines().count() > 2, "{} lines", text.lines().count());
    assert_eq!(mode(&export), 0o600);
}

/// A flag that can't mean anything in a mode is refused, not ignored.
#[test]
fn ui_flags_are_refused_headless() {
    let output = meshtap()
        .args(["replay", "-", "-o", "text", "--no-color"])
        .stdin(Stdio::null())
        .output()
        .expect("meshtap runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--no-color applies to the terminal UI"),
        "{stderr}"
    );
    // `demo --serve` taps nothing itself: a recording or an export beside it is refused.
    for flag in ["--record", "--export"] {
        let output = meshtap()
            .args(["demo", "--serve", flag, "x"])
            .stdin(Stdio::null())
            .output()
            .expect("meshtap runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag}");
        assert!(stderr.contains("cannot be used with"), "{flag}: {stderr}");
    }
}
