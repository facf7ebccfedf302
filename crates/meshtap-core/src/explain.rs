//! Explain a request: plain-word statements about who reported it, whether both sides are
//! meshed, which identities they presented, why TLS is or is not mutual, which policy and route
//! matched, and whether Linkerd counts the outcome as a failure. Every statement cites the labels
//! (or fields) it came from; nothing is said that the request does not carry. Pure.

mod denials;
mod mesh;
mod outcome;
mod policy;
mod route;

#[cfg(test)]
mod tests;

use crate::model::event::Endpoint;
use crate::model::request::{Request, workload};
use crate::routestats::DenialsReading;

pub use denials::client_prefix;

/// What a statement is about, in the order the view shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    Reporter,
    Mesh,
    Identity,
    Tls,
    Policy,
    Route,
    Outcome,
}

impl Topic {
    pub fn title(self) -> &'static str {
        match self {
            Topic::Reporter => "reported by",
            Topic::Mesh => "meshed",
            Topic::Identity => "identity",
            Topic::Tls => "TLS",
            Topic::Policy => "policy",
            Topic::Route => "route",
            Topic::Outcome => "outcome",
        }
    }
}

/// One plain-word answer, with where it came from: `src.tls=true`, `dst.server_id=…`,
/// `route=…`, `status=403`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub topic: Topic,
    pub text: String,
    pub cites: Vec<String>,
}

impl Statement {
    fn new(topic: Topic, text: impl Into<String>, cites: Vec<String>) -> Self {
        Self {
            topic,
            text: text.into(),
            cites,
        }
    }
}

/// Every statement the request supports, grouped by topic.
pub fn explain(request: &Request) -> Vec<Statement> {
    explain_with(request, None)
}

/// As [`explain`], and, when the proxies' refusal counters were read (`denials`), what the
/// destination's proxy counted for a refusal tap alone cannot explain.
pub fn explain_with(request: &Request, denials: Option<&DenialsReading>) -> Vec<Statement> {
    let mut out = Vec::new();
    mesh::reporter(request, &mut out);
    mesh::meshed(request, &mut out);
    mesh::identities(request, &mut out);
    mesh::tls(request, &mut out);
    policy::policy(request, &mut out);
    if let Some(denials) = denials {
        denials::counted(request, denials, &mut out);
    }
    route::route(request, &mut out);
    outcome::outcome(request, &mut out);
    out.sort_by_key(|s| s.topic);
    out
}

/// Which side a label was read from, as cited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

impl Side {
    fn endpoint(self, request: &Request) -> &Endpoint {
        match self {
            Side::Src => &request.source,
            Side::Dst => &request.destination,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Side::Src => "src",
            Side::Dst => "dst",
        }
    }
}

/// A label of one side, non-empty, with its citation.
fn label<'a>(request: &'a Request, side: Side, key: &str) -> Option<(&'a str, String)> {
    side.endpoint(request)
        .labels
        .get(key)
        .filter(|v| !v.is_empty())
        .map(|v| (v, format!("{}.{key}={v}", side.prefix())))
}

/// `kind/name in namespace` for a side, from its labels, or its address; with the labels cited.
fn who(request: &Request, side: Side) -> (String, Vec<String>) {
    let endpoint = side.endpoint(request);
    match workload(endpoint) {
        Some((namespace, kind, name)) => {
            let key = match kind {
                "deploy" => "deployment",
                "sts" => "statefulset",
                "ds" => "daemonset",
                "job" => "k8s_job",
                "rs" => "replicaset",
                "rc" => "replicationcontroller",
                _ => "pod",
            };
            let mut cites = vec![format!("{}.{key}={name}", side.prefix())];
            let text = if namespace.is_empty() {
                format!("{kind}/{name}")
            } else {
                cites.push(format!("{}.namespace={namespace}", side.prefix()));
                format!("{kind}/{name} in {namespace}")
            };
            (text, cites)
        }
        None => match endpoint.addr {
            Some(addr) => (
                addr.to_string(),
                vec![format!("{}.addr={addr}", side.prefix())],
            ),
            None => ("an unknown peer".to_owned(), Vec::new()),
        },
    }
}
