//! The store: joins incoming events into requests and keeps a bounded ring of the most recent.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::{HttpEvent, TapEvent};
use super::request::{Request, RequestKey};

/// Default number of requests kept (`--capacity`).
pub const DEFAULT_CAPACITY_REQUESTS: usize = 100_000;
/// How long a request may wait for its end before it is marked expired (never-ended requests
/// must not pin memory in the join table forever).
pub const OPEN_REQUEST_TTL: Duration = Duration::from_secs(60);

/// Counters that explain what the store has seen and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub events: u64,
    pub requests: u64,
    /// Requests pushed out of the ring by newer ones.
    pub evicted: u64,
    /// Requests that never ended within the TTL.
    pub expired: u64,
    /// Events that carried no HTTP event at all.
    pub unknown_events: u64,
}

/// What ingesting one event did, for callers that stream joined requests out (ndjson).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// The request with this seq was created or updated and is still open.
    Open(u64),
    /// The request with this seq ended.
    Finished(u64),
    /// The event carried no HTTP event.
    Ignored,
}

#[derive(Debug)]
pub struct Store {
    /// Oldest first; `seq` values are contiguous, so a seq's index is `seq - front.seq`.
    requests: VecDeque<Request>,
    open: HashMap<RequestKey, u64>,
    capacity: usize,
    ttl: Duration,
    next_seq: u64,
    stats: StoreStats,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY_REQUESTS)
    }
}

impl Store {
    pub fn new(capacity: usize) -> Self {
        Self::with_ttl(capacity, OPEN_REQUEST_TTL)
    }

    pub fn with_ttl(capacity: usize, ttl: Duration) -> Self {
        Self {
            requests: VecDeque::new(),
            open: HashMap::new(),
            capacity: capacity.max(1),
            ttl,
            next_seq: 0,
            stats: StoreStats::default(),
        }
    }

    pub fn ingest(&mut self, event: TapEvent) -> Ingested {
        self.stats.events += 1;
        let Some(key) = RequestKey::of(&event) else {
            self.stats.unknown_events += 1;
            return Ingested::Ignored;
        };
        if matches!(event.http, Some(HttpEvent::RequestInit(_))) {
            // A stream id reused by a new request: the old one will never hear more, so the new
            // one simply takes the key over. A request init never finishes a request.
            let seq = self.push(key, event);
            self.open.insert(key, seq);
            return Ingested::Open(seq);
        }
        // One hash lookup for the common case, a response joining its open request.
        if let Entry::Occupied(entry) = self.open.entry(key) {
            let seq = *entry.get();
            if let Some(request) = slot(&mut self.requests, seq) {
                if let Some(http) = event.http {
                    request.apply(http, event.arrived);
                }
                if request.is_open() {
                    return Ingested::Open(seq);
                }
                entry.remove();
                return Ingested::Finished(seq);
            }
            // The request it named is gone: this event starts an orphan below.
            entry.remove();
        }
        let seq = self.push(key, event);
        if self.get(seq).is_some_and(Request::is_open) {
            self.open.insert(key, seq);
            Ingested::Open(seq)
        } else {
            Ingested::Finished(seq)
        }
    }

    fn push(&mut self, key: RequestKey, event: TapEvent) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.stats.requests += 1;
        // Evict before pushing, so the ring never holds (nor reserves room for) one over its bound.
        while self.requests.len() >= self.capacity {
            let Some(old) = self.requests.pop_front() else {
                break;
            };
            self.stats.evicted += 1;
            // Only an open request can still be in the join table (finishing and expiring
            // remove it), so finished ones, the usual case, cost no lookup.
            if old.is_open() && self.open.get(&old.key) == Some(&old.seq) {
                self.open.remove(&old.key);
            }
        }
        if self.requests.len() == self.requests.capacity() {
            // Grow by doubling as usual, but never past the bound: plain doubling would leave a
            // full 100,000-request ring with room for 131,072, a third more memory than needed.
            let target = (self.requests.len() * 2).max(16).min(self.capacity);
            self.requests
                .reserve_exact(target.saturating_sub(self.requests.len()).max(1));
        }
        self.requests
            .push_back(Request::from_event(seq, key, event));
        seq
    }

    /// Marks requests that have waited longer than the TTL as expired; returns their seqs.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<u64> {
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::TimeDelta::MAX);
        let stale: Vec<(RequestKey, u64)> = self
            .open
            .iter()
            .filter(|(_, seq)| self.get(**seq).is_none_or(|r| now - r.started > ttl))
            .map(|(k, s)| (*k, *s))
            .collect();
        let mut expired = Vec::with_capacity(stale.len());
        for (key, seq) in stale {
            self.open.remove(&key);
            if let Some(request) = self.get_mut(seq) {
                request.expired = true;
                self.stats.expired += 1;
                expired.push(seq);
            }
        }
        expired
    }

    pub fn get(&self, seq: u64) -> Option<&Request> {
        let front = self.requests.front()?.seq;
        let index = usize::try_from(seq.checked_sub(front)?).ok()?;
        self.requests.get(index)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Request> {
        slot(&mut self.requests, seq)
    }

    /// All held requests, oldest first.
    pub fn requests(&self) -> &VecDeque<Request> {
        &self.requests
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn open_len(&self) -> usize {
        self.open.len()
    }

    pub fn stats(&self) -> StoreStats {
        self.stats
    }
}

/// The request with `seq`, by its offset from the oldest: a free function so it can borrow the
/// ring while the join table is borrowed too.
fn slot(requests: &mut VecDeque<Request>, seq: u64) -> Option<&mut Request> {
    let front = requests.front()?.seq;
    let index = usize::try_from(seq.checked_sub(front)?).ok()?;
    requests.get_mut(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{
        Direction, Endpoint, Labels, RequestInit, ResponseEnd, ResponseInit, StreamId,
    };

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(secs)
    }

    fn event(http: HttpEvent, arrived: DateTime<Utc>) -> TapEvent {
        TapEvent {
            arrived,
            source: Endpoint {
                addr: Some("10.0.0.1:4000".parse().expect("addr")),
                labels: Labels::default(),
            },
            destination: Endpoint::default(),
            direction: Direction::Outbound,
            route: Labels::default(),
            http: Some(http),
        }
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
            headers: Vec::new(),
        };
        event(HttpEvent::RequestInit(init), at(secs))
    }

    fn rsp(stream: u64) -> TapEvent {
        let init = ResponseInit {
            id: id(stream),
            since_request_init: None,
            http_status: 200,
            headers: Vec::new(),
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
            trailers: Vec::new(),
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
}
