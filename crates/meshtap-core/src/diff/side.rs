//! One side of a diff: what a capture says per route (both the client's and the server's view,
//! keyed as the routes pane keys them) and per edge (the identities table), gathered from its
//! finished requests one at a time, in bounded memory.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::model::identities::IdentityTable;
use crate::model::request::{Request, workload};
use crate::model::routes::{Grouping, MAX_ROUTES, RouteKey, key_of};

/// Latency samples kept per route: past this a uniform reservoir keeps a fair sample, and the
/// diff says how many it rests on.
pub const MAX_SAMPLES_PER_ROUTE: usize = 5_000;
/// Distinct status codes and callers kept per route; rarer ones are only counted.
pub const MAX_KINDS_PER_ROUTE: usize = 64;

/// What one route did in one capture.
#[derive(Clone, Debug, Default)]
pub struct RouteSamples {
    pub requests: u64,
    /// Requests with a known outcome, and of those the ones Linkerd counts as successes.
    pub classified: u64,
    pub successes: u64,
    /// Latencies (time to response headers, else to the end) in microseconds; at most
    /// [`MAX_SAMPLES_PER_ROUTE`], a uniform sample of `latencies_seen`.
    pub latencies_us: Vec<u64>,
    pub latencies_seen: u64,
    /// HTTP status (or `grpc:N` for a gRPC status other than OK) → requests.
    pub statuses: BTreeMap<String, u64>,
    /// Calling workload → requests.
    pub callers: BTreeMap<String, u64>,
    /// Requests whose status or caller was past [`MAX_KINDS_PER_ROUTE`].
    pub uncounted_kinds: u64,
}

/// One capture, summed up for a diff.
#[derive(Debug, Default)]
pub struct Side {
    /// How the capture is named in the output (its path).
    pub name: String,
    /// What the capture says about its sampling (`maxRps`), when it says.
    pub sampling: String,
    pub routes: HashMap<RouteKey, RouteSamples>,
    pub identities: IdentityTable,
    pub requests: u64,
    /// Requests on routes past [`MAX_ROUTES`], counted only.
    pub overflowed: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// State of the reservoir's generator (xorshift64*), seeded so that a diff is repeatable.
    rng: u64,
}

impl Side {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            rng: 0x9e37_79b9_7f4a_7c15,
            ..Self::default()
        }
    }

    /// Adds one finished (or expired) request.
    pub fn record(&mut self, request: &Request) {
        self.requests += 1;
        self.first = Some(
            self.first
                .map_or(request.started, |t| t.min(request.started)),
        );
        self.last = Some(
            self.last
                .map_or(request.started, |t| t.max(request.started)),
        );
        self.identities.record(request);
        let key = key_of(Grouping::Route, false, request);
        if !self.routes.contains_key(&key) && self.routes.len() >= MAX_ROUTES {
            self.overflowed += 1;
            return;
        }
        let draw = self.next_random();
        let route = self.routes.entry(key).or_default();
        route.requests += 1;
        if let Some(success) = request.success() {
            route.classified += 1;
            route.successes += u64::from(success);
        }
        if let Some(latency) = request.latency().or_else(|| request.duration()) {
            let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
            route.latencies_seen += 1;
            if route.latencies_us.len() < MAX_SAMPLES_PER_ROUTE {
                route.latencies_us.push(us);
            } else if let Ok(slot) = usize::try_from(draw % route.latencies_seen)
                && let Some(kept) = route.latencies_us.get_mut(slot)
            {
                // Algorithm R: the n-th sample replaces a kept one with probability k/n.
                *kept = us;
            }
        }
        let status = status_of(request);
        let caller = caller_of(request);
        let mut counted = true;
        for (map, kind) in [(&mut route.statuses, status), (&mut route.callers, caller)] {
            let Some(kind) = kind else { continue };
            if let Some(n) = map.get_mut(&kind) {
                *n += 1;
            } else if map.len() < MAX_KINDS_PER_ROUTE {
                map.insert(kind, 1);
            } else {
                counted = false;
            }
        }
        route.uncounted_kinds += u64::from(!counted);
    }

    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `200`, `503`, `grpc:14` (a gRPC status other than OK wins over the HTTP 200 it rides on),
/// `reset`, or `None` when no response was seen.
fn status_of(request: &Request) -> Option<String> {
    if let Some(code) = request.grpc_status().filter(|c| *c != 0) {
        return Some(format!("grpc:{code}"));
    }
    if request.reset_code().is_some() && request.http_status().is_none() {
        return Some("reset".to_owned());
    }
    request.http_status().map(|s| s.to_string())
}

/// The calling workload as `namespace/kind/name`, else the client's identity, else its IP.
fn caller_of(request: &Request) -> Option<String> {
    if let Some((namespace, kind, name)) = workload(&request.source) {
        return Some(format!("{namespace}/{kind}/{name}"));
    }
    if let Some(id) = request
        .source
        .labels
        .get("client_id")
        .filter(|s| !s.is_empty())
    {
        return Some(id.to_owned());
    }
    request.source.addr.map(|a| a.ip().to_string())
}
