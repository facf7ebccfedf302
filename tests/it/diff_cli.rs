//! `meshtap diff` on two demo captures: the second is the first with one route made slower and
//! one edge made plaintext. Both changes are reported (and nothing else is), `--fail-on` exits 1,
//! the Markdown is a table a `CommonMark` parser reads, and two ranges of one recording compare.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::support::process::{interrupted_after, meshtap};

fn run(args: &[&str]) -> Output {
    meshtap().args(args).output().expect("meshtap runs")
}

/// A demo capture of a few seconds at a rate that gives every busy route enough samples, as an
/// NDJSON export and as a recording directory.
fn demo_capture(dir: &Path) -> (PathBuf, PathBuf) {
    let export = dir.join("a.ndjson");
    let record = dir.join("rec");
    let mut command: Command = meshtap();
    command
        .args([
            "demo",
            "-o",
            "ndjson",
            "--rate",
            "1500",
            "--max-rps",
            "5000",
        ])
        .arg("--export")
        .arg(&export)
        .arg("--record-dir")
        .arg(&record)
        .stdout(Stdio::null());
    let (status, stderr) = interrupted_after(command, Duration::from_secs(4));
    assert!(status.success(), "{stderr}");
    (export, record)
}

fn is_slowed(record: &Value) -> bool {
    record["destination"]["workload"] == "catalogue" && record["path"] == "/catalogue"
}

fn is_plaintext_edge(record: &Value) -> bool {
    record["direction"] == "inbound"
        && record["destination"]["workload"] == "carts"
        && record["source"]["workload"] == "front-end"
}

fn later(text: &Value, by_ms: f64) -> Value {
    let Some(t) = text.as_str() else {
        return text.clone();
    };
    let t: DateTime<Utc> = t.parse().expect("RFC 3339");
    let t = t + chrono::Duration::microseconds((by_ms * 1_000.0) as i64);
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The capture with `catalogue GET /catalogue` three times slower (both proxies' views) and
/// front-end → carts arriving in plaintext at carts.
fn degrade(capture: &Path, out: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(capture).expect("capture");
    let (mut slowed, mut plain) = (0, 0);
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut record: Value = serde_json::from_str(line).expect("NDJSON");
        if record.get("meshtap_capture").is_none() {
            if is_slowed(&record)
                && let Some(latency) = record["latency_ms"].as_f64()
            {
                let extra = latency * 2.0;
                record["latency_ms"] = Value::from(latency + extra);
                if let Some(d) = record["duration_ms"].as_f64() {
                    record["duration_ms"] = Value::from(d + extra);
                }
                record["ended"] = later(&record["ended"], extra);
                slowed += 1;
            }
            if is_plaintext_edge(&record) {
                let labels = &mut record["source"]["labels"];
                labels["tls"] = Value::from("no_tls_from_remote");
                if let Some(labels) = labels.as_object_mut() {
                    labels.remove("client_id");
                }
                record["identity"]["tls"] = Value::from("no_tls_from_remote");
                record["identity"]["client_id"] = Value::Null;
                plain += 1;
            }
        }
        lines.push(serde_json::to_string(&record).expect("json"));
    }
    std::fs::write(out, lines.join("\n") + "\n").expect("write");
    (slowed, plain)
}

#[test]
fn a_slower_route_and_a_plaintext_edge_are_reported_gated_and_tabled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, record) = demo_capture(dir.path());
    let b = dir.path().join("b.ndjson");
    let (slowed, plain) = degrade(&a, &b);
    assert!(
        slowed >= 40 && plain >= 20,
        "{slowed} slowed, {plain} plaintext"
    );
    let (a, b) = (a.to_str().expect("utf8"), b.to_str().expect("utf8"));
    both_changes_are_reported(a, b);
    gates_fail_on_what_changed(a, b);
    markdown_is_a_table(a, b);
    two_halves_of_a_recording_compare(a, &record);
}

fn both_changes_are_reported(a: &str, b: &str) {
    let out = run(&["diff", a, b, "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let routes = diff["routes"].as_array().expect("routes");
    let beyond: Vec<&Value> = routes
        .iter()
        .filter(|r| r["latency_test"]["beyond_noise"] == true)
        .collect();
    let labels: Vec<String> = beyond
        .iter()
        .map(|r| format!("{} {} {}", r["direction"], r["peer"], r["route"]))
        .collect();
    // The slowed route, from both proxies, and no other.
    assert_eq!(beyond.len(), 2, "{labels:?}");
    for route in &beyond {
        // The server's side names the path template; the client's side the HTTPRoute that
        // routes catalogue (catalogue-split, on the parent catalogue:80).
        // The HTTPRoute also carries catalogue's other paths, which were not slowed: its p99
        // rises less than the slowed path's own.
        let (peer, name, rise) = match route["direction"].as_str() {
            Some("outbound") => ("catalogue:80", "HTTPRoute catalogue-split", 50.0),
            _ => ("catalogue", "GET /catalogue", 100.0),
        };
        assert_eq!(route["peer"], peer, "{labels:?}");
        assert_eq!(route["route"], name, "{labels:?}");
        let p99 = route["p99"]["percent"].as_f64().expect("p99 change");
        assert!(p99 > rise, "p99 {p99}% on {labels:?}");
        let n = route["latency_test"]["n_a"].as_u64().expect("n");
        assert!(n >= 20, "the counts are stated: {route}");
    }
    let edges = diff["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{edges:?}");
    assert_eq!(edges[0]["kind"], "new-plaintext");
    assert_eq!(edges[0]["client"], "sock-shop/deploy/front-end");
    assert_eq!(edges[0]["server"], "sock-shop/deploy/carts");

    // The text report names both.
    let text = run(&["diff", a, b]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("beyond noise"), "{text}");
    assert!(
        text.contains("new plaintext: sock-shop/deploy/front-end → sock-shop/deploy/carts"),
        "{text}"
    );
}

fn gates_fail_on_what_changed(a: &str, b: &str) {
    // Gates: each condition that the change meets exits 1 and says why; one it does not, 0.
    for (gate, says) in [
        ("p99>+20%", "catalogue"),
        ("new-plaintext", "sock-shop/deploy/carts"),
        ("sr<-1%,p50>+50%", "p50"),
    ] {
        let out = run(&["diff", a, b, "--fail-on", gate]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{gate}: {stderr}");
        assert!(stderr.contains(says), "{gate}: {stderr}");
    }
    let out = run(&[
        "diff",
        a,
        b,
        "--fail-on",
        "p99>+1000%,identity-changed,new-denials",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let same = run(&["diff", a, a, "--fail-on", "p99>+20%,sr<-1%,new-plaintext"]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
}

fn markdown_is_a_table(a: &str, b: &str) {
    // Markdown: a CommonMark parser finds the changed routes in a table.
    let md = run(&["diff", a, b, "-o", "markdown"]);
    assert!(md.status.success());
    let md = String::from_utf8_lossy(&md.stdout);
    let rows = table_rows(&md);
    assert!(
        rows.iter()
            .any(|r| r[0].contains("catalogue") && r[7].contains("beyond noise")),
        "{rows:?}\n{md}"
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "new plaintext" && r[2].contains("carts")),
        "{rows:?}\n{md}"
    );
}

fn two_halves_of_a_recording_compare(a: &str, record: &Path) {
    // Two ranges of one recording: the first and the second half of the run.
    let span = capture_span(Path::new(a));
    let middle = span.0 + (span.1 - span.0) / 2;
    let middle = middle.to_rfc3339();
    let record = record.to_str().expect("utf8");
    let out = run(&[
        "diff",
        record,
        "--a-until",
        &middle,
        "--b-from",
        &middle,
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let halves: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let (na, nb) = (
        halves["a"]["requests"].as_u64().expect("a"),
        halves["b"]["requests"].as_u64().expect("b"),
    );
    assert!(na > 100 && nb > 100, "{na} / {nb}");
    assert!(halves["edges"].as_array().is_some_and(Vec::is_empty));
}

/// Each table row's cells as plain text.
fn table_rows(md: &str) -> Vec<Vec<String>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut in_cell = false;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::TableCell) => {
                in_cell = true;
                row.push(String::new());
            }
            Event::End(TagEnd::TableCell) => in_cell = false,
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => rows.push(std::mem::take(&mut row)),
            Event::Text(t) | Event::Code(t) if in_cell => {
                if let Some(cell) = row.last_mut() {
                    cell.push_str(&t);
                }
            }
            _ => {}
        }
    }
    rows
}

/// The first and last request start in an NDJSON capture.
fn capture_span(path: &Path) -> (DateTime<Utc>, DateTime<Utc>) {
    let text = std::fs::read_to_string(path).expect("capture");
    let mut times: Vec<DateTime<Utc>> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["started"].as_str().and_then(|s| s.parse().ok()))
        .collect();
    times.sort();
    (times[0], times[times.len() - 1])
}

#[test]
fn unreadable_captures_and_bad_gates_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.ndjson");
    let missing = missing.to_str().expect("utf8");
    let out = run(&["diff", missing, missing]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("missing.ndjson"), "{stderr}");
    let out = run(&["diff", missing, missing, "--fail-on", "p98>+1%"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown figure"), "{stderr}");
    let file = dir.path().join("one.ndjson");
    std::fs::write(&file, "").expect("write");
    let file = file.to_str().expect("utf8");
    let out = run(&["diff", file, "--a-from", "-1h"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recording"), "{stderr}");
}
