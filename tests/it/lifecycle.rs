//! The real process seen from outside (issue 23): a stop signal ends a session like Ctrl-C and a
//! second one at once, a closed stdout ends every command quietly, `--on-trigger` commands are
//! neither waited for nor allowed onto stdout, `--trigger-dir` is prepared at the start and
//! `--log-file` works in every mode. Every wait is bounded; only loopback is used.

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};

use crate::support::process::meshtap;

/// `meshtap replay FILE -o ndjson --trigger status>=500`: the trigger tests' common start.
fn replay_triggering(file: &Path) -> Command {
    let mut command = meshtap();
    command
        .arg("replay")
        .arg(file)
        .args(["-o", "ndjson", "--trigger", "status>=500"]);
    command
}

/// A capture of `n` requests one second apart, every fifth answered 503 (the others 200), made
/// from the first record of the hostile-names fixture with values of our own.
fn capture(dir: &Path, n: u64) -> PathBuf {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/map_hostile_names.ndjson"
    );
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let template: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a record")).expect("json");
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T08:00:00Z").expect("time");
    let mut out = String::new();
    for i in 0..n {
        let mut record = template.clone();
        let started = start + chrono::Duration::seconds(i64::try_from(i).expect("small"));
        let ended = started + chrono::Duration::milliseconds(4);
        let stamp = |t: chrono::DateTime<chrono::FixedOffset>| {
            t.to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        record["started"] = stamp(started).into();
        record["ended"] = stamp(ended).into();
        record["id"]["stream"] = i.into();
        record["path"] = format!("/lifecycle/{i}").into();
        record["status"] = if i % 5 == 4 { 503 } else { 200 }.into();
        record["success"] = (i % 5 != 4).into();
        out.push_str(&record.to_string());
        out.push('\n');
    }
    let path = dir.join("capture.ndjson");
    std::fs::write(&path, out).expect("write capture");
    path
}

/// Waits for the child to exit (bounded: `secs` seconds in 50 ms steps); kills it and fails the
/// test if it does not.
fn wait_exit(child: &mut Child, secs: u64) -> ExitStatus {
    for _ in 0..secs * 20 {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("meshtap did not exit within {secs} s");
}

fn signal(child: &Child, signal: Signal) {
    let pid = Pid::from_child(child);
    kill_process(pid, signal).expect("signal");
}

/// Lines of a child's pipe as they come, read on a thread of their own (so a pipe still held by
/// a detached grandchild never blocks the test).
fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded: `secs`) for a line containing `needle`; returns every line seen.
fn wait_line(rx: &mpsc::Receiver<String>, needle: &str, secs: u64) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?} within {secs} s; saw {seen:#?}");
}

/// What is left in a receiver now.
fn drain(rx: &mpsc::Receiver<String>) -> Vec<String> {
    rx.try_iter().collect()
}

/// A TCP server on 127.0.0.1 that accepts and never answers (an OTLP collector that hangs).
fn blackhole() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            held.push(stream);
        }
    });
    addr
}

/// Item 4: SIGTERM (`timeout`, a pod's shutdown) ends a demo session exactly like Ctrl-C: the
/// export and the recording are written, the demo's private directory is removed, status 0.
#[test]
fn sigterm_ends_a_session_like_ctrl_c() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let export = dir.path().join("export.ndjson");
    let record = dir.path().join("tap.rec");
    let mut child = meshtap()
        .args([
            "demo", "--seed", "5", "--rate", "300", "-o", "ndjson", "--export",
        ])
        .arg(&export)
        .arg("--record")
        .arg(&record)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap demo starts");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    wait_line(&stdout, "\"v\":1", 60);
    let private: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert_eq!(
        private.len(),
        1,
        "the demo's private directory exists while it runs"
    );
    signal(&child, Signal::TERM);
    let status = wait_exit(&mut child, 60);
    let said = wait_line(&stderr, "exported", 10).join("\n");
    assert!(status.success(), "{status}: {said}");
    let text = std::fs::read_to_string(&export).expect("the export was written");
    assert!(text.lines().count() > 1, "a header and requests: {text}");
    assert!(std::fs::metadata(&record).expect("recording").len() > 0);
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        left.is_empty(),
        "the private directory is removed: {left:?}"
    );
}

/// Item 7: a second Ctrl-C while the session is ending (here: its final flush to a collector
/// that never answers) quits at once, with status 130.
#[test]
fn a_second_ctrl_c_quits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 120);
    let collector = blackhole();
    let mut child = meshtap()
        .arg("replay")
        .arg(&file)
        .args(["--speed", "1", "-o", "ndjson", "--otlp-endpoint"])
        .arg(format!("http://{collector}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap replay starts");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    wait_line(&stdout, "\"v\":1", 60);
    signal(&child, Signal::INT);
    // The first one is heard and the session starts ending; then the second.
    wait_line(&stderr, "a second Ctrl-C quits at once", 30);
    signal(&child, Signal::INT);
    let status = wait_exit(&mut child, 30);
    assert_eq!(status.code(), Some(130), "{status}: {:?}", drain(&stderr));
}

/// Item 7: the end of a session gives a collector that never answers one bounded final flush,
/// and says what it could not send (no export timeout per batch, no wait of minutes).
#[test]
fn the_otlp_exporter_gets_one_bounded_final_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 40);
    let collector = blackhole();
    let output = meshtap()
        .arg("replay")
        .arg(&file)
        .args(["-o", "ndjson", "--otlp-endpoint"])
        .arg(format!("http://{collector}"))
        .output()
        .expect("meshtap replay runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("40 not sent"), "{stderr}");
}

/// Item 7: the session's end does not wait for an `--on-trigger` command (this one would take
/// ten minutes) and says it left it running; its `--on-trigger-timeout` still stops it after
/// meshtap has gone.
#[test]
fn on_trigger_commands_are_not_waited_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 10);
    let pids = dir.path().join("pids");
    let mut child = replay_triggering(&file)
        .args(["--trigger-window", "1s"])
        .arg("--trigger-dir")
        .arg(dir.path())
        .arg("--on-trigger")
        .arg(format!("echo $$ >> '{}'; exec sleep 600", pids.display()))
        .args(["--on-trigger-timeout", "4s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap replay starts");
    let stderr = lines(child.stderr.take().expect("stderr"));
    let status = wait_exit(&mut child, 60);
    let said = wait_line(&stderr, "still running; not waited for", 10).join("\n");
    assert!(status.success(), "{status}: {said}");
    // The commands started (each wrote its pid) and are stopped here, by the test.
    for _ in 0..200 {
        if std::fs::read_to_string(&pids).is_ok_and(|p| p.lines().count() == 2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = std::fs::read_to_string(&pids).expect("the commands ran");
    assert_eq!(started.lines().count(), 2, "two windows, two commands");
    let groups: Vec<Pid> = started
        .lines()
        .filter_map(|pid| Pid::from_raw(pid.trim().parse::<i32>().expect("pid")))
        .collect();
    // Group `g` exists while signal 0 can reach it.
    let alive = |g: Pid| rustix::process::test_kill_process_group(g).is_ok();
    for _ in 0..600 {
        if !groups.iter().copied().any(alive) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<Pid> = groups.iter().copied().filter(|&g| alive(g)).collect();
    for &group in &left {
        let _ = rustix::process::kill_process_group(group, Signal::KILL);
    }
    assert!(
        left.is_empty(),
        "still running after their timeout: {left:?}"
    );
}

/// Item 13 (F8): a command's output never lands in the capture on stdout; headless, it goes to
/// stderr.
#[test]
fn on_trigger_output_never_reaches_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 10);
    let done = dir.path().join("done");
    let output = replay_triggering(&file)
        .args(["--trigger-window", "1s"])
        .arg("--trigger-dir")
        .arg(dir.path())
        .arg("--on-trigger")
        .arg(format!(
            "echo HOOK-SAID-$MESHTAP_TRIGGER_REQUEST_SEQ; echo HOOK-ERR >&2; echo x >> '{}'",
            done.display()
        ))
        .output()
        .expect("meshtap replay runs");
    // `output` read both pipes to their end: the commands, which hold them too, are done.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&done).expect("ran").lines().count(),
        2
    );
    assert_eq!(stdout.lines().count(), 10, "{stdout}");
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("stdout is only the capture");
    }
    assert!(
        stderr.contains("HOOK-SAID-") && stderr.contains("HOOK-ERR"),
        "{stderr}"
    );
}

/// Item 16 (F11): headless, a firing skipped at `--trigger-max-files` is reported on stderr
/// like a written one.
#[test]
fn skipped_firings_are_reported_headless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 20);
    let output = replay_triggering(&file)
        .args(["--trigger-window", "1s"])
        .args(["--trigger-max-files", "1", "--trigger-dir"])
        .arg(dir.path())
        .output()
        .expect("meshtap replay runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let firings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("fired on request"))
        .collect();
    assert_eq!(firings.len(), 4, "{stderr}");
    let skipped = firings
        .iter()
        .filter(|l| l.contains("--trigger-max-files reached"))
        .count();
    assert_eq!(skipped, 3, "{stderr}");
}

/// Item 3 (F13): a missing `--trigger-dir` is created 0700; one where no file can be created is
/// refused before anything is read (`/proc/self` refuses even root).
#[test]
fn the_trigger_dir_is_prepared_at_the_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 10);
    let triggers = dir.path().join("incidents/today");
    let output = replay_triggering(&file)
        .args(["--trigger-window", "1s"])
        .arg("--trigger-dir")
        .arg(&triggers)
        .output()
        .expect("meshtap replay runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mode = std::fs::metadata(&triggers)
        .expect("created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(std::fs::read_dir(&triggers).expect("dir").count(), 2);
    let refused = replay_triggering(&file)
        .args(["--trigger-dir", "/proc/self"])
        .output()
        .expect("meshtap replay runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("--trigger-dir"), "{stderr}");
    assert!(
        refused.stdout.is_empty(),
        "refused before the source was read"
    );
}

/// Item 19 (F20): `--log-file` is accepted by `tap` and honoured with `-o`, like in the UI:
/// created 0600, a symlink at the name refused.
#[test]
fn log_file_works_for_tap_and_with_o() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("tap.log");
    let output = meshtap()
        .args([
            "tap",
            "deploy/web",
            "-o",
            "ndjson",
            "--no-reconnect",
            "--kubeconfig",
        ])
        .arg(dir.path().join("no-such-kubeconfig"))
        .arg("--log-file")
        .arg(&log)
        .output()
        .expect("meshtap tap runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
    let mode = std::fs::metadata(&log)
        .expect("the log file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let file = capture(dir.path(), 3);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep").expect("write");
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let refused = meshtap()
        .arg("replay")
        .arg(&file)
        .args(["-o", "ndjson", "--log-file"])
        .arg(&link)
        .output()
        .expect("meshtap replay runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a symlinked log file is refused: {stderr}"
    );
    assert!(stderr.contains("log file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
}

/// Runs `command` with a stdout whose reader is already gone; returns its status and stderr.
fn with_closed_stdout(command: &mut Command) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = command
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap starts");
    let stderr = lines(child.stderr.take().expect("stderr"));
    let status = wait_exit(&mut child, 60);
    let said = wait_line_or_end(&stderr);
    (status, said)
}

/// Everything a finished child wrote on stderr (its pipe has closed).
fn wait_line_or_end(rx: &mpsc::Receiver<String>) -> String {
    let mut all = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        all.push(line);
    }
    all.join("\n")
}

/// Item 2: every command ends quietly when the reader of stdout has gone (`| head -c 20`): no
/// panic (status 101), no "Broken pipe" error; the status is what the command itself decided.
#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path(), 5);
    let extension = dir.path().join("linkerd-meshtap");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_meshtap"), &extension).expect("symlink");
    let missing = dir.path().join("no-kubeconfig");
    let missing = missing.to_str().expect("utf-8");
    let file = file.to_str().expect("utf-8");
    // (arguments, whether the command itself succeeds)
    let cases: [(Vec<&str>, bool); 8] = [
        (vec!["check", "-o", "json", "--kubeconfig", missing], false),
        (vec!["check", "--kubeconfig", missing], false),
        (vec!["completions", "bash"], true),
        (vec!["man"], true),
        (vec!["--help"], true),
        (vec!["replay", file, "-o", "ndjson"], true),
        (vec!["map", "--replay", file, "-o", "dot"], true),
        (vec!["demo", "--serve"], true),
    ];
    for (args, succeeds) in cases {
        let (status, stderr) = with_closed_stdout(meshtap().args(&args));
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(status.success(), succeeds, "{args:?}: {status} {stderr}");
    }
    let (status, stderr) = with_closed_stdout(Command::new(&extension).arg("install"));
    assert!(
        status.success(),
        "linkerd-meshtap install: {status} {stderr}"
    );
}
