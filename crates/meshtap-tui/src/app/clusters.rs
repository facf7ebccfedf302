//! The clusters a session shows (`--context A,B`, or a replayed capture that holds several):
//! which have been seen, and the detail tree's cluster branch — the cluster, whether the request
//! crosses to or from another one, and its other half when that is certain.

use crate::model::crossing::{self, Crossing};
use crate::model::event::ClusterName;
use crate::model::request::Request;
use crate::model::store::Store;
use crate::session::{Redactor, SessionInfo};

use super::detail::Node;

/// Distinct cluster names remembered; a capture naming more still shows every request, the
/// column just sizes itself by the first ones.
pub const CLUSTERS_SEEN_MAX: usize = 64;

/// The session's clusters: those it opened, then any other a request named.
#[derive(Clone, Debug, Default)]
pub struct ClustersSeen {
    names: Vec<String>,
    /// The last name noted, to skip the search for the common case of a run of one cluster.
    last: Option<ClusterName>,
}

impl ClustersSeen {
    pub fn new(info: &SessionInfo) -> Self {
        Self {
            names: info.clusters.clone(),
            last: None,
        }
    }

    pub fn note(&mut self, cluster: Option<&ClusterName>) {
        let Some(cluster) = cluster else { return };
        if self.last.as_ref() == Some(cluster) {
            return;
        }
        if self.names.len() < CLUSTERS_SEEN_MAX && !self.names.iter().any(|n| n == cluster.as_str())
        {
            self.names.push(cluster.to_string());
        }
        self.last = Some(cluster.clone());
    }

    /// More than one cluster: the requests pane shows whose each request is.
    pub fn several(&self) -> bool {
        self.names.len() > 1
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The detail tree of `request`: [`super::detail::nodes`], led by its cluster, whether it
/// crosses to or from another cluster, and its other half when that is certain.
pub fn nodes(
    request: &Request,
    store: &Store,
    clusters: &ClustersSeen,
    redactor: &Redactor,
    reveal: bool,
) -> Vec<Node> {
    let mut out = cluster_nodes(request, store, clusters.names());
    if !out.iter().any(|node| node.key == "other side") {
        out.extend(super::sides::other_side_node(store, request));
    }
    out.extend(super::detail::nodes(request, redactor, reveal));
    out
}

fn cluster_nodes(request: &Request, store: &Store, clusters: &[String]) -> Vec<Node> {
    let Some(cluster) = &request.cluster else {
        return Vec::new();
    };
    let mut out = vec![leaf("cluster", cluster.to_string())];
    match crossing::crossing(request, clusters) {
        Some(Crossing::Leaving { to }) => out.push(leaf(
            "crossing",
            match to {
                Some(to) => format!("leaves for cluster {to}"),
                None => "leaves the cluster through the multicluster gateway".to_owned(),
            },
        )),
        Some(Crossing::Arriving) => out.push(leaf(
            "crossing",
            "arrived from another cluster through the multicluster gateway".to_owned(),
        )),
        None => return out,
    }
    if let Some(other) =
        crossing::counterpart(store.requests(), request, clusters).and_then(|seq| store.get(seq))
    {
        let side = other.cluster.as_ref().map_or("", ClusterName::as_str);
        out.push(leaf(
            "other side",
            format!(
                "#{} in {side}, {} {}{}",
                other.seq,
                other.direction().short(),
                other.authority(),
                other.path()
            ),
        ));
    }
    out
}

fn leaf(key: &str, value: String) -> Node {
    Node {
        id: key.to_owned(),
        key: key.to_owned(),
        value,
        redacted: false,
        children: Vec::new(),
    }
}
