//! `meshtap map` is a sink of the session pipeline: the session flags mean what they mean for
//! `tap`. A demo map recorded with `--record` replays to the same graph; flags that cannot apply
//! to a replay are refused with a message naming why.

use std::process::{Command, Output};

use serde_json::Value;

fn meshtap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(args)
        .output()
        .expect("meshtap runs")
}

/// The sampled part of a map: its edges without RPS (a raw recording has no arrival times, so
/// a replay's span differs) and without the metrics API's edges (a replay has no metrics API),
/// and the nodes those edges join.
fn sampled(json: &[u8]) -> (Vec<Value>, Vec<Value>) {
    let map: Value = serde_json::from_slice(json).expect("map JSON");
    let mut edges = map["edges"].as_array().expect("edges").clone();
    edges.retain(|e| e["metrics_only"] == Value::Bool(false));
    for edge in &mut edges {
        edge.as_object_mut().expect("edge").remove("rps");
    }
    let ends = |n: &Value| {
        edges
            .iter()
            .any(|e| e["from"] == n["id"] || e["to"] == n["id"])
    };
    let nodes = map["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| ends(n))
        .cloned()
        .collect();
    (nodes, edges)
}

#[test]
fn a_recorded_demo_map_replays_to_the_same_graph() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("map.bin");
    let recording = recording.to_str().expect("utf8");
    let live = meshtap(&[
        "map", "--demo", "--for", "2s", "--record", recording, "--stats", "-o", "json",
    ]);
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(live.status.success(), "{stderr}");
    // `--stats` reports on the map's session as on a tap's.
    assert!(stderr.contains("requests joined"), "{stderr}");
    let (nodes, edges) = sampled(&live.stdout);
    assert!(edges.len() >= 3, "the demo mesh has calls: {edges:?}");
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == "sock-shop/deploy/front-end"),
        "{edges:?}"
    );

    let replay = meshtap(&["map", "--replay", recording, "-o", "json"]);
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let (replayed_nodes, replayed_edges) = sampled(&replay.stdout);
    assert_eq!(replayed_edges, edges);
    assert_eq!(replayed_nodes, nodes);

    // `--filter` draws only the matching requests, as `tap -o ndjson` writes only them.
    let filtered = meshtap(&[
        "map",
        "--replay",
        recording,
        "--filter",
        "src.deploy=front-end",
        "-o",
        "json",
    ]);
    assert!(filtered.status.success());
    let (_, filtered_edges) = sampled(&filtered.stdout);
    assert!(!filtered_edges.is_empty());
    assert!(
        filtered_edges.len() < edges.len(),
        "{filtered_edges:?} of {edges:?}"
    );
    assert!(
        filtered_edges
            .iter()
            .all(|e| e["from"] == "sock-shop/deploy/front-end"),
        "{filtered_edges:?}"
    );
}

#[test]
fn live_tap_flags_are_refused_with_a_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("empty.ndjson");
    std::fs::write(&file, "").expect("write");
    let file = file.to_str().expect("utf8");
    for (extra, says) in [
        (&["--for", "5s"][..], "--for times a live tap"),
        (&["ns/shop"][..], "TARGET chooses what a live tap taps"),
    ] {
        let mut args = vec!["map", "--replay", file];
        args.extend_from_slice(extra);
        let out = meshtap(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} was accepted");
        assert!(stderr.contains(says), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing is printed");
    }
}
