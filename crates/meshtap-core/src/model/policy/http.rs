//! `HTTPRoute` matches and how well a request meets one (`http_route.proto`; Gateway API
//! precedence as linkerd2-proxy ranks it).

use std::cmp::Ordering;

use regex::Regex;

use super::select::RequestLine;
use crate::model::event::Text;

/// Why a policy could not be turned into matchers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid regular expression {pattern:?} in a route match: {reason}")]
    Regex { pattern: String, reason: String },
}

/// Compiles `pattern` anchored at both ends, as the proxy applies route regexes.
fn anchored(pattern: &str) -> Result<Regex, PolicyError> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| PolicyError::Regex {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    })
}

/// A path match.
#[derive(Clone, Debug)]
pub enum PathMatch {
    Exact(Box<str>),
    /// Matches whole segments: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`.
    Prefix(Box<str>),
    Regex(Regex),
}

impl PathMatch {
    pub fn regex(pattern: &str) -> Result<Self, PolicyError> {
        anchored(pattern).map(PathMatch::Regex)
    }

    /// How well `path` (without its query) meets this match; `None` when it does not.
    fn rank(&self, path: &str) -> Option<PathRank> {
        match self {
            PathMatch::Exact(exact) => (exact.as_ref() == path).then_some(PathRank::Exact),
            PathMatch::Prefix(prefix) => {
                let prefix = prefix.trim_end_matches('/');
                if prefix.is_empty() {
                    return Some(PathRank::Prefix(1));
                }
                let rest = path.trim_end_matches('/').strip_prefix(prefix)?;
                (rest.is_empty() || rest.starts_with('/')).then_some(PathRank::Prefix(prefix.len()))
            }
            PathMatch::Regex(re) => re.is_match(path).then_some(PathRank::Regex(path.len())),
        }
    }
}

impl PartialEq for PathMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PathMatch::Exact(a), PathMatch::Exact(b))
            | (PathMatch::Prefix(a), PathMatch::Prefix(b)) => a == b,
            (PathMatch::Regex(a), PathMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for PathMatch {}

/// How a path matched, best last: any regex < any prefix (longer better) < exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PathRank {
    Regex(usize),
    Prefix(usize),
    Exact,
}

/// An exact or regular-expression value.
#[derive(Clone, Debug)]
pub enum ValueMatch {
    Exact(Box<[u8]>),
    Regex(Regex),
}

impl ValueMatch {
    pub fn regex(pattern: &str) -> Result<Self, PolicyError> {
        anchored(pattern).map(ValueMatch::Regex)
    }

    pub(super) fn is_match(&self, value: &[u8]) -> bool {
        match self {
            ValueMatch::Exact(exact) => exact.as_ref() == value,
            ValueMatch::Regex(re) => std::str::from_utf8(value).is_ok_and(|v| re.is_match(v)),
        }
    }
}

impl PartialEq for ValueMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ValueMatch::Exact(a), ValueMatch::Exact(b)) => a == b,
            (ValueMatch::Regex(a), ValueMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for ValueMatch {}

/// A header must be present with a matching value (names compare case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMatch {
    pub name: Text,
    pub value: ValueMatch,
}

/// A query parameter must be present with a matching value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryMatch {
    pub name: Text,
    pub value: ValueMatch,
}

/// One `HTTPRouteMatch`: every part present must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpMatch {
    pub path: Option<PathMatch>,
    pub headers: Vec<HeaderMatch>,
    pub query: Vec<QueryMatch>,
    /// Upper-case method name.
    pub method: Option<Text>,
}

/// How well a request meets an [`HttpMatch`]; greater is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct HttpRank {
    path: PathRank,
    method: bool,
    headers: usize,
    query: usize,
}

impl HttpRank {
    /// A rule without matches: the implicit prefix "/".
    pub(super) const IMPLICIT: Self = Self {
        path: PathRank::Prefix(1),
        method: false,
        headers: 0,
        query: 0,
    };
}

impl PartialOrd for HttpRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HttpRank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.path
            .cmp(&other.path)
            .then(self.method.cmp(&other.method))
            .then(self.headers.cmp(&other.headers))
            .then(self.query.cmp(&other.query))
    }
}

/// Whether a match holds, and how well; `Unknown` when it rests on headers tap did not carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict<R> {
    No,
    Yes(R),
    /// Everything but the headers holds, with this rank if they did too.
    Unknown(R),
}

impl HttpMatch {
    pub(super) fn rank(&self, request: &RequestLine<'_>) -> Verdict<HttpRank> {
        if let Some(method) = &self.method
            && !method.eq_ignore_ascii_case(request.method())
        {
            return Verdict::No;
        }
        let (path, query) = request.path_and_query();
        let path_rank = match &self.path {
            Some(m) => match m.rank(path) {
                Some(rank) => rank,
                None => return Verdict::No,
            },
            None => PathRank::Prefix(1),
        };
        if !self
            .query
            .iter()
            .all(|q| query_values(query, &q.name).any(|v| q.value.is_match(v.as_bytes())))
        {
            return Verdict::No;
        }
        let rank = HttpRank {
            path: path_rank,
            method: self.method.is_some(),
            headers: self.headers.len(),
            query: self.query.len(),
        };
        match headers_hold(&self.headers, request) {
            Some(true) => Verdict::Yes(rank),
            Some(false) => Verdict::No,
            None => Verdict::Unknown(rank),
        }
    }
}

/// Whether every header match holds; `None` when it depends on headers tap did not carry.
pub(super) fn headers_hold(matches: &[HeaderMatch], request: &RequestLine<'_>) -> Option<bool> {
    if matches.is_empty() {
        return Some(true);
    }
    let headers = request.headers?;
    Some(matches.iter().all(|m| {
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(&m.name))
            .any(|h| m.value.is_match(h.value.as_bytes()))
    }))
}

/// The values of query parameter `name` in `query` (undecoded, as the proxy compares them).
fn query_values<'a>(query: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    query.split('&').filter_map(move |pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}
