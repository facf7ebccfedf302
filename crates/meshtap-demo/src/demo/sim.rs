//! Traffic generation for the simulated mesh: a seeded Poisson stream of requests over the
//! routes in [`routes`], each with a latency, an outcome and a size, on a virtual clock.
//!
//! Everything random comes from one [`Rng`] seeded by `--seed`, and time is virtual (nanoseconds
//! since the tap started), so a seed always yields the same calls; the wall clock only paces
//! delivery. A [`Call`] describes both halves of a request — the client proxy's OUTBOUND view and
//! the server proxy's INBOUND view — and [`events`] turns either half into wire events.

mod call;
pub mod events;
pub mod headers;
mod rng;
pub mod routes;
pub mod routing;
pub mod spans;

use std::sync::Arc;

use bytes::BytesMut;
use prost::Message as _;

use super::mesh::{Mesh, WorkloadId};
use crate::proto::tap;
use routes::{Protocol, ROUTES};
use routing::{Routed, Routing};
use spans::Spans;

pub use call::{Call, Outcome, Side, Timeline};
pub use rng::Rng;

/// The default request rate of `meshtap demo`, across the whole mesh.
pub const DEFAULT_RATE: f64 = 50.0;
/// How far a requests that never ends keeps its proxy's tap window open: the client gives up and
/// drops it after this long, without the proxy reporting an end.
pub const HANG_RELEASE_NS: u64 = 15_000_000_000;
/// Upper bound on one request's simulated server time, so the slow tail stays finite.
const MAX_SERVER_NS: u64 = 30_000_000_000;

/// The mesh's request stream: a Poisson process at `rate` requests per second.
#[derive(Debug)]
pub struct Traffic {
    mesh: Arc<Mesh>,
    rng: Rng,
    /// Mean gap between requests, in nanoseconds; `None` when the rate is zero.
    mean_gap_ns: Option<f64>,
    next_at: u64,
    /// Cumulative route weights, for weighted choice by binary search.
    cumulative: Vec<u64>,
    ends: Vec<(WorkloadId, WorkloadId)>,
    spans: Spans,
    routing: Arc<Routing>,
    /// Retries scheduled by the client proxies, started later than the call that caused them;
    /// at most the retry limit per call, drained as the clock passes them.
    retries: Vec<Call>,
}

impl Traffic {
    pub fn new(mesh: Arc<Mesh>, seed: u64, rate: f64) -> Self {
        let mut total = 0;
        let mut cumulative = Vec::with_capacity(ROUTES.len());
        let mut ends = Vec::with_capacity(ROUTES.len());
        for route in ROUTES {
            // Routes name existing workloads (checked by a unit test); a typo only drops the route.
            let (Some(c), Some(s)) = (
                mesh.workload_named(route.client),
                mesh.workload_named(route.server),
            ) else {
                cumulative.push(total);
                ends.push((0, 0));
                continue;
            };
            total += u64::from(route.weight);
            cumulative.push(total);
            ends.push((c, s));
        }
        let mesh_workloads = mesh.workloads.len();
        let routing = Arc::new(Routing::new(&mesh));
        let mean_gap_ns = (rate.is_finite() && rate > 0.0).then(|| 1e9 / rate);
        let mut traffic = Self {
            mesh,
            rng: Rng::new(seed),
            mean_gap_ns,
            next_at: 0,
            cumulative,
            ends,
            spans: Spans::new(mesh_workloads),
            routing,
            retries: Vec::new(),
        };
        traffic.next_at = traffic.gap();
        traffic
    }

    fn gap(&mut self) -> u64 {
        match self.mean_gap_ns {
            Some(mean) => (-(1.0 - self.rng.unit()).ln() * mean) as u64,
            None => u64::MAX,
        }
    }

    /// The policies the client proxies route by.
    pub fn routing(&self) -> &Arc<Routing> {
        &self.routing
    }

    /// The next request (or retry) starting before `until`, in start order.
    pub fn next_before(&mut self, until: u64) -> Option<Call> {
        let retry = (self.retries.iter().enumerate())
            .min_by_key(|(_, c)| c.start)
            .filter(|(_, c)| c.start < until && c.start <= self.next_at)
            .map(|(i, _)| i);
        if let Some(i) = retry {
            return Some(self.retries.swap_remove(i));
        }
        if self.next_at >= until {
            return None;
        }
        let start = self.next_at;
        self.next_at = start.saturating_add(self.gap());
        Some(self.call(start))
    }

    fn call(&mut self, start: u64) -> Call {
        let rng = &mut self.rng;
        let total = self.cumulative.last().copied().unwrap_or(0);
        let pick = rng.below(total);
        let route_id = self
            .cumulative
            .partition_point(|&c| c <= pick)
            .min(ROUTES.len() - 1);
        let route = &ROUTES[route_id];
        let (cw, sw) = self.ends[route_id];
        let clients = &self.mesh.workloads[cw].pods;
        let servers = &self.mesh.workloads[sw].pods;
        let client = clients[rng.below(clients.len() as u64) as usize];
        let server = servers[rng.below(servers.len() as u64) as usize];

        // Log-normal server time with a slow tail: one request in a hundred is 4–20× slower.
        let mut server_ms = route.median_ms * (route.sigma * rng.normal()).exp();
        if rng.chance(0.01) {
            server_ms *= rng.between(4, 20) as f64;
        }
        let server_ns = ((server_ms * 1e6) as u64).clamp(50_000, MAX_SERVER_NS);

        let roll = rng.unit();
        let (mut status, grpc, failed) = match route.protocol {
            Protocol::Http1 if roll < route.error_rate => (route.error_status, None, true),
            Protocol::Http1 if roll < route.error_rate + route.miss_rate => {
                (route.miss_status, None, true)
            }
            Protocol::Http1 => (route.ok_status, None, false),
            Protocol::Grpc if roll < route.error_rate => (200, Some(route.error_status), true),
            Protocol::Grpc if roll < route.error_rate + route.miss_rate => {
                (200, Some(route.miss_status), true)
            }
            Protocol::Grpc => (200, Some(0), false),
        };
        let fate = rng.unit();
        let outcome = if fate < 0.0005 {
            Outcome::Hang {
                with_response: rng.chance(0.5),
            }
        } else if fate < 0.0015 {
            // h2 INTERNAL_ERROR or CANCEL, the resets proxies most often report.
            let code = if rng.chance(0.5) { 2 } else { 8 };
            Outcome::Reset {
                code,
                after_response: rng.chance(0.5),
            }
        } else {
            Outcome::Complete
        };
        let mut bytes = if failed && route.protocol == Protocol::Http1 {
            rng.between(0, 120)
        } else {
            rng.between(route.bytes.0, route.bytes.1)
        };
        match outcome {
            Outcome::Reset {
                after_response: false,
                ..
            } => (bytes, status) = (0, 0),
            // Only routing cancels a call, after this.
            Outcome::Hang { .. } | Outcome::Cancelled { .. } => bytes = 0,
            Outcome::Reset {
                after_response: true,
                ..
            } => bytes /= 2,
            Outcome::Complete => {}
        }
        // Drawn in the order they always were, so a seed's calls stay what they were.
        let out_port = rng.between(32_768, 60_999) as u16;
        let in_port = rng.between(32_768, 60_999) as u16;
        let in_delay = rng.between(150_000, 700_000);
        let body_ns = rng.between(20_000, 300_000) + bytes * 2;
        let hop_ns = rng.between(100_000, 500_000);
        let token = rng.next_u64();
        // A client serving a request makes this call on its behalf, from the pod serving it.
        let (client, trace) = self.spans.call(cw, client, start, token);
        let mut call = Call {
            route: route_id,
            client,
            server,
            start,
            out_port,
            in_port,
            in_delay,
            server_ns,
            body_ns,
            hop_ns,
            http_status: status,
            grpc_status: grpc,
            outcome,
            bytes,
            token,
            peer: None,
            trace,
            routed: Routed::default(),
        };
        self.route(&mut call);
        call
    }

    /// Routing may send `call` to another backend, end it early, refuse it or retry it; the
    /// server that serves it joins its trace.
    fn route(&mut self, call: &mut Call) {
        let retries = self.routing.route(&self.mesh, call);
        self.retries.extend(retries);
        if !call.routed.denied {
            let served_by = self.mesh.pods[call.server].workload;
            let at = call.start + call.in_delay;
            self.spans
                .serve(served_by, call.server, at, call.server_ns, call.trace);
        }
    }
}

/// The first `n` events of an unsampled tap of every meshed pod at the default rate, decoded:
/// a headless hook for tests and benchmarks (virtual time, no wall clock).
pub fn generate(seed: u64, n: usize) -> Vec<tap::TapEvent> {
    let mut session =
        super::tapper::Session::everything(Arc::new(Mesh::demo()), seed, DEFAULT_RATE);
    let mut out = Vec::with_capacity(n);
    let mut buf = BytesMut::new();
    // Bounded: a simulated hour is far more than any `n` a test asks for at the default rate.
    for _ in 0..360_000 {
        if out.len() >= n {
            break;
        }
        session.advance(super::tapper::TICK_NS, &mut buf);
        while buf.len() >= 4 {
            let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            let frame = buf.split_to(4 + len);
            // The session encodes every frame itself, so decoding cannot fail.
            if let Ok(event) = tap::TapEvent::decode(&frame[4..]) {
                out.push(event);
            }
        }
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_names_known_workloads() {
        let mesh = Mesh::demo();
        for r in ROUTES {
            assert!(mesh.workload_named(r.client).is_some(), "{}", r.client);
            assert!(mesh.workload_named(r.server).is_some(), "{}", r.server);
        }
    }

    #[test]
    fn traffic_is_seeded_and_ordered() {
        let mesh = Arc::new(Mesh::demo());
        let mut a = Traffic::new(mesh.clone(), 7, 1000.0);
        let mut b = Traffic::new(mesh, 7, 1000.0);
        let mut last = 0;
        for _ in 0..500 {
            let (x, y) = (a.next_before(u64::MAX), b.next_before(u64::MAX));
            let (x, y) = (x.expect("call"), y.expect("call"));
            assert_eq!((x.start, x.route, x.token), (y.start, y.route, y.token));
            assert!(x.start >= last);
            last = x.start;
        }
    }

    #[test]
    fn rate_is_roughly_honoured() {
        let mut t = Traffic::new(Arc::new(Mesh::demo()), 1, 50_000.0);
        let mut n = 0;
        while t.next_before(1_000_000_000).is_some() {
            n += 1;
        }
        assert!((45_000..55_000).contains(&n), "{n}");
    }
}
