//! Picks the route and rule for a request the way linkerd2-proxy does: per route, the best host
//! match, then its best rule (a rule's best match; no matches is the implicit prefix "/"); the
//! best route wins, and the earlier route or rule wins a tie (the controller orders routes by
//! creation time, then name).

use std::cmp::Ordering;

use super::grpc::GrpcRank;
use super::http::{HttpRank, Verdict};
use super::{HostMatch, OutboundPolicy, PolicyRoute, RuleMatches};
use crate::model::event::Headers;

/// The parts of a request a route can match, borrowed from its `request_init`.
#[derive(Clone, Copy, Debug)]
pub struct RequestLine<'a> {
    /// `None` when tap carried no method (Linkerd's tools print `GET`).
    pub method: Option<&'a str>,
    pub authority: &'a str,
    /// The path with its query.
    pub path: &'a str,
    /// `None` when the tap did not ask for headers: header matches are then unknown, and a
    /// choice that rests on one is not made.
    pub headers: Option<&'a Headers>,
}

impl<'a> RequestLine<'a> {
    pub(super) fn method(&self) -> &'a str {
        self.method.unwrap_or("GET")
    }

    /// The path without its query or fragment, and the query.
    pub(super) fn path_and_query(&self) -> (&'a str, &'a str) {
        let path = self.path.split('#').next().unwrap_or("");
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        (if path.is_empty() { "/" } else { path }, query)
    }

    fn host(&self) -> &'a str {
        let authority = self
            .authority
            .rsplit_once('@')
            .map_or(self.authority, |(_, h)| h);
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        }
    }
}

/// The route and rule picked, as indexes into the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selected {
    pub route: usize,
    pub rule: usize,
}

/// How a route's hosts matched: an exact host beats any suffix, a longer suffix a shorter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HostRank {
    Suffix(usize),
    Exact,
}

/// A rule's rank in its protocol; rules of another protocol never match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rank {
    Http(HttpRank),
    Grpc(GrpcRank),
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Rank::Http(a), Rank::Http(b)) => Some(a.cmp(b)),
            (Rank::Grpc(a), Rank::Grpc(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// A candidate: (host rank, rule rank) and where it came from.
type Candidate = ((Option<HostRank>, Rank), Selected);
/// A rule's rank and its index in the route.
type RuleHit = Option<(Rank, usize)>;

pub(super) fn select(policy: &OutboundPolicy, request: &RequestLine<'_>) -> Option<Selected> {
    let mut best: Option<Candidate> = None;
    let mut best_unknown: Option<Candidate> = None;
    for (index, route) in policy.routes.iter().enumerate() {
        let Some(host) = host_rank(route, request.host()) else {
            continue;
        };
        let (known, unknown) = best_rule(route, request);
        if let Some((rank, rule)) = known {
            keep_first_max(&mut best, ((host, rank), Selected { route: index, rule }));
        }
        if let Some((rank, rule)) = unknown {
            keep_first_max(
                &mut best_unknown,
                ((host, rank), Selected { route: index, rule }),
            );
        }
    }
    // A rule resting on unseen headers that would outrank the choice makes it a guess.
    if let Some((unknown, at)) = best_unknown {
        match &best {
            Some((known, chosen)) if !outranks((&unknown, at), (known, *chosen)) => {}
            _ => return None,
        }
    }
    best.map(|(_, selected)| selected)
}

/// `None` when the route's hosts exclude the request; `Some(None)` when it has none.
#[allow(clippy::option_option, reason = "excluded vs no hosts vs matched host")]
fn host_rank(route: &PolicyRoute, host: &str) -> Option<Option<HostRank>> {
    if route.hosts.is_empty() {
        return Some(None);
    }
    let host = host.trim_end_matches('.');
    route
        .hosts
        .iter()
        .filter_map(|m| match m {
            HostMatch::Exact(exact) => exact.eq_ignore_ascii_case(host).then_some(HostRank::Exact),
            HostMatch::Suffix(suffix) => {
                let n = suffix.len();
                (host.len() > n + 1
                    && host[host.len() - n..].eq_ignore_ascii_case(suffix)
                    && host.as_bytes()[host.len() - n - 1] == b'.')
                    .then_some(HostRank::Suffix(n))
            }
        })
        .max()
        .map(Some)
}

/// The route's best rule among those known to match, and the best among those that would if
/// unseen headers allowed, each with its index.
fn best_rule(route: &PolicyRoute, request: &RequestLine<'_>) -> (RuleHit, RuleHit) {
    let mut known: RuleHit = None;
    let mut unknown: RuleHit = None;
    for (index, rule) in route.rules.iter().enumerate() {
        let (yes, maybe) = match &rule.matches {
            RuleMatches::Http(matches) if matches.is_empty() => {
                (Some(Rank::Http(HttpRank::IMPLICIT)), None)
            }
            RuleMatches::Grpc(matches) if matches.is_empty() => {
                (Some(Rank::Grpc(GrpcRank::IMPLICIT)), None)
            }
            RuleMatches::Http(matches) => fold(matches.iter().map(|m| m.rank(request)), Rank::Http),
            RuleMatches::Grpc(matches) => fold(matches.iter().map(|m| m.rank(request)), Rank::Grpc),
        };
        if let Some(rank) = yes {
            keep_first_max(&mut known, (rank, index));
        }
        if let Some(rank) = maybe {
            keep_first_max(&mut unknown, (rank, index));
        }
    }
    (known, unknown)
}

/// The best definite and the best unknown verdict of a rule's matches (first wins a tie).
fn fold<R: Ord + Copy>(
    verdicts: impl Iterator<Item = Verdict<R>>,
    wrap: fn(R) -> Rank,
) -> (Option<Rank>, Option<Rank>) {
    let (mut yes, mut maybe): (Option<R>, Option<R>) = (None, None);
    for verdict in verdicts {
        match verdict {
            Verdict::Yes(r) if yes.is_none_or(|y| r > y) => yes = Some(r),
            Verdict::Unknown(r) if maybe.is_none_or(|m| r > m) => maybe = Some(r),
            _ => {}
        }
    }
    // An unknown match no better than a definite one changes nothing.
    let maybe = maybe.filter(|m| yes.is_none_or(|y| m > &y));
    (yes.map(wrap), maybe.map(wrap))
}

/// Replaces `slot` only with something strictly better: the first of equals stays.
fn keep_first_max<K: PartialOrd, V>(slot: &mut Option<(K, V)>, candidate: (K, V)) {
    match slot {
        Some((kept, _)) if candidate.0.partial_cmp(kept) != Some(std::cmp::Ordering::Greater) => {}
        _ => *slot = Some(candidate),
    }
}

/// Whether candidate `a` would be picked over `b`: strictly better, or as good and earlier.
fn outranks<K: PartialOrd>(a: (&K, Selected), b: (&K, Selected)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && (a.1.route, a.1.rule) < (b.1.route, b.1.rule))
}
