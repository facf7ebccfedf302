//! The store: joins incoming events into requests and keeps a bounded ring of the most recent.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::{HttpEvent, TapEvent};
use super::request::{Request, RequestKey};

pub use sides::{SIDES_OPEN_MAX, SidesStats, same_call};

/// Default number of requests kept (`--capacity`).
pub const DEFAULT_CAPACITY_REQUESTS: usize = 100_000;
/// Default bound on the bytes the held requests take (`--max-memory`): 512 MiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 512 * 1024 * 1024;
/// How long a request may wait for its end before it is marked expired (never-ended requests
/// must not pin memory in the join table forever).
pub const OPEN_REQUEST_TTL: Duration = Duration::from_secs(60);
/// What an open request adds in the join table: its key, its seq and the table's control byte.
const JOIN_ENTRY_BYTES: usize = size_of::<(RequestKey, u64)>() + 1;
/// A ring slot: every held request takes one whatever its content.
const SLOT_BYTES: usize = size_of::<Request>();

/// Counters that explain what the store has seen and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub events: u64,
    pub requests: u64,
    /// Requests pushed out of the ring by newer ones, for either bound.
    pub evicted: u64,
    /// Of `evicted`, those pushed out by the memory bound (`--max-memory`) rather than by the
    /// count (`--capacity`).
    pub evicted_by_memory: u64,
    /// Requests that never ended within the TTL.
    pub expired: u64,
    /// Requests closed without an end because a newer request arrived with the same key.
    pub superseded: u64,
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
    max_bytes: usize,
    /// What the held requests own beyond their ring slots (see [`Store::cost`]), kept up to date
    /// on every change so the bound never needs a walk of the ring.
    heap_bytes: usize,
    /// Requests superseded since the last [`Store::expire`], handed out by it.
    superseded: Vec<u64>,
    ttl: Duration,
    next_seq: u64,
    stats: StoreStats,
    /// The two sides of each meshed call, paired as they arrive.
    sides: sides::Sides,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY_REQUESTS)
    }
}

impl Store {
    /// A store bounded by `capacity` requests and the default memory bound.
    pub fn new(capacity: usize) -> Self {
        Self::with_limits(capacity, DEFAULT_MAX_MEMORY_BYTES)
    }

    /// A store holding at most `capacity` requests in at most `max_bytes` (`--capacity`,
    /// `--max-memory`). A single request larger than `max_bytes` is still held, alone.
    pub fn with_limits(capacity: usize, max_bytes: u64) -> Self {
        let mut store = Self::with_ttl(capacity, OPEN_REQUEST_TTL);
        store.max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        store
    }

    pub fn with_ttl(capacity: usize, ttl: Duration) -> Self {
        Self {
            requests: VecDeque::new(),
            open: HashMap::new(),
            capacity: capacity.max(1),
            max_bytes: usize::try_from(DEFAULT_MAX_MEMORY_BYTES).unwrap_or(usize::MAX),
            heap_bytes: 0,
            superseded: Vec::new(),
            ttl,
            next_seq: 0,
            stats: StoreStats::default(),
            sides: sides::Sides::default(),
        }
    }

    pub fn ingest(&mut self, event: TapEvent) -> Ingested {
        self.stats.events += 1;
        let Some(key) = RequestKey::of(&event) else {
            self.stats.unknown_events += 1;
            return Ingested::Ignored;
        };
        if matches!(event.http, Some(HttpEvent::RequestInit(_))) {
            // A request init never finishes a request. If the key is taken (a stream id reused,
            // an end lost), the waiting request can never hear more: it is closed as superseded
            // rather than left waiting with nothing to expire it.
            let seq = self.push(key, event);
            if let Some(old) = self.open.insert(key, seq) {
                self.supersede(old);
            }
            self.sides.started(&mut self.requests, seq);
            return Ingested::Open(seq);
        }
        // One hash lookup for the common case, a response joining its open request.
        if let Entry::Occupied(entry) = self.open.entry(key) {
            let seq = *entry.get();
            if let Some(request) = slot(&mut self.requests, seq) {
                let before = cost(request);
                if let Some(http) = event.http {
                    request.apply(http, event.arrived);
                }
                let open = request.is_open();
                let after = cost(request);
                if !open {
                    entry.remove();
                    self.sides.closed(request);
                }
                self.heap_bytes = self.heap_bytes - before + after;
                self.shed(seq);
                return if open {
                    Ingested::Open(seq)
                } else {
                    Ingested::Finished(seq)
                };
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
        let request = Request::from_event(seq, key, event);
        let cost = cost(&request);
        // Evict before pushing, so the ring never holds (nor reserves room for) one over a bound.
        while !self.requests.is_empty() {
            let by_count = self.requests.len() >= self.capacity;
            let free_slot = self.requests.len() < self.requests.capacity();
            let need = cost + if free_slot { 0 } else { SLOT_BYTES };
            if !by_count && self.held_bytes() + need <= self.max_bytes {
                break;
            }
            self.evict_front(!by_count);
        }
        if self.requests.len() == self.requests.capacity() {
            // Grow by doubling as usual, but never past either bound: plain doubling would leave
            // a full 100,000-request ring with room for 131,072, a third more memory than needed.
            let room = self.max_bytes.saturating_sub(self.held_bytes() + cost) / SLOT_BYTES;
            let target = (self.requests.len() * 2)
                .max(16)
                .min(self.capacity)
                .min(self.requests.len() + room);
            self.requests
                .reserve_exact(target.saturating_sub(self.requests.len()).max(1));
        }
        self.heap_bytes += cost;
        self.requests.push_back(request);
        seq
    }

    /// Removes the oldest request, counting why.
    fn evict_front(&mut self, by_memory: bool) {
        let Some(old) = self.requests.pop_front() else {
            return;
        };
        self.heap_bytes -= cost(&old);
        self.stats.evicted += 1;
        self.stats.evicted_by_memory += u64::from(by_memory);
        // Only an open request can still be in the join table (finishing and expiring remove
        // it), so finished ones, the usual case, cost no lookup.
        if old.is_open() {
            let key = old.key();
            if self.open.get(&key) == Some(&old.seq) {
                self.open.remove(&key);
            }
            self.sides.closed(&old);
        }
    }

    /// Evicts the oldest requests while the store is over its memory bound after a request grew,
    /// sparing `keep` (the one that grew), so the caller can still read it.
    fn shed(&mut self, keep: u64) {
        while self.held_bytes() > self.max_bytes
            && self.requests.front().is_some_and(|r| r.seq != keep)
        {
            self.evict_front(true);
        }
    }

    /// Closes the open request `seq` because a newer one took its key.
    fn supersede(&mut self, seq: u64) {
        let Some(request) = slot(&mut self.requests, seq).filter(|r| r.is_open()) else {
            return;
        };
        let before = cost(request);
        request.superseded = true;
        self.sides.closed(request);
        self.heap_bytes = self.heap_bytes - before + cost(request);
        self.stats.superseded += 1;
        if self.superseded.len() >= self.capacity {
            // Nobody collected them (no expiry ran): only those still held can matter.
            let front = self.requests.front().map_or(0, |r| r.seq);
            self.superseded.retain(|&s| s >= front);
        }
        self.superseded.push(seq);
    }

    /// Marks requests that have waited longer than the TTL as expired. Returns their seqs, and
    /// those of the requests superseded since the last call: every request closed without an
    /// end, each once, for sinks that write closed requests and stats that count them.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<u64> {
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::TimeDelta::MAX);
        let stale: Vec<(RequestKey, u64)> = self
            .open
            .iter()
            .filter(|(_, seq)| self.get(**seq).is_none_or(|r| now - r.started > ttl))
            .map(|(k, s)| (*k, *s))
            .collect();
        let mut closed = std::mem::take(&mut self.superseded);
        closed.retain(|&seq| self.get(seq).is_some());
        for (key, seq) in stale {
            self.open.remove(&key);
            if let Some(request) = slot(&mut self.requests, seq) {
                let before = cost(request);
                request.expired = true;
                self.sides.closed(request);
                self.heap_bytes = self.heap_bytes - before + cost(request);
                self.stats.expired += 1;
                closed.push(seq);
            }
        }
        closed
    }

    /// An estimate of the bytes the store holds: its ring (allocated slots, used or not), what
    /// each request owns beyond its slot (path, unshared header bytes) and the join table's
    /// entries. Shared label sets and header shapes belong to the source's interner, which
    /// bounds them itself. Kept incrementally: O(1).
    pub fn held_bytes(&self) -> usize {
        self.requests.capacity() * SLOT_BYTES + self.heap_bytes + self.sides.held_bytes()
    }

    /// The other side of the call `seq` is one side of, when the store paired them (same
    /// cluster; see [`sides`]). The seq may name a request no longer held.
    pub fn other_side(&self, seq: u64) -> Option<u64> {
        self.get(seq).and_then(sides::other)
    }

    pub fn sides_stats(&self) -> SidesStats {
        self.sides.stats()
    }

    /// The memory bound (`--max-memory`).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub fn get(&self, seq: u64) -> Option<&Request> {
        let front = self.requests.front()?.seq;
        let index = usize::try_from(seq.checked_sub(front)?).ok()?;
        self.requests.get(index)
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

/// What a request adds to the store beyond its ring slot: its own heap, and its join-table
/// entry while it is open.
fn cost(request: &Request) -> usize {
    request.heap_bytes()
        + if request.is_open() {
            JOIN_ENTRY_BYTES
        } else {
            0
        }
}

/// The request with `seq`, by its offset from the oldest: a free function so it can borrow the
/// ring while the join table is borrowed too.
fn slot(requests: &mut VecDeque<Request>, seq: u64) -> Option<&mut Request> {
    let front = requests.front()?.seq;
    let index = usize::try_from(seq.checked_sub(front)?).ok()?;
    requests.get_mut(index)
}

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod sides;
#[cfg(test)]
mod tests;
