//! What Prometheus would hold for the simulated traffic: request counts, success and latency
//! percentiles over a window, derived from the route table's parameters at the demo's rate.
//!
//! The figures are the *expected* values of the simulation rather than a count of one seeded
//! run, so the metrics API agrees with the live tap within sampling noise at any seed, and tests
//! can compare them with the route table directly. The traffic model mirrors
//! [`crate::demo::sim::Traffic`]: each route gets `weight / Σ weight` of the mesh's rate, its
//! server time is log-normal around `median_ms` with one request in a hundred 4–20× slower, and it
//! fails as often as its error (and, where Linkerd counts them as failures, miss) rate says.

use crate::demo::mesh::WorkloadId;
use crate::demo::sim::routes::{Protocol, ROUTES, Route};

/// Share of requests the simulation resets (h2 `INTERNAL_ERROR`/`CANCEL`): failures to Linkerd.
const RESET_SHARE: f64 = 0.001;
/// Share of requests that never end while tapped: no response, so Prometheus never counts them.
const HANG_SHARE: f64 = 0.0005;
/// Share of requests with the slow tail, and the range of its slow-down factor.
const SLOW_SHARE: f64 = 0.01;
const SLOW_FACTORS: std::ops::RangeInclusive<u32> = 4..=20;
/// The simulation clamps server time into this range (milliseconds).
const SERVER_MS_MIN: f64 = 0.05;
const SERVER_MS_MAX: f64 = 30_000.0;
/// Mean proxy-to-proxy delays (out and back) an outbound proxy adds to its latency, in ms: the
/// midpoints of the simulation's uniform `in_delay` and `hop_ns` ranges.
const OUTBOUND_EXTRA_MS: f64 = 0.425 + 0.3;
/// Bisection steps for a percentile: the search range spans ~2^22, so 48 halvings are exact to
/// far below a millisecond.
const BISECTION_STEPS: usize = 48;

/// Which proxy's metrics: the server's (inbound) or the client's (outbound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// One route's share of the traffic, as seen by one side.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub route: &'static Route,
    /// The calling workload and the one serving (a split's backend, not always the route's
    /// own server).
    pub client: WorkloadId,
    pub server: WorkloadId,
    pub direction: Direction,
    /// Requests per second that this flow contributes (already scaled to a pod, if selected).
    pub rps: f64,
}

/// Windowed figures for a set of flows: `BasicStats` in Linkerd's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub success_count: u64,
    pub failure_count: u64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub p99_ms: u64,
}

/// The sum of all route weights: each route's share of the mesh's rate is `weight / total`.
pub fn total_weight() -> f64 {
    ROUTES.iter().map(|r| f64::from(r.weight)).sum()
}

/// Requests per second of one route across the mesh at `rate`.
pub fn route_rps(route: &Route, rate: f64) -> f64 {
    let total = total_weight();
    if total <= 0.0 || !rate.is_finite() || rate <= 0.0 {
        return 0.0;
    }
    rate * f64::from(route.weight) / total
}

/// The share of a route's counted responses Linkerd classifies as failures: 5xx statuses, any
/// non-zero `grpc-status`, and resets. 4xx answers are successes to Linkerd.
pub fn failure_share(route: &Route) -> f64 {
    let failing = |status: u32| match route.protocol {
        Protocol::Http1 => status >= 500,
        Protocol::Grpc => status != 0,
    };
    let mut answered = 0.0;
    if failing(route.error_status) {
        answered += route.error_rate;
    }
    if failing(route.miss_status) {
        answered += route.miss_rate;
    }
    let answered = answered.clamp(0.0, 1.0);
    let completed = 1.0 - RESET_SHARE - HANG_SHARE;
    (answered * completed + RESET_SHARE) / (1.0 - HANG_SHARE)
}

/// The figures Prometheus would report for `flows` over `window_secs`.
pub fn stats(flows: &[Flow], window_secs: f64) -> Stats {
    let mut success = 0.0;
    let mut failure = 0.0;
    for flow in flows {
        let counted = flow.rps * window_secs * (1.0 - HANG_SHARE);
        let failing = failure_share(flow.route);
        failure += counted * failing;
        success += counted * (1.0 - failing);
    }
    let quantile = |q| percentile(flows, q).round() as u64;
    Stats {
        success_count: success.round() as u64,
        failure_count: failure.round() as u64,
        p50_ms: quantile(0.50),
        p95_ms: quantile(0.95),
        p99_ms: quantile(0.99),
    }
}

/// The `q` quantile, in ms, of the latency mixture of `flows` weighted by their rates; 0 when
/// there is no traffic (as Prometheus has no samples then).
pub fn percentile(flows: &[Flow], q: f64) -> f64 {
    let total: f64 = flows.iter().map(|f| f.rps).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let cdf = |ms: f64| {
        flows
            .iter()
            .map(|f| f.rps * latency_cdf(f, ms))
            .sum::<f64>()
            / total
    };
    // Bisect in log space between the clamp bounds, which contain every simulated latency.
    let (mut lo, mut hi) = (SERVER_MS_MIN.ln(), (SERVER_MS_MAX + OUTBOUND_EXTRA_MS).ln());
    for _ in 0..BISECTION_STEPS {
        let mid = f64::midpoint(lo, hi);
        if cdf(mid.exp()) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi.exp()
}

/// P(latency ≤ `ms`) for one flow: the simulation's log-normal server time with its slow tail,
/// shifted by the proxy-to-proxy delays an outbound proxy also waits for.
fn latency_cdf(flow: &Flow, ms: f64) -> f64 {
    let route = flow.route;
    let server_ms = match flow.direction {
        Direction::Inbound => ms,
        Direction::Outbound => ms - OUTBOUND_EXTRA_MS,
    };
    if server_ms < SERVER_MS_MIN {
        return 0.0;
    }
    if server_ms >= SERVER_MS_MAX {
        return 1.0;
    }
    let lognormal = |median: f64| {
        if route.sigma <= 0.0 {
            return if server_ms >= median { 1.0 } else { 0.0 };
        }
        normal_cdf((server_ms / median).ln() / route.sigma)
    };
    let fast = lognormal(route.median_ms);
    let factors = SLOW_FACTORS.clone();
    let count = factors.clone().count() as f64;
    let slow = factors
        .map(|k| lognormal(route.median_ms * f64::from(k)))
        .sum::<f64>()
        / count;
    (1.0 - SLOW_SHARE) * fast + SLOW_SHARE * slow
}

/// Φ(x), the standard normal CDF, from erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

fn erf(x: f64) -> f64 {
    let sign = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> &'static Route {
        ROUTES
            .iter()
            .find(|r| r.path == path && r.server == "catalogue")
            .expect("route")
    }

    #[test]
    fn median_is_the_routes_median() {
        let r = route("/catalogue");
        let flows = [Flow {
            route: r,
            client: 0,
            server: 0,
            direction: Direction::Inbound,
            rps: 1.0,
        }];
        let p50 = percentile(&flows, 0.5);
        // The slow tail moves the median a little above the log-normal's own.
        assert!(p50 >= r.median_ms && p50 < r.median_ms * 1.05, "{p50}");
        let p99 = percentile(&flows, 0.99);
        assert!(p99 > percentile(&flows, 0.95) && p99 > p50 * 2.0, "{p99}");
    }

    #[test]
    fn counts_follow_rate_and_error_rate() {
        let r = route("/catalogue");
        let rps = route_rps(r, 1000.0);
        let s = stats(
            &[Flow {
                route: r,
                client: 0,
                server: 0,
                direction: Direction::Inbound,
                rps,
            }],
            60.0,
        );
        let total = (s.success_count + s.failure_count) as f64;
        assert!((total - rps * 60.0).abs() / (rps * 60.0) < 0.01);
        let failing = s.failure_count as f64 / total;
        assert!(
            failing >= r.error_rate && failing < r.error_rate + 0.002,
            "{failing}"
        );
    }

    #[test]
    fn misses_count_only_when_linkerd_says_failure() {
        let login = ROUTES
            .iter()
            .find(|r| r.server == "user" && r.path == "/login")
            .expect("login");
        // 401s are successes to Linkerd.
        assert!(failure_share(login) < 0.01);
        let find = ROUTES
            .iter()
            .find(|r| r.path.ends_with("FindByShortcode"))
            .expect("find");
        // gRPC NotFound is a failure.
        assert!(failure_share(find) > find.miss_rate);
    }

    #[test]
    fn erf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-6);
        assert!((normal_cdf(1.644_853_6) - 0.95).abs() < 1e-6);
        assert!((normal_cdf(-2.326_347_9) - 0.01).abs() < 1e-6);
    }
}
