//! `--record FILE` is validated before anything is at its name, takes its name only when the
//! session starts, and `--force` replaces an old recording only then (atomically); a recording
//! that fails mid-session is said at once on stderr, and the run fails.

use std::io::BufRead as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::process::{interrupt, meshtap, mode, wait_bounded};

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/map_hostile_names.ndjson")
        .display()
        .to_string()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `meshtap ARGS` in `dir`: whether it succeeded, and its stderr.
fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = meshtap()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .output()
        .expect("meshtap");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_run_refused_before_it_starts_leaves_no_recording_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = fixture();
    let missing = dir.path().join("missing.ndjson");
    let missing = missing.to_str().expect("utf-8");
    // Each refused after --record was checked: a missing input, a trigger dir that cannot be
    // (its parent is a file), a collector that is not there.
    let no_dir = format!("{fixture}/triggers");
    let refused: [&[&str]; 3] = [
        &["replay", missing, "-o", "ndjson", "--record", "rec.bin"],
        &[
            "replay",
            &fixture,
            "-o",
            "ndjson",
            "--record",
            "rec.bin",
            "--trigger",
            "status>=500",
            "--trigger-dir",
            &no_dir,
        ],
        &[
            "replay",
            &fixture,
            "-o",
            "ndjson",
            "--record",
            "rec.bin",
            "--otlp-endpoint",
            "http://127.0.0.1:1",
        ],
    ];
    for args in refused {
        let (ok, err) = run(dir.path(), args);
        assert!(!ok, "{args:?}: {err}");
        assert_eq!(names(dir.path()), Vec::<String>::new(), "{args:?}: {err}");
    }
    // An old recording, and a failing run with --force: the old one is whole afterwards.
    let (ok, err) = run(
        dir.path(),
        &["replay", &fixture, "-o", "ndjson", "--record", "old.rec"],
    );
    assert!(ok, "{err}");
    let old = std::fs::read(dir.path().join("old.rec")).expect("old");
    assert!(!old.is_empty());
    for args in refused {
        let mut args = args.to_vec();
        let at = args.iter().position(|a| *a == "rec.bin").expect("rec.bin");
        args[at] = "old.rec";
        args.push("--force");
        let (ok, err) = run(dir.path(), &args);
        assert!(!ok, "{args:?}: {err}");
        assert_eq!(
            std::fs::read(dir.path().join("old.rec")).expect("old"),
            old,
            "{args:?}"
        );
        assert_eq!(names(dir.path()), ["old.rec"], "{args:?}");
    }
    // A run that starts replaces it, 0600, and leaves no temporary.
    let other = dir.path().join("other.ndjson");
    std::fs::write(
        &other,
        std::fs::read_to_string(&fixture)
            .expect("fixture")
            .lines()
            .next()
            .expect("line"),
    )
    .expect("write");
    let other = other.to_str().expect("utf-8");
    let (ok, err) = run(
        dir.path(),
        &[
            "replay", other, "-o", "ndjson", "--record", "old.rec", "--force",
        ],
    );
    assert!(ok, "{err}");
    let new = std::fs::read(dir.path().join("old.rec")).expect("new");
    assert!(!new.is_empty() && new.len() < old.len());
    assert_eq!(mode(&dir.path().join("old.rec")), 0o600);
    assert_eq!(names(dir.path()), ["old.rec", "other.ndjson"]);
}

/// A file-size limit (`ulimit -f`, SIGXFSZ ignored) makes the recording fail mid-session as a
/// full disk does: stderr says so while the session still runs, and the run fails at the end.
#[test]
fn a_recording_that_fails_mid_session_is_said_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = format!(
        "trap '' XFSZ; ulimit -f 32; exec '{}' demo -o ndjson --record rec.bin",
        env!("CARGO_BIN_EXE_meshtap")
    );
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap starts");
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut said = None;
    // Bounded: one line at a time until the deadline.
    while said.is_none() && Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_secs(1))
            && line.contains("the recording rec.bin failed")
        {
            said = Some(line);
        }
    }
    let running = child.try_wait().expect("try_wait").is_none();
    interrupt(&child);
    let status = wait_bounded(&mut child);
    let said = said.expect("the failure was said while the session ran");
    assert!(running, "said only at the end: {said}");
    assert!(said.contains("File too large"), "{said}");
    assert!(!status.success(), "a failed recording fails the run");
}
