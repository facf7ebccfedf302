//! The header formats, each parsed strictly: a malformed or all-zero id makes the header count
//! as absent (W3C and B3 both say to ignore such a header rather than guess).

use base64::Engine as _;

use super::{SpanId, TraceContext, TraceFormat, TraceId};

/// The longest header value looked at: every format here is under 100 bytes, so anything longer
/// is not one of them (and is not decoded).
const TRACE_HEADER_MAX_BYTES: usize = 512;

/// What a request's headers offered, gathered in one pass.
#[derive(Default)]
pub(super) struct Found<'a> {
    w3c: Option<TraceContext>,
    b3_single: Option<TraceContext>,
    grpc_bin: Option<TraceContext>,
    l5d: Option<TraceContext>,
    b3_trace: Option<TraceId>,
    b3_span: Option<SpanId>,
    b3_parent: Option<SpanId>,
    b3_sampled: Option<bool>,
    pub(super) request_id: Option<&'a str>,
}

impl<'a> Found<'a> {
    pub(super) fn offer(&mut self, name: &str, value: &'a [u8]) {
        if value.len() > TRACE_HEADER_MAX_BYTES {
            return;
        }
        let text = std::str::from_utf8(value).ok().map(str::trim);
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
        if is("x-request-id") {
            self.request_id = self.request_id.or(text.filter(|t| !t.is_empty()));
        } else if is("traceparent") {
            self.w3c = self.w3c.or(text.and_then(traceparent));
        } else if is("b3") {
            self.b3_single = self.b3_single.or(text.and_then(b3_single));
        } else if is("grpc-trace-bin") {
            self.grpc_bin = self.grpc_bin.or(grpc_trace_bin(value));
        } else if is("l5d-ctx-trace") {
            self.l5d = self.l5d.or(text.and_then(l5d_ctx_trace));
        } else if is("x-b3-traceid") {
            self.b3_trace = text.and_then(b3_trace_id);
        } else if is("x-b3-spanid") {
            self.b3_span = text.and_then(span_hex);
        } else if is("x-b3-parentspanid") {
            self.b3_parent = text.and_then(span_hex);
        } else if is("x-b3-sampled") {
            self.b3_sampled = text.and_then(|t| match t {
                "1" | "true" => Some(true),
                "0" | "false" => Some(false),
                _ => None,
            });
        } else if is("x-b3-flags") && text == Some("1") {
            // Debug implies an accept.
            self.b3_sampled = Some(true);
        }
    }

    /// The context that speaks for the request, in the Linkerd proxy's own order of preference
    /// (W3C, gRPC binary, B3), then Finagle's.
    pub(super) fn context(&self) -> Option<TraceContext> {
        let multi = match (self.b3_trace, self.b3_span) {
            (Some(trace_id), Some(span_id)) => Some(TraceContext {
                format: TraceFormat::B3Multi,
                trace_id,
                span_id,
                parent_id: self.b3_parent,
                sampled: self.b3_sampled,
            }),
            _ => None,
        };
        self.w3c
            .or(self.grpc_bin)
            .or(self.b3_single)
            .or(multi)
            .or(self.l5d)
    }
}

/// Exactly `N` bytes from lowercase-or-uppercase hex digits.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

fn nonzero<const N: usize>(bytes: [u8; N]) -> Option<[u8; N]> {
    bytes.iter().any(|&b| b != 0).then_some(bytes)
}

fn span_hex(text: &str) -> Option<SpanId> {
    hex::<8>(text).and_then(nonzero).map(SpanId)
}

/// A B3 trace id: 128-bit, or 64-bit left-padded with zeros.
fn b3_trace_id(text: &str) -> Option<TraceId> {
    let bytes = match text.len() {
        32 => hex::<16>(text)?,
        16 => {
            let mut padded = [0u8; 16];
            padded[8..].copy_from_slice(&hex::<8>(text)?);
            padded
        }
        _ => return None,
    };
    nonzero(bytes).map(TraceId)
}

/// W3C `traceparent`: `version-traceid-parentid-flags`, lowercase hex, 2-32-16-2 digits.
/// Version `ff` is invalid; a later version may append fields after the flags.
fn traceparent(text: &str) -> Option<TraceContext> {
    let lowercase_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut parts = text.splitn(5, '-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let rest = parts.next();
    let fields = [version, trace, parent, flags];
    if !fields.iter().all(|f| lowercase_hex(f))
        || version.len() != 2
        || version == "ff"
        || (version == "00" && rest.is_some())
    {
        return None;
    }
    let flags = hex::<1>(flags)?[0];
    Some(TraceContext {
        format: TraceFormat::W3c,
        trace_id: TraceId(nonzero(hex::<16>(trace)?)?),
        span_id: SpanId(nonzero(hex::<8>(parent)?)?),
        parent_id: None,
        sampled: Some(flags & 1 == 1),
    })
}

/// B3 single header: `traceid-spanid[-sampled[-parentspanid]]`; a bare sampling state (`0`,
/// `1`, `d`) carries no ids and so no context.
fn b3_single(text: &str) -> Option<TraceContext> {
    let mut parts = text.split('-');
    let trace_id = b3_trace_id(parts.next()?)?;
    let span_id = span_hex(parts.next()?)?;
    let sampled = match parts.next() {
        None => None,
        Some("1" | "d") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    let parent_id = match parts.next() {
        None => None,
        Some(parent) => Some(span_hex(parent)?),
    };
    if parts.next().is_some() {
        return None;
    }
    Some(TraceContext {
        format: TraceFormat::B3Single,
        trace_id,
        span_id,
        parent_id,
        sampled,
    })
}

/// The bytes of a binary header: base64 on the HTTP/2 wire (as gRPC sends `-bin` metadata), or
/// already raw when the tap handed over non-UTF-8 bytes.
fn binary(value: &[u8]) -> Option<Vec<u8>> {
    let engine = base64::engine::general_purpose::STANDARD;
    let text = std::str::from_utf8(value).ok();
    match text {
        Some(text) => engine
            .decode(text.trim())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim()))
            .ok(),
        None => Some(value.to_vec()),
    }
}

/// gRPC's `grpc-trace-bin` (the `OpenCensus` binary format): version 0, then tagged fields — 0: the
/// 16-byte trace id, 1: the 8-byte span id, 2: one byte of options (bit 0 = sampled).
fn grpc_trace_bin(value: &[u8]) -> Option<TraceContext> {
    let bytes = binary(value)?;
    let (&version, mut rest) = bytes.split_first()?;
    if version != 0 {
        return None;
    }
    let (mut trace_id, mut span_id, mut sampled) = (None, None, None);
    while let Some((&field, after)) = rest.split_first() {
        let len = match field {
            0 => 16,
            1 => 8,
            2 => 1,
            // Unknown fields end the known part, as the format allows.
            _ => break,
        };
        let (data, after) = (after.get(..len)?, &after[len..]);
        match field {
            0 => trace_id = Some(TraceId(data.try_into().ok().and_then(nonzero)?)),
            1 => span_id = Some(SpanId(data.try_into().ok().and_then(nonzero)?)),
            _ => sampled = Some(data[0] & 1 == 1),
        }
        rest = after;
    }
    Some(TraceContext {
        format: TraceFormat::GrpcBin,
        trace_id: trace_id?,
        span_id: span_id?,
        parent_id: None,
        sampled,
    })
}

/// Linkerd 1 (Finagle) `l5d-ctx-trace`: base64 of 32 or 40 bytes, big-endian —
/// span id, parent id, trace id (low 64 bits), flags, and optionally the trace id's high 64
/// bits. Flags: 2 = sampling decided, 4 = sampled.
fn l5d_ctx_trace(text: &str) -> Option<TraceContext> {
    let bytes = binary(text.as_bytes())?;
    if bytes.len() != 32 && bytes.len() != 40 {
        return None;
    }
    let word = |i: usize| -> Option<[u8; 8]> { bytes.get(8 * i..8 * i + 8)?.try_into().ok() };
    let mut trace = [0u8; 16];
    trace[8..].copy_from_slice(&word(2)?);
    if bytes.len() == 40 {
        trace[..8].copy_from_slice(&word(4)?);
    }
    let flags = u64::from_be_bytes(word(3)?);
    let span_id = SpanId(nonzero(word(0)?)?);
    Some(TraceContext {
        format: TraceFormat::L5dCtx,
        trace_id: TraceId(nonzero(trace)?),
        span_id,
        // Finagle sets the parent to the span itself at a root.
        parent_id: nonzero(word(1)?).map(SpanId).filter(|p| *p != span_id),
        sampled: (flags & 2 != 0).then_some(flags & 4 != 0),
    })
}

#[cfg(test)]
mod tests;
