//! One joined request as one OTLP span: its ids, kind, times, status and attributes (`OTel`'s
//! HTTP and RPC semantic conventions, Linkerd's labels under `linkerd.*`, meshtap's own under
//! `meshtap.*`), and the resource it belongs to (the reporting proxy's workload). Tap carries no
//! bodies and the span carries no header values but the trace and request ids.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::SpanKind, status::StatusCode};

use crate::model::event::{Direction, Endpoint, grpc_code_name};
use crate::model::policy::matched_route;
use crate::model::request::{Request, workload};
use crate::trace::{SpanId, TraceId, TraceIds};

/// Span flags: the parent is known to be remote (bit 8) and is remote (bit 9); OTLP's
/// `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK | SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
const FLAGS_PARENT_IS_REMOTE: u32 = 0x300;

/// The ids of a request's span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanIds {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The span the caller put in the trace headers.
    pub parent: Option<SpanId>,
    /// W3C trace flags (bit 0: sampled), when a header stated them.
    pub sampled: Option<bool>,
}

/// FNV-1a, 64-bit: a stable hash (unlike std's, fixed across Rust versions), so the same tap
/// ids give the same span ids in every export of a capture.
fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut hash = seed;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // All-zero ids are invalid in OTLP; one in 2^64.
    hash.max(1)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Span ids: from the trace headers when present (same trace, the header's span as parent, a
/// new span id of meshtap's own), else derived from the tap's own ids (reporting proxy, stream,
/// direction, first arrival).
pub fn span_ids(request: &Request) -> SpanIds {
    let key = request.key();
    let reporter = key.reporter.map(|a| a.to_string()).unwrap_or_default();
    let started = request
        .started
        .timestamp_nanos_opt()
        .unwrap_or_default()
        .to_be_bytes();
    let tap: [&[u8]; 5] = [
        key.direction.proto_name().as_bytes(),
        reporter.as_bytes(),
        &key.id.base.to_be_bytes(),
        &key.id.stream.to_be_bytes(),
        &started,
    ];
    let context = TraceIds::of(request).context;
    let trace_id = context.map_or_else(
        || {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&fnv1a(FNV_OFFSET, &tap).to_be_bytes());
            id[8..].copy_from_slice(&fnv1a(FNV_OFFSET ^ 0x7472_6163, &tap).to_be_bytes());
            TraceId(id)
        },
        |c| c.trace_id,
    );
    let mut with_trace: Vec<&[u8]> = tap.to_vec();
    with_trace.push(&trace_id.0);
    SpanIds {
        trace_id,
        span_id: SpanId(fnv1a(FNV_OFFSET ^ 0x7370_616e, &with_trace).to_be_bytes()),
        parent: context.map(|c| c.span_id),
        sampled: context.and_then(|c| c.sampled),
    }
}

pub(super) fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

pub(super) fn text(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.to_owned()))
}

fn int(key: &str, value: impl Into<i64>) -> KeyValue {
    kv(key, Value::IntValue(value.into()))
}

/// The proxy that reported the request: the destination's for inbound, the source's otherwise.
pub fn reporter(request: &Request) -> &Endpoint {
    match request.direction {
        Direction::Inbound => &request.destination,
        Direction::Outbound | Direction::Unknown => &request.source,
    }
}

/// The resource: the reporting proxy's workload, as `OTel`'s Kubernetes conventions name it.
pub fn resource_attributes(request: &Request) -> Vec<(&'static str, String)> {
    let endpoint = reporter(request);
    let labels = &endpoint.labels;
    let mut attrs = Vec::new();
    let pod = labels.get("pod");
    let name = workload(endpoint).map(|(_, _, name)| name).or(pod);
    attrs.push(("service.name", name.unwrap_or("unknown_service").to_owned()));
    if let Some(ns) = labels.get("namespace") {
        attrs.push(("service.namespace", ns.to_owned()));
        attrs.push(("k8s.namespace.name", ns.to_owned()));
    }
    for (label, key) in [
        ("deployment", "k8s.deployment.name"),
        ("statefulset", "k8s.statefulset.name"),
        ("daemonset", "k8s.daemonset.name"),
        ("k8s_job", "k8s.job.name"),
        ("replicaset", "k8s.replicaset.name"),
        ("pod", "k8s.pod.name"),
    ] {
        if let Some(value) = labels.get(label) {
            attrs.push((key, value.to_owned()));
        }
    }
    attrs
}

/// Whether the request is gRPC: its content type says so, or its stream ended with a gRPC
/// status.
fn is_grpc(request: &Request) -> bool {
    request.grpc_status().is_some()
        || request.init.as_ref().is_some_and(|init| {
            init.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("content-type")
                    && h.value.as_bytes().starts_with(b"application/grpc")
            })
        })
}

/// `host` and `port` of an authority (`[::1]:80`, `web:8080`, `web`).
fn host_port(authority: &str) -> (&str, Option<u16>) {
    if let Some((host, port)) = authority.rsplit_once(':')
        && !host.is_empty()
        && (!host.contains(':') || host.ends_with(']'))
        && let Ok(port) = port.parse()
    {
        return (
            host.trim_start_matches('[').trim_end_matches(']'),
            Some(port),
        );
    }
    (authority, None)
}

fn endpoint_attrs(attrs: &mut Vec<KeyValue>, side: &str, endpoint: &Endpoint) {
    if let Some((ns, kind, name)) = workload(endpoint) {
        attrs.push(text(
            &format!("meshtap.{side}.workload"),
            &format!("{kind}/{name}"),
        ));
        attrs.push(text(&format!("meshtap.{side}.namespace"), ns));
    }
    if let Some(pod) = endpoint.labels.get("pod") {
        attrs.push(text(&format!("meshtap.{side}.pod"), pod));
    }
    if let Some(addr) = endpoint.addr {
        attrs.push(text(&format!("meshtap.{side}.address"), &addr.to_string()));
    }
}

/// Why the request failed by Linkerd's rule (status ≥ 500, a reset, a failing gRPC code, no
/// end within the TTL); `None` when it did not, or the outcome is unknown.
fn failure(request: &Request) -> Option<String> {
    if request.success() != Some(false) {
        return None;
    }
    Some(if let Some(code) = request.reset_code() {
        format!("stream reset (HTTP/2 error code {code})")
    } else if let Some(code) = request
        .grpc_status()
        .filter(|_| request.http_status().is_none_or(|s| s < 500))
    {
        format!("gRPC {}", grpc_code_name(code).unwrap_or("unknown code"))
    } else if let Some(status) = request.http_status().filter(|s| *s >= 500) {
        format!("HTTP {status}")
    } else {
        "no end of stream within the TTL".to_owned()
    })
}

fn nanos(time: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(time.timestamp_nanos_opt().unwrap_or_default()).unwrap_or_default()
}

/// The span of one request.
pub fn span(request: &Request) -> Span {
    let ids = span_ids(request);
    let grpc = is_grpc(request);
    let path = request.path();
    let (path_only, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let mut attrs = Vec::new();
    let method = request.method();
    if !method.is_empty() {
        attrs.push(text("http.request.method", method));
    }
    if !path.is_empty() {
        attrs.push(text("url.path", path_only));
    }
    if let Some(query) = query {
        attrs.push(text("url.query", query));
    }
    if let Some(scheme) = request.init.as_ref().and_then(|i| i.scheme.as_deref()) {
        attrs.push(text("url.scheme", scheme));
    }
    let (host, port) = host_port(request.authority());
    if !host.is_empty() {
        attrs.push(text("server.address", host));
    }
    if let Some(port) = port {
        attrs.push(int("server.port", port));
    }
    if let Some(status) = request.http_status() {
        attrs.push(int("http.response.status_code", status));
    }
    let mut name = if method.is_empty() { "HTTP" } else { method }.to_owned();
    if grpc {
        attrs.push(text("rpc.system", "grpc"));
        if let Some((service, rpc)) = path_only.trim_start_matches('/').split_once('/') {
            attrs.push(text("rpc.service", service));
            attrs.push(text("rpc.method", rpc));
            name = format!("{service}/{rpc}");
        }
        if let Some(code) = request.grpc_status() {
            attrs.push(int("rpc.grpc.status_code", code));
        }
    }
    if let Some(addr) = peer(request).addr {
        attrs.push(text("network.peer.address", &addr.ip().to_string()));
        attrs.push(int("network.peer.port", addr.port()));
    }
    endpoint_attrs(&mut attrs, "src", &request.source);
    endpoint_attrs(&mut attrs, "dst", &request.destination);
    linkerd_attrs(&mut attrs, request);
    let started = nanos(request.started);
    let ended = request
        .duration()
        .map(|d| started.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
        .or(request.ended_at.map(nanos))
        .unwrap_or(started);
    let status = failure(request).map(|message| Status {
        message,
        code: StatusCode::Error as i32,
    });
    Span {
        trace_id: ids.trace_id.0.to_vec(),
        span_id: ids.span_id.0.to_vec(),
        parent_span_id: ids.parent.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags: match (ids.parent, ids.sampled) {
            (Some(_), sampled) => FLAGS_PARENT_IS_REMOTE | u32::from(sampled == Some(true)),
            (None, _) => 0,
        },
        name,
        kind: match request.direction {
            Direction::Outbound => SpanKind::Client,
            Direction::Inbound => SpanKind::Server,
            Direction::Unknown => SpanKind::Internal,
        } as i32,
        start_time_unix_nano: started,
        end_time_unix_nano: ended.max(started),
        attributes: attrs,
        status,
        ..Span::default()
    }
}

/// `http.route`: the route the request was matched to (an `HTTPRoute`/`GRPCRoute`, a
/// `ServiceProfile` route, the server's inbound route), never a template nor a default route,
/// which name no route of the user's; with the rule's index as `linkerd.route.rule`.
fn route_attrs(attrs: &mut Vec<KeyValue>, request: &Request) {
    let matched = matched_route(request);
    let Some(route) = matched.route.as_ref().filter(|r| !r.is_default()) else {
        return;
    };
    attrs.push(text("http.route", &route.name));
    if let Some(rule) = matched.rule {
        attrs.push(int("linkerd.route.rule", i64::from(rule)));
    }
}

fn peer(request: &Request) -> &Endpoint {
    match request.direction {
        Direction::Inbound => &request.source,
        Direction::Outbound | Direction::Unknown => &request.destination,
    }
}

/// Identities, TLS, route and policy labels, and the tap's own ids.
fn linkerd_attrs(attrs: &mut Vec<KeyValue>, request: &Request) {
    let tls = request.identity().1;
    if !tls.is_empty() {
        attrs.push(text("linkerd.tls", tls));
    }
    if let Some(client) = request.source.labels.get("client_id") {
        attrs.push(text("linkerd.client_id", client));
    }
    if let Some(server) = request.destination.labels.get("server_id") {
        attrs.push(text("linkerd.server_id", server));
    }
    if let Some(route) = request.route.get("route") {
        attrs.push(text("linkerd.route", route));
    }
    route_attrs(attrs, request);
    for (key, value) in request.destination.labels.iter() {
        if key.starts_with("srv_") || key.starts_with("authz_") || key.starts_with("route_") {
            attrs.push(text(&format!("linkerd.{key}"), value));
        }
    }
    attrs.push(text("meshtap.direction", request.direction.short()));
    attrs.push(text("meshtap.stream", &request.key().id.to_string()));
    if let Some(bytes) = request.response_bytes() {
        attrs.push(int(
            "meshtap.response_bytes",
            i64::try_from(bytes).unwrap_or(i64::MAX),
        ));
    }
    if let Some(code) = request.reset_code() {
        attrs.push(int("meshtap.reset_code", code));
    }
    let ids = TraceIds::of(request);
    if let Some(context) = ids.context {
        attrs.push(text("meshtap.trace_header", context.format.header()));
    }
    if let Some(id) = ids.request_id {
        attrs.push(text("meshtap.request_id", id));
    }
}
