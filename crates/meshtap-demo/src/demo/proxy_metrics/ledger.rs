//! Counts the simulated traffic into every pod's proxy metrics. The ledger runs its own seeded
//! [`Traffic`] on a clock that follows the wall clock from the demo's start, and is advanced
//! lazily on each scrape: every call that has ended by then is counted by the client's proxy
//! (route families) and the server's (inbound families), once.

use std::collections::VecDeque;
use std::sync::Arc;

use super::attribution::{Attribution, attribute};
use super::families::{self, Labels, PodSeries, RouteFamilies};
use crate::demo::mesh::{Mesh, PodId};
use crate::demo::sim::routes::Protocol;
use crate::demo::sim::{Call, Outcome, Side, Traffic};

/// Calls started but not yet ended, held until their end; bounded by the rate times the longest
/// simulated request (30 s), this cap only guards against a pathological `--rate`.
pub const PENDING_CALLS_CAP: usize = 200_000;

/// Every pod's counters and the traffic that feeds them.
#[derive(Debug)]
pub struct Ledger {
    mesh: Arc<Mesh>,
    traffic: Traffic,
    /// Virtual time counted up to, in nanoseconds since the demo started.
    now_ns: u64,
    /// Started calls in start order with their end times.
    pending: VecDeque<(u64, Call)>,
    pods: Vec<PodSeries>,
    /// Calls dropped because `pending` was full.
    pub dropped: u64,
    /// Refusals counted and tapped, per series (see [`refusals`]).
    refusals: refusals::Refusals,
}

impl Ledger {
    pub fn new(mesh: Arc<Mesh>, seed: u64, rate: f64) -> Self {
        let pods = (0..mesh.pods.len()).map(|_| PodSeries::default()).collect();
        Self {
            traffic: Traffic::new(mesh.clone(), seed, rate),
            mesh,
            now_ns: 0,
            pending: VecDeque::new(),
            pods,
            dropped: 0,
            refusals: refusals::Refusals::new(),
        }
    }

    /// Counts every call that ended by `now_ns`.
    pub fn advance(&mut self, now_ns: u64) {
        if now_ns <= self.now_ns {
            return;
        }
        self.now_ns = now_ns;
        while let Some(call) = self.traffic.next_before(now_ns) {
            // A call that never ends is never counted: its proxy records no response.
            let Some(end) = call.finished_after() else {
                continue;
            };
            if self.pending.len() >= PENDING_CALLS_CAP {
                self.dropped += 1;
                continue;
            }
            self.pending.push_back((call.start + end, call));
        }
        // Ends are not in start order; a scan keeps the unfinished ones without sorting.
        let mut keep = VecDeque::with_capacity(self.pending.len());
        while let Some((end, call)) = self.pending.pop_front() {
            if end <= now_ns {
                self.record(&call);
            } else {
                keep.push_back((end, call));
            }
        }
        self.pending = keep;
    }

    /// The exposition of `pod`'s proxy.
    pub fn render(&self, pod: PodId) -> String {
        self.pods
            .get(pod)
            .map(PodSeries::render)
            .unwrap_or_default()
    }

    fn record(&mut self, call: &Call) {
        let a = attribute(&self.mesh, self.traffic.routing(), call);
        let route = call.route();
        let grpc = route.protocol == Protocol::Grpc;
        if self.mesh.workload_of(call.client).meshed {
            self.record_outbound(call, &a, grpc);
        }
        if self.mesh.workload_of(call.server).meshed {
            self.record_inbound(call, &a, grpc);
        }
    }

    /// Every attempt is a backend request; the request's last attempt also completes the
    /// route's request, timed from its first attempt, with its retries.
    fn record_outbound(&mut self, call: &Call, a: &Attribution, grpc: bool) {
        let f: RouteFamilies = if grpc { families::GRPC } else { families::HTTP };
        let attempt_ns = call.finished_after().unwrap_or(0);
        let request_ns = (call.start + attempt_ns).saturating_sub(call.routed.first_start);
        let route_labels = a.route_labels();
        let backend_labels = a.backend_labels();
        let status = status_labels(call, a, grpc);
        let pod = &mut self.pods[call.client];
        let with = |base: &Labels, extra: &Labels| {
            let mut l = base.clone();
            l.extend(extra.iter().cloned());
            l
        };
        pod.count(f.backend_requests, backend_labels.clone(), 1);
        pod.count(f.backend_statuses, with(&backend_labels, &status), 1);
        pod.observe(f.backend_duration, backend_labels, attempt_ns as f64 / 1e9);
        if !call.routed.is_final() {
            return;
        }
        pod.count(f.request_statuses, with(&route_labels, &status), 1);
        pod.observe(
            f.request_duration,
            route_labels.clone(),
            request_ns as f64 / 1e9,
        );
        if a.retries > 0 {
            pod.count(f.retry_requests, route_labels.clone(), u64::from(a.retries));
            if a.retry_succeeded {
                pod.count(f.retry_successes, route_labels.clone(), 1);
            }
        }
        if a.retry_limit_exceeded {
            pod.count(f.retry_limit_exceeded, route_labels, 1);
        }
    }

    fn record_inbound(&mut self, call: &Call, a: &Attribution, grpc: bool) {
        let server = call.server;
        let mut labels = a.inbound_labels(&self.mesh, call);
        let pod = &mut self.pods[server];
        if let Some(deny) = &a.denied {
            // Refused by policy before the inbound tap and metrics layers: only the denial
            // counter sees it.
            return self.refused(server, deny.clone(), refusals::Seen::Counted);
        }
        pod.count(families::AUTHZ_ALLOW, a.allow_labels(&self.mesh, call), 1);
        if call.routed.timed_out {
            // Cancelled by the client's proxy before a response: nothing completed here.
            return;
        }
        let timeline = call.timeline(Side::Inbound);
        let ms = timeline.end.unwrap_or(0) as f64 / 1e6;
        pod.observe(families::RESPONSE_LATENCY, labels.clone(), ms);
        let failed = match (grpc, call.outcome) {
            (_, Outcome::Reset { .. }) => true,
            (true, _) => call.grpc_status.unwrap_or(2) != 0,
            (false, _) => call.http_status >= 500,
        };
        labels.push(("status_code", call.http_status.to_string()));
        if grpc {
            labels.push(("grpc_status", call.grpc_status.unwrap_or(2).to_string()));
        }
        let class = if failed { "failure" } else { "success" };
        labels.push(("classification", class.to_owned()));
        pod.count(families::RESPONSE_TOTAL, labels, 1);
    }
}

/// `http_status`/`grpc_status` and `error` as the route's response labels carry them.
fn status_labels(call: &Call, a: &Attribution, grpc: bool) -> Labels {
    let error = a.error.map(str::to_owned).or_else(|| match call.outcome {
        // h2 CANCEL and other resets, as the proxy labels a reset stream.
        Outcome::Reset { code: 8, .. } => Some("CANCEL".to_owned()),
        Outcome::Reset { .. } => Some("RESET".to_owned()),
        _ => None,
    });
    let mut labels = Labels::new();
    if grpc {
        // A stream ended by an error has no grpc-status of its own.
        let status = match (a.error.is_some() || error.is_some(), call.grpc_status) {
            (false, Some(code)) => grpc_name(code),
            _ => "UNKNOWN",
        };
        labels.push(("grpc_status", status.to_owned()));
    } else {
        // The status is recorded when the response begins; an error after it keeps it.
        let status = match (a.error, call.http_status) {
            (Some(_), _) | (None, 0) => String::new(),
            (None, code) => code.to_string(),
        };
        labels.push(("http_status", status));
    }
    labels.push(("error", error.unwrap_or_default()));
    labels
}

/// gRPC status names as the proxy writes them in `grpc_status`.
pub fn grpc_name(code: u32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

mod refusals;
#[cfg(test)]
mod routing_tests;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::promtext::parse;

    const SEED: u64 = 3;
    const RATE: f64 = 400.0;
    const UNTIL_NS: u64 = 20_000_000_000;

    /// Sums a family's samples over every pod whose labels include all of `want`.
    pub(super) fn total(ledger: &Ledger, mesh: &Mesh, name: &str, want: &[(&str, &str)]) -> f64 {
        (0..mesh.pods.len())
            .map(|pod| {
                let exp = parse(&ledger.render(pod)).expect("the ledger writes valid text");
                exp.samples
                    .iter()
                    .filter(|s| s.name == name)
                    .filter(|s| want.iter().all(|(k, v)| s.label(k) == Some(v)))
                    .map(|s| s.value)
                    .sum::<f64>()
            })
            .sum()
    }

    #[test]
    fn counts_exactly_the_calls_that_ended() {
        let mesh = Arc::new(Mesh::demo());
        let mut ledger = Ledger::new(mesh.clone(), SEED, RATE);
        ledger.advance(UNTIL_NS / 2);
        ledger.advance(UNTIL_NS);
        // The same seeded stream, counted independently: calls addressed to catalogue (served
        // by catalogue or its canary) from meshed clients that ended by the time of the
        // scrape, and those that failed.
        let mut traffic = Traffic::new(mesh.clone(), SEED, RATE);
        let (mut ended, mut failed) = (0.0, 0.0);
        while let Some(call) = traffic.next_before(UNTIL_NS) {
            let end = call.finished_after();
            let to_catalogue = call.route().server == "catalogue";
            if to_catalogue
                && mesh.workload_of(call.client).meshed
                && end.is_some_and(|e| call.start + e <= UNTIL_NS)
            {
                ended += 1.0;
                if call.http_status >= 500 || matches!(call.outcome, Outcome::Reset { .. }) {
                    failed += 1.0;
                }
            }
        }
        assert!(ended > 100.0, "{ended}");
        let parent = [("parent_name", "catalogue")];
        let statuses = total(
            &ledger,
            &mesh,
            "outbound_http_route_request_statuses_total",
            &parent,
        );
        assert!((statuses - ended).abs() < 0.5, "{statuses} vs {ended}");
        let observed = total(
            &ledger,
            &mesh,
            "outbound_http_route_request_duration_seconds_bucket",
            &[("parent_name", "catalogue"), ("le", "+Inf")],
        );
        assert!((observed - ended).abs() < 0.5);
        // Classified as stat-outbound classifies, the failures are the failed calls.
        let mut window = crate::routestats::Window::new(1.0);
        let families = crate::routestats::families();
        for pod in 0..mesh.pods.len() {
            let exp = parse(&ledger.render(pod)).expect("parses");
            window.add_scrapes(&[], None, &exp, &families);
        }
        let rows = crate::routestats::outbound(&window, "parent_namespace");
        let row = rows
            .iter()
            .find(|r| r.parent == "catalogue")
            .expect("a catalogue row");
        assert!((row.figures.requests() - ended).abs() < 0.5);
        assert!(
            (row.figures.failures - failed).abs() < 0.5,
            "{row:?} vs {failed}"
        );
        // The servers' proxies saw the same calls.
        let inbound: f64 = mesh
            .pods
            .iter()
            .enumerate()
            .filter(|(id, _)| ["catalogue", "catalogue-v2"].contains(&mesh.workload_of(*id).name))
            .map(|(id, _)| {
                let exp = parse(&ledger.render(id)).expect("parses");
                exp.samples
                    .iter()
                    .filter(|s| {
                        s.name == "response_total" && s.label("direction") == Some("inbound")
                    })
                    .filter(|s| s.label("client_id").is_some_and(|c| !c.is_empty()))
                    .map(|s| s.value)
                    .sum::<f64>()
            })
            .sum();
        assert!((inbound - ended).abs() < 0.5, "{inbound} vs {ended}");
    }

    #[test]
    fn counters_never_go_down_and_unmeshed_pods_serve_nothing() {
        let mesh = Arc::new(Mesh::demo());
        let mut ledger = Ledger::new(mesh.clone(), SEED, RATE);
        let mut last = 0.0;
        for step in 1..=5 {
            ledger.advance(step * 2_000_000_000);
            let now = total(
                &ledger,
                &mesh,
                "outbound_http_route_request_statuses_total",
                &[],
            );
            assert!(now >= last);
            last = now;
        }
        assert!(last > 0.0);
        let unmeshed = mesh
            .pods
            .iter()
            .enumerate()
            .find(|(id, _)| !mesh.workload_of(*id).meshed)
            .map(|(id, _)| id)
            .expect("the load generator is unmeshed");
        assert_eq!(ledger.render(unmeshed), "");
    }
}
