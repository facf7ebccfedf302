//! Who talks to whom, and with which identities: one edge per (direction, reporting workload,
//! peer workload), fed the same finished requests as the route table.
//!
//! The reporting proxy is the local end: the destination for inbound, the source for outbound.
//! Recording does not allocate after an edge's first request, unless its identity changes.

mod concern;
pub mod tls;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::event::{Direction, Endpoint, Text};
use super::request::{Request, workload};
pub use concern::Concern;
pub use tls::{TlsState, identity_matches, short_identity, trust_domain};

/// Distinct edges kept; requests on further edges are only counted.
pub const MAX_EDGES: usize = 5_000;
/// Distinct identities counted for the summary; past this the count stops growing (an
/// identity that keeps changing on one edge must not grow memory without bound).
pub const MAX_IDENTITIES: usize = 2 * MAX_EDGES;
const SEP: char = '\u{1f}';

/// A workload as the tree shows it: namespace, and `kind/name` (or an IP when unknown).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadId {
    pub namespace: Text,
    pub name: Text,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EdgeKey {
    pub direction: Direction,
    /// The workload whose proxy reported the requests.
    pub local: WorkloadId,
    pub peer: WorkloadId,
}

impl EdgeKey {
    /// The client and the server of this edge.
    pub fn client_server(&self) -> (&WorkloadId, &WorkloadId) {
        match self.direction {
            Direction::Inbound => (&self.peer, &self.local),
            Direction::Outbound | Direction::Unknown => (&self.local, &self.peer),
        }
    }
}

/// Everything seen on one edge.
#[derive(Clone, Debug)]
pub struct Edge {
    pub key: EdgeKey,
    pub requests: u64,
    /// Requests per [`TlsState`], indexed by [`TlsState::index`].
    pub tls: [u64; TlsState::COUNT],
    /// The last identity Linkerd reported: the client's (inbound) or the server's (outbound).
    pub identity: Option<Text>,
    /// The service accounts the peer and the local workload run as, when the labels said.
    pub peer_serviceaccount: Option<Text>,
    pub local_serviceaccount: Option<Text>,
    /// mTLS requests whose identity does not belong to the peer's service account + namespace.
    pub identity_mismatches: u64,
    /// More than one identity was seen on this edge.
    pub identity_changed: bool,
    /// The last inbound authorization that allowed a request (`authz_kind`, `authz_name`).
    pub authz: Option<(Text, Text)>,
    /// Inbound plaintext requests allowed only by a default policy that admits unauthenticated
    /// clients.
    pub unauthenticated_allowed: u64,
    /// Inbound 403 / `PermissionDenied` with no authorization matched: the policy said no.
    pub denied: u64,
    /// Outbound 403 / `PermissionDenied` the client saw: the server's proxy's refusal or the
    /// application's, which tap alone cannot tell apart on Linkerd ≥ 2.15 (PROTOCOL.md §9).
    pub refused: u64,
    pub last_seen: DateTime<Utc>,
}

impl Edge {
    pub fn mtls(&self) -> u64 {
        self.tls[TlsState::Mtls.index()]
    }

    pub fn plaintext(&self) -> u64 {
        TlsState::ALL
            .iter()
            .filter(|s| s.is_plaintext())
            .map(|s| self.tls[s.index()])
            .sum()
    }

    /// Share of requests on mTLS.
    pub fn secured_share(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.mtls() as f64 / self.requests as f64
        }
    }

    /// The TLS state most requests had.
    pub fn dominant_tls(&self) -> TlsState {
        TlsState::ALL
            .iter()
            .copied()
            .max_by_key(|s| (self.tls[s.index()], std::cmp::Reverse(s.index())))
            .unwrap_or(TlsState::Missing)
    }
}

/// The one-line summary at the top of the pane.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IdentitySummary {
    pub requests: u64,
    pub mtls: u64,
    pub identities: usize,
    pub plaintext_edges: usize,
    pub edges_with_concerns: usize,
    pub dropped_requests: u64,
}

#[derive(Debug, Default)]
pub struct IdentityTable {
    index: HashMap<Box<str>, usize>,
    edges: Vec<Edge>,
    identities: HashSet<Text>,
    scratch: String,
    requests: u64,
    mtls: u64,
    /// Requests on edges beyond [`MAX_EDGES`].
    dropped: u64,
}

impl IdentityTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn rebuild<'a>(requests: impl IntoIterator<Item = &'a Request>) -> Self {
        let mut table = Self::new();
        for request in requests {
            if !request.is_open() {
                table.record(request);
            }
        }
        table
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub fn len(&self) -> usize {
        self.edges.len()
    }

    /// Requests recorded, on tracked edges or not: grows with every request.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Adds one finished or expired request.
    pub fn record(&mut self, request: &Request) {
        let direction = request.direction();
        let (local, peer) = match direction {
            Direction::Inbound => (&request.destination, &request.source),
            Direction::Outbound | Direction::Unknown => (&request.source, &request.destination),
        };
        let (identity, tls_label) = request.identity();
        let state = TlsState::from_label(tls_label);
        self.requests += 1;
        self.mtls += u64::from(state.is_mtls());

        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.push(direction.short().chars().next().unwrap_or('?'));
        scratch.push(SEP);
        write_workload(&mut scratch, local);
        scratch.push(SEP);
        write_workload(&mut scratch, peer);
        let index = match self.index.get(scratch.as_str()) {
            Some(&index) => Some(index),
            None => self.insert(&scratch, direction, (local, peer), request.started),
        };
        self.scratch = scratch;
        let Some(edge) = index.and_then(|i| self.edges.get_mut(i)) else {
            self.dropped += 1;
            return;
        };

        edge.requests += 1;
        edge.tls[state.index()] += 1;
        edge.last_seen = edge.last_seen.max(request.started);
        if let Some(id) = identity.filter(|id| !id.is_empty()) {
            if edge.identity.as_deref() != Some(id) {
                edge.identity_changed |= edge.identity.is_some();
                let id = Text::from(id);
                if self.identities.len() < MAX_IDENTITIES {
                    self.identities.insert(id.clone());
                }
                edge.identity = Some(id);
            }
            let peer_ns = peer.labels.get("namespace");
            if let (Some(sa), Some(ns), true) =
                (peer.labels.get("serviceaccount"), peer_ns, state.is_mtls())
                && !identity_matches(id, sa, ns)
            {
                edge.identity_mismatches += 1;
            }
        }
        if direction == Direction::Outbound
            && (request.http_status() == Some(403) || request.grpc_status() == Some(7))
        {
            edge.refused += 1;
        }
        if direction == Direction::Inbound {
            record_authz(edge, request);
        }
    }

    fn insert(
        &mut self,
        lookup: &str,
        direction: Direction,
        (local, peer): (&Endpoint, &Endpoint),
        now: DateTime<Utc>,
    ) -> Option<usize> {
        if self.edges.len() >= MAX_EDGES {
            return None;
        }
        let mut parts = lookup.split(SEP).skip(1);
        let mut workload_id = || {
            let (namespace, name) = parts
                .next()
                .unwrap_or("")
                .split_once('/')
                .unwrap_or(("", ""));
            WorkloadId {
                namespace: Text::from(namespace),
                name: Text::from(name),
            }
        };
        let local_id = workload_id();
        let peer_id = workload_id();
        self.edges.push(Edge {
            key: EdgeKey {
                direction,
                local: local_id,
                peer: peer_id,
            },
            requests: 0,
            tls: [0; TlsState::COUNT],
            identity: None,
            peer_serviceaccount: peer.labels.get("serviceaccount").map(Text::from),
            local_serviceaccount: local.labels.get("serviceaccount").map(Text::from),
            identity_mismatches: 0,
            identity_changed: false,
            authz: None,
            unauthenticated_allowed: 0,
            denied: 0,
            refused: 0,
            last_seen: now,
        });
        let index = self.edges.len() - 1;
        self.index.insert(lookup.into(), index);
        Some(index)
    }

    /// Workloads known to run a proxy: every reporter, and every peer that spoke mTLS.
    pub fn meshed(&self) -> HashSet<&WorkloadId> {
        let mut meshed: HashSet<&WorkloadId> = self.edges.iter().map(|e| &e.key.local).collect();
        meshed.extend(
            self.edges
                .iter()
                .filter(|e| e.mtls() > 0)
                .map(|e| &e.key.peer),
        );
        meshed
    }

    /// What should worry a user about `edge`; `meshed` from [`IdentityTable::meshed`].
    pub fn concerns(edge: &Edge, meshed: &HashSet<&WorkloadId>) -> Vec<Concern> {
        let mut concerns = Vec::new();
        let plaintext = edge.plaintext();
        if plaintext > 0 && meshed.contains(&edge.key.peer) && meshed.contains(&edge.key.local) {
            concerns.push(Concern::PlaintextBetweenMeshed {
                requests: plaintext,
            });
        }
        if edge.identity_mismatches > 0 {
            concerns.push(Concern::IdentityMismatch {
                requests: edge.identity_mismatches,
            });
        }
        if edge.unauthenticated_allowed > 0 {
            let policy = edge
                .authz
                .as_ref()
                .map_or_else(|| Text::from("?"), |(_, name)| name.clone());
            concerns.push(Concern::UnauthenticatedAllowed {
                policy,
                requests: edge.unauthenticated_allowed,
            });
        }
        if edge.denied > 0 {
            concerns.push(Concern::Denied {
                requests: edge.denied,
            });
        }
        concerns
    }

    /// The identity a workload's proxy should present, built from its service account and the
    /// trust domain seen on this edge (else anywhere); `None` when either is unknown.
    pub fn expected_identity(&self, edge: &Edge, local: bool) -> Option<String> {
        let domain = edge
            .identity
            .as_deref()
            .and_then(trust_domain)
            .or_else(|| self.identities.iter().find_map(|id| trust_domain(id)))?;
        let (sa, ns) = if local {
            (
                edge.local_serviceaccount.as_deref()?,
                &edge.key.local.namespace,
            )
        } else {
            (
                edge.peer_serviceaccount.as_deref()?,
                &edge.key.peer.namespace,
            )
        };
        Some(format!("{sa}.{ns}.serviceaccount.identity.{domain}"))
    }

    pub fn summary(&self) -> IdentitySummary {
        let meshed = self.meshed();
        IdentitySummary {
            requests: self.requests,
            mtls: self.mtls,
            identities: self.identities.len(),
            plaintext_edges: self.edges.iter().filter(|e| e.plaintext() > 0).count(),
            edges_with_concerns: self
                .edges
                .iter()
                .filter(|e| !Self::concerns(e, &meshed).is_empty())
                .count(),
            dropped_requests: self.dropped,
        }
    }
}

fn record_authz(edge: &mut Edge, request: &Request) {
    let labels = &request.destination.labels;
    let kind = labels.get("authz_kind").filter(|k| !k.is_empty());
    let name = labels.get("authz_name").filter(|n| !n.is_empty());
    let refused = request.http_status() == Some(403) || request.grpc_status() == Some(7);
    match (kind, name) {
        (Some(kind), Some(name)) => {
            if edge
                .authz
                .as_ref()
                .is_none_or(|(k, n)| k.as_ref() != kind || n.as_ref() != name)
            {
                edge.authz = Some((Text::from(kind), Text::from(name)));
            }
            // Linkerd's default policy admits everyone, so mTLS traffic under it is normal;
            // what deserves a look is plaintext that it let in.
            let plaintext = request.identity().1 != "true";
            if kind == "default" && name.contains("unauthenticated") && plaintext {
                edge.unauthenticated_allowed += 1;
            }
        }
        // The proxy refuses with 403 / PermissionDenied when no authorization matches; a 403
        // that carries an authorization came from the application.
        _ if refused => edge.denied += 1,
        _ => {}
    }
}

/// `namespace/kind/name`, else `namespace/ip`, else `/?`.
pub(super) fn write_workload(out: &mut String, endpoint: &Endpoint) {
    let namespace = endpoint.labels.get("namespace").unwrap_or("");
    out.push_str(namespace);
    out.push('/');
    if let Some((_, kind, name)) = workload(endpoint) {
        out.push_str(kind);
        out.push('/');
        out.push_str(name);
    } else if let Some(addr) = endpoint.addr {
        let _ = write!(out, "{}", addr.ip());
    } else {
        out.push('?');
    }
}

#[cfg(test)]
mod tests;
