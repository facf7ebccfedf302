//! The metrics API poller end to end: `meshtap demo`'s simulated metrics API on loopback, polled
//! by the same task `--metrics-api` starts, delivering `SourceMsg::Metrics` to the main loop's
//! channel; and the unreachable case, which must say so rather than stop.

use std::time::Duration;

use clap::Parser;
use meshtap::cli::{Cli, Command as Sub};
use meshtap::model::figures::MetricsSnapshot;
use meshtap::session::SourceMsg;
use meshtap::source::metrics_poll::{self, MetricsPoll, MetricsTarget};
use meshtap::source::target::Resource;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Generous: a bound for a hung test, not a performance expectation.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn parse(argv: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(argv)
}

fn ns(name: &str) -> Resource {
    Resource::parse(&format!("ns/{name}"), "").expect("namespace")
}

/// The first metrics message on `rx`, skipping nothing else (the poller sends only these).
async fn first_snapshot(rx: &mut mpsc::Receiver<SourceMsg>) -> MetricsSnapshot {
    match timeout(TEST_TIMEOUT, rx.recv()).await {
        Ok(Some(SourceMsg::Metrics(snapshot))) => snapshot,
        other => panic!("expected a metrics snapshot, got {other:?}"),
    }
}

#[test]
fn metrics_flags_parse_with_a_default_window() {
    let cli = parse(&["meshtap", "deploy/web", "--metrics-api", "127.0.0.1:8085"]).expect("args");
    assert_eq!(cli.tap.metrics_api.as_deref(), Some("127.0.0.1:8085"));
    assert_eq!(cli.tap.metrics_window, Duration::from_secs(60));
    let cli = parse(&["meshtap", "demo", "--metrics-window", "5m"]).expect("args");
    let Some(Sub::Demo(demo)) = cli.command else {
        panic!("demo args")
    };
    assert_eq!(demo.tap.metrics_window, Duration::from_secs(300));
    for bad in ["5x", "0s", "500ms", ""] {
        assert!(
            parse(&["meshtap", "deploy/web", "--metrics-window", bad]).is_err(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_demo_serves_the_poller_profile_routes_and_edges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let kubeconfig = kubeconfig.to_str().expect("utf8 path");
    let argv = [
        "meshtap",
        "demo",
        "--seed",
        "3",
        "--kubeconfig-out",
        kubeconfig,
    ];
    let Some(Sub::Demo(args)) = parse(&argv).expect("args").command else {
        panic!("demo args")
    };
    let demo = meshtap::start_demo(&args).await.expect("demo starts");
    assert!(demo.metrics_api.addr().ip().is_loopback());

    let poll = MetricsPoll {
        target: MetricsTarget::Addr(demo.metrics_api.addr().to_string()),
        window: args.tap.metrics_window,
        targets: vec![ns("sock-shop"), ns("emojivoto")],
    };
    let (tx, mut rx) = mpsc::channel(4);
    let poller = tokio::spawn(metrics_poll::poll_until_closed(poll, tx.downgrade()));
    let snapshot = first_snapshot(&mut rx).await;
    poller.abort();

    assert_eq!(snapshot.error, None);
    assert_eq!(snapshot.window, Duration::from_secs(60));
    // user has ServiceProfile routes (catalogue is routed by an HTTPRoute, which TopRoutes
    // does not know).
    let user: Vec<_> = snapshot
        .routes
        .iter()
        .filter(|r| r.namespace == "sock-shop" && r.metric.resource == "deploy/user")
        .collect();
    assert!(
        user.iter().any(|r| r.metric.route == "GET /login"),
        "user's profile routes: {user:?}"
    );
    assert!(user.iter().all(|r| r.metric.requests > 0), "{user:?}");
    assert!(
        snapshot.routes.iter().any(|r| r.namespace == "emojivoto"),
        "both namespaces polled"
    );
    let edge = snapshot
        .edges
        .iter()
        .find(|e| e.src.name == "front-end" && e.dst.name == "catalogue")
        .expect("front-end → catalogue edge");
    assert!(
        edge.client_id.is_some() && edge.server_id.is_some(),
        "{edge:?}"
    );
    // StatSummary: every deployment of both namespaces, with pods and traffic.
    let workload = |ns: &str, name: &str| {
        snapshot
            .workloads
            .iter()
            .find(|w| w.resource.namespace == ns && w.resource.name == name)
            .unwrap_or_else(|| panic!("{ns}/{name} in {:?}", snapshot.workloads))
    };
    let catalogue = workload("sock-shop", "catalogue");
    assert_eq!((catalogue.meshed_pods, catalogue.running_pods), (2, 2));
    assert!(
        catalogue.stats.is_some_and(|s| s.rps > 0.0),
        "{catalogue:?}"
    );
    workload("emojivoto", "web");
    // Edges crossing both polled namespaces are not listed twice.
    let mut pairs: Vec<_> = snapshot.edges.iter().map(|e| (&e.src, &e.dst)).collect();
    let all = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), all);
}

#[tokio::test]
async fn an_unreachable_metrics_api_becomes_an_error_snapshot() {
    // A port that was just free: nothing listens there now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let poll = MetricsPoll {
        target: MetricsTarget::Addr(addr.to_string()),
        window: Duration::from_secs(60),
        targets: vec![ns("sock-shop")],
    };
    let (tx, mut rx) = mpsc::channel(4);
    let poller = tokio::spawn(metrics_poll::poll_until_closed(poll, tx.downgrade()));
    let snapshot = first_snapshot(&mut rx).await;
    poller.abort();
    let error = snapshot.error.expect("an error");
    assert!(error.contains("unreachable"), "{error}");
    assert!(
        error.ends_with("the panes keep working on live data"),
        "{error}"
    );
    assert!(snapshot.routes.is_empty() && snapshot.edges.is_empty());
}
