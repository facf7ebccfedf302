//! The client-side filter language of the requests pane: `ns=shop status=5xx lat>100ms`.
//!
//! Text is lexed (`lexer`), parsed into a typed tree (`parser`, `field`, `value`) whose
//! values are already converted for comparison, and matched against requests without
//! allocating (`eval`). [`Filter::split_server_side`] (`pushdown`) separates what Linkerd's
//! tap server can apply itself. The grammar and fields are documented on [`Filter`].

mod ast;
mod eval;
mod field;
mod lexer;
mod moment;
mod parser;
mod pushdown;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};

use crate::model::request::Request;
use crate::session::HttpMatch;

/// A parsed filter expression. Equal filters have equal canonical text ([`fmt::Display`]),
/// which parses back to an equal filter.
///
/// ```text
/// filter  := or?                                   empty matches everything
/// or      := and (("or" | "||") and)*
/// and     := unary (("and" | "&&")? unary)*       juxtaposition means and
/// unary   := ("not" | "!") unary | "(" or ")" | FIELD OP VALUE | KEYWORD
/// OP      := = | != | ~ | !~ | < | <= | > | >=
/// VALUE   := bare word (letters, digits, / . _ - : * ? { } @ + % , # [ ]) | "quoted \" string"
/// KEYWORD := ok | failed | inflight | expired | reset | mtls | orphan
/// ```
///
/// Fields: `ns`, `deploy`, `pod` (either endpoint; `src.`/`dst.` prefixes pick one), `src`,
/// `dst` (`ns/name`, `kind/name`, name, pod or IP), `dir` (`in`/`out`), `method`, `path`,
/// `authority`, `scheme`, `status` (`200`, `5xx`), `grpc` (code or name), `lat` and `dur` (with a
/// unit: `ns us µs ms s m`), `bytes` (`1500`, `10kb`, `2KiB`), `tls` (the label that speaks for
/// the request), `id` (client identity inbound, server identity outbound), `route` (profile
/// route, else policy route, else path), `header.NAME`, `to` (`deploy/web`: the destination),
/// `since`/`until` (when the request started, inclusive: `16:49:00` UTC, RFC 3339, or `-2m`
/// before the session clock's now; see `moment`), `age` (`age<2m`: how long before now it started).
/// Field names, keywords and `method`/`scheme`/`tls`/`dir`/`grpc` values ignore ASCII case;
/// other values compare exactly.
///
/// Text fields take `=`/`!=` (exact) and `~`/`!~` (substring, or an anchored glob when the value
/// holds `*` or `?`). A comparison on a value the request lacks is false, `!=` included (a request
/// with no response yet matches neither `status=200` nor `status!=200`, but does match
/// `not status=200`). Fields that look at both endpoints (`ns`, `deploy`, `pod`) match with `=`
/// when either side does, and with `!=` when some side has the label and none equals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    expr: Option<ast::Expr>,
}

/// Why a filter failed to parse, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset in the input, on a char boundary, at most the input's length.
    pub position: usize,
    pub message: String,
}

impl FilterError {
    fn new(position: usize, message: String) -> Self {
        Self { position, message }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// Parses filter text; empty or whitespace-only text gives a filter that matches everything.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        parser::parse(input).map(|expr| Filter { expr })
    }

    /// Whether `request` passes when the session clock reads `now` (`since=-2m` and `age<2m`
    /// count back from it: the wall clock live, the latest event's time in a replay).
    /// Allocation-free: it runs over every stored request per frame.
    pub fn matches(&self, request: &Request, now: DateTime<Utc>) -> bool {
        self.expr
            .as_ref()
            .is_none_or(|expr| expr.matches(request, now))
    }

    /// Whether what matches can change as the clock moves with nothing else changing
    /// (`age<2m`, `since=-2m`, a time of day): a view filtered on it is re-checked as time passes.
    pub fn follows_clock(&self) -> bool {
        self.expr.as_ref().is_some_and(ast::Expr::follows_clock)
    }

    /// True for the filter that matches everything.
    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }

    /// Splits off what Linkerd's tap server can apply itself, so the UI can restart the tap with
    /// it and show "server: …  client: …". Only operands of a top-level `and` (or a lone term)
    /// move: `method=…`, `path~/prefix*`, `authority=…`, `scheme=…` and `to=kind/name`, each at
    /// most once. `path=/exact` is sent as a prefix and also kept client-side. Returns the HTTP
    /// match, the `--to` resource, and the filter still to apply client-side.
    pub fn split_server_side(&self) -> (HttpMatch, Option<String>, Filter) {
        let (http, to, rest) = pushdown::split(self.expr.as_ref());
        (http, to, Filter { expr: rest })
    }
}

/// The field names the language knows, in the order the help lists them (one side's
/// `src.`/`dst.` forms and `header.NAME` are written out there once).
pub fn field_names() -> impl Iterator<Item = &'static str> {
    field::FIELD_NAMES
        .iter()
        .copied()
        .filter(|name| !name.contains('.'))
}

/// Keywords: `ok`, `failed`, … for the help.
pub fn keywords() -> impl Iterator<Item = &'static str> {
    ast::Flag::ALL.iter().map(|(_, name)| *name)
}

impl fmt::Display for Filter {
    /// The canonical text: lowercase keywords, `and`/`or`/`not`, minimal parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(expr) => write!(f, "{expr}"),
            None => Ok(()),
        }
    }
}
