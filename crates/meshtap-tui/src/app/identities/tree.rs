//! Builds the identities tree as data: namespace → workload → edge → details, grouped, sorted
//! and totalled, with the stable identifiers selection and open nodes are held by. The pane only
//! styles it.

use std::collections::BTreeMap;

use super::IdentitySort;
use crate::model::event::Direction;
use crate::model::identities::{Concern, Edge, IdentityTable, TlsState, WorkloadId};
use crate::model::metrics::MetricsOnlyEdge;
use crate::routestats::Readings;

/// Requests under a node, the share secured, and how many edges below it have concerns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub mtls: u64,
    pub concerns: usize,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.requests += other.requests;
        self.mtls += other.mtls;
        self.concerns += other.concerns;
    }
}

/// How a detail line's value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Text,
    Warning,
}

/// What one line of the tree shows.
#[derive(Clone, Debug)]
pub enum Row {
    Namespace {
        /// The namespace, or `(no namespace)`.
        label: String,
        workloads: usize,
        totals: Totals,
    },
    Workload {
        name: String,
        totals: Totals,
    },
    /// A sampled edge; `peer` as shown (with its namespace when it differs from the local one).
    /// `denied`: the client saw refusals here and the server's proxy counted refusals of it.
    Edge {
        edge: Box<Edge>,
        peer: String,
        concerns: usize,
        denied: bool,
    },
    /// An edge only the metrics API knows.
    MetricsEdge {
        edge: MetricsOnlyEdge,
        peer: String,
    },
    /// Requests of an edge in one TLS state.
    Tls {
        state: TlsState,
        requests: u64,
    },
    Detail {
        label: &'static str,
        value: String,
        tone: Tone,
    },
}

/// A node of the tree: its identifier among its siblings, its line, and what opens under it.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: String,
    pub row: Row,
    pub children: Vec<Node>,
}

type Grouped<'t> = BTreeMap<&'t str, BTreeMap<&'t str, Vec<(&'t Edge, Vec<Concern>)>>>;

/// The tree; `metrics_only` (sorted) adds edges only the metrics API knows, after each
/// workload's live edges, creating workloads and namespaces the sample has not seen.
pub fn build(
    table: &IdentityTable,
    metrics_only: &[MetricsOnlyEdge],
    sort: IdentitySort,
    denials: &Readings,
) -> Vec<Node> {
    let meshed = table.meshed();
    let mut grouped: Grouped<'_> = BTreeMap::new();
    for edge in table.edges() {
        let concerns = IdentityTable::concerns(edge, &meshed);
        grouped
            .entry(&edge.key.local.namespace)
            .or_default()
            .entry(&edge.key.local.name)
            .or_default()
            .push((edge, concerns));
    }
    let mut extra: BTreeMap<(&str, &str), Vec<&MetricsOnlyEdge>> = BTreeMap::new();
    for edge in metrics_only {
        let (namespace, name) = (edge.local.namespace.as_ref(), edge.local.name.as_ref());
        grouped
            .entry(namespace)
            .or_default()
            .entry(name)
            .or_default();
        extra.entry((namespace, name)).or_default().push(edge);
    }
    let mut namespaces = Vec::new();
    for (namespace, workloads) in grouped {
        let mut ns_totals = Totals::default();
        let mut children = Vec::new();
        for (workload, mut edges) in workloads {
            let mut totals = Totals::default();
            sort_edges(&mut edges, sort);
            let mut edge_nodes = Vec::new();
            for (edge, concerns) in &edges {
                totals.add(Totals {
                    requests: edge.requests,
                    mtls: edge.mtls(),
                    concerns: usize::from(!concerns.is_empty()),
                });
                edge_nodes.push(edge_node(edge, concerns, table, denials));
            }
            let only = extra
                .get(&(namespace, workload))
                .map_or(&[][..], Vec::as_slice);
            edge_nodes.extend(only.iter().map(|e| metrics_edge_node(e)));
            ns_totals.add(totals);
            let key = (totals.concerns, totals.requests);
            let row = Row::Workload {
                name: workload.to_owned(),
                totals,
            };
            children.push((key, node(workload.to_owned(), row, edge_nodes)));
        }
        sort_keyed(&mut children, sort);
        let label = if namespace.is_empty() {
            "(no namespace)"
        } else {
            namespace
        };
        let row = Row::Namespace {
            label: label.to_owned(),
            workloads: children.len(),
            totals: ns_totals,
        };
        let key = (ns_totals.concerns, ns_totals.requests);
        let children = children.into_iter().map(|(_, item)| item).collect();
        namespaces.push((key, node(namespace_id(namespace), row, children)));
    }
    sort_keyed(&mut namespaces, sort);
    namespaces.into_iter().map(|(_, item)| item).collect()
}

fn node(id: String, row: Row, children: Vec<Node>) -> Node {
    Node { id, row, children }
}

/// The tree identifier of a namespace node (prefixed so it never equals a workload's).
pub(super) fn namespace_id(namespace: &str) -> String {
    format!("ns:{namespace}")
}

/// The tree identifier of an edge node, unique among its workload's edges.
pub(super) fn edge_id(edge: &Edge) -> String {
    format!(
        "{}|{}/{}",
        edge.key.direction.short(),
        edge.key.peer.namespace,
        edge.key.peer.name
    )
}

/// The tree identifier of a metrics-only edge, apart from live edges' (`in|ns/name`) so the two
/// never collide.
fn metrics_edge_id(edge: &MetricsOnlyEdge) -> String {
    format!(
        "metrics|{}|{}/{}",
        edge.direction.short(),
        edge.peer.namespace,
        edge.peer.name
    )
}

fn sort_edges(edges: &mut [(&Edge, Vec<Concern>)], sort: IdentitySort) {
    match sort {
        IdentitySort::Name => edges.sort_by(|a, b| {
            (&a.0.key.peer, a.0.key.direction).cmp(&(&b.0.key.peer, b.0.key.direction))
        }),
        IdentitySort::Requests => edges.sort_by(|a, b| {
            b.0.requests
                .cmp(&a.0.requests)
                .then_with(|| a.0.key.cmp(&b.0.key))
        }),
        IdentitySort::Concerns => edges.sort_by(|a, b| {
            (b.1.len(), b.0.requests)
                .cmp(&(a.1.len(), a.0.requests))
                .then_with(|| a.0.key.cmp(&b.0.key))
        }),
    }
}

/// Sorts items keyed by (concerns, requests); by name the input order (a `BTreeMap`'s) stays.
fn sort_keyed<T>(items: &mut [((usize, u64), T)], sort: IdentitySort) {
    match sort {
        IdentitySort::Name => {}
        IdentitySort::Requests => items.sort_by_key(|item| std::cmp::Reverse(item.0.1)),
        IdentitySort::Concerns => items.sort_by_key(|item| std::cmp::Reverse(item.0)),
    }
}

/// The peer as shown under the local workload: with its namespace when that differs.
fn peer_label(local: &WorkloadId, peer: &WorkloadId) -> String {
    if peer.namespace == local.namespace || peer.namespace.is_empty() {
        peer.name.to_string()
    } else {
        format!("{}/{}", peer.namespace, peer.name)
    }
}

fn detail(id: &str, label: &'static str, value: String, tone: Tone) -> Node {
    node(
        id.to_owned(),
        Row::Detail { label, value, tone },
        Vec::new(),
    )
}

fn edge_node(edge: &Edge, concerns: &[Concern], table: &IdentityTable, denials: &Readings) -> Node {
    let observed = edge
        .identity
        .as_ref()
        .map_or_else(|| "none".to_owned(), ToString::to_string);
    let local = table
        .expected_identity(edge, true)
        .map_or_else(|| "unknown".to_owned(), |id| format!("{id} (this proxy)"));
    let (client, server) = if edge.key.direction == Direction::Inbound {
        (observed, local)
    } else {
        (local, observed)
    };
    let mut children = vec![
        detail("client", "client", client, Tone::Text),
        detail("server", "server", server, Tone::Text),
    ];
    for state in TlsState::ALL {
        let n = edge.tls[state.index()];
        if n > 0 {
            let row = Row::Tls { state, requests: n };
            children.push(node(format!("tls:{}", state.index()), row, Vec::new()));
        }
    }
    if let Some((kind, name)) = &edge.authz {
        children.push(detail(
            "authz",
            "authz",
            format!("{kind}/{name}"),
            Tone::Text,
        ));
    }
    for (i, concern) in concerns.iter().enumerate() {
        children.push(detail(
            &format!("concern:{i}"),
            "⚠",
            concern.describe(edge),
            Tone::Warning,
        ));
    }
    let refused = proxy_refusals(edge, denials);
    if let Some(text) = &refused {
        children.push(detail("denied", "denied", text.clone(), Tone::Warning));
    }
    let row = Row::Edge {
        edge: Box::new(edge.clone()),
        peer: peer_label(&edge.key.local, &edge.key.peer),
        concerns: concerns.len(),
        denied: refused.is_some(),
    };
    node(edge_id(edge), row, children)
}

/// When this client saw 403s / `PermissionDenied` on this edge and the server's proxy counted
/// refusals of this client's identity: what it counted, in words. Only on the client's side
/// (inbound tap never sees a policy denial) and only with the client's service account known,
/// so another client's refusals are never pinned on this one.
fn proxy_refusals(edge: &Edge, denials: &Readings) -> Option<String> {
    if edge.key.direction != Direction::Outbound || edge.refused == 0 {
        return None;
    }
    let sa = edge.local_serviceaccount.as_deref()?;
    let client = format!("{sa}.{}.serviceaccount.identity.", edge.key.local.namespace);
    // The counters name a workload by its deployment, else its pod (`routestats::denials`).
    let Some(("deploy" | "po", server)) = edge.key.peer.name.split_once('/') else {
        return None;
    };
    let namespace = &edge.key.peer.namespace;
    denials.iter().find_map(|reading| {
        let found = reading.of_client(namespace, server, Some(&client));
        let watched = reading.watched(namespace, server)?;
        if found.is_empty() {
            return None;
        }
        let total: f64 = found.iter().map(|d| d.count).sum();
        let mut places: Vec<String> = found.iter().map(|d| d.place()).collect();
        places.dedup();
        Some(format!(
            "{server}'s proxy refused {} of this client's requests {} ({}); {} 403s seen here",
            crate::units::counter_figure(total),
            reading.span(watched),
            places.join("; "),
            edge.refused
        ))
    })
}

/// Prometheus saw the two workloads talk over its window, the live sample has not (yet): the
/// edge carries identities but no request counts.
fn metrics_edge_node(edge: &MetricsOnlyEdge) -> Node {
    let none = || "none".to_owned();
    let mut children = vec![
        detail(
            "client",
            "client",
            edge.client_id.clone().unwrap_or_else(none),
            Tone::Text,
        ),
        detail(
            "server",
            "server",
            edge.server_id.clone().unwrap_or_else(none),
            Tone::Text,
        ),
    ];
    if let Some(why) = &edge.no_identity_msg {
        children.push(detail("why", "why", why.clone(), Tone::Text));
    }
    children.push(detail(
        "source",
        "source",
        "the metrics API's Edges; not seen in the live sample yet".to_owned(),
        Tone::Text,
    ));
    let row = Row::MetricsEdge {
        edge: edge.clone(),
        peer: peer_label(&edge.local, &edge.peer),
    };
    node(metrics_edge_id(edge), row, children)
}
