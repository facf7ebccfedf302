//! Replay streams: the memory a replay holds (measured with a counting global allocator, this
//! test binary only) depends on the consumer's store bound, not on the file's size. A recording
//! and an NDJSON export several times larger than the memory it may use are replayed into a
//! small store; the live heap sampled after every batch stays under a fixed budget, and a file
//! four times larger needs no more.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::{GLOBAL, TURN};
use bytes::BytesMut;
use meshtap::demo::mesh::Mesh;
use meshtap::demo::tapper::{Session, TICK_NS};
use meshtap::export::ndjson;
use meshtap::model::store::{Ingested, Store};
use meshtap::session::Redactor;
use meshtap::session::SourceMsg;
use meshtap::source::frames::{self, ModelFrame};
use meshtap::source::replay::{self, Speed};
use meshtap::source::wire::Interner;
use meshtap_testkit::TEST_TIMEOUT;

/// The consumer's store bound, in requests.
const STORE_REQUESTS: usize = 2_000;
/// What a replay into that store may hold at most: the store, the reader's chunk and line
/// buffers, the batches read ahead and in the channel, the reorder window's share.
const BUDGET_BYTES: usize = 16 * 1024 * 1024;

fn live() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

/// Writes the demo mesh's traffic as a raw recording of at least `bytes` bytes.
fn recording(path: &Path, bytes: usize) -> usize {
    let mut session = Session::everything(Arc::new(Mesh::demo()), 11, 5_000.0);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut buf = BytesMut::new();
    let mut written = 0;
    for _ in 0..10_000_000 {
        if written >= bytes {
            break;
        }
        session.advance(TICK_NS, &mut buf);
        written += buf.len();
        file.write_all(&buf).unwrap();
        buf.clear();
    }
    file.flush().unwrap();
    written
}

/// Writes the same traffic as a headerless NDJSON export (`meshtap tap -o ndjson`) of at least
/// `bytes` bytes: each request as it finishes, so slightly out of start order.
fn ndjson_export(path: &Path, bytes: usize) -> usize {
    let mut session = Session::everything(Arc::new(Mesh::demo()), 12, 5_000.0);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut counting = Vec::new();
    let mut store = Store::new(10_000);
    let mut interner = Interner::default();
    let mut buf = BytesMut::new();
    let redactor = Redactor::new(false, Vec::new());
    let mut written = 0;
    let mut now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    for _ in 0..10_000_000 {
        if written >= bytes {
            break;
        }
        session.advance(TICK_NS, &mut buf);
        now += chrono::Duration::from_std(std::time::Duration::from_nanos(TICK_NS)).unwrap();
        while buf.len() >= 4 {
            let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            let frame = buf.split_to(4 + len);
            if let Ok(ModelFrame::Event(event)) =
                frames::decode_fast(&mut interner, &frame[4..], now)
                && let Ingested::Finished(seq) = store.ingest(event)
                && let Some(request) = store.get(seq)
            {
                counting.clear();
                ndjson::write_request(&mut counting, request, &redactor).unwrap();
                written += counting.len();
                file.write_all(&counting).unwrap();
            }
        }
    }
    file.flush().unwrap();
    written
}

/// Replays `path` at full speed into a store of `STORE_REQUESTS`; returns the peak live heap
/// above what was live before, sampled after every message, and the events received.
async fn replay_peak(path: &Path) -> (usize, usize) {
    let before = live();
    let mut peak = 0;
    let mut events = 0;
    {
        let opened = replay::open(path).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(meshtap::session::SOURCE_CHANNEL_BATCHES);
        let player = tokio::spawn(replay::play(opened, Speed::Max, tx));
        let mut store = Store::new(STORE_REQUESTS);
        for _ in 0..10_000_000 {
            let message = tokio::time::timeout(TEST_TIMEOUT, rx.recv()).await.unwrap();
            match message {
                Some(SourceMsg::Events(batch)) => {
                    events += batch.len();
                    for event in batch {
                        store.ingest(event);
                    }
                }
                Some(_) => {}
                None => break,
            }
            peak = peak.max(live().saturating_sub(before));
        }
        assert!(store.len() <= STORE_REQUESTS);
        let report = player.await.unwrap();
        assert_eq!(report.events, events);
        assert_eq!(report.skipped, 0);
    }
    (peak, events)
}

async fn bounded(path_of: impl Fn(usize) -> std::path::PathBuf, write: fn(&Path, usize) -> usize) {
    // Writing the other test's file allocates too.
    let _turn = TURN.lock().await;
    let mut peaks = Vec::new();
    for megabytes in [12, 48] {
        let path = path_of(megabytes);
        let size = write(&path, megabytes * 1024 * 1024);
        let (peak, events) = replay_peak(&path).await;
        eprintln!(
            "{}: {size} bytes, {events} events, peak {peak} bytes",
            path.display()
        );
        assert!(
            events / 3 > STORE_REQUESTS,
            "the file overflows the store: {events}"
        );
        assert!(
            peak < BUDGET_BYTES,
            "peak {peak} bytes for a {size}-byte file"
        );
        peaks.push(peak);
    }
    // A file four times larger: far less than twice the memory (memory that grew with the file
    // would need four times as much). The margin absorbs how far the reader runs ahead of a
    // consumer slowed by a busy machine.
    assert!(peaks[1] < peaks[0] * 2, "{peaks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_in_memory_bounded_by_the_store() {
    let dir = tempfile::tempdir().unwrap();
    bounded(|mb| dir.path().join(format!("tap-{mb}.bin")), recording).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ndjson_export_replays_in_memory_bounded_by_the_store() {
    let dir = tempfile::tempdir().unwrap();
    bounded(
        |mb| dir.path().join(format!("capture-{mb}.ndjson")),
        ndjson_export,
    )
    .await;
}
