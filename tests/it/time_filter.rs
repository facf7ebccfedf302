//! `since=`, `until=` and `age` headless: a replay's relative times count back from the capture's
//! own clock (not the wall clock: the capture is months old); streamed output judges each request
//! as it is written, `--export` the whole capture at its end.

use std::process::Command;

/// One NDJSON record: request `n` started at 12:00:`n`0 on 2026-03-01 and took 4 ms.
fn record(n: u32) -> String {
    let second = n * 10;
    format!(
        r#"{{"v": 1, "started": "2026-03-01T12:00:{second:02}.000000Z", "ended": "2026-03-01T12:00:{second:02}.004000Z", "direction": "outbound", "id": {{"base": 1, "stream": {n}}}, "source": {{"ip": "10.0.0.1", "port": 0, "labels": {{"namespace": "shop", "deployment": "web"}}, "namespace": "shop", "workload_kind": "deployment", "workload": "web"}}, "destination": {{"ip": "10.0.0.2", "port": 8080, "labels": {{"namespace": "shop", "deployment": "orders"}}, "namespace": "shop", "workload_kind": "deployment", "workload": "orders"}}, "identity": {{"client_id": null, "server_id": null, "tls": "no_tls_from_remote"}}, "method": "GET", "scheme": "http", "authority": "orders", "path": "/{n}", "status": 200, "grpc_status": null, "grpc_status_name": null, "reset_code": null, "latency_ms": 3.0, "duration_ms": 4.0, "stream_ms": 1.0, "response_bytes": 10, "phase": "done", "success": true, "request_headers": [], "response_headers": [], "trailers": [], "route": {{}}}}"#
    )
}

/// Replays five requests (12:00:00 … 12:00:40) with `filter`; returns the paths written to
/// stdout, and those in `--export` when `export` is given.
fn replay(filter: &str, export: Option<&str>) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.ndjson");
    let lines: Vec<String> = (0..5).map(record).collect();
    std::fs::write(&capture, lines.join("\n") + "\n").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_meshtap"));
    command
        .current_dir(dir.path())
        .arg("replay")
        .arg(&capture)
        .args(["-o", "ndjson", "--filter", filter]);
    if let Some(name) = export {
        command.args(["--export", name]);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{filter}: {stderr}");
    let paths = |text: &str| -> Vec<String> {
        // An export opens with the capture's header, which has no path.
        text.lines()
            .filter_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value.get("path")?.as_str().map(str::to_owned)
            })
            .collect()
    };
    let streamed = paths(&String::from_utf8_lossy(&output.stdout));
    let exported = export.map_or_else(Vec::new, |name| {
        paths(&std::fs::read_to_string(dir.path().join(name)).unwrap())
    });
    (streamed, exported)
}

#[test]
fn absolute_times_pick_by_start_in_utc() {
    assert_eq!(replay("until=12:00:10", None).0, ["/0", "/1"]);
    assert_eq!(
        replay("since=2026-03-01T12:00:15Z until=12:00:30", None).0,
        ["/2", "/3"]
    );
    assert_eq!(
        replay("since=2026-03-01T13:00:35+01:00", None).0,
        ["/4"],
        "an offset is read as the instant it names"
    );
}

#[test]
fn a_replay_counts_back_from_the_capture_not_the_wall_clock() {
    // At its end the capture's clock reads 12:00:40.004: 25 s back is 12:00:15.004.
    let (streamed, exported) = replay("since=-25s", Some("last.ndjson"));
    assert_eq!(exported, ["/2", "/3", "/4"]);
    // Streamed, each request is judged as it is written, by the capture's clock then (which
    // batch it came in decides how far that clock had got): never later than the end, so never
    // fewer; a wall-clock judgement would have passed none.
    assert!(
        exported.iter().all(|p| streamed.contains(p)),
        "{streamed:?}"
    );
    let (_, exported) = replay("age>=20s", Some("old.ndjson"));
    assert_eq!(exported, ["/0", "/1", "/2"]);
}

#[test]
fn a_bad_time_is_refused_with_its_column() {
    let output = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(["replay", "-", "-o", "ndjson", "--filter", "ok since=noon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expected a time like 16:49:00 (UTC)") && stderr.contains("column 10"),
        "{stderr}"
    );
}
