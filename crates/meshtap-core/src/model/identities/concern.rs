//! What on an edge should worry a user, in words.

use super::Edge;
use crate::model::event::{Direction, Text};

/// Something on an edge that should worry a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Concern {
    /// Plaintext although both ends run a proxy.
    PlaintextBetweenMeshed {
        requests: u64,
    },
    /// The identity is not `<peer serviceaccount>.<peer namespace>.serviceaccount.identity.…`.
    IdentityMismatch {
        requests: u64,
    },
    /// Plaintext allowed by a default policy that admits unauthenticated clients.
    UnauthenticatedAllowed {
        policy: Text,
        requests: u64,
    },
    Denied {
        requests: u64,
    },
}

impl Concern {
    pub fn describe(&self, edge: &Edge) -> String {
        match self {
            Concern::PlaintextBetweenMeshed { requests } => {
                format!("{requests} plaintext requests between meshed workloads")
            }
            Concern::IdentityMismatch { requests } => {
                let who = if edge.key.direction == Direction::Inbound {
                    "client"
                } else {
                    "server"
                };
                let sa = edge.peer_serviceaccount.as_deref().unwrap_or("?");
                format!(
                    "{requests} requests with a {who} identity not of service account {sa} in {}",
                    edge.key.peer.namespace
                )
            }
            Concern::UnauthenticatedAllowed { policy, requests } => {
                format!(
                    "{requests} plaintext requests allowed by default policy {policy} (no authorization policy requires mTLS)"
                )
            }
            Concern::Denied { requests } => format!("{requests} requests denied by policy"),
        }
    }
}
