//! A rule's configured timeouts and retry policy, and how the panes write them.

use std::fmt::Write as _;
use std::time::Duration;

/// The rule's timeouts (`HTTPRoute` `timeouts`, Linkerd's `timeout.linkerd.io/*` annotations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// The whole request, from its start to the end of the response.
    pub request: Option<Duration>,
    /// Until the response headers.
    pub response: Option<Duration>,
    /// Without any data in either direction.
    pub idle: Option<Duration>,
}

impl Timeouts {
    pub fn is_empty(&self) -> bool {
        self.request.is_none() && self.response.is_none() && self.idle.is_none()
    }
}

/// The gRPC statuses a `GRPCRoute` retries on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GrpcRetryOn {
    pub cancelled: bool,
    pub deadline_exceeded: bool,
    pub resource_exhausted: bool,
    pub internal: bool,
    pub unavailable: bool,
}

impl GrpcRetryOn {
    /// The status names, in code order (`cancelled`, `unavailable`).
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.cancelled, "cancelled"),
            (self.deadline_exceeded, "deadline-exceeded"),
            (self.resource_exhausted, "resource-exhausted"),
            (self.internal, "internal"),
            (self.unavailable, "unavailable"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// Whether a response with gRPC status `code` is retried.
    pub fn retries(&self, code: u32) -> bool {
        match code {
            1 => self.cancelled,
            4 => self.deadline_exceeded,
            8 => self.resource_exhausted,
            13 => self.internal,
            14 => self.unavailable,
            _ => false,
        }
    }
}

/// What a retry policy retries on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RetryOn {
    /// HTTP status ranges, inclusive (`5xx` is `(500, 599)`).
    Statuses(Vec<(u16, u16)>),
    Grpc(GrpcRetryOn),
}

/// A rule's retry policy. Retries happen above tap: each attempt is tapped as its own request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    /// Retries after the first attempt (Linkerd's `retry.linkerd.io/limit`).
    pub max_retries: u32,
    pub on: RetryOn,
    /// Each attempt's own timeout.
    pub timeout: Option<Duration>,
}

impl RetryPolicy {
    /// `2× on unavailable`, `1× on 5xx`.
    pub fn label(&self) -> String {
        let mut out = format!("{}× on ", self.max_retries);
        match &self.on {
            RetryOn::Grpc(on) => {
                let names = on.names();
                out.push_str(if names.is_empty() { "—" } else { "" });
                out.push_str(&names.join(","));
            }
            RetryOn::Statuses(ranges) if ranges.is_empty() => out.push('—'),
            RetryOn::Statuses(ranges) => {
                for (i, &(start, end)) in ranges.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if start % 100 == 0 && end == start + 99 {
                        let _ = write!(out, "{}xx", start / 100);
                    } else if start == end {
                        let _ = write!(out, "{start}");
                    } else {
                        let _ = write!(out, "{start}-{end}");
                    }
                }
            }
        }
        if let Some(timeout) = self.timeout {
            let _ = write!(out, " (each {})", duration_label(timeout));
        }
        out
    }
}

/// What a rule configures beside its matches and backends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RuleConfig {
    pub timeouts: Timeouts,
    pub retry: Option<RetryPolicy>,
}

impl RuleConfig {
    /// The Timeout column: `request 2s`, `response 500ms`, or "" when none is set.
    pub fn timeout_label(&self) -> String {
        let t = &self.timeouts;
        let mut parts = Vec::new();
        for (value, name) in [
            (t.request, "request"),
            (t.response, "response"),
            (t.idle, "idle"),
        ] {
            if let Some(value) = value {
                parts.push(format!("{name} {}", duration_label(value)));
            }
        }
        parts.join(", ")
    }

    /// The Retry column: the policy's label, or "" without one.
    pub fn retry_label(&self) -> String {
        self.retry
            .as_ref()
            .map(RetryPolicy::label)
            .unwrap_or_default()
    }
}

/// `2s`, `1.5s`, `500ms`: the shortest exact way to write a configured duration.
pub fn duration_label(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 && ms.is_multiple_of(100) {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    }
}
