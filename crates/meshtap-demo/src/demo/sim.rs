//! Traffic generation for the simulated mesh: a seeded Poisson stream of requests over the
//! routes in [`routes`], each with a latency, an outcome and a size, on a virtual clock.
//!
//! Everything random comes from one [`Rng`] seeded by `--seed`, and time is virtual (nanoseconds
//! since the tap started), so a seed always yields the same calls; the wall clock only paces
//! delivery. A [`Call`] describes both halves of a request — the client proxy's OUTBOUND view and
//! the server proxy's INBOUND view — and [`events`] turns either half into wire events.

pub mod events;
pub mod headers;
pub mod routes;
pub mod routing;
pub mod spans;

use std::sync::Arc;

use bytes::BytesMut;
use prost::Message as _;

use super::mesh::{Mesh, PodId, WorkloadId};
use crate::proto::tap;
use routes::{Protocol, ROUTES, Route};
use routing::{Routed, Routing};
use spans::{Spans, TraceLink};

/// The default request rate of `meshtap demo`, across the whole mesh.
pub const DEFAULT_RATE: f64 = 50.0;
/// How far a requests that never ends keeps its proxy's tap window open: the client gives up and
/// drops it after this long, without the proxy reporting an end.
pub const HANG_RELEASE_NS: u64 = 15_000_000_000;
/// Upper bound on one request's simulated server time, so the slow tail stays finite.
const MAX_SERVER_NS: u64 = 30_000_000_000;

/// xoshiro256** seeded through splitmix64: small, fast and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in [lo, hi] (inclusive; `lo` when the range is empty).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Which proxy reports a half of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client pod's proxy (absent when the client is not meshed).
    Outbound,
    /// The server pod's proxy.
    Inbound,
}

/// How a request finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A normal end of stream.
    Complete,
    /// The stream is reset with an HTTP/2 error code, before or after the response began.
    Reset { code: u32, after_response: bool },
    /// The request never ends while tapped (optionally after its response headers).
    Hang { with_response: bool },
    /// The client's proxy gave up after `after_ns` (a route's request timeout): the endpoint
    /// request is dropped, so neither proxy's tap reports a response or an end.
    Cancelled { after_ns: u64 },
}

/// One simulated request between two pods. Times are nanoseconds on the virtual clock.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Index in [`ROUTES`].
    pub route: usize,
    pub client: PodId,
    pub server: PodId,
    /// When the client proxy sees the request (OUTBOUND `request_init`).
    pub start: u64,
    /// Ephemeral source ports: app → client proxy, and client proxy → server proxy.
    pub out_port: u16,
    pub in_port: u16,
    /// Client proxy → server proxy delay.
    pub in_delay: u64,
    /// Server time until response headers, and then until the end of the body.
    pub server_ns: u64,
    pub body_ns: u64,
    /// Server proxy → client proxy delay on the way back.
    pub hop_ns: u64,
    pub http_status: u32,
    /// The `grpc-status` trailer for gRPC routes.
    pub grpc_status: Option<u32>,
    pub outcome: Outcome,
    pub bytes: u64,
    /// Drives request ids, path parameters and tokens so they are seeded too.
    pub token: u64,
    /// For a call crossing clusters (`demo --clusters`), the index of the other cluster.
    pub peer: Option<u8>,
    /// The trace it belongs to: the client joins the trace of the request it is serving.
    pub trace: TraceLink,
    /// What the proxies' routing and policy did with it.
    pub routed: Routed,
}

/// A half of a call as one proxy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// Absolute time of `request_init`.
    pub request_at: u64,
    /// `since_request_init` of `response_init`, if there is a response.
    pub response: Option<u64>,
    /// `since_request_init` of `response_end`, if the request ends.
    pub end: Option<u64>,
    /// Absolute time after which the proxy no longer holds the request (it ended or was dropped).
    pub release_at: u64,
}

impl Call {
    pub fn route(&self) -> &'static Route {
        &ROUTES[self.route]
    }

    /// The OUTBOUND or INBOUND view of this call.
    pub fn timeline(&self, side: Side) -> Timeline {
        // The outbound proxy waits for the trip to the server and back on top of the server time.
        let (request_at, extra) = match side {
            Side::Inbound => (self.start + self.in_delay, 0),
            Side::Outbound => (self.start, self.in_delay + self.hop_ns),
        };
        let headers = self.server_ns + extra;
        let full = headers + self.body_ns;
        let (response, end) = match self.outcome {
            Outcome::Complete => (Some(headers), Some(full)),
            Outcome::Reset {
                after_response: true,
                ..
            } => (Some(headers), Some(headers + self.body_ns / 2)),
            Outcome::Reset {
                after_response: false,
                ..
            } => (None, Some(headers)),
            Outcome::Hang { with_response } => (with_response.then_some(headers), None),
            Outcome::Cancelled { .. } => (None, None),
        };
        let held = match self.outcome {
            // Both proxies drop it when the client's gives up (the reset's trip ignored), so
            // the server's side stays inside the client's.
            Outcome::Cancelled { after_ns } => after_ns.saturating_sub(request_at - self.start),
            _ => end.unwrap_or(HANG_RELEASE_NS),
        };
        let release_at = request_at + held;
        Timeline {
            request_at,
            response,
            end,
            release_at,
        }
    }

    /// When the client's proxy is done with it, since it started: its end, or the moment its
    /// proxy gave up; `None` for a request that never ends.
    pub fn finished_after(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Cancelled { after_ns } => Some(after_ns),
            _ => self.timeline(Side::Outbound).end,
        }
    }
}

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
