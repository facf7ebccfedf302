//! `--record` and `--stats` through the real binary: a tap against the loopback server is
//! recorded (re-encoded from the decoded events, redacted, private), replays to the same output,
//! and both runs report their figures.

use crate::support;

use std::process::{Command, Output};

use support::{GOLDEN_TEXT, Script, cluster, framed, golden_events};

fn meshtap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(args)
        .output()
        .expect("meshtap runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_replay_gives_the_same_output_and_stats() {
    let served = framed(&golden_events());
    let (server, _cluster, _api) = cluster(vec![Script::Chunks(vec![served.clone()])], true).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let config =
        meshtap::demo::kubeconfig::for_server(&server, Some("emojivoto")).expect("kubeconfig");
    meshtap::demo::kubeconfig::write(&kubeconfig, &config, false).expect("write kubeconfig");
    let recording = dir.path().join("tap.bin");

    let (kubeconfig_arg, recording_arg) = (
        kubeconfig.to_str().expect("utf8").to_string(),
        recording.to_str().expect("utf8").to_string(),
    );
    let tap = tokio::task::spawn_blocking(move || {
        meshtap(&[
            "tap",
            "deploy/web",
            "--kubeconfig",
            &kubeconfig_arg,
            "--no-reconnect",
            "--record",
            &recording_arg,
            "--stats",
        ])
    })
    .await
    .expect("tap run");
    let stderr = String::from_utf8_lossy(&tap.stderr);
    assert!(tap.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&tap.stdout), GOLDEN_TEXT);
    assert!(stderr.contains("events decoded   6"), "{stderr}");
    assert!(stderr.contains("requests joined  2"), "{stderr}");
    // `--stats` counts the bytes read from the API server.
    assert!(
        stderr.contains(&format!("bytes            {}", served.len())),
        "{stderr}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&recording)
            .expect("recording")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "recordings are private");

    let replay = meshtap(&[
        "replay",
        recording.to_str().expect("utf8"),
        "-o",
        "text",
        "--stats",
    ]);
    let stderr = String::from_utf8_lossy(&replay.stderr);
    assert!(replay.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&replay.stdout), GOLDEN_TEXT);
    assert!(stderr.contains("events decoded   6"), "{stderr}");
}
