//! meshtap's NDJSON schema: one joined request per line (documented in the README). Written by
//! `export::ndjson`, read back by `source::replay`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

mod matched;

pub use matched::{MatchedRouteRecord, RetryRecord, TimeoutsRecord};

use crate::capture::{self, ip_and_port, rfc3339};
use crate::model::event::{Endpoint, Eos, HeaderValue, Headers, Labels, grpc_code_name};
use crate::model::request::{Phase, Request, workload};
use crate::session::Redactor;

/// The schema version written in every record (`"v"`).
pub const NDJSON_VERSION: u32 = 1;

fn ndjson_version() -> u32 {
    NDJSON_VERSION
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Absent from the `_meshtap` of HAR files written before it held the whole record.
    #[serde(default = "ndjson_version")]
    pub v: u32,
    /// The cluster that reported the request, when the capture holds several (`--context
    /// A,B`); absent with one. Adding it changed no other field's meaning, so `v` stays 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// RFC 3339 arrival time of the first event of the request. Empty only in the `_meshtap` of
    /// HAR files written before it held the whole record (the entry's `startedDateTime` says it).
    #[serde(default)]
    pub started: String,
    /// RFC 3339 arrival time of the end of stream, when it came.
    pub ended: Option<String>,
    /// `inbound`, `outbound` or `unknown`: which proxy reported it.
    pub direction: String,
    pub id: StreamIdRecord,
    pub source: EndpointRecord,
    pub destination: EndpointRecord,
    pub identity: IdentityRecord,
    pub method: Option<String>,
    pub scheme: Option<String>,
    pub authority: Option<String>,
    pub path: Option<String>,
    pub status: Option<u32>,
    pub grpc_status: Option<u32>,
    pub grpc_status_name: Option<String>,
    pub reset_code: Option<u32>,
    /// Time to response headers.
    pub latency_ms: Option<f64>,
    /// Time from request to end of stream.
    pub duration_ms: Option<f64>,
    /// Time from response headers to end of stream.
    pub stream_ms: Option<f64>,
    pub response_bytes: Option<u64>,
    /// `done`, `waiting` (no response yet), `streaming` (response begun) or `expired`.
    pub phase: String,
    /// Linkerd's success rule; `null` while unknown.
    pub success: Option<bool>,
    /// Always present in NDJSON; left out of a HAR entry's `_meshtap`, whose entry holds them in
    /// `request.headers` and `response.headers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<Vec<HeaderRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<Vec<HeaderRecord>>,
    pub trailers: Vec<HeaderRecord>,
    /// `ServiceProfile` route labels, as tap's `route_meta` carried them.
    pub route: BTreeMap<String, String>,
    /// What the request was matched to (the outbound policy's route, the `ServiceProfile`
    /// route, the inbound route, or a template). Absent in captures written before it existed:
    /// adding it changed no other field's meaning, so `v` stays 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_route: Option<MatchedRouteRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamIdRecord {
    pub base: u32,
    pub stream: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub ip: String,
    pub port: u16,
    pub labels: BTreeMap<String, String>,
    pub namespace: Option<String>,
    /// Workload kind (`deploy`, `sts`, `ds`, `job`, `rs`, `rc`, `po`) and name.
    pub workload_kind: Option<String>,
    pub workload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityRecord {
    pub client_id: Option<String>,
    pub server_id: Option<String>,
    /// The TLS label that speaks for the request: the source's for inbound, the destination's
    /// for outbound (`true`, or why not).
    pub tls: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderRecord {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<String>,
    /// Base64 of a binary value.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value_bin: Option<String>,
}
fn millis(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(capture::millis)
}

fn labels(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn endpoint(e: &Endpoint) -> EndpointRecord {
    let (ip, port) = ip_and_port(e.addr);
    let owner = workload(e);
    EndpointRecord {
        ip,
        port,
        labels: labels(&e.labels),
        namespace: e.labels.get("namespace").map(str::to_string),
        workload_kind: owner.map(|(_, kind, _)| kind.to_string()),
        workload: owner.map(|(_, _, name)| name.to_string()),
    }
}

fn headers(headers: &Headers, redactor: &Redactor) -> Vec<HeaderRecord> {
    headers
        .iter()
        .map(|h| {
            let (value, value_bin) = match &h.value {
                _ if redactor.is_sensitive(h.name) => {
                    (Some(crate::session::REDACTED.to_string()), None)
                }
                HeaderValue::Str(s) => (Some(s.to_string()), None),
                HeaderValue::Bin(b) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(b)),
                ),
            };
            HeaderRecord {
                name: h.name.to_string(),
                value,
                value_bin,
            }
        })
        .collect()
}

impl RequestRecord {
    pub fn new(request: &Request, redactor: &Redactor) -> Self {
        let init = request.init.as_ref();
        let (_, tls) = request.identity();
        let phase = match request.phase() {
            Phase::Waiting => "waiting",
            Phase::Streaming => "streaming",
            Phase::Done => "done",
            Phase::Expired => "expired",
            Phase::Superseded => "superseded",
        };
        Self {
            v: NDJSON_VERSION,
            cluster: request.cluster.as_ref().map(ToString::to_string),
            started: rfc3339(request.started),
            ended: request.ended_at.map(rfc3339),
            direction: request.direction().proto_name().to_ascii_lowercase(),
            id: StreamIdRecord {
                base: request.key().id.base,
                stream: request.key().id.stream,
            },
            source: endpoint(&request.source),
            destination: endpoint(&request.destination),
            identity: IdentityRecord {
                client_id: request.source.labels.get("client_id").map(str::to_string),
                server_id: request
                    .destination
                    .labels
                    .get("server_id")
                    .map(str::to_string),
                tls: tls.to_string(),
            },
            method: init.and_then(|i| i.method.as_deref()).map(str::to_string),
            scheme: init.and_then(|i| i.scheme.as_deref()).map(str::to_string),
            authority: init.map(|i| i.authority.to_string()),
            path: init.map(|i| i.path.to_string()),
            status: request.http_status(),
            grpc_status: request.grpc_status(),
            grpc_status_name: request
                .grpc_status()
                .map(|c| grpc_code_name(c).map_or_else(|| format!("Code({c})"), str::to_string)),
            reset_code: match request.eos() {
                Some(Eos::Reset(code)) => Some(code),
                _ => None,
            },
            latency_ms: millis(request.latency()),
            duration_ms: millis(request.end.as_ref().and_then(|e| e.since_request_init)),
            stream_ms: millis(request.end.as_ref().and_then(|e| e.since_response_init)),
            response_bytes: request.response_bytes(),
            phase: phase.to_string(),
            success: request.success(),
            request_headers: Some(
                init.map(|i| headers(&i.headers, redactor))
                    .unwrap_or_default(),
            ),
            response_headers: Some(
                request
                    .response
                    .as_ref()
                    .map(|r| headers(&r.headers, redactor))
                    .unwrap_or_default(),
            ),
            trailers: request
                .end
                .as_ref()
                .map(|e| headers(&e.trailers, redactor))
                .unwrap_or_default(),
            route: labels(&request.route),
            matched_route: Some(MatchedRouteRecord::from(
                &*crate::model::policy::matched_route(request),
            )),
        }
    }
}
