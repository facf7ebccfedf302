//! Several clusters in one session, end to end: two ordinary `meshtap demo --serve` control
//! planes (child processes), one `KUBECONFIG` list holding both (contexts renamed `east` and
//! `west`), and the real binary tapping both: merged NDJSON, `[CLUSTER] ` text prefixes, a
//! killed cluster whose gap is reported for it alone, `cluster=` on the captured requests, and a
//! single context that stays exactly what it was.

use crate::support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meshtap_testkit::ServedDemo;
use support::TEST_TIMEOUT;

/// A served demo whose kubeconfig is copied to `dir/NAME` with every name (context, cluster,
/// user) changed to `name`, so that two of them merge in one `KUBECONFIG` list.
fn served_cluster(dir: &Path, name: &str) -> (ServedDemo, PathBuf) {
    let served = ServedDemo::start(Path::new(env!("CARGO_BIN_EXE_meshtap")), &[], 1);
    let text = std::fs::read_to_string(&served.kubeconfig).expect("demo kubeconfig");
    let renamed = text.replace("meshtap-demo", name);
    let path = dir.join(name);
    std::fs::write(&path, renamed).expect("renamed kubeconfig");
    (served, path)
}

/// Two served clusters, `east` and `west`, and the `KUBECONFIG` value listing both.
struct TwoClusters {
    east: ServedDemo,
    west: ServedDemo,
    kubeconfig: std::ffi::OsString,
    _dir: tempfile::TempDir,
}

impl TwoClusters {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (east, east_path) = served_cluster(dir.path(), "east");
        let (west, west_path) = served_cluster(dir.path(), "west");
        let kubeconfig = std::env::join_paths([east_path, west_path]).expect("KUBECONFIG list");
        Self {
            east,
            west,
            kubeconfig,
            _dir: dir,
        }
    }

    /// `meshtap tap deploy/front-end -n sock-shop` with `args` through the merged kubeconfig.
    fn tap(&self, args: &[&str]) -> Tapping {
        let mut child = Command::new(env!("CARGO_BIN_EXE_meshtap"))
            .args(["tap", "deploy/front-end", "-n", "sock-shop"])
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meshtap tap starts");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock()
                    .expect("stderr lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Tapping {
            child,
            lines,
            stderr,
        }
    }
}

/// A running `meshtap tap`: its stdout lines as they come, its stderr so far.
struct Tapping {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Tapping {
    /// Lines until `enough` says so, at most `max` lines and `TEST_TIMEOUT`.
    fn read_until(&self, max: usize, enough: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + TEST_TIMEOUT;
        let mut out = Vec::new();
        while out.len() < max && !enough(&out) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => out.push(line),
                Err(_) => break,
            }
        }
        out
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Waits (bounded) until stderr holds `needle`.
    fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + TEST_TIMEOUT;
        while Instant::now() < deadline && !self.stderr().contains(needle) {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stderr()
    }
}

impl Drop for Tapping {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn records(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

fn count_cluster(records: &[serde_json::Value], cluster: &str) -> usize {
    records.iter().filter(|r| r["cluster"] == cluster).count()
}

const BOTH_SEEN: usize = 5;

/// Both clusters stream into one NDJSON timeline; every record names its cluster and the
/// records come in arrival order.
#[test]
fn merged_ndjson_holds_both_clusters() {
    let clusters = TwoClusters::start();
    let tap = clusters.tap(&["--context", "east,west", "-o", "ndjson"]);
    let lines = tap.read_until(2_000, |lines| {
        let records = records(lines);
        count_cluster(&records, "east") >= BOTH_SEEN && count_cluster(&records, "west") >= BOTH_SEEN
    });
    let records = records(&lines);
    assert!(
        count_cluster(&records, "east") >= BOTH_SEEN
            && count_cluster(&records, "west") >= BOTH_SEEN,
        "{} records, stderr: {}",
        records.len(),
        tap.stderr()
    );
    assert!(
        records
            .iter()
            .all(|r| r["cluster"] == "east" || r["cluster"] == "west"),
        "every record names its cluster"
    );
    assert!(
        records.iter().all(|r| r["v"] == 1),
        "adding a field keeps v 1"
    );
}

/// `-o text` with several clusters: each line starts with `[CLUSTER] `; `--context` repeated
/// means the same as the list, and `--cluster-name` renames.
#[test]
fn text_lines_start_with_their_cluster() {
    let clusters = TwoClusters::start();
    let tap = clusters.tap(&[
        "--context",
        "east",
        "--context",
        "west",
        "--cluster-name",
        "west=west-eu",
        "-o",
        "text",
    ]);
    let seen =
        |lines: &[String], prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    let lines = tap.read_until(2_000, |lines| {
        seen(lines, "[east] ") >= BOTH_SEEN && seen(lines, "[west-eu] ") >= BOTH_SEEN
    });
    assert!(
        seen(&lines, "[east] ") >= BOTH_SEEN && seen(&lines, "[west-eu] ") >= BOTH_SEEN,
        "{lines:?}"
    );
    for line in &lines {
        let rest = line
            .strip_prefix("[east] ")
            .or_else(|| line.strip_prefix("[west-eu] "))
            .unwrap_or_else(|| panic!("no cluster prefix: {line}"));
        // What follows is Linkerd's own text line.
        assert!(
            ["req ", "rsp ", "end "].iter().any(|p| rest.starts_with(p)),
            "{line}"
        );
    }
}

/// One context out of the two-file kubeconfig is the single-cluster session it always was: no
/// `cluster` in the records, no prefix on the lines.
#[test]
fn one_context_names_no_cluster() {
    let clusters = TwoClusters::start();
    let tap = clusters.tap(&["--context", "west", "-o", "ndjson"]);
    let lines = tap.read_until(20, |_| false);
    assert_eq!(lines.len(), 20, "stderr: {}", tap.stderr());
    assert!(
        lines.iter().all(|l| !l.contains("\"cluster\"")),
        "{lines:?}"
    );
    let text = clusters.tap(&["--context", "east", "-o", "text"]);
    let lines = text.read_until(20, |_| false);
    assert_eq!(lines.len(), 20, "stderr: {}", text.stderr());
    assert!(lines.iter().all(|l| !l.starts_with('[')), "{lines:?}");
}

/// Killing one cluster's control plane: the other keeps streaming, and the gap is reported for
/// the killed cluster's stream only.
#[test]
fn a_dead_cluster_leaves_the_other_streaming() {
    let mut clusters = TwoClusters::start();
    let tap = clusters.tap(&["--all-contexts", "-o", "ndjson"]);
    let before = tap.read_until(2_000, |lines| {
        let records = records(lines);
        count_cluster(&records, "east") >= BOTH_SEEN && count_cluster(&records, "west") >= BOTH_SEEN
    });
    assert!(
        count_cluster(&records(&before), "west") >= BOTH_SEEN,
        "stderr: {}",
        tap.stderr()
    );
    clusters.west.kill();
    let stderr = tap.wait_stderr("[west] deploy/front-end");
    assert!(
        stderr.contains("meshtap: [west] deploy/front-end:") && stderr.contains("reconnecting"),
        "{stderr}"
    );
    // Whatever west sent before it died may still be in the pipe; after that, only east.
    let after = tap.read_until(5_000, |lines| {
        count_cluster(&records(lines), "east") >= 4 * BOTH_SEEN
    });
    assert!(
        count_cluster(&records(&after), "east") >= 4 * BOTH_SEEN,
        "east stopped with west: {} records after the kill",
        after.len()
    );
    let stderr = tap.stderr();
    assert!(!stderr.contains("[east]"), "east had no gap: {stderr}");
    drop(tap);
    drop(clusters.east);
}

/// The captured records read back (replay) keep their cluster, and `cluster=` picks one side.
#[test]
fn the_cluster_filter_picks_one_cluster_of_a_replayed_capture() {
    use meshtap::filter::Filter;
    use meshtap::model::event::ClusterName;
    use meshtap::model::store::{Ingested, Store};
    use meshtap::session::SourceMsg;
    use meshtap::source::replay::{Speed, replay};

    let clusters = TwoClusters::start();
    let tap = clusters.tap(&["--context", "east,west", "-o", "ndjson"]);
    let lines = tap.read_until(2_000, |lines| {
        let records = records(lines);
        count_cluster(&records, "east") >= BOTH_SEEN && count_cluster(&records, "west") >= BOTH_SEEN
    });
    drop(tap);
    let east = count_cluster(&records(&lines), "east");
    assert!(east >= BOTH_SEEN, "{lines:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = dir.path().join("capture.ndjson");
    std::fs::write(&capture, lines.join("\n") + "\n").expect("capture");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut store = Store::new(10_000);
    let mut finished = Vec::new();
    runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let reading = tokio::spawn(async move { replay(&capture, Speed::Max, tx).await });
        while let Ok(Some(msg)) = tokio::time::timeout(TEST_TIMEOUT, rx.recv()).await {
            if let SourceMsg::Events(events) = msg {
                for event in events {
                    if let Ingested::Finished(seq) = store.ingest(event) {
                        finished.push(seq);
                    }
                }
            }
        }
        reading.await.expect("replay task").expect("replay");
    });
    assert_eq!(
        finished.len(),
        lines.len(),
        "every record is one request again"
    );
    let filter = Filter::parse("cluster=east").expect("filter");
    let picked: Vec<_> = finished
        .iter()
        .filter_map(|seq| store.get(*seq))
        .filter(|r| filter.matches(r, chrono::Utc::now()))
        .collect();
    assert_eq!(picked.len(), east);
    assert!(
        picked
            .iter()
            .all(|r| r.cluster.as_ref().map(ClusterName::as_str) == Some("east"))
    );
}
