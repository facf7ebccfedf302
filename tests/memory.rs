//! Memory per stored request, measured with a counting global allocator (this test binary only):
//! the live heap bytes the store and its interner hold after ingesting the demo simulation's
//! traffic, headers stripped, divided by the requests held. Also: memory stays flat once the store
//! is full, and a repeated label set allocates nothing. Behaviour and byte counts, no timings.

#![allow(clippy::unwrap_used, reason = "test code")]

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use meshtap::demo::mesh::Mesh;
use meshtap::demo::tapper::{Session, TICK_NS};
use meshtap::model::event::{HttpEvent, TapEvent};
use meshtap::model::request::Request;
use meshtap::model::store::Store;
use meshtap::source::frames::{self, ModelFrame};
use meshtap::source::wire::Interner;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Tests in one binary run on parallel threads; the counters are global, so measurements take
/// turns.
static TURN: Mutex<()> = Mutex::new(());

/// The target from DESIGN.md.
const MAX_BYTES_PER_REQUEST: usize = 512;

fn live() -> (usize, usize) {
    let s = GLOBAL.stats();
    (
        s.bytes_allocated - s.bytes_deallocated,
        s.allocations - s.deallocations,
    )
}

fn at() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_700_000_000)
}

/// The demo mesh's traffic as model events, headers dropped, in bounded batches so the input
/// never has to be held all at once.
struct Traffic {
    session: Session,
    buf: BytesMut,
    interner: Interner,
}

impl Traffic {
    fn new(seed: u64) -> Self {
        Self {
            session: Session::everything(Arc::new(Mesh::demo()), seed, 2_000.0),
            buf: BytesMut::new(),
            interner: Interner::default(),
        }
    }

    /// Feeds events into `store` until it has made `requests` requests in all.
    fn fill(&mut self, store: &mut Store, requests: u64) {
        // Bounded: far more simulated time than any count asked for here needs.
        for _ in 0..1_000_000 {
            if store.stats().requests >= requests {
                return;
            }
            self.session.advance(TICK_NS, &mut self.buf);
            while self.buf.len() >= 4 {
                let b = &self.buf;
                let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                let frame = self.buf.split_to(4 + len);
                if let Ok(ModelFrame::Event(event)) =
                    frames::decode_fast(&mut self.interner, &frame[4..], at())
                {
                    store.ingest(without_headers(event));
                }
            }
        }
        panic!("the simulation made too few requests");
    }
}

fn without_headers(mut event: TapEvent) -> TapEvent {
    match &mut event.http {
        Some(HttpEvent::RequestInit(e)) => e.headers = Vec::new(),
        Some(HttpEvent::ResponseInit(e)) => e.headers = Vec::new(),
        Some(HttpEvent::ResponseEnd(e)) => e.trailers = Vec::new(),
        None => {}
    }
    event
}

#[test]
fn a_stored_request_costs_at_most_512_bytes_without_headers() {
    const N: usize = 100_000;
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (bytes_before, blocks_before) = live();
    let mut traffic = Traffic::new(7);
    let mut store = Store::new(N);
    traffic.fill(&mut store, N as u64);
    traffic.buf = BytesMut::new();
    let (bytes_after, blocks_after) = live();
    let per_request = (bytes_after - bytes_before) / store.len();
    let blocks = (blocks_after - blocks_before) as f64 / store.len() as f64;
    println!(
        "stored requests: {}; size_of::<Request>() = {} bytes; live heap per request (store + \
         interner + join table, as requested from the allocator) = {per_request} bytes in {blocks:.2} \
         blocks",
        store.len(),
        std::mem::size_of::<Request>(),
    );
    assert_eq!(store.len(), N);
    assert!(
        per_request <= MAX_BYTES_PER_REQUEST,
        "{per_request} bytes per stored request, over the {MAX_BYTES_PER_REQUEST}-byte target"
    );
    drop(traffic);
}

#[test]
fn memory_is_flat_once_the_store_is_full() {
    const N: u64 = 20_000;
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut traffic = Traffic::new(11);
    let mut store = Store::new(N as usize);
    traffic.fill(&mut store, N + N / 2);
    let (full, _) = live();
    traffic.fill(&mut store, 3 * N);
    let (later, _) = live();
    assert_eq!(store.len(), N as usize);
    assert!(store.stats().evicted >= N, "the ring turned over");
    // Paths and open requests vary a little from moment to moment; nothing may accumulate.
    let bound = 64 * 1024 + full / 50;
    assert!(
        later <= full + bound,
        "live heap grew from {full} to {later} bytes while the store stayed at {N} requests"
    );
}

#[test]
fn a_repeated_label_set_allocates_nothing() {
    use meshtap::proto::{net, tap};
    use prost::Message as _;
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let labels = |side: &str| tap::EndpointMeta {
        labels: (0..10)
            .map(|i| (format!("key_{i}"), format!("{side}-value-{i}")))
            .collect(),
    };
    let event = tap::TapEvent {
        source: Some(net::TcpAddress { ip: None, port: 1 }),
        source_meta: Some(labels("src")),
        destination_meta: Some(labels("dst")),
        proxy_direction: 2,
        ..Default::default()
    };
    let first = event.encode_to_vec();
    // The same maps serialised again: hash maps may order the entries differently.
    let second = tap::TapEvent {
        source_meta: Some(labels("src")),
        destination_meta: Some(labels("dst")),
        ..event
    }
    .encode_to_vec();
    let mut interner = Interner::default();
    let warm = frames::decode_fast(&mut interner, &first, at()).unwrap();
    let before = GLOBAL.stats();
    let again = frames::decode_fast(&mut interner, &second, at()).unwrap();
    let allocations = GLOBAL.stats().allocations - before.allocations;
    assert_eq!(allocations, 0, "decoding a repeat allocated");
    assert_eq!(warm, again);
}
