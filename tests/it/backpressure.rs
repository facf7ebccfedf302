//! A stalled consumer must push back on the tap stream rather than grow memory: the bounded
//! channel to the main loop fills, the HTTP body stops being read, and the server's sender
//! blocks. Checked by counting what the server managed to send, never by timing.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use meshtap::demo::api::{TapApi, TapReply};
use meshtap::demo::server::{self, ServerOptions};
use meshtap::proto::tap::TapByResourceRequest;
use meshtap::session::SourceMsg;
use meshtap::source::cluster::Cluster;
use support::{framed, golden_events};

/// Frames the server would send if nothing pushed back: far more than any buffer holds.
const FRAMES_OFFERED: u64 = 200_000;

struct Firehose {
    sent: Arc<AtomicU64>,
}

impl TapApi for Firehose {
    fn tap(&self, _path: &str, _request: TapByResourceRequest) -> TapReply {
        let sent = self.sent.clone();
        let chunk = framed(&golden_events());
        // Counted as each chunk is handed over, that is once the one before it was taken.
        let chunks = (0..FRAMES_OFFERED).map(move |_| {
            sent.fetch_add(1, Ordering::Relaxed);
            chunk.clone()
        });
        meshtap_testkit::stream(chunks, false)
    }
}

/// Waits (bounded) until `sent` stops moving; returns where it settled.
async fn settled(sent: &AtomicU64) -> u64 {
    let mut last = u64::MAX;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = sent.load(Ordering::Relaxed);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_stops_the_stream_instead_of_buffering_it() {
    let sent = Arc::new(AtomicU64::new(0));
    let api = Arc::new(Firehose { sent: sent.clone() });
    let server = server::spawn(ServerOptions::default(), api)
        .await
        .expect("server");
    let kubeconfig =
        meshtap::demo::kubeconfig::for_server(&server, Some("shop")).expect("kubeconfig");
    let cluster = Cluster::from_kubeconfig(kubeconfig, None)
        .await
        .expect("cluster");
    let cli = <meshtap::cli::Cli as clap::Parser>::try_parse_from(["meshtap", "tap", "deploy/web"])
        .expect("args");
    let Some(meshtap::cli::Command::Tap(args)) = cli.command else {
        panic!("tap args")
    };
    let specs = meshtap::specs(&args.tap, "shop", false).expect("specs");
    // Nobody reads `rx` yet: the consumer is stalled.
    let mut rx = meshtap::spawn_streams(&cluster, &specs, false);

    let stalled_at = settled(&sent).await;
    assert!(
        stalled_at < FRAMES_OFFERED / 4,
        "the server kept sending into a stalled consumer: {stalled_at} chunks"
    );

    // Reading again lets the stream go on: once the buffers in between drain, the server sends
    // more. Bounded by a count of messages read.
    let mut events = 0usize;
    for read in 1..=100_000u32 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(SourceMsg::Events(batch))) => events += batch.len(),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
        if read % 500 == 0 && sent.load(Ordering::Relaxed) > stalled_at {
            break;
        }
    }
    assert!(events > 0);
    let resumed = sent.load(Ordering::Relaxed);
    assert!(
        resumed > stalled_at,
        "the stream resumed: {stalled_at} → {resumed}"
    );
}
