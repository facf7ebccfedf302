//! Trace and request ids carried in request headers: W3C `traceparent`, B3 (single `b3` and the
//! `x-b3-*` set), gRPC's binary `grpc-trace-bin`, Linkerd 1's `l5d-ctx-trace`, and
//! `x-request-id`. Pure: no IO, no clock; the waterfall, the `trace=` filter and the OTLP spans
//! all read ids through [`TraceIds::of`].

mod formats;

use std::fmt;

use crate::model::event::Headers;
use crate::model::request::Request;

/// Which header a trace context came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    W3c,
    B3Single,
    B3Multi,
    GrpcBin,
    /// Linkerd 1 (Finagle) `l5d-ctx-trace`; Linkerd 2 proxies neither read nor write it.
    L5dCtx,
}

impl TraceFormat {
    /// The header name, as users know the format.
    pub fn header(self) -> &'static str {
        match self {
            TraceFormat::W3c => "traceparent",
            TraceFormat::B3Single => "b3",
            TraceFormat::B3Multi => "x-b3-traceid",
            TraceFormat::GrpcBin => "grpc-trace-bin",
            TraceFormat::L5dCtx => "l5d-ctx-trace",
        }
    }
}

/// A 16-byte trace id (64-bit B3 and Finagle ids are left-padded with zeros, as B3 says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

/// Lowercase hex of `bytes` into `out` (twice as long); returns the text.
fn hex_into<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(&out[..2 * bytes.len()]).unwrap_or_default()
}

impl TraceId {
    /// The 32 lowercase hex digits, without allocating.
    pub fn hex(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        hex_into(&self.0, &mut out);
        out
    }
}

impl SpanId {
    pub fn hex(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        hex_into(&self.0, &mut out);
        out
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(hex_into(&self.0, &mut [0u8; 32]))
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(hex_into(&self.0, &mut [0u8; 16]))
    }
}

/// A trace context read from one header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub format: TraceFormat,
    pub trace_id: TraceId,
    /// The span the caller made for this request (W3C calls it `parent-id`): a span meshtap
    /// reports for the request is its child.
    pub span_id: SpanId,
    /// The caller span's own parent, when the format carries it (B3, Finagle).
    pub parent_id: Option<SpanId>,
    /// The sampling decision, when the header states one.
    pub sampled: Option<bool>,
}

/// The ids one request carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceIds<'a> {
    pub context: Option<TraceContext>,
    pub request_id: Option<&'a str>,
}

impl<'a> TraceIds<'a> {
    /// Reads the ids from a request's headers. When several formats are present the first
    /// valid one wins, in the order the Linkerd proxy itself tries them (W3C, then gRPC binary,
    /// then B3), with Finagle's last; an invalid header is skipped, not an error.
    pub fn of_headers(headers: &'a Headers) -> Self {
        let mut found = formats::Found::default();
        for header in headers {
            found.offer(header.name, header.value.as_bytes());
        }
        Self {
            context: found.context(),
            request_id: found.request_id,
        }
    }

    pub fn of(request: &'a Request) -> Self {
        request
            .init
            .as_ref()
            .map(|init| Self::of_headers(&init.headers))
            .unwrap_or_default()
    }
}

/// The trace id of a request, if its headers carry one.
pub fn trace_id(request: &Request) -> Option<TraceId> {
    TraceIds::of(request).context.map(|c| c.trace_id)
}
