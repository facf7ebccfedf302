//! `meshtap demo --serve --clusters east,west` through the real binary: one kubeconfig with a
//! context per simulated cluster, each tapped with the ordinary single-context CLI and read by
//! the real kubectl; the first cluster's calls to the second cross through mirrored services
//! and the second's gateway, and both sides of one call show up, one in each cluster. Without
//! `--serve` the demo taps every cluster itself, each record naming its cluster.

use crate::support;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use meshtap_testkit::ServedDemo;
use serde_json::Value;
use support::TEST_TIMEOUT;
use support::process::{interrupt, meshtap, mode, wait_bounded};

const GATEWAY_ID: &str =
    "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local";
/// The authority the caller's proxy rewrites a call to `catalogue-west` to.
const CATALOGUE_FQ: &str = "catalogue.sock-shop.svc.cluster.local:80";
/// Most tap events a test reads from one tap before giving up on what it looks for.
const MAX_EVENTS: usize = 5_000;

/// `meshtap demo --serve --clusters CLUSTERS` of the binary under test, with everything it
/// printed at start: the first line once the kubeconfig is written, then at once a line per
/// cluster, three examples, and with several clusters what crosses.
fn served_clusters(clusters: &str) -> ServedDemo {
    let lines = clusters.split(',').count() + 4 + usize::from(clusters.contains(','));
    ServedDemo::start(
        Path::new(env!("CARGO_BIN_EXE_meshtap")),
        &["--clusters", clusters],
        lines,
    )
}

/// A running `meshtap tap … -o json`: its JSON objects arrive on a channel; killed when dropped.
struct Tap {
    child: Child,
    events: mpsc::Receiver<Value>,
}

impl Tap {
    fn start(kubeconfig: &Path, context: &str, target: &str) -> Self {
        let mut child = meshtap()
            .args([
                "tap",
                target,
                "-n",
                "sock-shop",
                "-o",
                "json",
                "--context",
                context,
            ])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("meshtap tap starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        // Ends when the tap is killed (end of stdout) or after `MAX_EVENTS` objects.
        std::thread::spawn(move || {
            let stream = serde_json::Deserializer::from_reader(stdout).into_iter::<Value>();
            for value in stream.take(MAX_EVENTS).map_while(Result::ok) {
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Self { child, events }
    }

    /// Events until `done` says enough was seen, or `MAX_EVENTS`, or `TEST_TIMEOUT`.
    fn collect(&self, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TEST_TIMEOUT;
        let mut seen = Vec::new();
        while !done(&seen) && seen.len() < MAX_EVENTS {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => seen.push(event),
                Err(_) => break,
            }
        }
        seen
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn label<'a>(event: &'a Value, end: &str, key: &str) -> Option<&'a str> {
    event[end]["metadata"][key].as_str()
}

/// The `x-request-id` of a request-init event: the application's id, the same on both sides.
fn request_id(event: &Value) -> Option<&str> {
    event["requestInitEvent"]["headers"]
        .as_array()?
        .iter()
        .find(|h| h["name"] == "x-request-id")?["valueStr"]
        .as_str()
}

/// East's request inits to `catalogue-west` (through west's gateway).
fn to_catalogue_west(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| {
            e["proxyDirection"] == "OUTBOUND"
                && label(e, "destination", "service") == Some("catalogue-west")
                && e.get("requestInitEvent").is_some()
        })
        .collect()
}

/// West's request inits arriving from the gateway.
fn from_gateway(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| {
            e["proxyDirection"] == "INBOUND"
                && label(e, "source", "client_id") == Some(GATEWAY_ID)
                && e.get("requestInitEvent").is_some()
        })
        .collect()
}

fn ids<'a>(events: &[&'a Value]) -> HashSet<&'a str> {
    events.iter().filter_map(|e| request_id(e)).collect()
}

/// East's front-end calls `catalogue-west` at west's gateway address with the labels the
/// destination controller gives a mirrored service; west's catalogue gets those calls from the
/// gateway's identity over mTLS; and the same calls (by request id) appear on both sides.
#[test]
fn east_calls_catalogue_west_through_the_gateway_and_west_sees_it_arrive() {
    let demo = served_clusters("east,west");
    let gateway = demo
        .printed
        .iter()
        .find(|l| l.contains("context west"))
        .and_then(|l| l.split("gateway ").nth(1))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(gateway.ends_with(":4143"), "{:?}", demo.printed);
    let east = Tap::start(&demo.kubeconfig, "east", "deploy/front-end");
    let west = Tap::start(&demo.kubeconfig, "west", "deploy/catalogue");
    let east_events = east.collect(|seen| to_catalogue_west(seen).len() >= 8);
    let crossing = to_catalogue_west(&east_events);
    assert!(
        crossing.len() >= 8,
        "{} events from east",
        east_events.len()
    );
    let east_ids = ids(&crossing);
    let west_events = west.collect(|seen| !ids(&from_gateway(seen)).is_disjoint(&east_ids));

    for event in &crossing {
        let dst = &event["destination"];
        assert_eq!(
            format!("{}:{}", dst["ip"].as_str().unwrap_or(""), dst["port"]),
            gateway
        );
        assert_eq!(label(event, "destination", "target_cluster"), Some("west"));
        assert_eq!(
            label(event, "destination", "target_service"),
            Some("catalogue")
        );
        assert_eq!(label(event, "destination", "server_id"), Some(GATEWAY_ID));
        assert_eq!(label(event, "destination", "tls"), Some("true"));
        assert_eq!(event["requestInitEvent"]["authority"], CATALOGUE_FQ);
    }
    let arriving = from_gateway(&west_events);
    assert!(
        !arriving.is_empty(),
        "{} events from west",
        west_events.len()
    );
    for event in &arriving {
        assert_eq!(
            label(event, "source", "namespace"),
            Some("linkerd-multicluster")
        );
        assert_eq!(
            label(event, "source", "deployment"),
            Some("linkerd-gateway")
        );
        assert_eq!(label(event, "source", "tls"), Some("true"));
        assert_eq!(label(event, "destination", "deployment"), Some("catalogue"));
        assert_eq!(event["requestInitEvent"]["authority"], CATALOGUE_FQ);
    }
    assert!(
        !ids(&arriving).is_disjoint(&east_ids),
        "no call seen on both sides: east {east_ids:?}"
    );
    // Both clusters share one trust domain; east's own pods are not west's.
    let east_pod = label(crossing[0], "source", "pod").unwrap_or_default();
    let west_pods: HashSet<_> = arriving
        .iter()
        .filter_map(|e| label(e, "destination", "pod"))
        .collect();
    assert!(!west_pods.contains(east_pod), "{east_pod} in both clusters");
}

/// One kubeconfig, private, a context per cluster (the first current), each with its own
/// server, CA and token; the real kubectl reads the tap API through each context.
#[test]
fn one_kubeconfig_holds_a_context_per_cluster_and_kubectl_reaches_each() {
    let demo = served_clusters("east,west");
    assert_eq!(mode(&demo.kubeconfig), 0o600);
    let text = std::fs::read_to_string(&demo.kubeconfig).expect("kubeconfig");
    let config: Value = serde_json::from_str(&text).expect("JSON kubeconfig");
    assert_eq!(config["current-context"], "east");
    let names: Vec<_> = config["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["east", "west"]);
    let distinct = |list: &str, field: &str| {
        let values: HashSet<String> = config[list]
            .as_array()
            .expect(list)
            .iter()
            .map(|c| {
                c.pointer(field)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect();
        values.len()
    };
    assert_eq!(distinct("clusters", "/cluster/server"), 2);
    assert_eq!(
        distinct("clusters", "/cluster/certificate-authority-data"),
        2
    );
    assert_eq!(distinct("users", "/user/token"), 2);

    for context in ["east", "west"] {
        let run = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&demo.kubeconfig)
            .args(["--context", context, "--request-timeout=10s", "--cache-dir"])
            .arg(demo.dir.path().join("cache"))
            .args(["get", "--raw", "/apis/tap.linkerd.io/v1alpha1"])
            .output();
        let output = match run {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("kubectl is not installed: skipping the kubectl part");
                return;
            }
            Err(error) => panic!("kubectl: {error}"),
        };
        assert!(
            output.status.success(),
            "kubectl --context {context}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let body = String::from_utf8_lossy(&output.stdout);
        assert!(body.contains("deployments/tap"), "{context}: {body}");
    }
}

/// `--serve --clusters` says how to reach every cluster.
#[test]
fn serve_prints_every_context_and_examples() {
    let demo = served_clusters("east,west");
    let printed = demo.printed.join("\n");
    assert!(
        printed.contains(&demo.kubeconfig.display().to_string()),
        "{printed}"
    );
    assert!(printed.contains("context east"), "{printed}");
    assert!(printed.contains("context west"), "{printed}");
    assert!(
        printed.contains("meshtap --kubeconfig")
            && printed.contains("--context east --context west"),
        "{printed}"
    );
    assert!(printed.contains("kubectl --kubeconfig"), "{printed}");
    assert!(printed.contains("--context west get --raw"), "{printed}");
}

/// East's outbound record of a call to a service west exports, through west's gateway.
fn crosses_to_west(record: &Value) -> bool {
    let labels = &record["destination"]["labels"];
    record["cluster"] == "east"
        && record["direction"] == "outbound"
        && matches!(
            labels["service"].as_str(),
            Some("catalogue-west" | "carts-west")
        )
        && labels["target_cluster"] == "west"
}

/// `meshtap demo --clusters east,west -o ndjson` taps both clusters in one session: every record
/// names its cluster, both clusters report, and east's calls to `catalogue-west`/`carts-west`
/// leave east for west. Read until all of that is seen (bounded), then stopped as Ctrl-C does.
#[test]
fn demo_clusters_taps_every_cluster_and_names_it_on_every_record() {
    let mut child = meshtap()
        .args(["demo", "--clusters", "east,west", "-o", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshtap demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    // Drains stdout to its end (so the demo never blocks on a full pipe), passing lines on.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + TEST_TIMEOUT;
    let mut records: Vec<Value> = Vec::new();
    let enough = |records: &[Value]| {
        ["east", "west"]
            .iter()
            .all(|c| records.iter().any(|r| r["cluster"] == *c))
            && records.iter().any(crosses_to_west)
    };
    // Bounded by `MAX_EVENTS` records and `TEST_TIMEOUT`.
    while !enough(&records) && records.len() < MAX_EVENTS {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => records.push(serde_json::from_str(&line).expect("an NDJSON record")),
            Err(_) => break,
        }
    }
    interrupt(&child);
    assert!(wait_bounded(&mut child).success());
    assert!(enough(&records), "{} records: {records:?}", records.len());
    for record in &records {
        assert!(
            matches!(record["cluster"].as_str(), Some("east" | "west")),
            "{record}"
        );
    }
    // West's front-end calls nothing in east: only east's side leaves its cluster.
    assert!(
        !records
            .iter()
            .any(|r| r["cluster"] == "west"
                && r["destination"]["labels"]["target_cluster"].is_string()),
        "west called out"
    );
}

/// Runs `meshtap demo --serve ARGS…`, which must exit (at most `EXIT_DEADLINE`) with a failure;
/// its stderr.
fn refused(args: &[&str]) -> String {
    let mut child = meshtap()
        .args(["demo", "--serve"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshtap starts");
    let status = wait_bounded(&mut child);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    assert!(!status.success(), "{args:?} accepted");
    stderr
}

/// Bad `--clusters` values are refused before anything is served, saying why.
#[test]
fn bad_cluster_names_are_refused_clearly() {
    for (value, why) in [
        ("east,east", "named twice"),
        ("East", "not a DNS label"),
        ("east,", "empty"),
        ("a,b,c,d,e,f,g,h,i", "at most 8"),
    ] {
        let stderr = refused(&["--clusters", value]);
        assert!(stderr.contains(why), "{value}: {stderr}");
    }
    let stderr = refused(&["--clusters", "east,west", "--addr", "127.0.0.1:1"]);
    assert!(stderr.contains("needs its own"), "{stderr}");
}

/// Each cluster's metrics API answers for that cluster: its own pods, never the other's.
#[tokio::test]
async fn each_cluster_answers_its_own_metrics() {
    use meshtap::demo::multicluster::{self, ClusterNames, topology};
    use meshtap::source::metrics::MetricsClient;
    use meshtap::source::target::Resource;

    let options = multicluster::Options {
        names: ClusterNames::parse("east,west").expect("names"),
        ip: std::net::Ipv4Addr::LOCALHOST.into(),
        tls: true,
        seed: 1,
        rate: 50.0,
    };
    let planes = tokio::time::timeout(TEST_TIMEOUT, multicluster::start(&options))
        .await
        .expect("in time")
        .expect("clusters start");
    let pods = Resource::parse("po", "sock-shop").expect("resource");
    let mut seen = Vec::new();
    for plane in &planes.planes {
        let addr = plane.metrics_api.addr().to_string();
        let client = tokio::time::timeout(TEST_TIMEOUT, MetricsClient::connect(&addr))
            .await
            .expect("in time")
            .expect("connects");
        let window = std::time::Duration::from_secs(60);
        let rows = tokio::time::timeout(TEST_TIMEOUT, client.workload_stats(&pods, window))
            .await
            .expect("in time")
            .expect("stat summary");
        let names: HashSet<String> = rows.into_iter().map(|r| r.resource.name).collect();
        seen.push(names);
    }
    assert!(seen[0].is_disjoint(&seen[1]), "{seen:?}");
    // West's answer names the pods west's own taps report.
    let west = topology::mesh(1, "west");
    let catalogue = west
        .pods
        .iter()
        .find(|p| p.name.starts_with("catalogue-") && !p.name.starts_with("catalogue-db"))
        .expect("a catalogue pod");
    assert!(seen[1].contains(&catalogue.name), "{:?}", seen[1]);
}
