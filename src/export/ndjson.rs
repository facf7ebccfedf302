//! meshtap's own NDJSON: one joined request per line, in the schema of `capture::ndjson`.

use std::collections::BTreeMap;
use std::io;

use base64::Engine as _;

use super::text::ip_and_port;
use crate::capture::ndjson::{
    EndpointRecord, HeaderRecord, IdentityRecord, NDJSON_VERSION, RequestRecord, StreamIdRecord,
};
use crate::capture::{self, rfc3339};
use crate::model::event::{Endpoint, Eos, HeaderValue, Headers, Labels, grpc_code_name};
use crate::model::request::{Phase, Request, workload};
use crate::session::Redactor;

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
            request_headers: init
                .map(|i| headers(&i.headers, redactor))
                .unwrap_or_default(),
            response_headers: request
                .response
                .as_ref()
                .map(|r| headers(&r.headers, redactor))
                .unwrap_or_default(),
            trailers: request
                .end
                .as_ref()
                .map(|e| headers(&e.trailers, redactor))
                .unwrap_or_default(),
            route: labels(&request.route),
        }
    }
}

/// Writes one request as one line.
pub fn write_request(
    out: &mut impl io::Write,
    request: &Request,
    redactor: &Redactor,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &RequestRecord::new(request, redactor))
        .map_err(io::Error::other)?;
    out.write_all(b"\n")
}
