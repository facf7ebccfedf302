//! HAR 1.2 entries as meshtap writes and reads them, with meshtap's own fields under `_meshtap`.
//! Written by `export::har`, read back by `source::replay`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ndjson::{EndpointRecord, HeaderRecord, IdentityRecord, StreamIdRecord};

/// `_encoding` of a header whose value is base64 of binary bytes.
pub const BASE64: &str = "base64";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    /// Milliseconds: the sum of the timings, as HAR defines it.
    pub time: f64,
    pub request: HarRequest,
    pub response: HarResponse,
    #[serde(default)]
    pub cache: serde_json::Map<String, serde_json::Value>,
    pub timings: Timings,
    #[serde(
        rename = "serverIPAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_ip_address: Option<String>,
    #[serde(rename = "_meshtap", default, skip_serializing_if = "Option::is_none")]
    pub meshtap: Option<MeshtapFields>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarRequest {
    pub method: String,
    pub url: String,
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<HarHeader>,
    #[serde(default)]
    pub query_string: Vec<NameValue>,
    #[serde(default)]
    pub cookies: Vec<NameValue>,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarResponse {
    /// 0 when no response arrived.
    pub status: u32,
    pub status_text: String,
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<HarHeader>,
    #[serde(default)]
    pub cookies: Vec<NameValue>,
    pub content: Content,
    #[serde(rename = "redirectURL", default)]
    pub redirect_url: String,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub size: i64,
    #[serde(default)]
    pub mime_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub send: f64,
    pub wait: f64,
    pub receive: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarHeader {
    pub name: String,
    pub value: String,
    /// `base64` when the value was binary.
    #[serde(rename = "_encoding", default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// What only meshtap knows about an entry. Durations are exact here; HAR's timings are 0 where
/// unknown because HAR does not allow -1 for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshtapFields {
    pub seq: u64,
    /// As in the NDJSON record: the cluster, when the capture holds several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub direction: String,
    pub id: StreamIdRecord,
    /// `done`, `waiting`, `streaming`, `expired` or `superseded`.
    pub phase: String,
    pub source: EndpointRecord,
    pub destination: EndpointRecord,
    pub identity: IdentityRecord,
    pub route: BTreeMap<String, String>,
    /// As in the NDJSON record: what the request was matched to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_route: Option<super::ndjson::MatchedRouteRecord>,
    /// `:authority` and `:path` as the proxy saw them; `null` when no request-init event was
    /// seen (HAR's method and URL are then placeholders).
    pub authority: Option<String>,
    pub path: Option<String>,
    /// The method as the proxy sent it; `null` when it sent none (HAR's method then says GET).
    pub method: Option<String>,
    pub scheme: Option<String>,
    pub status: Option<u32>,
    pub grpc_status: Option<u32>,
    pub grpc_status_name: Option<String>,
    pub reset_code: Option<u32>,
    pub latency_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub stream_ms: Option<f64>,
    pub response_bytes: Option<u64>,
    pub ended: Option<String>,
    pub success: Option<bool>,
    pub trailers: Vec<HeaderRecord>,
}
