//! A tap connection that goes dead (the path stops carrying bytes, the sockets stay open) is
//! found by unanswered HTTP/2 keepalive PINGs and reconnected, with the gap reported; a tap
//! that is merely silent is not.

use crate::support;

use std::time::Duration;

use meshtap::session::{ErrorKind, SourceMsg, StreamState};
use meshtap::source::cluster::{ClientOptions, Cluster, Keepalive};
use support::{Relay, Script, TEST_TIMEOUT, framed, golden_events};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Short enough for a test; the defaults are 30 s / 20 s.
const TEST_KEEPALIVE: Keepalive = Keepalive {
    interval: Duration::from_millis(200),
    timeout: Duration::from_millis(300),
};

async fn next(rx: &mut mpsc::Receiver<SourceMsg>) -> SourceMsg {
    timeout(TEST_TIMEOUT, rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

/// Waits (bounded) for a state change of stream 0 that `want` accepts; returns it.
async fn wait_state(
    rx: &mut mpsc::Receiver<SourceMsg>,
    want: impl Fn(&StreamState) -> bool,
) -> StreamState {
    for _ in 0..100 {
        if let SourceMsg::State { state, .. } = next(rx).await
            && want(&state)
        {
            return state;
        }
    }
    panic!("the state never came");
}

#[tokio::test]
async fn a_dead_connection_is_found_by_pings_and_reconnected() {
    // Each tap sends one event and then stays open and silent.
    let script = vec![Script::ChunksThenHang(vec![framed(&golden_events()[..1])])];
    let (server, _, api) = support::cluster(script, true).await;
    let relay = Relay::start(server.addr()).await;
    let mut kubeconfig =
        meshtap::demo::kubeconfig::for_server(&server, Some("emojivoto")).expect("kubeconfig");
    for named in &mut kubeconfig.clusters {
        let cluster = named.cluster.as_mut().expect("cluster");
        cluster.server = Some(format!("https://{}", relay.addr));
    }
    let cluster = Cluster::from_kubeconfig_with(
        kubeconfig,
        None,
        ClientOptions {
            keepalive: TEST_KEEPALIVE,
            ..ClientOptions::default()
        },
    )
    .await
    .expect("cluster");
    let (tx, mut rx) = mpsc::channel(64);
    let task =
        tokio::spawn(async move { cluster.tap(support::deploy_web(), 0, true, tx, None).await });

    wait_state(&mut rx, |s| *s == StreamState::Connected).await;
    // Silence with answered PINGs is a healthy tap: several PING rounds pass without a reconnect.
    tokio::time::sleep(TEST_KEEPALIVE.interval * 5).await;
    let mut quiet = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        quiet.push(msg);
    }
    assert!(
        quiet.iter().all(|m| !matches!(m, SourceMsg::State { .. })),
        "a silent but live tap kept its connection: {quiet:?}"
    );
    assert_eq!(api.seen().len(), 1);

    relay.freeze();
    let StreamState::Reconnecting { error, .. } =
        wait_state(&mut rx, |s| matches!(s, StreamState::Reconnecting { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(error.kind, ErrorKind::Transport, "{error}");
    assert!(error.message.contains("keepalive"), "{error}");
    // A new connection (the relay passes it) picks the tap up again.
    wait_state(&mut rx, |s| *s == StreamState::Connected).await;
    assert_eq!(api.seen().len(), 2);
    drop(rx);
    timeout(TEST_TIMEOUT, task)
        .await
        .expect("stops")
        .expect("no panic");
}
