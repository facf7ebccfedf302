//! What the stream showed of each pod: when it last reported, how many requests it reported,
//! and which of its requests are still in flight (a long-lived one holds the pod's tap window).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::RATE_WINDOW_SECS;
use crate::model::event::{Direction, HttpEvent, TapEvent};

/// Pods remembered; beyond it the pod that reported least recently is forgotten.
pub const OBSERVED_PODS_CAP: usize = 10_000;
/// In-flight requests remembered per pod; beyond it the newest is not recorded (the oldest are
/// the ones that explain a pinned window).
pub const IN_FLIGHT_PER_POD_CAP: usize = 64;

/// One request the pod's proxy reported as started and not yet ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InFlight {
    pub method: String,
    pub path: String,
    pub since: DateTime<Utc>,
}

/// One pod as the stream showed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSeen {
    pub events: u64,
    pub requests: u64,
    pub last_event: Option<DateTime<Utc>>,
    pub last_request: Option<DateTime<Utc>>,
    /// Keyed by (direction, base, stream): a proxy's stream ids are unique per Observe call.
    in_flight: BTreeMap<(Direction, u32, u64), InFlight>,
    /// Requests not recorded because [`IN_FLIGHT_PER_POD_CAP`] was reached.
    pub in_flight_dropped: u64,
    /// Requests started per second over the last [`RATE_WINDOW_SECS`] seconds, a ring indexed
    /// by the Unix second; `recent_second` is the newest second counted.
    recent: [u32; RATE_WINDOW_SECS as usize],
    recent_second: i64,
}

/// The ring slot of Unix second `second`.
fn bucket(second: i64) -> usize {
    usize::try_from(second.rem_euclid(i64::from(RATE_WINDOW_SECS))).unwrap_or(0)
}

impl PodSeen {
    /// Requests started in the [`RATE_WINDOW_SECS`] seconds up to `now`.
    pub fn recent_requests(&self, now: DateTime<Utc>) -> u64 {
        let window = i64::from(RATE_WINDOW_SECS);
        let newest = now.timestamp();
        (newest - window + 1..=newest)
            // Only seconds the ring still holds: not after the newest counted, not before the
            // window that ends there.
            .filter(|s| *s <= self.recent_second && *s > self.recent_second - window)
            .map(|s| u64::from(self.recent[bucket(s)]))
            .sum()
    }

    fn count_request(&mut self, now: DateTime<Utc>) {
        let second = now.timestamp();
        let window = i64::from(RATE_WINDOW_SECS);
        if second > self.recent_second {
            // Clear the buckets of the seconds skipped since the last request.
            for s in (self.recent_second + 1).max(second - window + 1)..=second {
                self.recent[bucket(s)] = 0;
            }
            self.recent_second = second;
        } else if self.recent_second - second >= window {
            // Older than the window (a replay's clock went back): not counted.
            return;
        }
        let count = &mut self.recent[bucket(second)];
        *count = count.saturating_add(1);
    }

    /// The request in flight the longest.
    pub fn oldest_in_flight(&self) -> Option<&InFlight> {
        self.in_flight.values().min_by_key(|r| r.since)
    }
}

/// (cluster, namespace, pod) → what was seen. Cluster is empty for a single-cluster session.
type Key = (String, String, String);

/// Every reporting pod of a session.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pods: HashMap<Key, PodSeen>,
    /// Pods forgotten because [`OBSERVED_PODS_CAP`] was reached.
    pub forgotten: u64,
}

/// The pod whose proxy reported `event`: the destination of an inbound event, the source of an
/// outbound one (the tap server hydrates `pod` and `namespace` from the address).
fn reporting_pod(event: &TapEvent) -> Option<(&str, &str)> {
    let labels = match event.direction {
        Direction::Inbound => &event.destination.labels,
        Direction::Outbound => &event.source.labels,
        Direction::Unknown => return None,
    };
    Some((
        labels.get("namespace").unwrap_or_default(),
        labels.get("pod")?,
    ))
}

impl Observed {
    /// Notes one event, stamped `now` (the session clock).
    pub fn observe(&mut self, event: &TapEvent, now: DateTime<Utc>) {
        let Some((namespace, pod)) = reporting_pod(event) else {
            return;
        };
        let cluster = event.cluster.as_ref().map_or("", |c| c.as_str());
        let key = (cluster.to_owned(), namespace.to_owned(), pod.to_owned());
        if !self.pods.contains_key(&key) && self.pods.len() >= OBSERVED_PODS_CAP {
            self.forget_stalest();
        }
        let seen = self.pods.entry(key).or_default();
        seen.events += 1;
        seen.last_event = Some(now);
        let Some(http) = &event.http else { return };
        let id = http.id();
        let slot = (event.direction, id.base, id.stream);
        match http {
            HttpEvent::RequestInit(init) => {
                seen.requests += 1;
                seen.last_request = Some(now);
                seen.count_request(now);
                if seen.in_flight.len() >= IN_FLIGHT_PER_POD_CAP {
                    seen.in_flight_dropped += 1;
                } else {
                    seen.in_flight.insert(
                        slot,
                        InFlight {
                            method: init.method.as_deref().unwrap_or("GET").to_owned(),
                            path: init.path.to_string(),
                            since: now,
                        },
                    );
                }
            }
            HttpEvent::ResponseEnd(_) => {
                seen.in_flight.remove(&slot);
            }
            HttpEvent::ResponseInit(_) => {}
        }
    }

    /// What was seen of `pod` in `namespace` of `cluster` ("" with one cluster).
    pub fn pod(&self, cluster: &str, namespace: &str, pod: &str) -> Option<&PodSeen> {
        self.pods
            .get(&(cluster.to_owned(), namespace.to_owned(), pod.to_owned()))
    }

    fn forget_stalest(&mut self) {
        let stalest = self
            .pods
            .iter()
            .min_by_key(|(_, seen)| seen.last_event)
            .map(|(key, _)| key.clone());
        if let Some(key) = stalest {
            self.pods.remove(&key);
            self.forgotten += 1;
        }
    }
}
