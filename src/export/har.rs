//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>): one entry per joined request, so
//! browser devtools and HAR viewers can open a capture.
//!
//! HAR has no place for what a mesh knows, so meshtap's fields sit under `_meshtap` (HAR allows
//! custom fields that start with `_`): direction, stream id, endpoints with their labels,
//! identities and TLS, route labels, gRPC status, reset code, phase, exact durations and
//! trailers. `meshtap replay` reads them back; other tools ignore them.
//!
//! The document is streamed: entries are written one per line as they come, so exporting a full
//! store does not build the whole document in memory.

use std::collections::BTreeMap;
use std::io;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::Redactor;
use super::file::CaptureRecord;
use super::ndjson::{EndpointRecord, HeaderRecord, IdentityRecord, RequestRecord, StreamIdRecord};
use crate::model::event::{HeaderValue, Headers};
use crate::model::request::Request;

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
    pub direction: String,
    pub id: StreamIdRecord,
    /// `done`, `waiting`, `streaming` or `expired`.
    pub phase: String,
    pub source: EndpointRecord,
    pub destination: EndpointRecord,
    pub identity: IdentityRecord,
    pub route: BTreeMap<String, String>,
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

fn headers(headers: &Headers, redactor: &Redactor) -> Vec<HarHeader> {
    headers
        .iter()
        .map(|h| {
            let (value, encoding) = match &h.value {
                _ if redactor.is_sensitive(h.name) => (super::REDACTED.to_string(), None),
                HeaderValue::Str(s) => (s.to_string(), None),
                HeaderValue::Bin(b) => (
                    base64::engine::general_purpose::STANDARD.encode(b),
                    Some(BASE64.to_string()),
                ),
            };
            HarHeader {
                name: h.name.to_string(),
                value,
                encoding,
            }
        })
        .collect()
}

fn url(request: &Request, record: &RequestRecord) -> String {
    let scheme = record
        .scheme
        .as_deref()
        .filter(|s| !s.is_empty())
        .map_or_else(|| "http".to_string(), str::to_ascii_lowercase);
    let authority = match request.authority() {
        "" => request
            .destination
            .addr
            .map(|a| a.to_string())
            .unwrap_or_default(),
        authority => authority.to_string(),
    };
    format!("{scheme}://{authority}{}", request.path())
}

/// The query of a path as name/value pairs, undecoded (HAR keeps what was on the wire).
fn query(path: &str) -> Vec<NameValue> {
    let Some((_, query)) = path.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            NameValue {
                name: name.to_string(),
                value: value.to_string(),
            }
        })
        .collect()
}

/// One request as a HAR entry.
pub fn entry(request: &Request, redactor: &Redactor) -> Entry {
    let record = RequestRecord::new(request, redactor);
    let response_headers = request
        .response
        .as_ref()
        .map(|r| headers(&r.headers, redactor))
        .unwrap_or_default();
    let mime_type = response_headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
        .map(|h| h.value.clone())
        .unwrap_or_default();
    let status = record.status.unwrap_or(0);
    let status_text = u16::try_from(status)
        .ok()
        .and_then(|s| http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let bytes = record
        .response_bytes
        .map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    let timings = Timings {
        send: 0.0,
        wait: record.latency_ms.unwrap_or(0.0),
        receive: record.stream_ms.unwrap_or(0.0),
    };
    Entry {
        started_date_time: time(request.started),
        time: timings.send + timings.wait + timings.receive,
        request: HarRequest {
            // HAR requires a method; Linkerd's CLI prints GET for a missing one too.
            method: record.method.clone().unwrap_or_else(|| "GET".to_string()),
            url: url(request, &record),
            // The tap API does not say which HTTP version was spoken.
            http_version: String::new(),
            headers: request
                .init
                .as_ref()
                .map(|i| headers(&i.headers, redactor))
                .unwrap_or_default(),
            query_string: query(request.path()),
            cookies: Vec::new(),
            headers_size: -1,
            body_size: -1,
        },
        response: HarResponse {
            status,
            status_text: status_text.to_string(),
            http_version: String::new(),
            headers: response_headers,
            cookies: Vec::new(),
            content: Content {
                size: bytes.unwrap_or(0),
                mime_type,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: bytes.unwrap_or(-1),
        },
        cache: serde_json::Map::new(),
        timings,
        server_ip_address: Some(record.destination.ip.clone()).filter(|ip| !ip.is_empty()),
        meshtap: Some(MeshtapFields {
            seq: request.seq,
            direction: record.direction,
            id: record.id,
            phase: record.phase,
            source: record.source,
            destination: record.destination,
            identity: record.identity,
            route: record.route,
            authority: record.authority,
            path: record.path,
            method: record.method,
            scheme: record.scheme,
            status: record.status,
            grpc_status: record.grpc_status,
            grpc_status_name: record.grpc_status_name,
            reset_code: record.reset_code,
            latency_ms: record.latency_ms,
            duration_ms: record.duration_ms,
            stream_ms: record.stream_ms,
            response_bytes: record.response_bytes,
            ended: record.ended,
            success: record.success,
            trailers: record.trailers,
        }),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Writes a whole HAR document; returns the number of entries. `capture` describes the capture
/// under `log._meshtap`.
pub fn write<'a>(
    out: &mut impl io::Write,
    requests: impl IntoIterator<Item = &'a Request>,
    redactor: &Redactor,
    capture: Option<&CaptureRecord>,
) -> io::Result<usize> {
    #[derive(Serialize)]
    struct Creator {
        name: &'static str,
        version: &'static str,
    }
    let to_io = io::Error::other;
    out.write_all(b"{\"log\":{\"version\":\"1.2\",\"creator\":")?;
    let creator = Creator {
        name: "meshtap",
        version: env!("CARGO_PKG_VERSION"),
    };
    serde_json::to_writer(&mut *out, &creator).map_err(to_io)?;
    if let Some(capture) = capture {
        out.write_all(b",\"_meshtap\":")?;
        serde_json::to_writer(&mut *out, capture).map_err(to_io)?;
    }
    out.write_all(b",\"entries\":[")?;
    let mut written = 0;
    for request in requests {
        out.write_all(if written == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &entry(request, redactor)).map_err(to_io)?;
        written += 1;
    }
    out.write_all(b"\n]}}\n")?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_without_decoding() {
        let q = query("/search?q=a%20b&flag&x=1=2");
        let pairs: Vec<_> = q
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(pairs, [("q", "a%20b"), ("flag", ""), ("x", "1=2")]);
        assert!(query("/plain").is_empty());
    }
}
