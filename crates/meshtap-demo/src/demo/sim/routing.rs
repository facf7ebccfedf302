//! How the simulated client proxies route a call: by its target Service's outbound policy (the
//! simulated controller's answer, [`crate::demo::policy`]) with core's matcher, so the demo's
//! tap events, its `OutboundPolicies` answers and its proxies' metrics tell one story.
//!
//! Per call the proxy picks a rule, then a backend by the rule's weights; it ends a request
//! that outlives the rule's request timeout (a 504 to the app; below the timeout layer the
//! endpoint request is cancelled, so tap sees a `request_init` and nothing more); it retries
//! what the rule's retry policy retries, each attempt tapped as its own request (tap sits below
//! the retry layer). A server proxy refuses calls its authorization policy does not allow: a
//! bare 403 on the client's outbound side and no inbound tap event.
//!
//! The draws come from a generator seeded by the call's own token, so routing never shifts the
//! mesh's seeded stream: a seed yields the same calls it did before routing, routed.

use std::collections::HashMap;
use std::sync::Arc;

use super::headers::path;
use super::routes::{Protocol, ROUTES, Route, method_name};
use super::{Call, Outcome, Rng, Side};
use crate::demo::mesh::{Mesh, WorkloadId};
use crate::demo::policy::{CANARY_HEADER, outbound_policy, service_authority};
use crate::model::event::{Header, Headers};
use crate::model::policy::{
    BackendRef, OutboundPolicy, PolicyRoute, PolicyRule, RequestLine, RetryOn,
};

/// Share of front-end → catalogue calls that carry `x-canary: true`.
pub const CANARY_SHARE: f64 = 0.1;
/// The client → server edge whose calls may carry the canary header.
const CANARY_EDGE: (&str, &str) = ("front-end", "catalogue");
/// Share of calls on a rule with a request timeout whose server waits on a stalled dependency
/// (carts waiting on a slow carts-db), taking 1.5–4 s.
pub const STALL_SHARE: f64 = 0.04;
const STALL_NS: (u64, u64) = (1_500_000_000, 4_000_000_000);
/// Share of attempts on a route with a gRPC retry policy answered `UNAVAILABLE` (a voting pod
/// restarting).
pub const UNAVAILABLE_SHARE: f64 = 0.3;
/// The proxy's retry backoff (linkerd2's controller sends 25–250 ms, full jitter).
const BACKOFF_NS: (u64, u64) = (25_000_000, 250_000_000);
/// Share of orders → payment `/paymentAuth` calls that ask for a refund instead, a path the
/// payment Server's authorization policy does not allow.
pub const REFUND_SHARE: f64 = 0.08;
const REFUND_PATHS: (&str, &str) = ("/paymentAuth", "/paymentRefund");
/// Separates the routing draws from the call's other uses of its token.
const ROUTING_SALT: u64 = 0x5eed_f0a1_1c0d_e5a1;
/// gRPC `UNAVAILABLE`.
const UNAVAILABLE: u32 = 14;

/// What the proxies did with one attempt of a call. `Copy`, like the call that carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Routed {
    /// The route and rule picked in the target's policy (indexes); `None` when no client proxy
    /// routed the call (an unmeshed client).
    pub rule: Option<(u8, u8)>,
    /// Whether the app sent the canary header.
    pub canary: bool,
    /// The rule's request timeout ended it.
    pub timed_out: bool,
    /// This attempt (0 is the first) and the request's retries in all.
    pub attempt: u8,
    pub retries: u8,
    /// When the request's first attempt started (the route's duration runs from there).
    pub first_start: u64,
    /// The server's proxy refused it (authorization).
    pub denied: bool,
}

impl Routed {
    /// Whether this attempt is the request's last, the one the route's own metrics record.
    pub fn is_final(&self) -> bool {
        self.attempt == self.retries
    }
}

/// The policies the client proxies route by, one per route of [`ROUTES`] (its target's).
#[derive(Debug)]
pub struct Routing {
    policies: Vec<Option<Arc<OutboundPolicy>>>,
    /// `(from, to)`: the route some calls of `from` switch to.
    refund: Option<(usize, usize)>,
}

impl Routing {
    pub fn new(mesh: &Mesh) -> Self {
        let mut by_authority: HashMap<String, Option<Arc<OutboundPolicy>>> = HashMap::new();
        let policies = ROUTES
            .iter()
            .map(|r| {
                let authority = service_authority(&mesh.workloads[mesh.workload_named(r.server)?])?;
                by_authority
                    .entry(authority)
                    .or_insert_with_key(|a| outbound_policy(mesh, a).map(Arc::new))
                    .clone()
            })
            .collect();
        let find = |path: &str| {
            ROUTES
                .iter()
                .position(|r| r.client == "orders" && r.server == "payment" && r.path == path)
        };
        let refund = find(REFUND_PATHS.0).zip(find(REFUND_PATHS.1));
        Self { policies, refund }
    }

    /// The outbound policy of `route`'s target.
    pub fn policy(&self, route: usize) -> Option<&OutboundPolicy> {
        self.policies.get(route)?.as_deref()
    }

    /// The route and rule that routed `call`.
    pub fn rule(&self, call: &Call) -> Option<(&PolicyRoute, &PolicyRule)> {
        let (route, rule) = call.routed.rule?;
        let route = self.policy(call.route)?.routes.get(usize::from(route))?;
        Some((route, route.rules.get(usize::from(rule))?))
    }

    /// The expected share of `route`'s calls each workload serves: the canary share and the
    /// picked rule's backend weights, as [`Routing::route`] draws them per call. The metrics
    /// API reports expected values, so it follows the split without sampling it. A call no
    /// client proxy routes goes to the route's own server.
    pub fn served_shares(&self, mesh: &Mesh, route: usize) -> Vec<(WorkloadId, f64)> {
        let r = &ROUTES[route];
        let Some(server) = mesh.workload_named(r.server) else {
            return Vec::new();
        };
        let routed = mesh
            .workload_named(r.client)
            .is_some_and(|c| mesh.workloads[c].meshed);
        let policy = self.policy(route).filter(|_| routed);
        let canary = if (r.client, r.server) == CANARY_EDGE {
            CANARY_SHARE
        } else {
            0.0
        };
        let mut shares: Vec<(WorkloadId, f64)> = Vec::new();
        for (with_header, share) in [(false, 1.0 - canary), (true, canary)] {
            let backends = policy
                .and_then(|p| {
                    let (route_at, rule_at) = select_for(mesh, p, r, r.path, with_header)?;
                    let rule = &p.routes[usize::from(route_at)].rules[usize::from(rule_at)];
                    backend_shares(mesh, &rule.backends)
                })
                .unwrap_or_else(|| vec![(server, 1.0)]);
            for (workload, part) in backends {
                match shares.iter_mut().find(|(w, _)| *w == workload) {
                    Some((_, sum)) => *sum += share * part,
                    None => shares.push((workload, share * part)),
                }
            }
        }
        shares.retain(|(_, share)| *share > 0.0);
        shares
    }

    /// Routes `call` as its proxies would; returns the retries its client's proxy makes, in
    /// start order, each its own call.
    pub fn route(&self, mesh: &Mesh, call: &mut Call) -> Vec<Call> {
        let mut rng = Rng::new(call.token ^ ROUTING_SALT);
        call.routed = Routed {
            first_start: call.start,
            ..Routed::default()
        };
        if let Some((from, to)) = self.refund
            && call.route == from
            && rng.chance(REFUND_SHARE)
        {
            call.route = to;
        }
        if call.route().unauthorized && mesh.workload_of(call.server).meshed {
            deny(call, &mut rng);
        }
        if !mesh.workload_of(call.client).meshed {
            return Vec::new();
        }
        let Some(policy) = self.policy(call.route) else {
            return Vec::new();
        };
        let route = call.route();
        call.routed.canary =
            (route.client, route.server) == CANARY_EDGE && rng.chance(CANARY_SHARE);
        let Some((route_at, rule_at)) = select(mesh, policy, call) else {
            return Vec::new();
        };
        call.routed.rule = Some((route_at, rule_at));
        let rule = &policy.routes[usize::from(route_at)].rules[usize::from(rule_at)];
        if let Some(served_by) = pick_backend(&rule.backends, &mut rng)
            .and_then(|b| service_workload(mesh, &b.namespace, &b.name))
            && served_by != mesh.pods[call.server].workload
        {
            let pods = &mesh.workloads[served_by].pods;
            call.server = pods[rng.below(pods.len() as u64) as usize];
        }
        if call.routed.denied {
            return Vec::new();
        }
        if let Some(limit) = rule.config.timeouts.request {
            if rng.chance(STALL_SHARE) {
                call.server_ns = rng.between(STALL_NS.0, STALL_NS.1);
            }
            time_out(call, u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX));
        }
        match rule.config.retry.as_ref().map(|r| (&r.on, r.max_retries)) {
            Some((RetryOn::Grpc(on), max)) if route.protocol == Protocol::Grpc => {
                let retryable = |c: &Call| {
                    c.outcome == Outcome::Complete && c.grpc_status.is_some_and(|s| on.retries(s))
                };
                retry(call, &mut rng, max, retryable)
            }
            _ => Vec::new(),
        }
    }
}

/// The rule core's matcher picks for `call`, as `(route, rule)` indexes.
fn select(mesh: &Mesh, policy: &OutboundPolicy, call: &Call) -> Option<(u8, u8)> {
    select_for(mesh, policy, call.route(), &path(call), call.routed.canary)
}

/// The rule core's matcher picks for a call of `route` to `path`, with or without the canary
/// header.
fn select_for(
    mesh: &Mesh,
    policy: &OutboundPolicy,
    route: &Route,
    path: &str,
    canary: bool,
) -> Option<(u8, u8)> {
    let authority = super::events::authority(mesh, route);
    let headers: Headers = canary
        .then(|| Header::str(CANARY_HEADER.0, CANARY_HEADER.1))
        .into_iter()
        .collect();
    let line = RequestLine {
        method: Some(method_name(route.method)),
        authority: &authority,
        path,
        headers: Some(&headers),
    };
    let selected = policy.select(&line)?;
    Some((
        u8::try_from(selected.route).ok()?,
        u8::try_from(selected.rule).ok()?,
    ))
}

/// A backend by the rule's weights (an unweighted list: its first, as first-available).
fn pick_backend<'a>(backends: &'a [BackendRef], rng: &mut Rng) -> Option<&'a BackendRef> {
    let total: u64 = backends
        .iter()
        .map(|b| u64::from(b.weight.unwrap_or(0)))
        .sum();
    if total == 0 {
        return backends.first();
    }
    let mut pick = rng.below(total);
    backends.iter().find(|b| {
        let w = u64::from(b.weight.unwrap_or(0));
        if pick < w {
            return true;
        }
        pick -= w;
        false
    })
}

/// Each backend's workload and its share of a rule's calls, as [`pick_backend`] draws them;
/// `None` when a backend is no Service of the mesh.
fn backend_shares(mesh: &Mesh, backends: &[BackendRef]) -> Option<Vec<(WorkloadId, f64)>> {
    let weight = |b: &BackendRef| f64::from(b.weight.unwrap_or(0));
    let total: f64 = backends.iter().map(weight).sum();
    let picked: Vec<(&BackendRef, f64)> = if total > 0.0 {
        backends.iter().map(|b| (b, weight(b) / total)).collect()
    } else {
        backends.first().map(|b| (b, 1.0)).into_iter().collect()
    };
    picked
        .into_iter()
        .map(|(b, share)| Some((service_workload(mesh, &b.namespace, &b.name)?, share)))
        .collect::<Option<Vec<_>>>()
        .filter(|shares| !shares.is_empty())
}

/// The workload behind Service `name` in `namespace`.
fn service_workload(mesh: &Mesh, namespace: &str, name: &str) -> Option<WorkloadId> {
    mesh.workloads
        .iter()
        .position(|w| w.namespace == namespace && w.service == Some(name))
}

/// The server's proxy refuses the call itself, before its app or its tap see it.
fn deny(call: &mut Call, rng: &mut Rng) {
    call.routed.denied = true;
    call.http_status = 403;
    call.grpc_status = None;
    call.outcome = Outcome::Complete;
    call.bytes = 0;
    call.server_ns = rng.between(80_000, 400_000);
    call.body_ns = rng.between(20_000, 60_000);
}

/// Ends `call` at `limit_ns` when its response would come later: the app gets a 504 from its
/// proxy, and below the timeout the endpoint request is dropped without a response.
fn time_out(call: &mut Call, limit_ns: u64) {
    let headers_at = call.server_ns + call.in_delay + call.hop_ns;
    let waiting = matches!(
        call.outcome,
        Outcome::Complete
            | Outcome::Hang {
                with_response: false
            }
    );
    if waiting && headers_at > limit_ns {
        call.outcome = Outcome::Cancelled { after_ns: limit_ns };
        call.http_status = 504;
        call.grpc_status = None;
        call.bytes = 0;
        call.routed.timed_out = true;
    }
}

/// Fails some attempts with `UNAVAILABLE` and retries them (at most `max` times) after the
/// proxy's backoff; every attempt is a call to the same server, tapped on its own.
fn retry(call: &mut Call, rng: &mut Rng, max: u32, retryable: impl Fn(&Call) -> bool) -> Vec<Call> {
    let route = call.route();
    let mut attempts = vec![*call];
    while let Some(last) = attempts.last_mut() {
        if last.outcome == Outcome::Complete && rng.chance(UNAVAILABLE_SHARE) {
            last.grpc_status = Some(UNAVAILABLE);
        }
        let (last, n) = (*last, attempts.len());
        if !retryable(&last) || n > max as usize {
            break;
        }
        let ended = last.timeline(Side::Outbound).end.unwrap_or(0);
        let mut next = last;
        next.start = last.start + ended + rng.between(BACKOFF_NS.0, BACKOFF_NS.1);
        let ms = route.median_ms * (route.sigma * rng.normal()).exp();
        next.server_ns = ((ms * 1e6) as u64).max(50_000);
        next.grpc_status = Some(if rng.chance(route.error_rate) {
            route.error_status
        } else {
            0
        });
        next.routed.attempt = last.routed.attempt + 1;
        attempts.push(next);
    }
    let retries = u8::try_from(attempts.len() - 1).unwrap_or(u8::MAX);
    for attempt in &mut attempts {
        attempt.routed.retries = retries;
    }
    *call = attempts[0];
    attempts.split_off(1)
}

#[cfg(test)]
mod tests;
