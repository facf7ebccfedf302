//! Replay throughput on one generated recording (the demo mesh's traffic: realistic labels and
//! headers): (a) prost decoding every frame into `linkerd2-proxy-api` types, against (b) meshtap
//! replay reading the file, decoding and joining it into a store (no output). The
//! target is a ratio of at least 1.0.
//!
//! `scripts/replay_rate.sh` adds (c), the whole process: it runs this binary with
//! `MESHTAP_REPLAY_BENCH_FILE=PATH` (and optionally `MESHTAP_REPLAY_BENCH_EVENTS=N`), which
//! writes the recording there, prints the best of three runs of (a) and (b), and skips criterion.
//! It then runs it with `MESHTAP_REPLAY_BENCH_SERVE=KUBECONFIG` beside the file: a plain-HTTP
//! demo control plane on loopback whose every tap streams that recording as fast as the client
//! reads it, for (d), the live path (`meshtap tap … -o ndjson`), timed by the script.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group};
use meshtap::demo::api::{TapApi, TapReply};
use meshtap::demo::mesh::Mesh;
use meshtap::demo::server::{self, ServerOptions};
use meshtap::demo::tapper::{Session, TICK_NS};
use meshtap::model::store::Store;
use meshtap::proto::tap::TapByResourceRequest;
use meshtap::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};
use meshtap::source::frames::FrameDecoder;
use meshtap::source::replay::{self, Speed};
use prost::Message;

/// Events in the criterion run's recording (the script's is larger).
const EVENTS: usize = 30_000;
/// The consumer's store: `--capacity`'s default order of magnitude.
const STORE_REQUESTS: usize = 10_000;

/// Writes the demo mesh's traffic to `path` as a raw recording of at least `events` events;
/// returns the bytes written.
fn write_recording(path: &Path, events: usize) -> usize {
    let mut session = Session::everything(Arc::new(Mesh::demo()), 5, 5_000.0);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut buf = BytesMut::new();
    let (mut bytes, mut written) = (0, 0);
    for _ in 0..100_000_000 {
        if written >= events {
            break;
        }
        session.advance(TICK_NS, &mut buf);
        bytes += buf.len();
        // Count the frames in this tick.
        let mut decoder = FrameDecoder::default();
        decoder.push(&buf);
        while let Ok(Some(_)) = decoder.next_frame() {
            written += 1;
        }
        file.write_all(&buf).expect("write");
        buf.clear();
    }
    file.flush().expect("flush");
    bytes
}

/// (a) every frame through prost into the proxy API's types.
fn prost_decode(file: &[u8]) -> usize {
    let mut decoder = FrameDecoder::default();
    decoder.push(file);
    let mut n = 0;
    while let Ok(Some(frame)) = decoder.next_frame() {
        if linkerd2_proxy_api::tap::TapEvent::decode(frame).is_ok() {
            n += 1;
        }
    }
    n
}

/// (b) meshtap replay: open, read, decode and join into a store, at full speed.
fn replay_join(runtime: &tokio::runtime::Runtime, path: &Path) -> usize {
    runtime.block_on(async {
        let opened = replay::open(path).await.expect("open");
        let (tx, mut rx) = tokio::sync::mpsc::channel(SOURCE_CHANNEL_BATCHES);
        let player = tokio::spawn(replay::play(opened, Speed::Max, tx));
        let mut store = Store::new(STORE_REQUESTS);
        let mut events = 0;
        while let Some(message) = rx.recv().await {
            if let SourceMsg::Events(batch) = message {
                events += batch.len();
                for event in batch {
                    store.ingest(event);
                }
            }
        }
        player.await.expect("player");
        events
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn best_of_three(mut run: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..3 {
        let started = Instant::now();
        n = run();
        best = best.min(started.elapsed());
    }
    (best, n)
}

/// The script's mode: one large file, plain timings, machine-readable lines.
fn script(path: &Path) {
    let events = std::env::var("MESHTAP_REPLAY_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300_000);
    let bytes = write_recording(path, events);
    let file = std::fs::read(path).expect("read");
    let (prost, n) = best_of_three(|| prost_decode(&file));
    drop(file);
    let runtime = runtime();
    let (replay, m) = best_of_three(|| replay_join(&runtime, path));
    assert_eq!(n, m, "both read every event");
    println!("events {n}");
    println!("bytes {bytes}");
    println!("prost_decode_s {:.3}", prost.as_secs_f64());
    println!("replay_decode_join_s {:.3}", replay.as_secs_f64());
    println!(
        "ratio_replay_vs_prost {:.2}",
        prost.as_secs_f64() / replay.as_secs_f64()
    );
}

fn replay_bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tap.bin");
    let bytes = write_recording(&path, EVENTS);
    let file = std::fs::read(&path).expect("read");
    let events = prost_decode(&file);
    eprintln!("replay bench recording: {events} events, {bytes} bytes");
    let runtime = runtime();
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(events as u64));
    group.sample_size(10);
    group.bench_function("prost_decode_proxy_api", |b| {
        b.iter(|| prost_decode(&file));
    });
    group.bench_function("meshtap_replay_read_decode_join", |b| {
        b.iter(|| replay_join(&runtime, &path));
    });
    group.finish();
}

criterion_group!(benches, replay_bench);

/// Every tap streams the recording once, in 64 KiB chunks, then ends.
struct Recorded(bytes::Bytes);

/// Chunk size of the served stream: about what a TCP read returns on loopback.
const SERVE_CHUNK_BYTES: usize = 64 * 1024;

impl TapApi for Recorded {
    fn tap(&self, _path: &str, _request: TapByResourceRequest) -> TapReply {
        let file = self.0.clone();
        let chunks = (0..file.len())
            .step_by(SERVE_CHUNK_BYTES)
            .map(move |start| file.slice(start..(start + SERVE_CHUNK_BYTES).min(file.len())));
        meshtap_testkit::stream(chunks, false)
    }
}

/// The script's live mode: serves `file` to every tap until killed; the kubeconfig reaching the
/// server is written to `kubeconfig` once it listens.
fn serve(file: &Path, kubeconfig: &Path) {
    let bytes = bytes::Bytes::from(std::fs::read(file).expect("read"));
    runtime().block_on(async {
        let options = ServerOptions {
            tls: false,
            ..ServerOptions::default()
        };
        let server = server::spawn(options, Arc::new(Recorded(bytes)))
            .await
            .expect("server");
        let config =
            meshtap::demo::kubeconfig::for_server(&server, Some("sock-shop")).expect("kubeconfig");
        meshtap::demo::kubeconfig::write(kubeconfig, &config, true).expect("write kubeconfig");
        std::future::pending::<()>().await;
    });
}

fn main() {
    if let Some(path) = std::env::var_os("MESHTAP_REPLAY_BENCH_FILE") {
        match std::env::var_os("MESHTAP_REPLAY_BENCH_SERVE") {
            Some(kubeconfig) => serve(Path::new(&path), Path::new(&kubeconfig)),
            None => script(Path::new(&path)),
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
