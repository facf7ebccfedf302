//! The two sides of one meshed call: the client proxy taps it outbound, the server proxy inbound,
//! so a capture holds it twice. The store pairs the halves as they arrive, within one cluster,
//! only when the pairing is certain (calls across clusters are paired on demand by
//! [`crate::model::crossing::counterpart`]).
//!
//! The rule: an outbound request with a server identity and an inbound request are one call when
//! they have the same method, path and authority host, the inbound's client identity is the
//! outbound's client (its service account and namespace), the outbound's server identity is the
//! inbound's pod (service account and namespace, and the same pod when both name one), and the
//! inbound started while the outbound was open. A pair is made only when each is the other's
//! sole fit: an outbound that ever fits two inbound requests, or an inbound that fits two open
//! outbound ones, stays unpaired (tap samples, so a fit may come from an untapped call).
//!
//! Cheap on ingest: open outbound requests are indexed by a hash of what must be equal, so an
//! inbound request looks at the few that could fit, never at the ring.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::num::NonZeroI32;

use crate::model::event::{ClusterName, Direction};
use crate::model::identities::identity_matches;
use crate::model::request::Request;

/// Open outbound requests waiting for their inbound side at most: past it new ones are not
/// indexed (and stay unpaired), counted in [`SidesStats::unindexed`]. The join table's TTL
/// bounds open requests long before this in practice.
pub const SIDES_OPEN_MAX: usize = 65_536;
/// What one waiting outbound request costs in the index.
const WAITING_ENTRY_BYTES: usize = size_of::<(u64, Waiting)>() + 1;

/// What pairing has done, for the status and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SidesStats {
    /// Calls whose two sides were paired (and stayed so).
    pub paired: u64,
    /// Outbound requests left unpaired because more than one inbound request fitted them, or
    /// one inbound request fitted more than one of them.
    pub contested: u64,
    /// Outbound requests not indexed because [`SIDES_OPEN_MAX`] were waiting.
    pub unindexed: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fits {
    /// No inbound request has fitted yet.
    None,
    /// Exactly one has, and the outbound was its only fit: they are paired.
    Paired(u64),
    /// More than one fitted, or the one that did fitted others too: never paired.
    Contested,
}

#[derive(Clone, Copy, Debug)]
struct Waiting {
    seq: u64,
    fits: Fits,
}

#[derive(Debug, Default)]
pub(super) struct Sides {
    /// Open outbound requests by [`outbound_key`].
    open: HashMap<u64, Vec<Waiting>>,
    waiting: usize,
    stats: SidesStats,
}

impl Sides {
    /// A request began (its request init arrived): index it if it is an outbound request that an
    /// inbound one may later fit, or pair it if it is an inbound one.
    pub(super) fn started(&mut self, requests: &mut VecDeque<Request>, seq: u64) {
        let Some(request) = get(requests, seq) else {
            return;
        };
        match request.direction() {
            Direction::Outbound => self.index(request),
            Direction::Inbound => self.pair(requests, seq),
            Direction::Unknown => {}
        }
    }

    fn index(&mut self, request: &Request) {
        let Some(key) = outbound_key(request) else {
            return;
        };
        if self.waiting >= SIDES_OPEN_MAX {
            self.stats.unindexed += 1;
            return;
        }
        self.waiting += 1;
        self.open.entry(key).or_default().push(Waiting {
            seq: request.seq,
            fits: Fits::None,
        });
    }

    fn pair(&mut self, requests: &mut VecDeque<Request>, inbound: u64) {
        let Some(key) = get(requests, inbound).and_then(inbound_key) else {
            return;
        };
        let Some(waiting) = self.open.get_mut(&key) else {
            return;
        };
        let fitting: Vec<usize> = {
            let Some(request) = get(requests, inbound) else {
                return;
            };
            (0..waiting.len())
                .filter(|&i| {
                    get(requests, waiting[i].seq)
                        .is_some_and(|out| out.is_open() && same_call(out, request))
                })
                .collect()
        };
        let only = fitting.len() == 1;
        for i in fitting {
            let w = &mut waiting[i];
            w.fits = match w.fits {
                Fits::None if only && link(requests, w.seq, inbound) => {
                    self.stats.paired += 1;
                    Fits::Paired(inbound)
                }
                Fits::Paired(earlier) => {
                    // A second fit: the first pairing was a guess after all.
                    unlink(requests, w.seq);
                    unlink(requests, earlier);
                    self.stats.paired -= 1;
                    self.stats.contested += 1;
                    Fits::Contested
                }
                Fits::None | Fits::Contested => {
                    self.stats.contested += u64::from(w.fits == Fits::None);
                    Fits::Contested
                }
            };
        }
    }

    /// A request closed (ended, expired, superseded or evicted while open): an outbound one no
    /// longer waits for its inbound side.
    pub(super) fn closed(&mut self, request: &Request) {
        if request.direction() != Direction::Outbound {
            return;
        }
        let Some(key) = outbound_key(request) else {
            return;
        };
        if let Entry::Occupied(mut entry) = self.open.entry(key) {
            let before = entry.get().len();
            entry.get_mut().retain(|w| w.seq != request.seq);
            self.waiting -= before - entry.get().len();
            if entry.get().is_empty() {
                entry.remove();
            }
        }
    }

    pub(super) fn stats(&self) -> SidesStats {
        self.stats
    }

    /// An estimate of the bytes held, in O(1).
    pub(super) fn held_bytes(&self) -> usize {
        self.waiting * WAITING_ENTRY_BYTES
    }
}

fn get(requests: &VecDeque<Request>, seq: u64) -> Option<&Request> {
    let front = requests.front()?.seq;
    requests.get(usize::try_from(seq.checked_sub(front)?).ok()?)
}

/// The other side's seq of `request`, when it was paired (it may no longer be held).
pub(super) fn other(request: &Request) -> Option<u64> {
    let offset = request.other_side?;
    request.seq.checked_add_signed(i64::from(offset.get()))
}

/// Pairs `a` and `b` (both held); `false` when they are too far apart to say so (never, in
/// practice: an `i32` of requests between the two sides of one call).
fn link(requests: &mut VecDeque<Request>, a: u64, b: u64) -> bool {
    let offset = |from: u64, to: u64| {
        i32::try_from(i128::from(to) - i128::from(from))
            .ok()
            .and_then(NonZeroI32::new)
    };
    let (Some(ab), Some(ba)) = (offset(a, b), offset(b, a)) else {
        return false;
    };
    let held = get(requests, a).is_some() && get(requests, b).is_some();
    if held {
        for (seq, offset) in [(a, ab), (b, ba)] {
            if let Some(request) = super::slot(requests, seq) {
                request.other_side = Some(offset);
            }
        }
    }
    held
}

fn unlink(requests: &mut VecDeque<Request>, seq: u64) {
    if let Some(request) = super::slot(requests, seq) {
        request.other_side = None;
    }
}

/// Whether `inbound` is the server's side of the call `outbound` is the client's side of, in one
/// cluster (the module's rule; the index already matched the hash, this checks the values).
pub fn same_call(outbound: &Request, inbound: &Request) -> bool {
    let (out_src, out_dst) = (&outbound.source.labels, &outbound.destination.labels);
    let (in_src, in_dst) = (&inbound.source.labels, &inbound.destination.labels);
    let pods_agree = match (out_dst.get("pod"), in_dst.get("pod")) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    outbound.direction() == Direction::Outbound
        && inbound.direction() == Direction::Inbound
        && outbound.cluster == inbound.cluster
        && outbound.init.is_some()
        && inbound.init.is_some()
        && outbound.method() == inbound.method()
        && outbound.path() == inbound.path()
        && host(outbound.authority()) == host(inbound.authority())
        && matches!(
            (in_src.get("client_id"), out_src.get("serviceaccount"), out_src.get("namespace")),
            (Some(id), Some(sa), Some(ns)) if identity_matches(id, sa, ns)
        )
        && matches!(
            (out_dst.get("server_id"), in_dst.get("serviceaccount"), in_dst.get("namespace")),
            (Some(id), Some(sa), Some(ns)) if identity_matches(id, sa, ns)
        )
        && pods_agree
        && inbound.started >= outbound.started
        && outbound.ended_at.is_none_or(|end| inbound.started <= end)
}

/// The authority without its port, as both sides see the same `Host` / `:authority`.
fn host(authority: &str) -> &str {
    authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host)
}

/// The index key of an outbound request that names its server's identity and its own service
/// account: what an inbound request must share to be its other side.
fn outbound_key(request: &Request) -> Option<u64> {
    let (src, dst) = (&request.source.labels, &request.destination.labels);
    let client = (src.get("serviceaccount")?, src.get("namespace")?);
    let server = account(dst.get("server_id")?)?;
    request.init.as_ref()?;
    Some(key(request, client, server))
}

/// The index key an inbound request looks its outbound side up by.
fn inbound_key(request: &Request) -> Option<u64> {
    let (src, dst) = (&request.source.labels, &request.destination.labels);
    let client = account(src.get("client_id")?)?;
    let server = (dst.get("serviceaccount")?, dst.get("namespace")?);
    request.init.as_ref()?;
    Some(key(request, client, server))
}

/// `(service account, namespace)` of a Linkerd identity.
fn account(identity: &str) -> Option<(&str, &str)> {
    let mut parts = identity.splitn(3, '.');
    let sa = parts.next()?;
    let ns = parts.next()?;
    parts
        .next()?
        .starts_with("serviceaccount.identity.")
        .then_some((sa, ns))
}

fn key(request: &Request, client: (&str, &str), server: (&str, &str)) -> u64 {
    let mut hasher = DefaultHasher::new();
    request
        .cluster
        .as_ref()
        .map(ClusterName::as_str)
        .hash(&mut hasher);
    request.method().hash(&mut hasher);
    request.path().hash(&mut hasher);
    host(request.authority()).hash(&mut hasher);
    client.hash(&mut hasher);
    server.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
#[path = "sides/tests.rs"]
mod tests;
