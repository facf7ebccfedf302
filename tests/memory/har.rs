//! A HAR entry is capped as an NDJSON line is: a document whose one entry holds a 64 MiB header
//! value (the review's 200 MB entry took 1 GB) is refused with a message naming the entry, and
//! the live heap, sampled at every message, stays far under the entry's size.

use std::io::Write as _;

use crate::{GLOBAL, TURN};
use meshtap::source::replay::{self, Speed};

/// The reader's chunk, the entry so far as a JSON value, the batches.
const BUDGET_BYTES: usize = 48 * 1024 * 1024;

fn live() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

fn entry(value: &str) -> String {
    format!(
        r#"{{"startedDateTime":"2026-01-01T00:00:00.000Z","time":1,"request":{{"method":"GET","url":"http://a/b","httpVersion":"HTTP/2","cookies":[],"headers":[{{"name":"x-big","value":"{value}"}}],"queryString":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"","httpVersion":"HTTP/2","cookies":[],"headers":[],"content":{{"size":0,"mimeType":""}},"redirectURL":"","headersSize":-1,"bodySize":0}},"cache":{{}},"timings":{{"send":0,"wait":1,"receive":0}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_har_entry_is_refused_in_bounded_memory() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.har");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(
        file,
        r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":[{},"#,
        entry("small")
    )
    .unwrap();
    let big = "x".repeat(64 << 20);
    write!(file, "{}]}}}}", entry(&big)).unwrap();
    drop(big);
    file.flush().unwrap();
    drop(file);
    let base = live();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let play = tokio::spawn(async move { replay::replay(&path, Speed::Max, tx).await });
    let mut peak = 0;
    let mut warnings = Vec::new();
    let mut events = 0;
    // Bounded: a handful of messages for two entries.
    for _ in 0..10_000 {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            meshtap::session::SourceMsg::Warning { message, .. } => warnings.push(message),
            meshtap::session::SourceMsg::Events(batch) => events += batch.len(),
            _ => {}
        }
        peak = peak.max(live().saturating_sub(base));
    }
    let report = play.await.unwrap();
    peak = peak.max(live().saturating_sub(base));
    assert!(peak < BUDGET_BYTES, "peak {peak} bytes over {BUDGET_BYTES}");
    // The second entry is named and refused (with the one entry before it, the file is still
    // refused as a whole at open: nothing of it reached a batch yet).
    let said = format!("{warnings:?} {report:?} ({events} events)");
    assert!(said.contains("entry 2 is larger than 16 MiB"), "{said}");
}
