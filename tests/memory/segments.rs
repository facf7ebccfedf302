//! Segment replay is streamed: a segment far larger than the memory it may use (a million empty
//! frames, the review's 12 MB file that took 920 MB) is replayed while the live heap, sampled at
//! every message, stays under a fixed budget.

use std::path::Path;

use crate::{GLOBAL, TURN};
use meshtap::pipeline::segments::{self, read};
use meshtap::session::SourceMsg;
use meshtap::source::replay::Speed;

/// The reader's buffer, one frame, the batches read ahead and in the channel.
const BUDGET_BYTES: usize = 16 * 1024 * 1024;

fn live() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

/// A segment of `frames` empty frames (each decodes to an event with no HTTP part).
fn empty_frames(path: &Path, frames: usize) {
    let mut bytes = segments::SEGMENT_MAGIC.to_vec();
    bytes.extend_from_slice(&segments::SEGMENT_VERSION.to_le_bytes());
    let micros: i64 = 1_767_225_600_000_000;
    for _ in 0..frames {
        bytes.extend_from_slice(&micros.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_segment_replays_in_bounded_memory() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segment-0000000001.mtseg");
    // 2,000,000 frames: 24 MB on disk.
    empty_frames(&path, 2_000_000);
    let base = live();
    let ready = read::spawn_reader(vec![path], read::Range::default()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let play = tokio::spawn(read::play(ready, Speed::Max, tx));
    let mut peak = 0;
    let mut events = 0usize;
    // Bounded: the reader ends after 2,000,000 events in batches, plus a state message.
    for _ in 0..10_000_000 {
        let Some(msg) = rx.recv().await else { break };
        if let SourceMsg::Events(batch) = &msg {
            events += batch.len();
        }
        drop(msg);
        peak = peak.max(live().saturating_sub(base));
    }
    assert_eq!(play.await.unwrap(), 2_000_000);
    assert_eq!(events, 2_000_000);
    assert!(peak < BUDGET_BYTES, "peak {peak} bytes over {BUDGET_BYTES}");
}
