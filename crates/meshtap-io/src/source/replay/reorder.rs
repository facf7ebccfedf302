//! The reorder window for formats that hold whole requests (NDJSON, HAR): a request's response
//! and end come after requests that started later, and a file may be slightly out of order, so
//! events are held until nothing earlier can still come, then released in time order.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::event::TapEvent;

/// How far out of order (by start time) the requests of a file may be and still be replayed in
/// exact time order (`meshtap tap -o ndjson` writes a request when it ends, so its records are
/// out of start order by their durations). An event that would have to go before one already
/// released (a file more out of order than the window) is sent at once, late, and counted: the
/// store still joins it.
pub const REORDER_WINDOW: Duration = Duration::from_secs(5);
/// Events held at most (about 5 MiB with realistic headers); beyond it the earliest are released
/// first, so at high rates the window is shorter than `REORDER_WINDOW` (8,192 events: half a
/// second at 5,000 requests per second). Bounds memory whatever the file.
pub const REORDER_MAX_EVENTS: usize = 8_192;

struct Held {
    event: TapEvent,
    /// Position in the file: events of the same time keep their order (a stable sort).
    seq: u64,
}

impl Held {
    fn key(&self) -> (DateTime<Utc>, u64) {
        (self.event.arrived, self.seq)
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

#[derive(Default)]
pub struct Reorder {
    held: BinaryHeap<Reverse<Held>>,
    seq: u64,
    /// The latest request start seen: nothing in the window before it can still come.
    newest: Option<DateTime<Utc>>,
    /// The time of the last event released.
    released: Option<DateTime<Utc>>,
    /// Events sent late because the file was more out of order than the window.
    pub late: u64,
}

impl Reorder {
    /// Takes the events of one request; appends to `out` whatever can no longer be preceded.
    pub fn push(&mut self, events: Vec<TapEvent>, out: &mut Vec<TapEvent>) {
        let Some(start) = events.iter().map(|e| e.arrived).min() else {
            return;
        };
        for event in events {
            if self.released.is_some_and(|r| event.arrived < r) {
                self.late += 1;
                out.push(event);
                continue;
            }
            self.seq += 1;
            self.held.push(Reverse(Held {
                event,
                seq: self.seq,
            }));
        }
        let newest = self.newest.map_or(start, |n| n.max(start));
        self.newest = Some(newest);
        let horizon = chrono::Duration::from_std(REORDER_WINDOW)
            .ok()
            .and_then(|w| newest.checked_sub_signed(w));
        while let Some(Reverse(first)) = self.held.peek() {
            let due = horizon.is_some_and(|h| first.event.arrived <= h);
            if !due && self.held.len() <= REORDER_MAX_EVENTS {
                break;
            }
            self.release(out);
        }
    }

    /// Releases everything held, in order: the file has ended.
    pub fn drain(&mut self, out: &mut Vec<TapEvent>) {
        while !self.held.is_empty() {
            self.release(out);
        }
    }

    fn release(&mut self, out: &mut Vec<TapEvent>) {
        if let Some(Reverse(held)) = self.held.pop() {
            self.released = Some(held.event.arrived);
            out.push(held.event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64, tag: u32) -> TapEvent {
        TapEvent {
            cluster: None,
            arrived: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s),
            source: crate::model::event::Endpoint {
                addr: Some(std::net::SocketAddr::from(([10, 0, 0, 1], tag as u16))),
                ..Default::default()
            },
            destination: crate::model::event::Endpoint::default(),
            direction: crate::model::event::Direction::Inbound,
            route: crate::model::event::Labels::default(),
            http: None,
        }
    }

    fn tags(events: &[TapEvent]) -> Vec<(i64, u16)> {
        events
            .iter()
            .map(|e| {
                let port = e.source.addr.map_or(0, |a| a.port());
                (e.arrived.timestamp(), port)
            })
            .collect()
    }

    #[test]
    fn events_within_the_window_come_out_sorted_and_stable() {
        let mut reorder = Reorder::default();
        let mut out = Vec::new();
        // A request from 0 s to 30 s, then requests a little out of order, one sharing a time.
        reorder.push(vec![at(0, 1), at(30, 2)], &mut out);
        reorder.push(vec![at(4, 3), at(6, 4)], &mut out);
        reorder.push(vec![at(3, 5), at(6, 6)], &mut out);
        assert!(out.is_empty(), "nothing is due yet: {:?}", tags(&out));
        reorder.push(vec![at(11, 7)], &mut out);
        assert_eq!(tags(&out), [(0, 1), (3, 5), (4, 3), (6, 4), (6, 6)]);
        reorder.drain(&mut out);
        assert_eq!(tags(&out[5..]), [(11, 7), (30, 2)]);
        assert_eq!(reorder.late, 0);
    }

    #[test]
    fn beyond_the_window_events_are_sent_late_and_counted() {
        let mut reorder = Reorder::default();
        let mut out = Vec::new();
        reorder.push(vec![at(0, 1)], &mut out);
        reorder.push(vec![at(100, 2)], &mut out);
        assert_eq!(tags(&out), [(0, 1)]);
        // 100 s earlier than the newest: the window has moved on.
        reorder.push(vec![at(-5, 3)], &mut out);
        assert_eq!(tags(&out), [(0, 1), (-5, 3)]);
        assert_eq!(reorder.late, 1);
    }

    #[test]
    fn the_held_events_are_bounded() {
        let mut reorder = Reorder::default();
        let mut out = Vec::new();
        // One request that never lets the window move: all starts at the same second.
        for i in 0..REORDER_MAX_EVENTS + 10 {
            reorder.push(vec![at(0, i as u32)], &mut out);
        }
        assert_eq!(out.len(), 10);
        assert_eq!(reorder.held.len(), REORDER_MAX_EVENTS);
    }
}
