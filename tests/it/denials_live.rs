//! Denials told in a live session, end to end against the demo: the refusal-counter poller
//! reads payment's simulated proxies through the demo's port-forwards while orders is tapped,
//! and explain on an orders → payment 403 seen after the first reading names payment's Server,
//! route and count. The poller reads every second here (the session's every 10 s).

use std::time::{Duration, Instant};

use clap::Parser;
use meshtap::cli::{Cli, Command as Sub};
use meshtap::explain::{Topic, explain_with};
use meshtap::model::event::Direction;
use meshtap::model::store::Store;
use meshtap::routestats::{DenialsOrigin, Readings};
use meshtap::session::SourceMsg;
use meshtap::source::cluster::Cluster;
use meshtap::source::denials_poll::{self, DenialsPoll};
use tokio::sync::mpsc;

/// A bound for a hung test, not a performance expectation.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Most messages read before giving up.
const MAX_MESSAGES: usize = 100_000;

fn demo_args() -> (meshtap::cli::DemoArgs, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    // A busy mesh, so refunds (8% of orders' payment calls) come often.
    let argv = [
        "meshtap",
        "demo",
        "--rate",
        "2000",
        "--seed",
        "11",
        "--kubeconfig-out",
        kubeconfig.to_str().expect("utf8"),
    ];
    let Some(Sub::Demo(args)) = Cli::try_parse_from(argv).expect("args").command else {
        panic!("demo args")
    };
    (args, dir)
}

#[tokio::test]
async fn explain_on_a_live_refusal_names_what_paymentss_proxy_counted() {
    let (args, _dir) = demo_args();
    let demo = meshtap::start_demo(&args).await.expect("demo starts");
    let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None)
        .await
        .expect("cluster");
    let mut tap = args.tap.clone();
    tap.targets = vec!["deploy/orders".to_owned()];
    tap.namespace = Some("sock-shop".to_owned());
    let specs = meshtap::specs(&tap, "sock-shop", true).expect("specs");
    let mut events = meshtap::spawn_streams(&cluster, &specs, false);
    let (tx, mut readings_rx) = mpsc::channel(8);
    let poll = DenialsPoll {
        client: cluster.client.clone(),
        cluster: None,
        namespaces: ["sock-shop".to_owned()].into(),
        prometheus: None,
        refusing: None,
        interval: Duration::from_secs(1),
    };
    let poller = tokio::spawn(denials_poll::poll_until_closed(poll, tx.downgrade()));

    let mut store = Store::new(100_000);
    let mut readings = Readings::default();
    let mut notices = Vec::new();
    let deadline = Instant::now() + TEST_TIMEOUT;
    let mut said = None;
    for _ in 0..MAX_MESSAGES {
        assert!(
            Instant::now() < deadline,
            "no explained refusal in time; notices {notices:?}, readings {readings:#?}"
        );
        let msg = tokio::select! {
            m = events.recv() => m,
            m = readings_rx.recv() => m,
        };
        match msg {
            Some(SourceMsg::Events(batch)) => {
                for event in batch {
                    store.ingest(event);
                }
            }
            Some(SourceMsg::Denials(reading)) => {
                reading_pods(&reading);
                readings.update(*reading);
            }
            Some(SourceMsg::Notice(text)) => notices.push(text),
            Some(_) => {}
            None => panic!("a source ended"),
        }
        let Some(reading) = readings.of(None) else {
            continue;
        };
        let refused = store.requests().iter().find_map(|r| {
            let to_payment = r.destination.labels.get("deployment") == Some("payment");
            let bare = r.direction() == Direction::Outbound && r.http_status() == Some(403);
            let statements = explain_with(r, Some(reading));
            let counted = statements
                .iter()
                .find(|s| s.topic == Topic::Policy && s.text.contains("payment's proxy refused"))
                .cloned();
            (to_payment && bare).then_some(counted).flatten()
        });
        if let Some(statement) = refused {
            said = Some(statement);
            break;
        }
    }
    poller.abort();
    let said = said.expect("bounded loop ended without an answer");
    assert!(notices.is_empty(), "{notices:?}");
    // What payment's proxy counted, where, and over which span.
    assert!(
        said.text
            .contains("on Server payment-http, HTTPRoute payment-refunds"),
        "{said:?}"
    );
    assert!(said.text.contains("since meshtap started ("), "{said:?}");
    let count: f64 = said
        .text
        .split("refused ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(count >= 1.0, "{said:?}");
    assert!(
        said.cites
            .iter()
            .any(|c| c.starts_with("client_id=orders.sock-shop.serviceaccount.identity.")),
        "{said:?}"
    );
}

/// A reading is of pods scraped directly, some.
fn reading_pods(reading: &meshtap::routestats::DenialsReading) {
    match reading.origin {
        DenialsOrigin::Scraped { pods } => assert!(pods > 0, "no pod read"),
        DenialsOrigin::Prometheus(_) => panic!("the demo runs no Prometheus"),
    }
}

#[tokio::test]
async fn a_workload_seen_refusing_is_read_outside_the_tapped_namespaces() {
    let (args, _dir) = demo_args();
    let demo = meshtap::start_demo(&args).await.expect("demo starts");
    let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None)
        .await
        .expect("cluster");
    // No tapped namespace: only what the refusal stage saw (payment refused a client).
    let refusing = denials_poll::refused::Refusing {
        cluster: None,
        namespace: "sock-shop".to_owned(),
        deployment: "payment".to_owned(),
    };
    let (_seen, watched) = tokio::sync::watch::channel([refusing].into());
    let (tx, mut rx) = mpsc::channel(8);
    let poll = DenialsPoll {
        client: cluster.client.clone(),
        cluster: None,
        namespaces: std::collections::BTreeSet::new(),
        prometheus: None,
        refusing: Some(watched),
        interval: Duration::from_secs(1),
    };
    let poller = tokio::spawn(denials_poll::poll_until_closed(poll, tx.downgrade()));
    let reading = tokio::time::timeout(TEST_TIMEOUT, async {
        loop {
            match rx.recv().await {
                Some(SourceMsg::Denials(reading)) => return reading,
                Some(SourceMsg::Notice(text)) => panic!("{text}"),
                Some(_) => {}
                None => panic!("the poller ended"),
            }
        }
    })
    .await
    .expect("a reading in time");
    poller.abort();
    reading_pods(&reading);
    let workloads: Vec<&str> = reading
        .watched
        .iter()
        .map(|w| w.workload.as_str())
        .collect();
    assert_eq!(workloads, ["payment"], "{reading:#?}");
}
