//! Field names, keywords, and turning `field op value` into a typed [`Term`].

use super::ast::{Bound, Cmp, Flag, Mode, Pattern, Side, Term, TextField, TextOp, TimeField};
use super::moment::Moment;
use super::value;
use crate::model::event::Direction;

/// What a field name refers to, before its value is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Text(TextField),
    Dir,
    /// `side=client|server`: the client proxy's (outbound) or the server proxy's (inbound) side
    /// of a meshed call; the same test as `dir`, named the way the user counts calls.
    Side,
    Status,
    Grpc,
    Time(TimeField),
    Bytes,
    To,
    Moment(Bound),
    Age,
}

/// The operator as written: an ordering/equality one, or `~` / `!~`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operator {
    Cmp(Cmp),
    Match { not: bool },
}

impl Operator {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Operator::Cmp(cmp) => cmp.symbol(),
            Operator::Match { not: false } => "~",
            Operator::Match { not: true } => "!~",
        }
    }
}

/// Canonical field names, for "did you mean" suggestions.
pub(super) const FIELD_NAMES: [&str; 35] = [
    "ns",
    "src.ns",
    "dst.ns",
    "deploy",
    "src.deploy",
    "dst.deploy",
    "pod",
    "src.pod",
    "dst.pod",
    "src",
    "dst",
    "dir",
    "side",
    "method",
    "path",
    "authority",
    "scheme",
    "status",
    "grpc",
    "lat",
    "dur",
    "bytes",
    "tls",
    "id",
    "route",
    "rule",
    "backend",
    "parent",
    "to",
    "trace",
    "request_id",
    "cluster",
    "since",
    "until",
    "age",
];

/// Resolves a field name (any case). `Err` carries a message for `header.` without a name.
pub(super) fn resolve(name: &str) -> Result<Option<Field>, String> {
    let lower = name.to_ascii_lowercase();
    if let Some(header) = lower.strip_prefix("header.") {
        if header.is_empty() {
            return Err("header needs a name: header.x-request-id".to_owned());
        }
        return Ok(Some(Field::Text(TextField::Header(header.into()))));
    }
    let (side, rest) = match lower.split_once('.') {
        Some(("src" | "source", rest)) => (Side::Src, rest),
        Some(("dst" | "destination", rest)) => (Side::Dst, rest),
        Some(_) => return Ok(None),
        None => (Side::Either, lower.as_str()),
    };
    let label = match rest {
        "ns" | "namespace" => Some("namespace"),
        "deploy" | "deployment" => Some("deployment"),
        "pod" => Some("pod"),
        _ => None,
    };
    if let Some(label) = label {
        return Ok(Some(Field::Text(TextField::Label(side, label))));
    }
    if side != Side::Either {
        return Ok(None);
    }
    Ok(Some(match rest {
        "src" | "source" => Field::Text(TextField::Src),
        "dst" | "destination" => Field::Text(TextField::Dst),
        "dir" | "direction" => Field::Dir,
        "side" => Field::Side,
        "method" => Field::Text(TextField::Method),
        "path" => Field::Text(TextField::Path),
        "authority" => Field::Text(TextField::Authority),
        "scheme" => Field::Text(TextField::Scheme),
        "status" => Field::Status,
        "grpc" => Field::Grpc,
        "lat" | "latency" => Field::Time(TimeField::Latency),
        "dur" | "duration" => Field::Time(TimeField::Duration),
        "bytes" => Field::Bytes,
        "tls" => Field::Text(TextField::Tls),
        "id" | "identity" => Field::Text(TextField::Id),
        "route" => Field::Text(TextField::Route),
        "rule" => Field::Text(TextField::Rule),
        "backend" => Field::Text(TextField::Backend),
        "parent" => Field::Text(TextField::Parent),
        "to" => Field::To,
        "trace" | "trace_id" => Field::Text(TextField::Trace),
        "request_id" | "reqid" => Field::Text(TextField::RequestId),
        "cluster" => Field::Text(TextField::Cluster),
        "since" => Field::Moment(Bound::Since),
        "until" => Field::Moment(Bound::Until),
        "age" => Field::Age,
        _ => return Ok(None),
    }))
}

pub(super) fn flag(word: &str) -> Option<Flag> {
    let lower = word.to_ascii_lowercase();
    let canonical = match lower.as_str() {
        "success" => "ok",
        "failure" => "failed",
        other => other,
    };
    Flag::ALL
        .iter()
        .find(|(_, name)| *name == canonical)
        .map(|(flag, _)| *flag)
}

/// Why a term could not be built: the operator does not fit the field, or the value is bad.
pub(super) enum TermError {
    Operator(String),
    Value(String),
}

pub(super) fn build(field: Field, name: &str, op: Operator, text: &str) -> Result<Term, TermError> {
    let only = |allowed: &str| {
        TermError::Operator(format!(
            "{name:?} does not support {:?}; use {allowed}",
            op.symbol()
        ))
    };
    let ordering = "=, !=, <, <=, > or >=";
    let equality = "= or !=";
    match field {
        Field::Text(field) => {
            let (op, mode) = match op {
                Operator::Cmp(Cmp::Eq) => (TextOp::Eq, Mode::Exact),
                Operator::Cmp(Cmp::Ne) => (TextOp::Ne, Mode::Exact),
                Operator::Match { not } => {
                    let op = if not { TextOp::NoMatch } else { TextOp::Match };
                    let glob = text.contains(['*', '?']);
                    (op, if glob { Mode::Glob } else { Mode::Substring })
                }
                Operator::Cmp(_) => return Err(only("=, !=, ~ or !~")),
            };
            let ci = field.case_insensitive();
            Ok(Term::Text {
                field,
                op,
                pattern: Pattern {
                    text: text.into(),
                    mode,
                    ci,
                },
            })
        }
        Field::Status => {
            let Operator::Cmp(cmp) = op else {
                return Err(only(ordering));
            };
            let (lo, hi) = value::status(text).map_err(TermError::Value)?;
            Ok(Term::Status { cmp, lo, hi })
        }
        Field::Time(field) => {
            let Operator::Cmp(cmp) = op else {
                return Err(only(ordering));
            };
            let what = match field {
                TimeField::Latency => "latency",
                TimeField::Duration => "duration",
            };
            let nanos = value::nanos(text, what).map_err(TermError::Value)?;
            Ok(Term::Time { field, cmp, nanos })
        }
        Field::Bytes => {
            let Operator::Cmp(cmp) = op else {
                return Err(only(ordering));
            };
            let bytes = value::bytes(text).map_err(TermError::Value)?;
            Ok(Term::Bytes { cmp, bytes })
        }
        Field::Dir => {
            let cmp = equality_only(op).ok_or_else(|| only(equality))?;
            let dir = match text.to_ascii_lowercase().as_str() {
                "in" | "inbound" => Direction::Inbound,
                "out" | "outbound" => Direction::Outbound,
                _ => {
                    return Err(TermError::Value(format!(
                        "expected a direction (in or out), found {text:?}"
                    )));
                }
            };
            Ok(Term::Dir { cmp, dir })
        }
        Field::Side => {
            let cmp = equality_only(op).ok_or_else(|| only(equality))?;
            let dir = match text.to_ascii_lowercase().as_str() {
                "client" => Direction::Outbound,
                "server" => Direction::Inbound,
                _ => {
                    return Err(TermError::Value(format!(
                        "expected a side (client or server), found {text:?}"
                    )));
                }
            };
            Ok(Term::Dir { cmp, dir })
        }
        Field::Grpc => {
            let cmp = equality_only(op).ok_or_else(|| only(equality))?;
            let code = value::grpc(text).map_err(TermError::Value)?;
            Ok(Term::Grpc { cmp, code })
        }
        Field::Moment(bound) => moment(bound, op, text, &only),
        Field::Age => age(op, text, &only),
        Field::To => {
            let cmp = equality_only(op).ok_or_else(|| only(equality))?;
            let (label, name) = resource(text).map_err(TermError::Value)?;
            Ok(Term::To {
                cmp,
                resource: text.into(),
                label,
                name: name.into(),
            })
        }
    }
}

/// `since=`/`until=`: only `=`, since the field already says which side of the moment.
fn moment(
    bound: Bound,
    op: Operator,
    text: &str,
    only: &dyn Fn(&str) -> TermError,
) -> Result<Term, TermError> {
    if op != Operator::Cmp(Cmp::Eq) {
        return Err(only("= (since=16:49:00 keeps what started then or later)"));
    }
    let what = match bound {
        Bound::Since => "since",
        Bound::Until => "until",
    };
    let at = Moment::parse(text, what).map_err(TermError::Value)?;
    Ok(Term::Moment { bound, at })
}

/// `age<2m`: the ordering operators only (an age equal to the nanosecond says nothing).
fn age(op: Operator, text: &str, only: &dyn Fn(&str) -> TermError) -> Result<Term, TermError> {
    let Operator::Cmp(cmp @ (Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge)) = op else {
        return Err(only("<, <=, > or >= (age<2m)"));
    };
    let nanos = value::nanos(text, "age").map_err(TermError::Value)?;
    Ok(Term::Age { cmp, nanos })
}

fn equality_only(op: Operator) -> Option<Cmp> {
    match op {
        Operator::Cmp(cmp @ (Cmp::Eq | Cmp::Ne)) => Some(cmp),
        _ => None,
    }
}

/// `deploy/web` → the destination label that names it (`deployment`) and the name.
fn resource(text: &str) -> Result<(&'static str, &str), String> {
    let bad = || format!("expected a resource like deploy/web, found {text:?}");
    let (kind, name) = text.split_once('/').ok_or_else(bad)?;
    if name.is_empty() || name.contains('/') {
        return Err(bad());
    }
    let label = match kind.to_ascii_lowercase().as_str() {
        "deploy" | "deployment" | "deployments" => "deployment",
        "po" | "pod" | "pods" => "pod",
        "ds" | "daemonset" | "daemonsets" => "daemonset",
        "sts" | "statefulset" | "statefulsets" => "statefulset",
        "rs" | "replicaset" | "replicasets" => "replicaset",
        "rc" | "replicationcontroller" | "replicationcontrollers" => "replicationcontroller",
        "job" | "jobs" => "k8s_job",
        "cj" | "cronjob" | "cronjobs" => "cronjob",
        "svc" | "service" | "services" => "service",
        "ns" | "namespace" | "namespaces" => "namespace",
        other => return Err(format!("unknown resource type {other:?} in {text:?}")),
    };
    Ok((label, name))
}

/// The closest known name to a misspelt `word`, if one is near enough to be a likely typo.
pub(super) fn suggest(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    // Long aliases too: a typo of "latency" is closer to it than to "lat".
    let aliases = [
        "namespace",
        "deployment",
        "direction",
        "latency",
        "duration",
        "identity",
        "header.",
    ];
    let names = FIELD_NAMES
        .iter()
        .chain(&aliases)
        .copied()
        .chain(Flag::ALL.iter().map(|(_, name)| *name));
    let limit = if word.chars().count() <= 3 { 1 } else { 2 };
    names
        .map(|name| (distance(&word, name), name))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name)
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent swaps, the usual typo.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}
