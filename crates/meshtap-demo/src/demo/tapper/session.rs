//! One simulated tap on a virtual clock: the mesh's traffic, filtered to what the target pods'
//! proxies report, sampled like Linkerd, and encoded into frames as their event times come due.
//!
//! Sampling follows the real path. The tap server calls each pod's proxy `Observe` with
//! `limit` = the per-pod share of `maxRps`; the proxy numbers tapped requests `base:0…limit-1`
//! (base is a per-proxy counter of Observe calls) and ends the stream once `limit` requests were
//! tapped and all of them completed; the tap server then waits for the rest of the 1-second
//! window before the next Observe. A window therefore lasts at least a second, longer when the
//! pod is quiet (the limit is reached later) or a tapped request is slow.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{self, AtomicU32};

use bytes::BytesMut;

use super::crossing::CrossFeed;
use super::plan::{Condition, Plan};
use crate::demo::mesh::{Mesh, PodId};
use crate::demo::proxy_metrics::ProxyMetrics;
use crate::demo::sim::events::{self, Metas, Phase};
use crate::demo::sim::{Call, Side, Traffic};
use crate::proto::tap::tap_event::http::StreamId;

/// Virtual time advanced per tick of a served tap (10 ms).
pub const TICK_NS: u64 = 10_000_000;
/// Linkerd's tap window.
pub const WINDOW_NS: u64 = 1_000_000_000;

/// One pod's current `Observe` call.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    open: bool,
    base: u32,
    start: u64,
    count: u32,
    /// When the last tapped request of this window is released.
    release: u64,
    /// When the next Observe starts, once this one has ended.
    next_start: u64,
}

/// An event waiting for its time, ordered by (due, seq) so ties keep generation order.
#[derive(Debug)]
struct Pending {
    due: u64,
    seq: u64,
    call: Call,
    side: Side,
    phase: Phase,
    id: StreamId,
    /// Whether the call crosses clusters (encoded by the [`CrossFeed`]).
    crossing: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// A simulated tap session. Drive it with [`Session::advance`].
#[derive(Debug)]
pub struct Session {
    mesh: Arc<Mesh>,
    traffic: Traffic,
    plan: Plan,
    reporting: Vec<bool>,
    windows: Vec<Window>,
    bases: Arc<[AtomicU32]>,
    /// Only tapped requests wait here, so it is bounded by the sampled in-flight requests.
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    now: u64,
    metas: Metas,
    authorities: Vec<String>,
    /// Calls crossing from or to other clusters (`demo --clusters`).
    cross: Option<Box<dyn CrossFeed>>,
    /// The proxies' counters, told of each refusal this tap shows.
    refusals: Option<Arc<ProxyMetrics>>,
}

/// Most virtual time one tick of a wall-clock-locked tap catches up, so a stalled client gets
/// a bounded chunk rather than everything it missed at once.
pub const MAX_CATCH_UP_NS: u64 = 1_000_000_000;

impl Session {
    /// A session for `plan`; `bases` are the proxies' Observe counters, one per mesh pod.
    pub fn new(mesh: Arc<Mesh>, seed: u64, rate: f64, plan: Plan, bases: Arc<[AtomicU32]>) -> Self {
        let mut reporting = vec![false; mesh.pods.len()];
        for &p in &plan.pods {
            if let Some(r) = reporting.get_mut(p) {
                *r = true;
            }
        }
        let authorities = crate::demo::sim::routes::ROUTES
            .iter()
            .map(|r| events::authority(&mesh, r))
            .collect();
        Self {
            traffic: Traffic::new(mesh.clone(), seed, rate),
            windows: vec![Window::default(); mesh.pods.len()],
            mesh,
            plan,
            reporting,
            bases,
            heap: BinaryHeap::new(),
            seq: 0,
            now: 0,
            metas: Metas::default(),
            authorities,
            cross: None,
            refusals: None,
        }
    }

    /// Tells `metrics` of every refusal this tap shows, so the refusing proxy's counter has it
    /// (explain cites that counter for the refusal).
    #[must_use]
    pub fn with_refusals(mut self, metrics: Arc<ProxyMetrics>) -> Self {
        self.refusals = Some(metrics);
        self
    }

    /// Adds the calls crossing clusters that this tap sees; the clock then follows the wall
    /// clock (see [`Session::step`]).
    #[must_use]
    pub fn with_crossing(mut self, feed: Box<dyn CrossFeed>) -> Self {
        self.cross = Some(feed);
        self
    }

    /// How much virtual time the next tick advances: `tick`, or for a tap with crossing calls
    /// the lag behind the wall clock (at most [`MAX_CATCH_UP_NS`]).
    pub fn step(&self, tick: u64) -> u64 {
        self.cross.as_ref().map_or(tick, |feed| {
            feed.wall_now()
                .saturating_sub(self.now)
                .min(MAX_CATCH_UP_NS)
        })
    }

    /// Every meshed pod, no sampling limit, headers extracted: the whole mesh's event stream.
    pub fn everything(mesh: Arc<Mesh>, seed: u64, rate: f64) -> Self {
        let pods = (0..mesh.pods.len())
            .filter(|&p| mesh.workload_of(p).meshed)
            .collect();
        let plan = Plan {
            pods,
            limit: u32::MAX,
            conditions: Vec::new(),
            headers: true,
        };
        let bases = fresh_bases(&mesh);
        Self::new(mesh, seed, rate, plan, bases)
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Virtual nanoseconds since the tap started.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Runs the mesh for `dt` virtual nanoseconds and appends every event that came due, framed.
    pub fn advance(&mut self, dt: u64, out: &mut BytesMut) {
        let until = self.now.saturating_add(dt);
        while let Some(call) = self.traffic.next_before(until) {
            self.offer(
                &call,
                &[(Side::Outbound, call.client), (Side::Inbound, call.server)],
                false,
            );
        }
        while let Some((call, side)) = self.cross.as_mut().and_then(|f| f.next_before(until)) {
            let pod = match side {
                Side::Outbound => call.client,
                Side::Inbound => call.server,
            };
            self.offer(&call, &[(side, pod)], true);
        }
        while self.heap.peek().is_some_and(|Reverse(p)| p.due < until) {
            let Some(Reverse(p)) = self.heap.pop() else {
                break;
            };
            if p.crossing {
                if let Some(feed) = self.cross.as_mut() {
                    feed.encode(out, &p.call, p.side, p.phase, p.id, self.plan.headers);
                }
                continue;
            }
            events::encode(
                out,
                &self.mesh,
                &mut self.metas,
                &self.authorities,
                &p.call,
                p.side,
                p.phase,
                p.id,
                self.plan.headers,
            );
        }
        self.now = until;
    }

    /// Offers the given sides of `call` (each with its reporting pod) to the tapped proxies.
    fn offer(&mut self, call: &Call, sides: &[(Side, PodId)], crossing: bool) {
        for &(side, pod) in sides {
            // An unmeshed client has no proxy to report its outbound side; a refused call
            // never reaches the server's inbound tap (the policy check sits outside it).
            if (side == Side::Inbound && call.routed.denied)
                || !self.reporting.get(pod).copied().unwrap_or(false)
                || !self.mesh.workload_of(pod).meshed
                || !self.matches(call, side, crossing)
            {
                continue;
            }
            let timeline = call.timeline(side);
            let Some(id) = self.admit(pod, timeline.request_at, timeline.release_at) else {
                continue;
            };
            // A call crossing from another cluster was refused by that cluster's proxy.
            if call.routed.denied
                && !crossing
                && let Some(metrics) = &self.refusals
            {
                metrics.witness_refusal(call);
            }
            let at = timeline.request_at;
            let ends = [Some(0), timeline.response, timeline.end];
            let phases = [Phase::RequestInit, Phase::ResponseInit, Phase::ResponseEnd];
            for (since, phase) in ends.into_iter().zip(phases) {
                if let Some(since) = since {
                    self.push(at + since, call, side, phase, id, crossing);
                }
            }
        }
    }

    fn push(
        &mut self,
        due: u64,
        call: &Call,
        side: Side,
        phase: Phase,
        id: StreamId,
        crossing: bool,
    ) {
        self.seq += 1;
        self.heap.push(Reverse(Pending {
            due,
            seq: self.seq,
            call: *call,
            side,
            phase,
            id,
            crossing,
        }));
    }

    /// The proxy's side of sampling: a stream id if `pod`'s current Observe still has room.
    fn admit(&mut self, pod: PodId, at: u64, release: u64) -> Option<StreamId> {
        let limit = self.plan.limit;
        let w = &mut self.windows[pod];
        if !w.open {
            if at < w.next_start {
                return None;
            }
            *w = Window {
                open: true,
                base: self
                    .bases
                    .get(pod)
                    .map_or(0, |b| b.fetch_add(1, atomic::Ordering::Relaxed)),
                start: w.next_start,
                ..Window::default()
            };
        }
        let id = StreamId {
            base: w.base,
            stream: u64::from(w.count),
        };
        w.count += 1;
        w.release = w.release.max(release);
        if w.count >= limit {
            // The proxy ends the stream when its last tapped request is released; the tap
            // server's next Observe waits for that and for the end of the 1-second window.
            w.open = false;
            w.next_start = (w.start + WINDOW_NS).max(at).max(w.release);
        }
        Some(id)
    }

    /// The proxy's side of `match`, evaluated on what the reporting proxy knows.
    fn matches(&mut self, call: &Call, side: Side, crossing: bool) -> bool {
        let route = call.route();
        let mut path = None;
        for c in &self.plan.conditions {
            let ok = match c {
                // Every simulated request is plain `http` between app and proxy.
                Condition::Scheme(s) => s.eq_ignore_ascii_case("http"),
                Condition::Method(m) => m.eq_ignore_ascii_case(method_name(route.method)),
                Condition::Authority(a) => match self.cross.as_ref().filter(|_| crossing) {
                    Some(feed) => feed.authority(call, side) == *a,
                    None => self.authorities.get(call.route) == Some(a),
                },
                Condition::PathPrefix(p) => path
                    .get_or_insert_with(|| events::path(call))
                    .starts_with(p.as_str()),
                // An inbound proxy's own destination labels are policy labels only (the tap
                // server hydrates pod labels after matching), so `--to` never selects INBOUND.
                Condition::DestinationLabel(k, v) => {
                    side == Side::Outbound
                        && match self.cross.as_mut().filter(|_| crossing) {
                            Some(feed) => feed.destination_labels(call, side).get(k) == Some(v),
                            None => {
                                self.metas.destination_labels(&self.mesh, call, side).get(k)
                                    == Some(v)
                            }
                        }
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

fn method_name(m: i32) -> &'static str {
    match m {
        0 => "GET",
        1 => "POST",
        2 => "PUT",
        3 => "DELETE",
        4 => "PATCH",
        5 => "OPTIONS",
        6 => "CONNECT",
        7 => "HEAD",
        _ => "TRACE",
    }
}

/// Observe counters for every pod's proxy, all at 0 (proxies that were never tapped).
pub fn fresh_bases(mesh: &Mesh) -> Arc<[AtomicU32]> {
    (0..mesh.pods.len()).map(|_| AtomicU32::new(0)).collect()
}
