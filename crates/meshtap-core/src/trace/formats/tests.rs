//! Each format with valid and invalid values, and the order formats win in.

use base64::Engine as _;

use super::super::{TraceFormat, TraceIds};
use crate::model::event::{Header, Headers};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn ids(headers: &[(&str, &str)]) -> (Option<(TraceFormat, String, String)>, Option<String>) {
    let headers: Headers = headers.iter().map(|(n, v)| Header::str(n, v)).collect();
    let found = TraceIds::of_headers(&headers);
    (
        found
            .context
            .map(|c| (c.format, c.trace_id.to_string(), c.span_id.to_string())),
        found.request_id.map(str::to_owned),
    )
}

fn context(name: &str, value: &str) -> Option<(TraceFormat, String, String)> {
    ids(&[(name, value)]).0
}

#[test]
fn traceparent_valid() {
    let value = format!("00-{TRACE}-{SPAN}-01");
    let headers: Headers = [Header::str("traceparent", &value)].into_iter().collect();
    let found = TraceIds::of_headers(&headers).context.expect("context");
    assert_eq!(found.format, TraceFormat::W3c);
    assert_eq!(found.trace_id.to_string(), TRACE);
    assert_eq!(found.span_id.to_string(), SPAN);
    assert_eq!(found.sampled, Some(true));
    // A later version may carry more fields after the flags.
    assert!(context("traceparent", &format!("01-{TRACE}-{SPAN}-00-extra")).is_some());
}

#[test]
fn traceparent_invalid() {
    let zero_trace = "0".repeat(32);
    let zero_span = "0".repeat(16);
    for bad in [
        format!("00-{zero_trace}-{SPAN}-01"),
        format!("00-{TRACE}-{zero_span}-01"),
        format!("ff-{TRACE}-{SPAN}-01"),
        format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
        format!("00-{TRACE}-{SPAN}"),
        format!("00-{TRACE}-{SPAN}-01-extra"),
        format!("00-{}-{SPAN}-01", &TRACE[1..]),
        format!("0-{TRACE}-{SPAN}-01"),
        format!("00-{TRACE}-{SPAN}-0g"),
        String::new(),
    ] {
        assert_eq!(context("traceparent", &bad), None, "{bad:?}");
    }
}

#[test]
fn b3_single_valid() {
    let found = context("b3", &format!("{TRACE}-{SPAN}-1-{SPAN}"));
    assert_eq!(
        found,
        Some((TraceFormat::B3Single, TRACE.into(), SPAN.into()))
    );
    // 64-bit trace ids are left-padded.
    let short = context("b3", &format!("a3ce929d0e0e4736-{SPAN}"));
    assert_eq!(
        short.map(|c| c.1),
        Some("0000000000000000a3ce929d0e0e4736".into())
    );
    assert!(context("b3", &format!("{TRACE}-{SPAN}-d")).is_some());
}

#[test]
fn b3_single_invalid() {
    for bad in [
        "1".to_owned(),
        "0".to_owned(),
        TRACE.to_owned(),
        format!("{TRACE}-{}", "0".repeat(16)),
        format!("{TRACE}-{SPAN}-x"),
        format!("{TRACE}-{SPAN}-1-zz"),
        format!("{TRACE}-{SPAN}-1-{SPAN}-more"),
        format!("{}-{SPAN}", &TRACE[..20]),
    ] {
        assert_eq!(context("b3", &bad), None, "{bad:?}");
    }
}

#[test]
fn b3_multi_needs_trace_and_span() {
    let found = ids(&[
        ("X-B3-TraceId", TRACE),
        ("x-b3-spanid", SPAN),
        ("x-b3-parentspanid", "0000000000000001"),
        ("x-b3-sampled", "1"),
    ]);
    assert_eq!(
        found.0,
        Some((TraceFormat::B3Multi, TRACE.into(), SPAN.into()))
    );
    assert_eq!(ids(&[("x-b3-traceid", TRACE)]).0, None);
    assert_eq!(ids(&[("x-b3-spanid", SPAN)]).0, None);
    assert_eq!(
        ids(&[("x-b3-traceid", "xyz"), ("x-b3-spanid", SPAN)]).0,
        None
    );
    assert_eq!(
        ids(&[("x-b3-traceid", &"0".repeat(32)), ("x-b3-spanid", SPAN)]).0,
        None
    );
}

#[test]
fn grpc_trace_bin() {
    let mut raw = vec![0u8, 0];
    raw.extend_from_slice(&[0xab; 16]);
    raw.push(1);
    raw.extend_from_slice(&[0xcd; 8]);
    raw.extend_from_slice(&[2, 1]);
    let text = base64::engine::general_purpose::STANDARD.encode(&raw);
    let found = context("grpc-trace-bin", &text).expect("context");
    assert_eq!(found.0, TraceFormat::GrpcBin);
    assert_eq!(found.1, "ab".repeat(16));
    assert_eq!(found.2, "cd".repeat(8));
    // Truncated: the span id is cut short.
    let cut = base64::engine::general_purpose::STANDARD.encode(&raw[..24]);
    assert_eq!(context("grpc-trace-bin", &cut), None);
    assert_eq!(context("grpc-trace-bin", "not base64!"), None);
}

#[test]
fn l5d_ctx_trace_is_finagle_binary() {
    // span, parent, trace low, flags (sampling known + sampled), trace high.
    let mut raw = Vec::new();
    raw.extend_from_slice(&[0x11; 8]);
    raw.extend_from_slice(&[0x22; 8]);
    raw.extend_from_slice(&[0x33; 8]);
    raw.extend_from_slice(&6u64.to_be_bytes());
    let short = base64::engine::general_purpose::STANDARD.encode(&raw);
    let headers: Headers = [Header::str("l5d-ctx-trace", &short)].into_iter().collect();
    let found = TraceIds::of_headers(&headers).context.expect("context");
    assert_eq!(found.format, TraceFormat::L5dCtx);
    assert_eq!(
        found.trace_id.to_string(),
        format!("{}{}", "0".repeat(16), "33".repeat(8))
    );
    assert_eq!(found.span_id.to_string(), "11".repeat(8));
    assert_eq!(found.parent_id.map(|p| p.to_string()), Some("22".repeat(8)));
    assert_eq!(found.sampled, Some(true));
    raw.extend_from_slice(&[0x44; 8]);
    let long = base64::engine::general_purpose::STANDARD.encode(&raw);
    assert_eq!(
        context("l5d-ctx-trace", &long).map(|c| c.1),
        Some(format!("{}{}", "44".repeat(8), "33".repeat(8)))
    );
    let odd = base64::engine::general_purpose::STANDARD.encode(&raw[..20]);
    assert_eq!(context("l5d-ctx-trace", &odd), None);
}

#[test]
fn w3c_wins_over_b3_and_invalid_headers_are_skipped() {
    let w3c = format!("00-{TRACE}-{SPAN}-01");
    let b3 = format!("{}-{}", "1".repeat(32), "2".repeat(16));
    let found = ids(&[("b3", &b3), ("traceparent", &w3c)]).0;
    assert_eq!(found.map(|c| c.0), Some(TraceFormat::W3c));
    let bad_w3c = format!("00-{}-{SPAN}-01", "0".repeat(32));
    let found = ids(&[("traceparent", &bad_w3c), ("b3", &b3)]).0;
    assert_eq!(found.map(|c| c.0), Some(TraceFormat::B3Single));
}

#[test]
fn request_id() {
    assert_eq!(
        ids(&[("x-request-id", "abc-123")]).1,
        Some("abc-123".to_owned())
    );
    assert_eq!(ids(&[("x-request-id", "  ")]).1, None);
    assert_eq!(ids(&[("x-other", "abc")]), (None, None));
}
