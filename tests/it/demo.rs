//! `meshtap demo` end to end: the simulated control plane on loopback, reached by the ordinary
//! cluster source through the kubeconfig the demo writes, and by the real `kubectl`.

use crate::support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use meshtap::cli::{Cli, Command as Sub};
use meshtap::session::{SourceMsg, StreamState};
use meshtap::source::cluster::Cluster;
use meshtap_testkit::ServedDemo;
use support::TEST_TIMEOUT;
use tokio::time::timeout;

fn demo_args(extra: &[&str]) -> meshtap::cli::DemoArgs {
    let mut argv = vec!["meshtap", "demo", "--rate", "400", "--seed", "7"];
    argv.extend_from_slice(extra);
    // A fresh directory per demo: the demo never replaces an existing kubeconfig.
    let dir = tempfile::Builder::new()
        .prefix("meshtap-demo-test-")
        .tempdir()
        .expect("tempdir")
        .keep();
    let path = dir.join("kubeconfig");
    let path = path.to_str().expect("utf8 path").to_string();
    argv.extend(["--kubeconfig-out", Box::leak(path.into_boxed_str())]);
    let Some(Sub::Demo(args)) = Cli::try_parse_from(argv).expect("args").command else {
        panic!("demo args")
    };
    args
}

/// Collects events from `targets` until `enough` says stop (bounded by count and time).
async fn collect(
    targets: &[&str],
    enough: impl Fn(&[meshtap::model::event::TapEvent]) -> bool,
) -> (Vec<meshtap::model::event::TapEvent>, Vec<StreamState>) {
    let args = demo_args(&[]);
    let demo = meshtap::start_demo(&args).await.expect("demo starts");
    let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None)
        .await
        .expect("cluster");
    let mut tap = args.tap.clone();
    tap.targets = targets.iter().map(ToString::to_string).collect();
    let specs = meshtap::specs(&tap, &cluster.default_namespace, true).expect("specs");
    let mut rx = meshtap::spawn_streams(&cluster, &specs, false);
    let (mut events, mut states) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + TEST_TIMEOUT;
    while Instant::now() < deadline && !enough(&events) {
        match timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(SourceMsg::Events(batch))) => events.extend(batch),
            Ok(Some(SourceMsg::State { state, .. })) => {
                let done = matches!(state, StreamState::Failed(_) | StreamState::Ended);
                states.push(state);
                if done && targets.len() == 1 {
                    break;
                }
            }
            Ok(Some(SourceMsg::Warning { message, .. })) => {
                panic!("demo sent a bad frame: {message}")
            }
            // Only the metrics poller, the session's tees and the pod lister send these; none runs here.
            Ok(Some(
                SourceMsg::Metrics(_)
                | SourceMsg::Notice(_)
                | SourceMsg::Pods(_)
                | SourceMsg::Denials(_),
            )) => {}
            Ok(None) | Err(_) => break,
        }
    }
    (events, states)
}

#[tokio::test]
async fn demo_streams_both_directions_with_identities() {
    use meshtap::model::event::Direction;
    let (events, _) = collect(&["ns/sock-shop"], |events| events.len() > 600).await;
    assert!(events.len() > 600, "only {} events", events.len());
    let directions: HashSet<Direction> = events.iter().map(|e| e.direction).collect();
    assert!(directions.contains(&Direction::Inbound) && directions.contains(&Direction::Outbound));
    let inbound_mtls = events.iter().any(|e| {
        e.direction == Direction::Inbound
            && e.source.labels.get("tls") == Some("true")
            && e.source
                .labels
                .get("client_id")
                .is_some_and(|id| id.ends_with(".serviceaccount.identity.linkerd.cluster.local"))
    });
    assert!(inbound_mtls, "inbound mTLS with a client identity");
    let outbound_server_id = events.iter().any(|e| {
        e.direction == Direction::Outbound && e.destination.labels.get("server_id").is_some()
    });
    assert!(outbound_server_id, "outbound with a server identity");
    let plaintext = events
        .iter()
        .any(|e| e.source.labels.get("tls") == Some("no_tls_from_remote"));
    assert!(
        plaintext,
        "the unmeshed load generator shows as no_tls_from_remote"
    );
}

#[tokio::test]
async fn demo_grpc_namespace_carries_grpc_statuses() {
    use meshtap::model::event::{Eos, HttpEvent};
    let (events, _) = collect(&["ns/emojivoto"], |events| {
        events.iter().filter(|e| matches!(&e.http, Some(HttpEvent::ResponseEnd(end)) if matches!(end.eos, Some(Eos::Grpc(_))))).count() > 20
    })
    .await;
    let grpc = events
        .iter()
        .filter(|e| matches!(&e.http, Some(HttpEvent::ResponseEnd(end)) if matches!(end.eos, Some(Eos::Grpc(_)))))
        .count();
    assert!(grpc > 20, "gRPC ends: {grpc}");
}

#[tokio::test]
async fn demo_explains_unknown_and_forbidden_targets() {
    let (_, states) = collect(&["deploy/nope"], |_| false).await;
    let failed = states.iter().find_map(|s| match s {
        StreamState::Failed(error) => Some(error.message.clone()),
        _ => None,
    });
    assert!(
        failed
            .as_deref()
            .is_some_and(|m| m.contains("no pods to tap")),
        "{states:?}"
    );

    let (_, states) = collect(&["ns/restricted"], |_| false).await;
    let failed = states.iter().find_map(|s| match s {
        StreamState::Failed(error) => Some(error.message.clone()),
        _ => None,
    });
    assert!(
        failed.as_deref().is_some_and(|m| m.contains("forbidden")
            && m.contains("kubectl auth can-i watch namespaces.tap.linkerd.io -n restricted")),
        "{states:?}"
    );
}

/// `meshtap demo --serve` of the binary under test.
fn served_demo() -> ServedDemo {
    let demo = ServedDemo::start(Path::new(env!("CARGO_BIN_EXE_meshtap")), &[], 1);
    assert!(demo.printed[0].contains("127.0.0.1"), "{:?}", demo.printed);
    demo
}

/// The real binary serves, and the real `kubectl` reads the tap API discovery document from it.
#[test]
fn kubectl_reads_the_demo_served_by_the_binary() {
    let Ok(kubectl) = crate::support::process::which("kubectl") else {
        eprintln!("kubectl is not installed: skipping the kubectl interoperability check");
        return;
    };
    let demo = served_demo();
    let output = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .args(["--request-timeout=10s", "--cache-dir"])
        .arg(demo.dir.path().join("cache"))
        .args(["get", "--raw", "/apis/tap.linkerd.io/v1alpha1"])
        .output()
        .expect("kubectl runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("tap.linkerd.io/v1alpha1"), "{text}");
    assert!(text.contains("deployments/tap"), "{text}");
}

/// The command meshtap's 403 hint gives, run by the real `kubectl` against the served demo:
/// kubectl sends its `SelfSubjectAccessReview` as Kubernetes protobuf, and the answer agrees
/// with what tapping does (allowed in `sock-shop`; denied in `restricted`, which answers 403).
#[test]
fn kubectl_auth_can_i_agrees_with_what_tapping_does() {
    let Ok(kubectl) = crate::support::process::which("kubectl") else {
        eprintln!("kubectl is not installed: skipping the kubectl auth can-i check");
        return;
    };
    let demo = served_demo();
    let can_i = |namespace: &str| {
        let output = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&demo.kubeconfig)
            .args(["--request-timeout=10s", "--cache-dir"])
            .arg(demo.dir.path().join("cache"))
            .args(["auth", "can-i", "watch", "deployments.tap.linkerd.io"])
            .args(["-n", namespace])
            .output()
            .expect("kubectl runs");
        let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), said, stderr)
    };
    let (code, said, stderr) = can_i("sock-shop");
    assert_eq!((code, said.as_str()), (Some(0), "yes"), "{stderr}");
    // kubectl answers "no - REASON" with exit status 1, as against a cluster.
    let (code, said, stderr) = can_i("restricted");
    assert_eq!(
        (code, said.split(" - ").next()),
        (Some(1), Some("no")),
        "{stderr}"
    );
    assert!(said.contains("restricted"), "{said}");

    let tap = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args([
            "tap",
            "deploy/vault",
            "-n",
            "restricted",
            "-o",
            "ndjson",
            "--no-reconnect",
        ])
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .output()
        .expect("meshtap tap runs");
    let stderr = String::from_utf8_lossy(&tap.stderr);
    assert!(!tap.status.success(), "{stderr}");
    assert!(
        stderr.contains("forbidden")
            && stderr.contains("kubectl auth can-i watch deployments.tap.linkerd.io -n restricted"),
        "{stderr}"
    );
}

/// Another meshtap process taps the served demo through the kubeconfig it wrote.
#[test]
fn meshtap_tap_streams_from_the_served_demo() {
    let demo = served_demo();
    let mut tap = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args([
            "tap",
            "deploy/front-end",
            "-n",
            "sock-shop",
            "-o",
            "ndjson",
            "--no-reconnect",
        ])
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshtap tap starts");
    let stdout = tap.stdout.take().expect("stdout");
    let records: Vec<serde_json::Value> = BufReader::new(stdout)
        .lines()
        .take(20)
        .map(|line| serde_json::from_str(&line.expect("line")).expect("json"))
        .collect();
    let _ = tap.kill();
    let _ = tap.wait();
    assert_eq!(records.len(), 20);
    // Every request was reported by a front-end proxy: outbound from it or inbound to it.
    assert!(records.iter().all(|r| {
        r["source"]["workload"] == "front-end" || r["destination"]["workload"] == "front-end"
    }));
}

/// Headless `meshtap demo -o ndjson` through the binary: joined requests, then a clean stop.
#[test]
fn headless_demo_binary_writes_joined_requests() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(["demo", "--seed", "3", "--rate", "300", "-o", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshtap demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let records: Vec<serde_json::Value> = BufReader::new(stdout)
        .lines()
        .take(50)
        .map(|line| serde_json::from_str(&line.expect("line")).expect("json"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(records.len(), 50);
    assert!(
        records
            .iter()
            .all(|r| r["v"] == 1 && r["started"].is_string())
    );
    assert!(records.iter().any(|r| r["direction"] == "inbound"));
    assert!(records.iter().any(|r| r["direction"] == "outbound"));
    // Redaction is on by default: no credential leaves meshtap.
    let text = serde_json::to_string(&records).expect("json");
    assert!(
        !text.contains("Bearer "),
        "authorization values must be redacted"
    );
}
