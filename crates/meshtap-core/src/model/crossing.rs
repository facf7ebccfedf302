//! Linkerd multicluster traffic as a tap shows it: an outbound request that leaves its cluster
//! (to a mirrored service `<svc>-<cluster>` or through the `linkerd-gateway`), an inbound request
//! that arrived through the gateway from another cluster, and — only when it is unambiguous —
//! the request on the other side that is the same call. The facts relied on are in
//! docs/multicluster.md.

use std::collections::VecDeque;

use super::event::Direction;
use super::request::Request;

/// The multicluster gateway's name and namespace as `linkerd multicluster install` creates them.
pub const GATEWAY_NAME: &str = "linkerd-gateway";
pub const GATEWAY_NAMESPACE: &str = "linkerd-multicluster";
/// The label the service mirror puts on a mirrored service naming the cluster it came from.
pub const MIRROR_CLUSTER_LABEL: &str = "mirror.linkerd.io/cluster-name";
/// The label the destination controller adds to an outbound request to a mirrored service,
/// naming the cluster it lives in (docs/multicluster.md, fact 9).
pub const TARGET_CLUSTER_LABEL: &str = "target_cluster";
/// Most stored requests looked at on each side of a request when searching for its other half:
/// bounds the work of drawing the detail pane whatever the store holds.
pub const COUNTERPART_SCAN_MAX: usize = 4_096;

/// How a request crosses clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// Outbound, to another cluster: `to` names it when the mirrored service's name or labels
    /// say which (one of the session's clusters, or the mirror label's value).
    Leaving { to: Option<String> },
    /// Inbound, from the gateway: the caller is in another cluster.
    Arriving,
}

/// Whether `request` crosses clusters; `clusters` are the session's cluster names (a mirrored
/// service `<svc>-<cluster>` is recognised by its suffix only for these, so an ordinary service
/// called `web-east` is not mistaken for one when no cluster `east` is open).
pub fn crossing(request: &Request, clusters: &[String]) -> Option<Crossing> {
    match request.direction() {
        Direction::Outbound => {
            let dst = &request.destination.labels;
            // The destination controller's `target_cluster` label first; the mirror label and
            // the service's name (the `service` label, or the authority when it was not yet
            // rewritten to the remote name) otherwise.
            let labelled = dst
                .get(TARGET_CLUSTER_LABEL)
                .or_else(|| dst.get(MIRROR_CLUSTER_LABEL))
                .map(str::to_owned);
            let by_name = [dst.get("service"), mirrored_service(request.authority())]
                .into_iter()
                .flatten()
                .find_map(|svc| target_cluster(svc, clusters))
                .filter(|to| {
                    request
                        .cluster
                        .as_ref()
                        .is_none_or(|c| c.as_str() != to.as_str())
                });
            let through_gateway = is_gateway(dst.get("deployment"), dst.get("namespace"))
                || dst.get("server_id").is_some_and(is_gateway_identity);
            let to = labelled.or(by_name);
            (to.is_some() || through_gateway).then_some(Crossing::Leaving { to })
        }
        Direction::Inbound => {
            let src = &request.source.labels;
            let from_gateway = src.get("client_id").is_some_and(is_gateway_identity)
                || is_gateway(src.get("deployment"), src.get("namespace"));
            from_gateway.then_some(Crossing::Arriving)
        }
        Direction::Unknown => None,
    }
}

fn is_gateway(name: Option<&str>, namespace: Option<&str>) -> bool {
    name == Some(GATEWAY_NAME) && namespace == Some(GATEWAY_NAMESPACE)
}

/// `linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.<trust domain>`.
fn is_gateway_identity(id: &str) -> bool {
    id.strip_prefix(GATEWAY_NAME)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_prefix(GATEWAY_NAMESPACE))
        .is_some_and(|rest| rest.starts_with(".serviceaccount.identity."))
}

/// The service name of an authority (`carts-west.sock-shop.svc.cluster.local:80` → `carts-west`).
fn mirrored_service(authority: &str) -> Option<&str> {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    host.split('.').next().filter(|s| !s.is_empty())
}

/// The session cluster whose name `service` ends with (`carts-west` → `west`), the longest when
/// several fit.
fn target_cluster(service: &str, clusters: &[String]) -> Option<String> {
    clusters
        .iter()
        .filter(|c| {
            service
                .strip_suffix(c.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('-'))
        })
        .max_by_key(|c| c.len())
        .cloned()
}

/// The other half of a crossing request among `stored` (the store's requests, in arrival
/// order), when exactly one request fits: the same method and path, the authority of the
/// mirrored service with its cluster suffix removed, the inbound side arriving while the
/// outbound one was open, from the other cluster, and the outbound side's server identity the
/// inbound side's client identity. Anything less certain gives `None`.
pub fn counterpart(
    stored: &VecDeque<Request>,
    request: &Request,
    clusters: &[String],
) -> Option<u64> {
    let crossing = crossing(request, clusters)?;
    let front = stored.front()?.seq;
    let at = usize::try_from(request.seq.checked_sub(front)?).ok()?;
    let fits = |other: &Request| match crossing {
        Crossing::Leaving { .. } => halves(request, other, clusters),
        Crossing::Arriving => halves(other, request, clusters),
    };
    // The inbound half starts after the outbound half: search forward from a leaving request,
    // backward from an arriving one.
    let mut found = match crossing {
        Crossing::Leaving { .. } => stored
            .range(at.saturating_add(1).min(stored.len())..)
            .take(COUNTERPART_SCAN_MAX)
            .filter(|other| fits(other))
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        Crossing::Arriving => stored
            .range(..at.min(stored.len()))
            .rev()
            .take(COUNTERPART_SCAN_MAX)
            .filter(|other| fits(other))
            .map(|r| r.seq)
            .collect(),
    };
    (found.len() == 1).then(|| found.remove(0))
}

/// Whether `inbound` is the far side of `outbound`.
fn halves(outbound: &Request, inbound: &Request, clusters: &[String]) -> bool {
    let (Some(from), Some(to)) = (&outbound.cluster, &inbound.cluster) else {
        return false;
    };
    if from == to
        || outbound.direction() != Direction::Outbound
        || inbound.direction() != Direction::Inbound
        || outbound.init.is_none()
        || inbound.init.is_none()
        || outbound.method() != inbound.method()
        || outbound.path() != inbound.path()
        || crossing(inbound, clusters) != Some(Crossing::Arriving)
    {
        return false;
    }
    if let Some(Crossing::Leaving { to: Some(target) }) = crossing(outbound, clusters)
        && target != to.as_str()
    {
        return false;
    }
    // The gateway rewrites `<svc>-<cluster>` back to the exported `<svc>`.
    let unmirrored = outbound
        .authority()
        .replacen(&format!("-{}.", to.as_str()), ".", 1);
    let same_service = host(&unmirrored) == host(inbound.authority());
    let same_identity = outbound.destination.labels.get("server_id")
        == inbound.source.labels.get("client_id")
        && inbound.source.labels.get("client_id").is_some();
    let during = inbound.started >= outbound.started
        && outbound.ended_at.is_none_or(|end| inbound.started <= end);
    same_service && same_identity && during
}

/// The authority's service and namespace: `carts.sock-shop.svc.cluster.local:80` → `carts.sock-shop`
/// (the port and the cluster domain may differ between the two sides).
fn host(authority: &str) -> String {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    host.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
#[path = "crossing/tests.rs"]
mod tests;
