//! Route figures over a window from the proxies' own counters — what `linkerd viz stat-outbound`
//! and `stat-inbound` show — built by one code path whether the counters came from Prometheus
//! (`increase(…[window])`) or from two scrapes of the pods' admin `/metrics`: both produce a
//! [`Window`] of per-series increases, and everything below reads only that.

pub mod buckets;
pub mod inbound;
pub mod outbound;
pub mod reading;
pub mod since;
pub mod window;

pub use buckets::{Buckets, Le};
pub use inbound::{Denial, DenialKind, InboundRow, denials, inbound};
pub use outbound::{BackendRow, Figures, OutboundRow, outbound};
pub use reading::{Counted, DenialsOrigin, DenialsReading, Readings, Watched};
pub use since::SinceStart;
pub use window::{Delta, Window};

/// Client-side route families (linkerd2-proxy `outbound/src/http/logical/policy/route`), per
/// protocol prefix: statuses and retries by route, statuses by route backend, and the two
/// duration histograms.
pub const PROTOCOL_PREFIXES: [&str; 2] = ["outbound_http_route", "outbound_grpc_route"];
pub const REQUEST_STATUSES: &str = "request_statuses_total";
pub const REQUEST_DURATION_BUCKET: &str = "request_duration_seconds_bucket";
pub const BACKEND_STATUSES: &str = "backend_response_statuses_total";
pub const BACKEND_DURATION_BUCKET: &str = "backend_response_duration_seconds_bucket";
pub const RETRY_REQUESTS: &str = "retry_requests_total";
/// Server side: the legacy per-response counter `stat-inbound` reads, its latency histogram
/// (milliseconds), and the authorization counters.
pub const RESPONSE_TOTAL: &str = "response_total";
pub const RESPONSE_LATENCY_BUCKET: &str = "response_latency_ms_bucket";
pub const AUTHZ_DENY: &str = "inbound_http_authz_deny_total";
pub const ROUTE_NOT_FOUND: &str = "inbound_http_route_not_found_total";

/// The route request histogram's bucket bounds in seconds: only four, so a quantile from it is
/// only ever "at most this bound".
pub const ROUTE_BUCKETS_SECONDS: [f64; 4] = [0.05, 0.5, 1.0, 10.0];
/// The route-backend response histogram's bounds in seconds.
pub const BACKEND_BUCKETS_SECONDS: [f64; 7] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0];

/// Every family name both paths ask for, in full.
pub fn families() -> Vec<String> {
    let mut names = Vec::new();
    for prefix in PROTOCOL_PREFIXES {
        for suffix in [
            REQUEST_STATUSES,
            REQUEST_DURATION_BUCKET,
            BACKEND_STATUSES,
            BACKEND_DURATION_BUCKET,
            RETRY_REQUESTS,
        ] {
            names.push(format!("{prefix}_{suffix}"));
        }
    }
    for name in [
        RESPONSE_TOTAL,
        RESPONSE_LATENCY_BUCKET,
        AUTHZ_DENY,
        ROUTE_NOT_FOUND,
    ] {
        names.push(name.to_owned());
    }
    names
}
