//! Turning a `TapByResourceRequest` into a tap plan the way Linkerd's tap server does: the
//! apiserver's RBAC check, target resolution to meshed pods, the per-pod rate limit, and the
//! translation of `match` (only a top-level `all` of `destinations` and `http` entries).
//!
//! Every rejection is the reply Linkerd gives: a 403 Kubernetes `Status` from the apiserver for
//! the forbidden namespace, and otherwise a `linkerd-error` `ApiError` (Linkerd's tap server turns
//! its gRPC errors, including "unexpected match specified", into that shape with status 200).

use crate::demo::api::TapReply;
use crate::demo::mesh::{DEMO_USER, FORBIDDEN_NAMESPACE, Mesh, PodId};
use crate::proto::tap::TapByResourceRequest;
use crate::proto::tap::tap_by_resource_request::r#match::{self, http};
use crate::proto::tap::tap_by_resource_request::{Match, extract};
use crate::proto::viz;

/// Linkerd's default `maxRps` and its split over pods, as tap health computes them too.
pub use crate::health::{DEFAULT_MAX_RPS, per_pod_limit};

/// One condition the proxies evaluate per request; all must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `http` scheme, compared case-insensitively ("http"/"https").
    Scheme(String),
    /// Registered methods compare case-insensitively, others exactly.
    Method(String),
    /// Exact authority.
    Authority(String),
    /// Path prefix.
    PathPrefix(String),
    /// A label the reporting proxy attaches to the destination (from `destinations`).
    DestinationLabel(String, String),
}

/// What one tap observes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The tapped pods (meshed pods of the target), in mesh order.
    pub pods: Vec<PodId>,
    /// Requests each pod's proxy reports per window (`ObserveRequest.limit`).
    pub limit: u32,
    pub conditions: Vec<Condition>,
    /// Whether request/response headers and trailers are extracted.
    pub headers: bool,
}

fn linkerd_error(msg: impl Into<String>) -> TapReply {
    TapReply::LinkerdError(msg.into())
}

/// Builds the plan for `request`, or the reply that rejects it.
pub fn plan(mesh: &Mesh, request: &TapByResourceRequest) -> Result<Plan, TapReply> {
    let Some(target) = &request.target else {
        return Err(linkerd_error(
            "TapByResource received nil target ResourceSelection",
        ));
    };
    let Some(res) = &target.resource else {
        return Err(linkerd_error("TapByResource received nil target Resource"));
    };
    let namespace = if res.r#type == "namespace" {
        &res.name
    } else {
        &res.namespace
    };
    if namespace == FORBIDDEN_NAMESPACE {
        // The apiserver's SubjectAccessReview fails before the tap server sees the request.
        let plural = format!("{}s", res.r#type);
        return Err(TapReply::KubeStatus {
            code: 403,
            reason: "Forbidden".into(),
            message: format!(
                "{plural}.tap.linkerd.io \"{}\" is forbidden: User \"{DEMO_USER}\" cannot watch resource \
                 \"{plural}/tap\" in API group \"tap.linkerd.io\" in the namespace \"{namespace}\"",
                res.name
            ),
        });
    }
    let selector = Selector::parse(&target.label_selector).map_err(|e| {
        linkerd_error(format!(
            "invalid label selector \"{}\": {e}",
            target.label_selector
        ))
    })?;
    let pods: Vec<PodId> = resolve(mesh, res)?
        .into_iter()
        .filter(|&p| selector.matches(&mesh.pods[p].labels) && mesh.workload_of(p).meshed)
        .collect();
    if pods.is_empty() {
        return Err(linkerd_error(format!(
            "no pods to tap for {}/{}\n",
            res.r#type, res.name
        )));
    }
    let limit = per_pod_limit(request.max_rps, pods.len());
    let conditions = conditions(request.r#match.as_ref())?;
    let headers = request
        .extract
        .as_ref()
        .and_then(|e| e.extract.as_ref())
        .is_some_and(|extract::Extract::Http(h)| {
            matches!(h.extract, Some(extract::http::Extract::Headers(_)))
        });
    Ok(Plan {
        pods,
        limit,
        conditions,
        headers,
    })
}

/// The pods of a resource, before the selector and the meshed check.
fn resolve(mesh: &Mesh, res: &viz::Resource) -> Result<Vec<PodId>, TapReply> {
    let in_ns = |ns: &str| res.namespace.is_empty() || res.namespace == ns;
    let pods: Vec<PodId> = match res.r#type.as_str() {
        "namespace" => (0..mesh.pods.len())
            .filter(|&p| mesh.workload_of(p).namespace == res.name)
            .collect(),
        "pod" => (0..mesh.pods.len())
            .filter(|&p| mesh.pods[p].name == res.name && in_ns(mesh.workload_of(p).namespace))
            .collect(),
        "deployment" | "service" | "replicaset" => mesh
            .workloads
            .iter()
            .filter(|w| in_ns(w.namespace))
            .filter(|w| match res.r#type.as_str() {
                "deployment" => w.name == res.name,
                "service" => w.service == Some(res.name.as_str()),
                _ => w.replica_set() == res.name,
            })
            .flat_map(|w| w.pods.iter().copied())
            .collect(),
        // The demo runs no daemon sets, stateful sets, jobs, cron jobs or replication controllers.
        "daemonset" | "statefulset" | "job" | "cronjob" | "replicationcontroller" => Vec::new(),
        other => {
            return Err(linkerd_error(format!(
                "unimplemented resource type: {other}"
            )));
        }
    };
    Ok(pods)
}

fn kind(m: Option<&r#match::Match>) -> &'static str {
    match m {
        None => "<nil>",
        Some(r#match::Match::All(_)) => "all",
        Some(r#match::Match::Any(_)) => "any",
        Some(r#match::Match::Not(_)) => "not",
        Some(r#match::Match::Destinations(_)) => "destinations",
        Some(r#match::Match::Http(_)) => "http",
    }
}

pub(crate) fn conditions(m: Option<&Match>) -> Result<Vec<Condition>, TapReply> {
    let inner = m.and_then(|m| m.r#match.as_ref());
    let Some(r#match::Match::All(seq)) = inner else {
        return Err(linkerd_error(format!(
            "unexpected match specified: {}",
            kind(inner)
        )));
    };
    let mut out = Vec::new();
    for entry in &seq.matches {
        match &entry.r#match {
            Some(r#match::Match::Destinations(sel)) => {
                let Some(res) = &sel.resource else { continue };
                if !res.name.is_empty() {
                    // Linkerd's label for an owner kind is the kind, except jobs.
                    let key = if res.r#type == "job" {
                        "k8s_job"
                    } else {
                        res.r#type.as_str()
                    };
                    out.push(Condition::DestinationLabel(
                        key.to_owned(),
                        res.name.clone(),
                    ));
                }
                if res.r#type != "namespace" && !res.namespace.is_empty() {
                    out.push(Condition::DestinationLabel(
                        "namespace".into(),
                        res.namespace.clone(),
                    ));
                }
            }
            Some(r#match::Match::Http(h)) => out.push(match &h.r#match {
                Some(http::Match::Scheme(s)) => Condition::Scheme(s.clone()),
                Some(http::Match::Method(s)) => Condition::Method(s.clone()),
                Some(http::Match::Authority(s)) => Condition::Authority(s.clone()),
                Some(http::Match::Path(s)) => Condition::PathPrefix(s.clone()),
                None => return Err(linkerd_error("unknown HTTP match type: <nil>")),
            }),
            other => {
                return Err(linkerd_error(format!(
                    "unknown match type: {}",
                    kind(other.as_ref())
                )));
            }
        }
    }
    Ok(out)
}

/// An equality-based Kubernetes label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-joined.
#[derive(Debug, Default)]
pub(crate) struct Selector {
    terms: Vec<(String, Op)>,
}

#[derive(Debug)]
enum Op {
    Eq(String),
    Ne(String),
    Exists,
    Absent,
}

impl Selector {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (key, op) = if let Some((k, v)) = raw.split_once("!=") {
                (k, Op::Ne(v.trim().to_owned()))
            } else if let Some((k, v)) = raw.split_once("==").or_else(|| raw.split_once('=')) {
                (k, Op::Eq(v.trim().to_owned()))
            } else if let Some(k) = raw.strip_prefix('!') {
                (k, Op::Absent)
            } else {
                (raw, Op::Exists)
            };
            let key = key.trim();
            let valid = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
            if key.is_empty() || !key.chars().all(valid) {
                return Err(format!(
                    "unable to parse requirement: invalid label key \"{key}\""
                ));
            }
            terms.push((key.to_owned(), op));
        }
        Ok(Self { terms })
    }

    pub(crate) fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.terms.iter().all(|(k, op)| match op {
            Op::Eq(v) => labels.get(k) == Some(v),
            Op::Ne(v) => labels.get(k) != Some(v),
            Op::Exists => labels.contains_key(k),
            Op::Absent => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_matches_linkerd_arithmetic() {
        assert_eq!(per_pod_limit(10.0, 3), 3);
        assert_eq!(per_pod_limit(0.0, 3), 33);
        assert_eq!(per_pod_limit(0.0, 1), 100);
        assert_eq!(per_pod_limit(2.0, 5), 1);
        assert_eq!(per_pod_limit(-4.0, 2), 1);
        assert_eq!(per_pod_limit(f32::NAN, 2), 1);
        assert_eq!(per_pod_limit(7.9, 1), 7);
    }

    #[test]
    fn selector_forms() {
        let mesh = Mesh::demo();
        let labels = &mesh.pods[0].labels;
        for (sel, want) in [
            ("app=front-end", true),
            ("app==front-end", true),
            ("app!=front-end", false),
            ("app=front-end,name=front-end", true),
            ("linkerd.io/control-plane-ns", true),
            ("!linkerd.io/control-plane-ns", false),
            ("", true),
        ] {
            assert_eq!(
                Selector::parse(sel).expect(sel).matches(labels),
                want,
                "{sel}"
            );
        }
        assert!(Selector::parse("=x").is_err());
    }
}
