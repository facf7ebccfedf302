//! Matching a parsed filter against a request. This runs over every stored request each frame
//! while a filter is active, so it never allocates: values were converted at parse time, and
//! composed text (`ns/name`, IPs) is written into a stack buffer.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ast::{Bound, Cmp, Expr, Flag, Mode, Pattern, Side, Term, TextField, TimeField};
use crate::model::event::{Direction, Endpoint};
use crate::model::policy::MatchedRoute;
use crate::model::request::{Phase, Request, workload};

impl Expr {
    /// `now` is the session clock's (`crate::session::Clock`): relative times count from it.
    pub(super) fn matches(&self, request: &Request, now: DateTime<Utc>) -> bool {
        match self {
            Expr::Term(term) => term.matches(request, now),
            Expr::Flag(flag) => flag.matches(request),
            Expr::Not(inner) => !inner.matches(request, now),
            Expr::And(items) => items.iter().all(|item| item.matches(request, now)),
            Expr::Or(items) => items.iter().any(|item| item.matches(request, now)),
        }
    }
}

impl Flag {
    fn matches(self, request: &Request) -> bool {
        match self {
            Flag::Ok => request.success() == Some(true),
            Flag::Failed => request.success() == Some(false),
            Flag::Inflight => request.is_open(),
            Flag::Expired => request.phase() == Phase::Expired,
            Flag::Reset => request.reset_code().is_some(),
            Flag::Mtls => request.identity().1 == "true",
            Flag::Orphan => request.init.is_none(),
        }
    }
}

fn nanos(duration: Option<Duration>) -> Option<u64> {
    duration.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Term {
    /// A comparison on a value the request does not have is false, whatever the operator:
    /// `status!=200` does not match a request still waiting for its response.
    fn matches(&self, request: &Request, now: DateTime<Utc>) -> bool {
        match self {
            Term::Text { field, op, pattern } => {
                let found = visit(field, request, &mut |text| pattern.test(text));
                found == Some(!op.negated())
            }
            Term::Dir { cmp, dir } => {
                // Unknown direction is a missing value.
                let actual = request.direction();
                actual != Direction::Unknown && (actual == *dir) == (*cmp == Cmp::Eq)
            }
            Term::Status { cmp, lo, hi } => request
                .http_status()
                .is_some_and(|s| cmp.test(u64::from(s), u64::from(*lo), u64::from(*hi))),
            Term::Grpc { cmp, code } => request
                .grpc_status()
                .is_some_and(|c| cmp.test(u64::from(c), u64::from(*code), u64::from(*code))),
            Term::Time {
                field,
                cmp,
                nanos: limit,
            } => {
                let actual = match field {
                    TimeField::Latency => nanos(request.latency()),
                    TimeField::Duration => nanos(request.duration()),
                };
                actual.is_some_and(|v| cmp.test(v, *limit, *limit))
            }
            Term::Bytes { cmp, bytes } => request
                .response_bytes()
                .is_some_and(|v| cmp.test(v, *bytes, *bytes)),
            Term::Moment { bound, at } => {
                let at = at.resolve(now);
                match bound {
                    Bound::Since => request.started >= at,
                    Bound::Until => request.started <= at,
                }
            }
            // A request stamped after now (clock skew between sources) is of age zero.
            Term::Age { cmp, nanos: limit } => {
                let age = (now - request.started)
                    .to_std()
                    .unwrap_or_default()
                    .as_nanos();
                let age = u64::try_from(age).unwrap_or(u64::MAX);
                cmp.test(age, *limit, *limit)
            }
            Term::To {
                cmp, label, name, ..
            } => request
                .destination
                .labels
                .get(label)
                .is_some_and(|v| (v == name.as_ref()) == (*cmp == Cmp::Eq)),
        }
    }
}

/// Calls `test` on each value `field` has in `request`: `None` when it has none, else whether
/// any passed.
fn visit(
    field: &TextField,
    request: &Request,
    test: &mut dyn FnMut(&[u8]) -> bool,
) -> Option<bool> {
    let mut seen = false;
    let mut hit = false;
    let mut offer = |value: Option<&[u8]>| {
        if let Some(value) = value {
            seen = true;
            hit = hit || test(value);
        }
    };
    let init = request.init.as_ref();
    // The outbound policy's match, unless a ServiceProfile route won (as in the proxy).
    let policy = init
        .and_then(|i| i.matched_route.as_deref())
        .filter(|_| request.route.get("route").is_none_or(str::is_empty));
    match field {
        TextField::Label(side, key) => {
            if *side != Side::Dst {
                offer(request.source.labels.get(key).map(str::as_bytes));
            }
            if *side != Side::Src {
                offer(request.destination.labels.get(key).map(str::as_bytes));
            }
        }
        TextField::Src => endpoint(&request.source, &mut offer),
        TextField::Dst => endpoint(&request.destination, &mut offer),
        TextField::Method => offer(init.and_then(|i| i.method.as_deref()).map(str::as_bytes)),
        TextField::Scheme => offer(init.and_then(|i| i.scheme.as_deref()).map(str::as_bytes)),
        TextField::Path => offer(init.map(|i| i.path.as_bytes())),
        TextField::Authority => offer(init.map(|i| i.authority.as_bytes())),
        TextField::Tls => offer(
            Some(request.identity().1)
                .filter(|t| !t.is_empty())
                .map(str::as_bytes),
        ),
        TextField::Id => offer(request.identity().0.map(str::as_bytes)),
        // The route label when a ServiceProfile matched, else the outbound policy route, else
        // the inbound policy route, else the path.
        TextField::Route => offer(
            request
                .route
                .get("route")
                .filter(|r| !r.is_empty())
                .or_else(|| policy.map(MatchedRoute::name))
                .or_else(|| request.destination.labels.get("route_name"))
                .map(str::as_bytes)
                .or_else(|| init.map(|i| i.path.as_bytes())),
        ),
        TextField::Rule => {
            let mut buf = StackText::default();
            offer(
                policy
                    .and_then(|m| m.rule)
                    .and_then(|r| buf.format(format_args!("{r}"))),
            );
        }
        TextField::Backend => offer(
            policy
                .map(MatchedRoute::backend_name)
                .filter(|b| !b.is_empty())
                .or_else(|| {
                    (request.direction() == Direction::Outbound)
                        .then(|| request.destination.labels.get("service"))
                        .flatten()
                })
                .map(str::as_bytes),
        ),
        TextField::Parent => match policy.and_then(|m| m.parent.as_ref()) {
            Some(parent) => {
                offer(Some(parent.name.as_bytes()));
                let mut buf = StackText::default();
                if let Some(port) = parent.port {
                    offer(buf.format(format_args!("{}:{port}", parent.name)));
                }
            }
            None => offer(
                request
                    .destination
                    .labels
                    .get("srv_name")
                    .map(str::as_bytes),
            ),
        },
        TextField::Trace => {
            let hex = crate::trace::trace_id(request).map(|id| id.hex());
            offer(hex.as_ref().map(<[u8; 32]>::as_slice));
        }
        TextField::RequestId => offer(
            crate::trace::TraceIds::of(request)
                .request_id
                .map(str::as_bytes),
        ),
        TextField::Cluster => offer(request.cluster.as_ref().map(|c| c.as_str().as_bytes())),
        TextField::Header(name) => {
            for header in init.into_iter().flat_map(|i| &i.headers) {
                if header.name.eq_ignore_ascii_case(name) {
                    offer(Some(header.value.as_bytes()));
                }
            }
        }
    }
    seen.then_some(hit)
}

/// An endpoint's texts: `ns/name` and `kind/name` of its workload, the bare name, its pod and
/// its IP.
fn endpoint(endpoint: &Endpoint, offer: &mut dyn FnMut(Option<&[u8]>)) {
    let mut buf = StackText::default();
    if let Some((ns, kind, name)) = workload(endpoint) {
        offer(buf.concat(&[ns, "/", name]));
        offer(buf.concat(&[kind, "/", name]));
        offer(Some(name.as_bytes()));
    }
    offer(endpoint.labels.get("pod").map(str::as_bytes));
    if let Some(addr) = endpoint.addr {
        offer(buf.format(format_args!("{}", addr.ip())));
    }
}

/// A fixed buffer for composed text. Kubernetes names are at most 253 bytes and namespaces 63,
/// so `ns/name` always fits; anything longer is skipped rather than allocated.
struct StackText {
    buf: [u8; 320],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            buf: [0; 320],
            len: 0,
        }
    }
}

impl StackText {
    /// Joins `parts` by copying bytes: much cheaper than the formatting machinery, and this
    /// runs for every request when `src`/`dst` is filtered on.
    fn concat(&mut self, parts: &[&str]) -> Option<&[u8]> {
        self.len = 0;
        for part in parts {
            self.write_str(part).ok()?;
        }
        Some(&self.buf[..self.len])
    }

    fn format(&mut self, args: std::fmt::Arguments<'_>) -> Option<&[u8]> {
        self.len = 0;
        self.write_fmt(args).ok()?;
        Some(&self.buf[..self.len])
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Pattern {
    fn test(&self, text: &[u8]) -> bool {
        let pattern = self.text.as_bytes();
        let eq = |a: &[u8], b: &[u8]| {
            if self.ci {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        match self.mode {
            Mode::Exact => eq(pattern, text),
            // `windows(0)` would panic; the empty string is in everything.
            Mode::Substring => {
                pattern.is_empty() || text.windows(pattern.len()).any(|w| eq(w, pattern))
            }
            Mode::Glob => glob(pattern, text, self.ci),
        }
    }
}

fn byte_eq(a: u8, b: u8, ci: bool) -> bool {
    a == b || (ci && a.eq_ignore_ascii_case(&b))
}

/// Length of the UTF-8 sequence starting with `lead`, so `?` consumes one character.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Anchored glob: `*` is any run of characters, `?` exactly one. Linear backtracking on the last
/// star, so hostile patterns cannot blow up.
fn glob(pattern: &[u8], text: &[u8], ci: bool) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t = (t + char_len(text[t])).min(text.len());
                continue;
            }
            Some(&c) if byte_eq(c, text[t], ci) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        let Some((after_star, from)) = star else {
            return false;
        };
        let next = (from + char_len(text[from])).min(text.len());
        star = Some((after_star, next));
        p = after_star;
        t = next;
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob(b"*.shop.*", b"web.shop.serviceaccount", false));
        assert!(glob(b"/users/*", b"/users/12", false));
        assert!(!glob(b"/users/*", b"/user", false));
        assert!(glob(b"a?c", "aéc".as_bytes(), false));
        assert!(glob(b"GET", b"get", true));
        assert!(!glob(b"GET", b"get", false));
        assert!(glob(b"**", b"", false));
        assert!(!glob(b"*a*a*a*a*b", &[b'a'; 64], false));
    }
}
