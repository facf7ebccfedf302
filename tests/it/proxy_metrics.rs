//! The simulated proxies' admin `/metrics`, read as meshtap reads a cluster's without
//! Prometheus: the demo's kube-apiserver stand-in lists the meshed pods and port-forwards
//! `POD:4191` to each pod's admin server; two scrapes make a window of route figures.

use std::time::Duration;

use clap::Parser;
use meshtap::cli::{Cli, Command as Sub};
use meshtap::routestats;
use meshtap::source::cluster::Cluster;
use meshtap::source::metrics::portforward::forward;
use meshtap::source::proxy_metrics::scrape::{self, ADMIN_PORT};
use meshtap::source::target::Resource;
use tokio::time::timeout;

/// Generous: a bound for a hung test, not a performance expectation.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

async fn within<T>(future: impl Future<Output = T>) -> T {
    timeout(TEST_TIMEOUT, future).await.expect("bounded wait")
}

async fn demo(extra: &[&str]) -> (meshtap::Demo, Cluster, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut argv = vec!["meshtap", "demo", "--seed", "5", "--kubeconfig-out"];
    argv.push(kubeconfig.to_str().unwrap());
    argv.extend_from_slice(extra);
    let Some(Sub::Demo(args)) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("demo args")
    };
    let demo = within(meshtap::start_demo(&args)).await.unwrap();
    let cluster = within(Cluster::from_kubeconfig(demo.kubeconfig.clone(), None))
        .await
        .unwrap();
    (demo, cluster, dir)
}

#[tokio::test]
async fn meshed_pods_are_listed_and_scraped_through_port_forwards() {
    let (_demo, cluster, _dir) = demo(&["--rate", "400"]).await;
    let ns = Resource::parse("ns/sock-shop", "default").unwrap();
    let pods = within(scrape::target_pods(&cluster.client, &ns))
        .await
        .unwrap();
    assert!(pods.len() >= 15, "{pods:?}");
    let front_end: Vec<_> = pods
        .iter()
        .filter(|p| {
            p.labels
                .contains(&("deployment".to_owned(), "front-end".to_owned()))
        })
        .collect();
    assert_eq!(front_end.len(), 3, "{pods:?}");
    let deploy = Resource::parse("deploy/carts", "sock-shop").unwrap();
    let carts = within(scrape::target_pods(&cluster.client, &deploy))
        .await
        .unwrap();
    assert_eq!(carts.len(), 2);
    assert!(carts.iter().all(|p| p.name.starts_with("carts-")));

    let families = routestats::families();
    let window = within(scrape::window(
        &cluster.client,
        &pods,
        Duration::from_secs(2),
        &families,
    ))
    .await;
    assert!(window.unreachable.is_empty(), "{:?}", window.unreachable);
    let rows = routestats::outbound(&window.window, "namespace");
    let parents: Vec<&str> = rows.iter().map(|r| r.parent.as_str()).collect();
    for parent in ["catalogue", "carts", "orders", "user"] {
        assert!(
            parents.contains(&parent),
            "{parent} missing from {parents:?}"
        );
    }
    assert!(rows.iter().all(|r| r.name == "sock-shop"));
    let catalogue = rows.iter().find(|r| r.parent == "catalogue").unwrap();
    assert!(catalogue.figures.requests() > 10.0, "{catalogue:?}");
    assert!(catalogue.figures.p99().is_some());
    // catalogue is routed by `catalogue-split`, served by catalogue and its canary.
    assert_eq!(
        (catalogue.route.as_str(), catalogue.route_kind.as_str()),
        ("catalogue-split", "HTTPRoute")
    );
    assert!(
        catalogue
            .backends
            .iter()
            .all(|b| ["catalogue", "catalogue-v2"].contains(&b.name.as_str())),
        "{catalogue:?}"
    );
    assert!(catalogue.backends.iter().any(|b| b.name == "catalogue"));
    let inbound = routestats::inbound(&window.window, "namespace");
    assert!(
        inbound.iter().any(|r| r.server == "payment-http"),
        "{inbound:?}"
    );
}

#[tokio::test]
async fn other_ports_and_unknown_pods_are_refused_clearly() {
    let (_demo, cluster, _dir) = demo(&[]).await;
    let ns = Resource::parse("ns/emojivoto", "default").unwrap();
    let pods = within(scrape::target_pods(&cluster.client, &ns))
        .await
        .unwrap();
    let pod = &pods[0];
    let error = within(forward(&cluster.client, &pod.namespace, &pod.name, 4190))
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(error.contains(&ADMIN_PORT.to_string()), "{error}");
    let missing = within(forward(
        &cluster.client,
        "emojivoto",
        "nope-123",
        ADMIN_PORT,
    ))
    .await
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(missing.contains("not found"), "{missing}");
    let none = Resource::parse("deploy/ghost", "emojivoto").unwrap();
    let error = within(scrape::target_pods(&cluster.client, &none))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(error, "deploy/ghost selects no meshed pod");
}
