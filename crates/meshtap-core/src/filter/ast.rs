//! The parsed form of a filter, with values already converted to what matching compares
//! (status ranges, nanoseconds, label keys), and its canonical text.

use std::fmt;

use super::lexer::write_value;
use super::moment::{Moment, write_span};
use crate::model::event::{Direction, grpc_code_name};

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    Term(Term),
    Flag(Flag),
    Not(Box<Expr>),
    /// Two or more operands, never directly containing another `And` (the parser flattens), so
    /// that a canonical text parses back to an equal tree.
    And(Vec<Expr>),
    /// Two or more operands, never directly containing another `Or`.
    Or(Vec<Expr>),
}

/// Bare keywords about a request's outcome or security.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flag {
    Ok,
    Failed,
    Inflight,
    Expired,
    Reset,
    Mtls,
    Orphan,
}

impl Flag {
    pub(super) const ALL: [(Flag, &'static str); 7] = [
        (Flag::Ok, "ok"),
        (Flag::Failed, "failed"),
        (Flag::Inflight, "inflight"),
        (Flag::Expired, "expired"),
        (Flag::Reset, "reset"),
        (Flag::Mtls, "mtls"),
        (Flag::Orphan, "orphan"),
    ];

    fn name(self) -> &'static str {
        Flag::ALL
            .iter()
            .find(|(flag, _)| *flag == self)
            .map_or("?", |(_, name)| name)
    }
}

/// Comparison operators. Text fields use `Eq`/`Ne` for exact matches and `Match`/`NoMatch`
/// for `~`/`!~`; numeric fields use the ordering ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// Whether `value` compares true against the inclusive range `lo..=hi` (a single value when
    /// `lo == hi`; `5xx` is 500..=599, so `>5xx` means above 599).
    pub(super) fn test(self, value: u64, lo: u64, hi: u64) -> bool {
        match self {
            Cmp::Eq => (lo..=hi).contains(&value),
            Cmp::Ne => !(lo..=hi).contains(&value),
            Cmp::Lt => value < lo,
            Cmp::Le => value <= hi,
            Cmp::Gt => value > hi,
            Cmp::Ge => value >= lo,
        }
    }

    pub(super) fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TextOp {
    Eq,
    Ne,
    Match,
    NoMatch,
}

impl TextOp {
    fn symbol(self) -> &'static str {
        match self {
            TextOp::Eq => "=",
            TextOp::Ne => "!=",
            TextOp::Match => "~",
            TextOp::NoMatch => "!~",
        }
    }

    /// `!=` and `!~` hold when the field is present and the positive form does not.
    pub(super) fn negated(self) -> bool {
        matches!(self, TextOp::Ne | TextOp::NoMatch)
    }
}

/// Which endpoint a label field looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Either,
    Src,
    Dst,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TextField {
    /// An endpoint label: `ns`, `deploy`, `pod`. The label key is the `&'static str`.
    Label(Side, &'static str),
    /// Workload text, pod name or IP of one endpoint.
    Src,
    Dst,
    Method,
    Path,
    Authority,
    Scheme,
    Tls,
    Id,
    /// The route's name: the `ServiceProfile` route, the outbound policy route meshtap matched,
    /// the inbound route, else the path.
    Route,
    /// The matched policy rule's index.
    Rule,
    /// The Service that served an outbound request (its endpoint's `service` label).
    Backend,
    /// The route's parent: the Service (`name` or `name:port`) or the inbound Server.
    Parent,
    /// The trace id of the request's trace headers (`crate::trace`), as 32 hex digits.
    Trace,
    /// The request's `x-request-id`.
    RequestId,
    /// The cluster that reported the request (`--context A,B`); none with one cluster.
    Cluster,
    /// A request header, by lowercased name.
    Header(Box<str>),
}

impl TextField {
    /// Fields whose values are case-insensitive by definition; everything else (paths, names,
    /// identities) compares exactly, which also keeps server-side pushdown exact.
    pub(super) fn case_insensitive(&self) -> bool {
        matches!(
            self,
            TextField::Method | TextField::Scheme | TextField::Tls | TextField::Trace
        )
    }
}

/// How a text value is compared: `=`/`!=` exactly, `~`/`!~` as a substring, or as an anchored
/// glob when the value holds `*` or `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Exact,
    Substring,
    Glob,
}

/// A text value and how to match it; `ci` is ASCII case-insensitivity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pattern {
    pub text: Box<str>,
    pub mode: Mode,
    pub ci: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimeField {
    Latency,
    Duration,
}

/// Which side of a moment `since=`/`until=` keeps (both inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bound {
    Since,
    Until,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Term {
    Text {
        field: TextField,
        op: TextOp,
        pattern: Pattern,
    },
    /// Only `Eq`/`Ne`.
    Dir {
        cmp: Cmp,
        dir: Direction,
    },
    /// An inclusive range of statuses: `5xx` or a single code.
    Status {
        cmp: Cmp,
        lo: u32,
        hi: u32,
    },
    /// Only `Eq`/`Ne`.
    Grpc {
        cmp: Cmp,
        code: u32,
    },
    Time {
        field: TimeField,
        cmp: Cmp,
        nanos: u64,
    },
    Bytes {
        cmp: Cmp,
        bytes: u64,
    },
    /// `since=` / `until=`: the request started at or after / at or before the moment.
    Moment {
        bound: Bound,
        at: Moment,
    },
    /// `age<2m`: how long before the session clock's now the request started. Ordering only.
    Age {
        cmp: Cmp,
        nanos: u64,
    },
    /// `to=deploy/web`: the destination's `label` equals `name`. Only `Eq`/`Ne`.
    To {
        cmp: Cmp,
        resource: Box<str>,
        label: &'static str,
        name: Box<str>,
    },
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

impl Expr {
    /// Whether the result can change as the session clock moves with nothing else changing.
    pub(super) fn follows_clock(&self) -> bool {
        match self {
            Expr::Term(Term::Moment { at, .. }) => at.follows_clock(),
            Expr::Term(Term::Age { .. }) => true,
            Expr::Term(_) | Expr::Flag(_) => false,
            Expr::Not(inner) => inner.follows_clock(),
            Expr::And(items) | Expr::Or(items) => items.iter().any(Expr::follows_clock),
        }
    }

    /// Binding strength: `or` < `and` < `not` < terms.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            Expr::Not(_) => 3,
            Expr::Term(_) | Expr::Flag(_) => 4,
        }
    }

    /// Writes the canonical text, in parentheses when this binds looser than `min` needs.
    fn write(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        let own = self.precedence();
        if own < min {
            f.write_str("(")?;
        }
        match self {
            Expr::Term(term) => write!(f, "{term}")?,
            Expr::Flag(flag) => f.write_str(flag.name())?,
            Expr::Not(inner) => {
                f.write_str("not ")?;
                inner.write(f, 3)?;
            }
            Expr::And(items) | Expr::Or(items) => {
                let sep = if own == 1 { " or " } else { " and " };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    item.write(f, own + 1)?;
                }
            }
        }
        if own < min {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for TextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextField::Label(side, key) => {
                let side = match side {
                    Side::Either => "",
                    Side::Src => "src.",
                    Side::Dst => "dst.",
                };
                let short = match *key {
                    "namespace" => "ns",
                    "deployment" => "deploy",
                    other => other,
                };
                write!(f, "{side}{short}")
            }
            TextField::Src => f.write_str("src"),
            TextField::Dst => f.write_str("dst"),
            TextField::Method => f.write_str("method"),
            TextField::Path => f.write_str("path"),
            TextField::Authority => f.write_str("authority"),
            TextField::Scheme => f.write_str("scheme"),
            TextField::Tls => f.write_str("tls"),
            TextField::Id => f.write_str("id"),
            TextField::Route => f.write_str("route"),
            TextField::Rule => f.write_str("rule"),
            TextField::Backend => f.write_str("backend"),
            TextField::Parent => f.write_str("parent"),
            TextField::Trace => f.write_str("trace"),
            TextField::RequestId => f.write_str("request_id"),
            TextField::Cluster => f.write_str("cluster"),
            TextField::Header(name) => write!(f, "header.{name}"),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Text { field, op, pattern } => {
                write!(f, "{field}{}", op.symbol())?;
                write_value(f, &pattern.text)
            }
            Term::Dir { cmp, dir } => write!(f, "dir{}{}", cmp.symbol(), dir.short()),
            Term::Status { cmp, lo, hi } if lo == hi => write!(f, "status{}{lo}", cmp.symbol()),
            Term::Status { cmp, lo, .. } => write!(f, "status{}{}xx", cmp.symbol(), lo / 100),
            Term::Grpc { cmp, code } => match grpc_code_name(*code) {
                Some(name) => write!(f, "grpc{}{name}", cmp.symbol()),
                None => write!(f, "grpc{}{code}", cmp.symbol()),
            },
            Term::Time { field, cmp, nanos } => {
                let name = match field {
                    TimeField::Latency => "lat",
                    TimeField::Duration => "dur",
                };
                write!(f, "{name}{}", cmp.symbol())?;
                write_nanos(f, *nanos)
            }
            Term::Bytes { cmp, bytes } => write!(f, "bytes{}{bytes}", cmp.symbol()),
            Term::Moment { bound, at } => {
                let name = match bound {
                    Bound::Since => "since",
                    Bound::Until => "until",
                };
                write!(f, "{name}={at}")
            }
            Term::Age { cmp, nanos } => {
                write!(f, "age{}", cmp.symbol())?;
                write_span(f, *nanos)
            }
            Term::To { cmp, resource, .. } => {
                write!(f, "to{}", cmp.symbol())?;
                write_value(f, resource)
            }
        }
    }
}

/// The largest unit that represents `nanos` exactly, so the text parses back to the same value.
fn write_nanos(f: &mut fmt::Formatter<'_>, nanos: u64) -> fmt::Result {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
    for (size, unit) in UNITS {
        if nanos.is_multiple_of(size) {
            return write!(f, "{}{unit}", nanos / size);
        }
    }
    write!(f, "{nanos}ns")
}
