//! The store's join, bounds and closing of requests that never end.

use super::fixtures::event;
use super::*;
use crate::model::event::{
    Header, HeaderValue, Headers, RequestInit, ResponseEnd, ResponseInit, StreamId,
};
use crate::model::request::Phase;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(secs)
}

fn id(stream: u64) -> StreamId {
    StreamId { base: 1, stream }
}

fn req(stream: u64, secs: i64) -> TapEvent {
    let init = RequestInit {
        id: id(stream),
        method: Some("GET".into()),
        scheme: None,
        authority: "web".into(),
        path: "/".into(),
        headers: Headers::default(),
        matched_route: None,
    };
    event(HttpEvent::RequestInit(init), at(secs))
}

fn rsp(stream: u64) -> TapEvent {
    let init = ResponseInit {
        id: id(stream),
        since_request_init: None,
        http_status: 200,
        headers: Headers::default(),
    };
    event(HttpEvent::ResponseInit(init), at(0))
}

fn end(stream: u64) -> TapEvent {
    let end = ResponseEnd {
        id: id(stream),
        since_request_init: None,
        since_response_init: None,
        response_bytes: 3,
        eos: None,
        trailers: Headers::default(),
    };
    event(HttpEvent::ResponseEnd(end), at(0))
}

#[test]
fn joins_three_events_into_one_request() {
    let mut store = Store::new(10);
    assert_eq!(store.ingest(req(7, 0)), Ingested::Open(0));
    assert_eq!(store.ingest(rsp(7)), Ingested::Open(0));
    assert_eq!(store.ingest(end(7)), Ingested::Finished(0));
    assert_eq!(store.len(), 1);
    assert_eq!(store.open_len(), 0);
    let request = store.get(0).expect("request");
    assert_eq!(request.http_status(), Some(200));
    assert_eq!(request.response_bytes(), Some(3));
}

#[test]
fn interleaved_streams_stay_apart() {
    let mut store = Store::new(10);
    store.ingest(req(1, 0));
    store.ingest(req(2, 0));
    store.ingest(end(1));
    assert!(store.get(0).is_some_and(|r| !r.is_open()));
    assert!(store.get(1).is_some_and(Request::is_open));
}

#[test]
fn an_end_without_a_request_is_an_orphan() {
    let mut store = Store::new(10);
    assert_eq!(store.ingest(end(9)), Ingested::Finished(0));
    assert!(store.get(0).is_some_and(|r| r.init.is_none()));
}

#[test]
fn capacity_evicts_oldest_and_counts() {
    let mut store = Store::new(3);
    for stream in 0..5 {
        store.ingest(req(stream, 0));
    }
    assert_eq!(store.len(), 3);
    assert_eq!(store.stats().evicted, 2);
    assert!(store.get(0).is_none());
    assert_eq!(store.get(4).map(|r| r.seq), Some(4));
    // The evicted requests left the join table too: memory stays bounded.
    assert_eq!(store.open_len(), 3);
    // A late end for an evicted request becomes an orphan rather than touching another.
    assert_eq!(store.ingest(end(0)), Ingested::Finished(5));
}

#[test]
fn the_ring_never_reserves_past_its_bound() {
    let mut store = Store::new(100);
    for stream in 0..250 {
        store.ingest(req(stream, 0));
    }
    assert_eq!(store.requests().capacity(), 100);
}

#[test]
fn a_reused_key_closes_the_request_it_supersedes() {
    let mut store = Store::new(10);
    store.ingest(req(1, 0));
    assert_eq!(store.ingest(req(1, 1)), Ingested::Open(1));
    assert!(store.get(0).is_some_and(|r| !r.is_open()), "left waiting");
    assert_eq!(store.get(0).map(Request::phase), Some(Phase::Superseded));
    assert_eq!(store.stats().superseded, 1);
    // Handed out once with the expired ones, so sinks write it and stats count it.
    assert_eq!(store.expire(at(2)), vec![0]);
    assert!(store.expire(at(3)).is_empty());
    assert_eq!(store.open_len(), 1);
    assert!(store.get(1).is_some_and(Request::is_open));
}

/// A request whose init carries `bytes` of unshared header value.
fn heavy(stream: u64, bytes: usize) -> TapEvent {
    let value = "v".repeat(bytes);
    let mut event = req(stream, 0);
    if let Some(HttpEvent::RequestInit(init)) = &mut event.http {
        init.headers = vec![Header {
            name: "cookie",
            value: HeaderValue::Str(&value),
        }]
        .into();
    }
    event
}

#[test]
fn the_memory_bound_evicts_oldest_and_counts_apart_from_the_count_bound() {
    const MAX: usize = 64 * 1024;
    let mut store = Store::with_limits(1_000, MAX as u64);
    for stream in 0..400 {
        store.ingest(heavy(stream, 1_000));
        store.ingest(end(stream));
        assert!(store.held_bytes() <= MAX, "{} > {MAX}", store.held_bytes());
    }
    let stats = store.stats();
    assert!(
        store.len() < 100,
        "{} requests of 1 KB in 64 KiB",
        store.len()
    );
    assert!(
        store.len() > 20,
        "the ring's slots left room for only {}",
        store.len()
    );
    assert_eq!(stats.evicted, 400 - store.len() as u64);
    assert_eq!(stats.evicted_by_memory, stats.evicted);
    // The newest are the ones kept, and the estimate covers their heap.
    assert!(store.get(399).is_some_and(|r| r.heap_bytes() > 1_000));
    assert!(store.held_bytes() >= store.len() * (SLOT_BYTES + 1_000));
}

#[test]
fn count_evictions_are_not_memory_evictions() {
    let mut store = Store::with_limits(3, DEFAULT_MAX_MEMORY_BYTES);
    for stream in 0..5 {
        store.ingest(heavy(stream, 100));
    }
    assert_eq!(store.stats().evicted, 2);
    assert_eq!(store.stats().evicted_by_memory, 0);
}

#[test]
fn held_bytes_follow_every_change_without_a_walk() {
    let mut store = Store::with_limits(10, DEFAULT_MAX_MEMORY_BYTES);
    let empty = store.held_bytes();
    store.ingest(heavy(1, 500));
    let open = store.held_bytes();
    assert!(open >= empty + 500 + JOIN_ENTRY_BYTES);
    store.ingest(end(1));
    assert_eq!(
        store.held_bytes(),
        open - JOIN_ENTRY_BYTES,
        "left the join table"
    );
    // What the estimate adds up to is what a walk of the ring would find.
    store.ingest(heavy(2, 300));
    store.ingest(heavy(2, 200));
    store.expire(at(1_000));
    let walked: usize = store.requests().iter().map(cost).sum();
    assert_eq!(
        store.held_bytes(),
        store.requests().capacity() * SLOT_BYTES + walked
    );
}

#[test]
fn a_request_larger_than_the_bound_is_held_alone() {
    let mut store = Store::with_limits(10, 100);
    store.ingest(heavy(1, 1_000));
    store.ingest(heavy(2, 1_000));
    assert_eq!(store.len(), 1);
    assert!(store.get(1).is_some());
    assert_eq!(store.stats().evicted_by_memory, 1);
}

#[test]
fn open_requests_expire_after_ttl() {
    let mut store = Store::with_ttl(10, Duration::from_secs(30));
    store.ingest(req(1, 0));
    store.ingest(req(2, 20));
    assert!(store.expire(at(29)).is_empty());
    assert_eq!(store.expire(at(31)), vec![0]);
    assert_eq!(store.stats().expired, 1);
    assert_eq!(store.open_len(), 1);
    assert!(store.get(0).is_some_and(|r| r.expired));
}
