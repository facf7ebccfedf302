//! meshtap's NDJSON schema: one joined request per line (documented in the README). Written by
//! `export::ndjson`, read back by `source::replay`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The schema version written in every record (`"v"`).
pub const NDJSON_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub v: u32,
    /// The cluster that reported the request, when the capture holds several (`--context
    /// A,B`); absent with one. Adding it changed no other field's meaning, so `v` stays 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// RFC 3339 arrival time of the first event of the request.
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
    pub request_headers: Vec<HeaderRecord>,
    pub response_headers: Vec<HeaderRecord>,
    pub trailers: Vec<HeaderRecord>,
    /// `ServiceProfile` route labels.
    pub route: BTreeMap<String, String>,
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
