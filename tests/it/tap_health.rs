//! Tap health end to end: `meshtap demo --serve` runs the namespace `troubled`, and the real
//! binary explains each of its quiet taps on stderr, lists each pod's verdict in `check --proxy`,
//! and keeps tapping when RBAC denies `list pods`.

use std::io::{BufRead, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use std::path::Path;

use meshtap_testkit::ServedDemo;

/// `meshtap demo --serve FLAGS…` of the binary under test.
fn served(flags: &[&str]) -> ServedDemo {
    ServedDemo::start(Path::new(env!("CARGO_BIN_EXE_meshtap")), flags, 1)
}

/// The promise: the cause is on stderr within this long of starting the tap.
const EXPLAINED_WITHIN: Duration = Duration::from_secs(15);

fn tap(demo: &ServedDemo, target: &str, namespace: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(["tap", target, "-n", namespace, "-o", "text"])
        .args(extra)
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap tap starts")
}

/// Reads `child`'s stderr until every one of `wanted` was seen or `within` passed; returns what
/// was read. The child is killed either way.
fn stderr_until(mut child: Child, wanted: &[&str], within: Duration) -> String {
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut text = String::new();
    // Bounded by `within`: each wait is for what is left of it.
    while let Some(left) = within.checked_sub(started.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                if wanted.iter().all(|w| text.contains(w)) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    text
}

/// Each of `troubled`'s deployments, and what its explanation must name.
const CASES: [(&str, &[&str]); 5] = [
    (
        "tap-disabled",
        &[
            "meshtap: why: deploy/tap-disabled",
            "annotation viz.linkerd.io/disable-tap=true",
        ],
    ),
    (
        "before-viz",
        &[
            "meshtap: why: deploy/before-viz",
            "kubectl rollout restart deploy/before-viz -n troubled",
        ],
    ),
    (
        "opaque-db",
        &[
            "meshtap: why: deploy/opaque-db",
            "(5432) is in config.linkerd.io/opaque-ports",
        ],
    ),
    (
        "long-stream",
        &[
            "meshtap: why: deploy/long-stream",
            "POST /watch.v1.Watcher/Watch has been in flight",
        ],
    ),
    (
        "wide",
        &[
            "meshtap: why: deploy/wide",
            "split over 20 pod(s): 5 rps each",
            "proxy not ready",
        ],
    ),
];

#[test]
fn every_quiet_tap_of_troubled_is_explained_on_stderr() {
    let demo = served(&[]);
    // All five at once: each needs its own silence to pass.
    let children: Vec<_> = CASES
        .iter()
        .map(|(name, _)| tap(&demo, &format!("deploy/{name}"), "troubled", &[]))
        .collect();
    let results: Vec<(&str, &[&str], String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = children
            .into_iter()
            .zip(CASES)
            .map(|(child, (name, wanted))| {
                scope.spawn(move || (name, wanted, stderr_until(child, wanted, EXPLAINED_WITHIN)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    for (name, wanted, stderr) in results {
        for w in wanted {
            assert!(
                stderr.contains(w),
                "{name}: {w:?} missing from stderr:\n{stderr}"
            );
        }
        // Told once, not every second.
        assert_eq!(
            stderr.matches("meshtap: why:").count(),
            1,
            "{name}:\n{stderr}"
        );
    }
}

#[test]
fn quiet_keeps_stderr_to_the_stream_errors() {
    let demo = served(&[]);
    let mut child = tap(&demo, "deploy/tap-disabled", "troubled", &["--quiet"]);
    let status = super::support::process::wait_bounded(&mut child);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(!status.success(), "no pod can be tapped: the tap fails");
    assert!(
        stderr.contains("no pods to tap for deployment/tap-disabled"),
        "{stderr}"
    );
    // Linkerd's list of skipped pods comes through, not the bare header.
    assert!(stderr.contains("  * tap-disabled-"), "{stderr}");
    assert!(!stderr.contains("why:"), "--quiet: {stderr}");
}

#[test]
fn without_list_pods_the_tap_goes_on_with_a_hint() {
    let demo = served(&["--break", "pods"]);
    let mut child = tap(&demo, "deploy/front-end", "sock-shop", &[]);
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let _ = tx.send(lines.by_ref().take(5).count());
        // Keep reading: a closed stdout would end the tap before it has its say.
        lines.for_each(drop);
    });
    let stderr = stderr_until(
        child,
        &[
            "cannot list pods in namespace sock-shop",
            "kubectl auth can-i list pods -n sock-shop",
        ],
        EXPLAINED_WITHIN,
    );
    assert!(
        stderr.contains("kubectl auth can-i list pods -n sock-shop"),
        "{stderr}"
    );
    let tapped = rx.recv_timeout(Duration::from_secs(5)).unwrap_or(0);
    assert_eq!(
        tapped, 5,
        "the tap streamed events although pods cannot be listed"
    );
}

#[test]
fn check_proxy_lists_every_pod_of_troubled_with_its_verdict() {
    let demo = served(&[]);
    let output = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args([
            "check",
            "--proxy",
            "-n",
            "troubled",
            "-o",
            "json",
            "--kubeconfig",
        ])
        .arg(&demo.kubeconfig)
        .output()
        .expect("meshtap check runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let health = report["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["categoryName"] == "meshtap tap health ns/troubled")
        .unwrap_or_else(|| panic!("no health category: {report:#}"));
    let checks = health["checks"].as_array().expect("checks");
    let pods: Vec<&str> = checks
        .iter()
        .filter_map(|c| c["description"].as_str()?.strip_prefix("pod "))
        .collect();
    assert_eq!(pods.len(), 2 + 2 + 1 + 1 + 20, "{pods:#?}");
    let verdict = |prefix: &str, verdict: &str| {
        pods.iter()
            .filter(|p| p.starts_with(prefix) && p.ends_with(&format!(": {verdict}")))
            .count()
    };
    assert_eq!(verdict("tap-disabled-", "tap disabled"), 2);
    assert_eq!(verdict("before-viz-", "injected before viz"), 2);
    assert_eq!(verdict("wide-", "proxy not ready"), 1);
    assert_eq!(verdict("wide-", "tappable"), 19);
    let disabled = checks
        .iter()
        .find(|c| {
            c["description"]
                .as_str()
                .is_some_and(|d| d.ends_with("tap disabled"))
        })
        .expect("a disabled pod");
    assert_eq!(disabled["result"], "warning");
    assert!(
        disabled["hint"]
            .as_str()
            .is_some_and(|h| h.contains("kubectl rollout restart deploy/tap-disabled -n troubled")),
        "{disabled:#}"
    );
    // Pods that cannot be tapped are warnings: meshtap itself works.
    assert_eq!(report["success"], true, "{report:#}");
}
