//! Which parts of a filter Linkerd's tap server can apply: its `match` accepts only a top-level
//! `all` of destinations and exact authority / method / scheme or path-prefix HTTP matches.

use super::ast::{Cmp, Expr, Mode, Term, TextField, TextOp};
use crate::session::HttpMatch;

pub(super) fn split(expr: Option<&Expr>) -> (HttpMatch, Option<String>, Option<Expr>) {
    let mut http = HttpMatch::default();
    let mut to = None;
    let operands: &[Expr] = match expr {
        None => return (http, to, None),
        Some(Expr::And(items)) => items,
        Some(single) => std::slice::from_ref(single),
    };
    let mut rest = Vec::new();
    for operand in operands {
        match push(operand, &mut http, &mut to) {
            Pushed::Fully => {}
            Pushed::AlsoClient | Pushed::No => rest.push(operand.clone()),
        }
    }
    let rest = match rest.len() {
        0 => None,
        1 => rest.pop(),
        _ => Some(Expr::And(rest)),
    };
    (http, to, rest)
}

enum Pushed {
    /// The server does exactly this; the client need not check it.
    Fully,
    /// The server narrows the stream but the client must still check the exact condition.
    AlsoClient,
    No,
}

/// Moves one operand into the server match when it fits and its slot is still free.
fn push(operand: &Expr, http: &mut HttpMatch, to: &mut Option<String>) -> Pushed {
    let slot = |slot: &mut Option<String>, value: String, how: Pushed| {
        if slot.is_some() {
            return Pushed::No;
        }
        *slot = Some(value);
        how
    };
    match operand {
        Expr::Term(Term::Text {
            field,
            op: TextOp::Eq,
            pattern,
        }) => match field {
            // The tap API takes upper-case method names; the client side compares ignoring case.
            TextField::Method => slot(
                &mut http.method,
                pattern.text.to_ascii_uppercase(),
                Pushed::Fully,
            ),
            TextField::Authority => {
                slot(&mut http.authority, pattern.text.to_string(), Pushed::Fully)
            }
            TextField::Scheme => slot(
                &mut http.scheme,
                pattern.text.to_ascii_lowercase(),
                Pushed::Fully,
            ),
            TextField::Path if !pattern.text.is_empty() => {
                slot(&mut http.path, pattern.text.to_string(), Pushed::AlsoClient)
            }
            _ => Pushed::No,
        },
        Expr::Term(Term::Text {
            field: TextField::Path,
            op: TextOp::Match,
            pattern,
        }) if pattern.mode == Mode::Glob => match prefix_of(&pattern.text) {
            Some(prefix) => slot(&mut http.path, prefix.to_owned(), Pushed::Fully),
            None => Pushed::No,
        },
        Expr::Term(Term::To {
            cmp: Cmp::Eq,
            resource,
            ..
        }) => slot(to, resource.to_string(), Pushed::Fully),
        _ => Pushed::No,
    }
}

/// `/api/*` → `/api/`: a glob that is a plain prefix followed by one trailing `*`.
fn prefix_of(glob: &str) -> Option<&str> {
    let prefix = glob.strip_suffix('*')?;
    (!prefix.is_empty() && !prefix.contains(['*', '?'])).then_some(prefix)
}
