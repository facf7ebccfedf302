//! Memory per stored request, measured with a counting global allocator (this test binary only):
//! the live heap bytes the store and its interner hold after ingesting the demo simulation's
//! traffic, with its headers (user agents, content types, request ids, bearer tokens, cookies)
//! and without, divided by the requests held. Also: memory stays flat once the store is full, a
//! store bounded by bytes stays within them and estimates them honestly, and a repeated label set
//! allocates nothing. Behaviour and byte counts, no timings.

use std::sync::Arc;

use crate::{GLOBAL, TURN};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use meshtap::demo::mesh::Mesh;
use meshtap::demo::tapper::{Session, TICK_NS};
use meshtap::model::event::{Headers, HttpEvent, TapEvent};
use meshtap::model::request::Request;
use meshtap::model::store::Store;
use meshtap::source::frames::{self, ModelFrame};
use meshtap::source::wire::Interner;

/// The target: the most one held request may cost.
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

/// The demo mesh's traffic as model events, in bounded batches so the input never has to be held
/// all at once.
struct Traffic {
    session: Session,
    buf: BytesMut,
    interner: Interner,
    headers: bool,
}

impl Traffic {
    fn new(seed: u64, headers: bool) -> Self {
        Self {
            session: Session::everything(Arc::new(Mesh::demo()), seed, 2_000.0),
            buf: BytesMut::new(),
            interner: Interner::default(),
            headers,
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
                    store.ingest(if self.headers {
                        event
                    } else {
                        without_headers(event)
                    });
                }
            }
        }
        panic!("the simulation made too few requests");
    }
}

fn without_headers(mut event: TapEvent) -> TapEvent {
    match &mut event.http {
        Some(HttpEvent::RequestInit(e)) => e.headers = Headers::default(),
        Some(HttpEvent::ResponseInit(e)) => e.headers = Headers::default(),
        Some(HttpEvent::ResponseEnd(e)) => e.trailers = Headers::default(),
        None => {}
    }
    event
}

/// Live heap bytes per request after the store filled with `N` requests of the demo's traffic.
fn bytes_per_request(headers: bool) -> usize {
    const N: usize = 100_000;
    let _turn = TURN.blocking_lock();
    let (bytes_before, blocks_before) = live();
    let mut traffic = Traffic::new(7, headers);
    let mut store = Store::new(N);
    traffic.fill(&mut store, N as u64);
    traffic.buf = BytesMut::new();
    let (bytes_after, blocks_after) = live();
    let per_request = (bytes_after - bytes_before) / store.len();
    let blocks = (blocks_after - blocks_before) as f64 / store.len() as f64;
    println!(
        "headers {headers}: stored requests: {}; size_of::<Request>() = {} bytes; live heap per \
         request (store + interner + join table, as requested from the allocator) = \
         {per_request} bytes in {blocks:.2} blocks; the store's estimate {} bytes per request; \
         header tables {:?}",
        store.len(),
        std::mem::size_of::<Request>(),
        store.held_bytes() / store.len(),
        traffic.interner.header_stats(),
    );
    assert_eq!(store.len(), N);
    drop(traffic);
    per_request
}

#[test]
fn a_stored_request_costs_at_most_512_bytes_without_headers() {
    let per_request = bytes_per_request(false);
    assert!(
        per_request <= MAX_BYTES_PER_REQUEST,
        "{per_request} bytes per stored request, over the {MAX_BYTES_PER_REQUEST}-byte target"
    );
}

#[test]
fn a_stored_request_costs_at_most_512_bytes_with_realistic_headers() {
    let per_request = bytes_per_request(true);
    assert!(
        per_request <= MAX_BYTES_PER_REQUEST,
        "{per_request} bytes per stored request with headers, over the \
         {MAX_BYTES_PER_REQUEST}-byte target"
    );
}

#[test]
fn memory_is_flat_once_the_store_is_full() {
    const N: u64 = 20_000;
    let _turn = TURN.blocking_lock();
    let mut traffic = Traffic::new(11, true);
    let mut store = Store::new(N as usize);
    traffic.fill(&mut store, N + N / 2);
    let (full, _) = live();
    let tables = |t: &Traffic| {
        let s = t.interner.header_stats();
        s.shapes + s.shared_values
    };
    let entries = tables(&traffic);
    traffic.fill(&mut store, 3 * N);
    let (later, _) = live();
    // The interner's header tables keep filling towards their own bounds for a while (new
    // content lengths, new shapes); each entry is a shape or value of a few hundred bytes.
    let table_growth = (tables(&traffic) - entries) * 512;
    assert_eq!(store.len(), N as usize);
    assert!(store.stats().evicted >= N, "the ring turned over");
    // Paths and open requests vary a little from moment to moment; nothing may accumulate.
    let bound = 64 * 1024 + full / 50 + table_growth;
    assert!(
        later <= full + bound,
        "live heap grew from {full} to {later} bytes while the store stayed at {N} requests"
    );
}

#[test]
fn a_store_bounded_by_bytes_stays_within_them_and_says_so_honestly() {
    const MAX_BYTES: usize = 4 * 1024 * 1024;
    const REQUESTS: u64 = 60_000;
    let _turn = TURN.blocking_lock();
    let mut traffic = Traffic::new(13, true);
    let (before, _) = live();
    let mut store = Store::with_limits(1_000_000, MAX_BYTES as u64);
    // In steps, checking the bound as it fills and turns over.
    for step in 1..=6 {
        traffic.fill(&mut store, REQUESTS / 6 * step);
        assert!(
            store.held_bytes() <= MAX_BYTES,
            "{} bytes held over the {MAX_BYTES}-byte bound",
            store.held_bytes()
        );
    }
    let stats = store.stats();
    let held = store.held_bytes();
    let len = store.len();
    // What dropping the store frees is what it held (the interner keeps what it shares).
    let (full, _) = live();
    drop(store);
    let (emptied, _) = live();
    let freed = full - emptied;
    println!(
        "bound {MAX_BYTES}: {len} requests held, estimate {held} bytes, freed on drop {freed} \
         bytes (store and interner grew by {} bytes); evicted {} ({} by memory)",
        full - before,
        stats.evicted,
        stats.evicted_by_memory
    );
    assert!(len > 5_000, "only {len} requests in {MAX_BYTES} bytes");
    assert_eq!(stats.evicted, stats.requests - len as u64);
    assert_eq!(
        stats.evicted_by_memory, stats.evicted,
        "the count bound was never reached"
    );
    assert!(
        freed <= held + held / 10 && held <= freed + freed / 4,
        "the estimate ({held} bytes) is not within 10% under / 25% over what the store freed \
         ({freed} bytes)"
    );
}

#[test]
fn a_repeated_label_set_allocates_nothing() {
    // The counter is process-wide: the test harness's other threads may allocate a few times
    // meanwhile. A decode that allocates does so every time, so many repeats tell them apart.
    const REPEATS: usize = 1_000;
    use meshtap::proto::{net, tap};
    use prost::Message as _;
    let _turn = TURN.blocking_lock();
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
    for _ in 0..REPEATS {
        let again = frames::decode_fast(&mut interner, &second, at()).unwrap();
        std::hint::black_box(&again);
    }
    let allocations = GLOBAL.stats().allocations - before.allocations;
    assert!(
        allocations < REPEATS / 10,
        "decoding a repeat allocated ({allocations} allocations in {REPEATS} decodes)"
    );
    let again = frames::decode_fast(&mut interner, &second, at()).unwrap();
    assert_eq!(warm, again);
}
