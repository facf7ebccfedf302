//! Spans from requests: ids from the trace headers or the tap, kind, status by Linkerd's rule,
//! semantic-convention attributes, and the JSON encoding's OTLP exceptions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::Value;

use super::span::{span, span_ids};
use super::{Batch, write_json};
use crate::model::event::{
    Direction, Endpoint, Eos, Header, Headers, Labels, RequestInit, ResponseEnd, ResponseInit,
    StreamId,
};
use crate::model::request::Request;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

pub(crate) fn request(
    direction: Direction,
    path: &str,
    headers: &[(&str, &str)],
    status: u32,
    eos: Option<Eos>,
) -> Request {
    let id = StreamId { base: 7, stream: 3 };
    let endpoint = |addr: &str, labels: &[(&str, &str)]| Endpoint {
        addr: Some(addr.parse().expect("addr")),
        labels: labels.iter().copied().collect::<Labels>(),
    };
    let started = DateTime::<Utc>::from_timestamp(1_700_000_000, 5).expect("time");
    Request {
        cluster: None,
        seq: 0,
        direction,
        source: endpoint(
            "10.0.0.1:40000",
            &[
                ("namespace", "shop"),
                ("deployment", "front-end"),
                ("pod", "front-end-1"),
                (
                    "client_id",
                    "front-end.shop.serviceaccount.identity.linkerd.cluster.local",
                ),
            ],
        ),
        destination: endpoint(
            "10.0.0.2:8080",
            &[
                ("namespace", "shop"),
                ("deployment", "catalogue"),
                ("pod", "catalogue-1"),
                ("tls", "true"),
                (
                    "server_id",
                    "catalogue.shop.serviceaccount.identity.linkerd.cluster.local",
                ),
                ("route_name", "items"),
            ],
        ),
        route: Labels::default(),
        started,
        ended_at: Some(started + Duration::from_millis(30)),
        init: Some(RequestInit {
            id,
            method: Some("GET".into()),
            scheme: Some("http".into()),
            authority: "catalogue.shop:8080".into(),
            path: path.into(),
            headers: headers.iter().map(|(n, v)| Header::str(n, v)).collect(),
            matched_route: None,
        }),
        response: Some(ResponseInit {
            id,
            since_request_init: Some(Duration::from_millis(20)),
            http_status: status,
            headers: Headers::default(),
        }),
        end: Some(ResponseEnd {
            id,
            since_request_init: Some(Duration::from_millis(25)),
            since_response_init: Some(Duration::from_millis(5)),
            response_bytes: 1234,
            eos,
            trailers: Headers::default(),
        }),
        expired: false,
        superseded: false,
        other_side: None,
    }
}

fn attr(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            V::StringValue(s) => s.clone(),
            V::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

#[test]
fn ids_come_from_the_trace_headers_when_present() {
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let joined = request(
        Direction::Outbound,
        "/items?x=1",
        &[("traceparent", &traceparent)],
        200,
        None,
    );
    let span = span(&joined);
    assert_eq!(hex(&span.trace_id), TRACE);
    assert_eq!(hex(&span.parent_span_id), PARENT);
    assert_ne!(hex(&span.span_id), PARENT, "a span of meshtap's own");
    assert_eq!(span.span_id.len(), 8);
    assert_eq!(span.flags, 0x301, "sampled, parent remote");
    assert_eq!(span.kind, SpanKind::Client as i32);
    assert_eq!(span.name, "GET");
    assert_eq!(attr(&span, "url.path").as_deref(), Some("/items"));
    assert_eq!(attr(&span, "url.query").as_deref(), Some("x=1"));
    assert_eq!(
        attr(&span, "server.address").as_deref(),
        Some("catalogue.shop")
    );
    assert_eq!(attr(&span, "server.port").as_deref(), Some("8080"));
    assert_eq!(
        attr(&span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(attr(&span, "linkerd.tls").as_deref(), Some("true"));
    assert_eq!(attr(&span, "linkerd.route_name").as_deref(), Some("items"));
    assert_eq!(
        attr(&span, "meshtap.trace_header").as_deref(),
        Some("traceparent")
    );
    assert_eq!(span.status, None, "success leaves the status unset");
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        25_000_000
    );
}

#[test]
fn ids_without_headers_derive_from_the_tap_deterministically() {
    let one = request(Direction::Inbound, "/", &[], 200, None);
    let ids = span_ids(&one);
    assert_eq!(ids, span_ids(&one.clone()), "stable across exports");
    assert_eq!(ids.parent, None);
    assert!(ids.trace_id.0.iter().any(|&b| b != 0));
    let mut other = one.clone();
    other.init.as_mut().expect("init").id.stream = 4;
    other.response.as_mut().expect("response").id.stream = 4;
    other.end.as_mut().expect("end").id.stream = 4;
    assert_ne!(span_ids(&other).trace_id, ids.trace_id);
    assert_ne!(span_ids(&other).span_id, ids.span_id);
    let span = span(&one);
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert!(span.parent_span_id.is_empty());
}

#[test]
fn grpc_attributes_and_failure_status() {
    let grpc = request(
        Direction::Outbound,
        "/shop.Catalogue/List",
        &[("content-type", "application/grpc")],
        200,
        Some(Eos::Grpc(14)),
    );
    let span = span(&grpc);
    assert_eq!(span.name, "shop.Catalogue/List");
    assert_eq!(attr(&span, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attr(&span, "rpc.service").as_deref(),
        Some("shop.Catalogue")
    );
    assert_eq!(attr(&span, "rpc.method").as_deref(), Some("List"));
    assert_eq!(attr(&span, "rpc.grpc.status_code").as_deref(), Some("14"));
    let status = span.status.expect("status");
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "gRPC Unavailable");
    // NotFound is not a failure by Linkerd's rule; a 503 and a reset are.
    let not_found = request(Direction::Outbound, "/a.B/C", &[], 200, Some(Eos::Grpc(5)));
    assert_eq!(super::span::span(&not_found).status, None);
    let http = super::span::span(&request(Direction::Inbound, "/", &[], 503, None));
    assert_eq!(http.status.map(|s| s.message), Some("HTTP 503".into()));
    let reset = super::span::span(&request(
        Direction::Inbound,
        "/",
        &[],
        200,
        Some(Eos::Reset(2)),
    ));
    assert_eq!(reset.status.map(|s| s.code), Some(StatusCode::Error as i32));
}

#[test]
fn resources_group_by_the_reporting_workload() {
    let mut batch = Batch::default();
    batch.push(&request(Direction::Outbound, "/", &[], 200, None));
    batch.push(&request(Direction::Outbound, "/b", &[], 200, None));
    batch.push(&request(Direction::Inbound, "/", &[], 200, None));
    let message = batch.take();
    assert!(batch.is_empty());
    let names: Vec<(String, usize)> = message
        .resource_spans
        .iter()
        .map(|rs| {
            let resource = rs.resource.as_ref().expect("resource");
            let name = resource
                .attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            (format!("{name:?}"), rs.scope_spans[0].spans.len())
        })
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names
            .iter()
            .any(|(n, c)| n.contains("front-end") && *c == 2),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|(n, c)| n.contains("catalogue") && *c == 1),
        "{names:?}"
    );
}

#[test]
fn json_uses_otlp_hex_ids_numeric_enums_and_string_int64() {
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let joined = request(
        Direction::Outbound,
        "/",
        &[("traceparent", &traceparent)],
        200,
        None,
    );
    let requests = vec![joined; super::OTLP_BATCH_SPANS + 1];
    let mut out = Vec::new();
    assert_eq!(
        write_json(&mut out, &requests).expect("write"),
        requests.len()
    );
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "one document per batch");
    let doc: Value = serde_json::from_str(lines[1]).expect("json");
    let span = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], TRACE);
    assert_eq!(span["parentSpanId"], PARENT);
    assert_eq!(span["kind"], 3);
    assert!(span["startTimeUnixNano"].is_string());
    let status = span["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|kv| kv["key"] == "http.response.status_code")
        .expect("status attribute");
    assert_eq!(status["value"]["intValue"], "200");
    assert_eq!(
        doc["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"],
        "meshtap"
    );
}

fn hex(bytes: &[u8]) -> String {
    match bytes.len() {
        16 => crate::trace::TraceId(bytes.try_into().expect("16 bytes")).to_string(),
        _ => crate::trace::SpanId(bytes.try_into().expect("8 bytes")).to_string(),
    }
}

#[test]
fn http_route_names_the_matched_route_and_never_a_template() {
    use std::sync::Arc;

    use crate::model::policy::{MatchedRoute, RouteRef, RouteSource, RuleConfig};

    let mut routed = request(Direction::Outbound, "/catalogue/1", &[], 200, None);
    let matched = MatchedRoute {
        source: RouteSource::Policy,
        route: Some(RouteRef {
            group: "gateway.networking.k8s.io".into(),
            kind: "HTTPRoute".into(),
            namespace: "shop".into(),
            name: "catalogue-split".into(),
        }),
        rule: Some(1),
        parent: None,
        backend: None,
        rule_weight: None,
        config: RuleConfig::default(),
    };
    if let Some(init) = routed.init.as_mut() {
        init.matched_route = Some(Arc::new(matched.clone()));
    }
    let routed_span = span(&routed);
    assert_eq!(
        attr(&routed_span, "http.route").as_deref(),
        Some("catalogue-split")
    );
    assert_eq!(
        attr(&routed_span, "linkerd.route.rule").as_deref(),
        Some("1")
    );
    // No route known: a template, which is not a route name.
    let plain = span(&request(
        Direction::Outbound,
        "/catalogue/1",
        &[],
        200,
        None,
    ));
    assert_eq!(attr(&plain, "http.route"), None);
    // The parent's default route names no route of the user's either.
    let mut default = matched;
    default.route = Some(RouteRef {
        group: "".into(),
        kind: "default".into(),
        namespace: "".into(),
        name: "http".into(),
    });
    if let Some(init) = routed.init.as_mut() {
        init.matched_route = Some(Arc::new(default));
    }
    assert_eq!(attr(&span(&routed), "http.route"), None);
}
