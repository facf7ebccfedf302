//! HAR 1.2 entries as meshtap writes and reads them, with meshtap's own fields under `_meshtap`.
//! Written by `export::har`, read back by `source::replay`.

use serde::{Deserialize, Serialize};

use super::ndjson::{HeaderRecord, RequestRecord};

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

/// A header of the record as HAR writes it: a binary value is its base64 with `_encoding`.
impl From<HeaderRecord> for HarHeader {
    fn from(header: HeaderRecord) -> Self {
        match (header.value, header.value_bin) {
            (_, Some(bin)) => HarHeader {
                name: header.name,
                value: bin,
                encoding: Some(BASE64.to_string()),
            },
            (value, None) => HarHeader {
                name: header.name,
                value: value.unwrap_or_default(),
                encoding: None,
            },
        }
    }
}

/// A HAR header back as the record's.
impl From<&HarHeader> for HeaderRecord {
    fn from(header: &HarHeader) -> Self {
        let binary = header.encoding.as_deref() == Some(BASE64);
        HeaderRecord {
            name: header.name.clone(),
            value: (!binary).then(|| header.value.clone()),
            value_bin: binary.then(|| header.value.clone()),
        }
    }
}

/// What only meshtap knows about an entry: its number in the capture, then the NDJSON record
/// itself (one type, so the two formats say the same), whose header lists are left to the
/// entry's own `request.headers` and `response.headers`. Durations are exact here; HAR's timings
/// are 0 where unknown because HAR does not allow -1 for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshtapFields {
    pub seq: u64,
    #[serde(flatten)]
    pub record: RequestRecord,
}
