//! Reaching the metrics API through a kube port-forward, as meshtap does in a cluster without
//! `--metrics-api`: the demo's kube-apiserver stand-in lists the metrics API pod and upgrades
//! the port-forward to a WebSocket bridged to the simulated metrics API. Also the two ways it
//! fails in real clusters (viz missing, RBAC refusing `pods/portforward`), which must come back
//! as a clear message rather than an error exit.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use meshtap::cli::{Cli, Command as Sub};
use meshtap::demo::portforward::{MetricsApiPod, POD_NAME};
use meshtap::demo::server::{self, ServerOptions};
use meshtap::session::SourceMsg;
use meshtap::source::cluster::Cluster;
use meshtap::source::metrics::MetricsClient;
use meshtap::source::metrics::portforward::PortForward;
use meshtap::source::metrics_poll::{self, MetricsPoll, MetricsTarget};
use meshtap::source::target::Resource;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Generous: a bound for a hung test, not a performance expectation.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);
const WINDOW: Duration = Duration::from_secs(60);

async fn within<T>(future: impl Future<Output = T>) -> T {
    timeout(TEST_TIMEOUT, future).await.expect("bounded wait")
}

/// `meshtap demo`'s own start-up, with or without TLS.
async fn demo(plain_http: bool) -> (meshtap::Demo, Cluster, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut argv = vec!["meshtap", "demo", "--seed", "5", "--kubeconfig-out"];
    argv.push(kubeconfig.to_str().unwrap());
    if plain_http {
        argv.push("--plain-http");
    }
    let Some(Sub::Demo(args)) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("demo args")
    };
    let demo = within(meshtap::start_demo(&args)).await.unwrap();
    let cluster = within(Cluster::from_kubeconfig(demo.kubeconfig.clone(), None))
        .await
        .unwrap();
    (demo, cluster, dir)
}

/// A workload with `ServiceProfile` routes.
fn user() -> Resource {
    Resource::parse("deploy/user", "sock-shop").unwrap()
}

#[tokio::test]
async fn the_demo_apiserver_port_forwards_to_the_metrics_api() {
    for plain_http in [false, true] {
        let (_demo, cluster, _dir) = demo(plain_http).await;
        let forward = PortForward::new(cluster.client.clone());
        assert_eq!(within(forward.find_pod()).await.unwrap(), POD_NAME);

        let client = within(MetricsClient::connect_port_forward(forward))
            .await
            .unwrap();
        assert!(client.addr().contains("port-forward"), "{}", client.addr());
        // Several calls over the one forwarded connection, then the edges too.
        for _ in 0..3 {
            let routes = within(client.route_stats(&user(), WINDOW)).await.unwrap();
            assert!(routes.iter().any(|r| r.route == "GET /login"), "{routes:?}");
        }
        let edges = within(client.edges("sock-shop")).await.unwrap();
        assert!(edges.iter().any(|e| e.src.name == "front-end"), "{edges:?}");
    }
}

#[tokio::test]
async fn the_poller_reaches_the_demo_through_the_port_forward() {
    let (_demo, cluster, _dir) = demo(false).await;
    let poll = MetricsPoll {
        target: MetricsTarget::PortForward(PortForward::new(cluster.client.clone())),
        window: WINDOW,
        targets: vec![Resource::parse("ns/sock-shop", "").unwrap()],
    };
    let (tx, mut rx) = mpsc::channel(4);
    let poller = tokio::spawn(metrics_poll::poll_until_closed(poll, tx.downgrade()));
    let Some(SourceMsg::Metrics(snapshot)) = within(rx.recv()).await else {
        panic!("a metrics snapshot")
    };
    poller.abort();
    assert_eq!(snapshot.error, None);
    assert!(
        snapshot
            .routes
            .iter()
            .any(|r| r.metric.resource == "deploy/catalogue"),
        "{:?}",
        snapshot.routes
    );
}

fn assert_clear(message: &str, detail: &str) {
    assert!(
        message.starts_with("metrics API not reachable through a port-forward: "),
        "{message}"
    );
    assert!(message.contains(detail), "{message}");
    assert!(
        message.contains("pass --metrics-api or --no-metrics"),
        "{message}"
    );
}

#[tokio::test]
async fn a_namespace_without_the_metrics_api_says_so() {
    let (_demo, cluster, _dir) = demo(false).await;
    let forward = PortForward {
        namespace: "elsewhere".to_owned(),
        ..PortForward::new(cluster.client.clone())
    };
    let error = within(MetricsClient::connect_port_forward(forward.clone()))
        .await
        .unwrap_err()
        .to_string();
    assert_clear(
        &error,
        "no Running pod labelled component=metrics-api in namespace elsewhere",
    );

    // The poller turns it into the snapshot's error: the panes show it, nothing exits.
    let poll = MetricsPoll {
        target: MetricsTarget::PortForward(forward),
        window: WINDOW,
        targets: vec![Resource::parse("ns/sock-shop", "").unwrap()],
    };
    let (tx, mut rx) = mpsc::channel(4);
    let poller = tokio::spawn(metrics_poll::poll_until_closed(poll, tx.downgrade()));
    let Some(SourceMsg::Metrics(snapshot)) = within(rx.recv()).await else {
        panic!("a metrics snapshot")
    };
    poller.abort();
    assert_clear(&snapshot.error.unwrap(), "in namespace elsewhere");
    assert!(snapshot.routes.is_empty());
}

#[tokio::test]
async fn rbac_refusing_the_port_forward_says_so() {
    let metrics = within(meshtap::demo::metrics_api::spawn(
        "127.0.0.1:0".parse().unwrap(),
        100.0,
    ))
    .await
    .unwrap();
    let options = ServerOptions {
        metrics_pod: Some(MetricsApiPod {
            addr: metrics.addr(),
            forbid_port_forward: true,
        }),
        ..ServerOptions::default()
    };
    let api = Arc::new(meshtap::demo::tapper::SimTapApi::new(1, 100.0));
    let server = within(server::spawn(options, api)).await.unwrap();
    let kubeconfig = meshtap::demo::kubeconfig::for_server(&server, Some("sock-shop")).unwrap();
    let cluster = within(Cluster::from_kubeconfig(kubeconfig, None))
        .await
        .unwrap();
    let forward = PortForward::new(cluster.client.clone());
    // The pod is there; only the port-forward is refused.
    assert_eq!(within(forward.find_pod()).await.unwrap(), POD_NAME);
    let error = within(MetricsClient::connect_port_forward(forward))
        .await
        .unwrap_err()
        .to_string();
    assert_clear(&error, "cannot create resource \"pods/portforward\"");
    assert!(error.contains("RBAC verb \"create\""), "{error}");
}

#[test]
fn no_metrics_turns_it_off_and_conflicts_with_an_address() {
    let cli = Cli::try_parse_from(["meshtap", "deploy/web", "--no-metrics"]).unwrap();
    assert!(cli.tap.no_metrics);
    assert!(cli.tap.metrics_api.is_none());
    let both = [
        "meshtap",
        "deploy/web",
        "--no-metrics",
        "--metrics-api",
        "127.0.0.1:1",
    ];
    assert!(Cli::try_parse_from(both).is_err());
}
