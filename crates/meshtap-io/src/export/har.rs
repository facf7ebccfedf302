//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>): one entry per joined request, so
//! browser devtools and HAR viewers can open a capture.
//!
//! HAR has no place for what a mesh knows, so meshtap's fields sit under `_meshtap` (HAR allows
//! custom fields that start with `_`): the request's number and its NDJSON record (direction,
//! stream id, endpoints with their labels, identities and TLS, route labels, gRPC status, reset
//! code, phase, exact durations, trailers) but for the header lists HAR holds itself.
//! `meshtap replay` reads them back; other tools ignore them.
//!
//! The document is streamed: entries are written one per line as they come, so exporting a full
//! store does not build the whole document in memory.

use std::io;

use serde::Serialize;

use crate::capture::har::{
    Content, Entry, HarHeader, HarRequest, HarResponse, MeshtapFields, NameValue, Timings,
};
use crate::capture::ndjson::{HeaderRecord, RequestRecord};
use crate::capture::{CaptureRecord, rfc3339};
use crate::model::request::Request;
use crate::session::Redactor;

fn har_headers(records: Option<Vec<HeaderRecord>>) -> Vec<HarHeader> {
    records
        .unwrap_or_default()
        .into_iter()
        .map(HarHeader::from)
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
    let mut record = RequestRecord::new(request, redactor);
    // HAR has its own header lists; `_meshtap` holds the rest of the record.
    let request_headers = har_headers(record.request_headers.take());
    let response_headers = har_headers(record.response_headers.take());
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
        started_date_time: rfc3339(request.started),
        time: timings.send + timings.wait + timings.receive,
        request: HarRequest {
            // HAR requires a method; Linkerd's CLI prints GET for a missing one too.
            method: record.method.clone().unwrap_or_else(|| "GET".to_string()),
            url: url(request, &record),
            // The tap API does not say which HTTP version was spoken.
            http_version: String::new(),
            headers: request_headers,
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
            record,
        }),
    }
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
    crate::terminal::to_json_writer(&mut *out, &creator).map_err(to_io)?;
    if let Some(capture) = capture {
        out.write_all(b",\"_meshtap\":")?;
        crate::terminal::to_json_writer(&mut *out, capture).map_err(to_io)?;
    }
    out.write_all(b",\"entries\":[")?;
    let mut written = 0;
    for request in requests {
        out.write_all(if written == 0 { b"\n" } else { b",\n" })?;
        crate::terminal::to_json_writer(&mut *out, &entry(request, redactor)).map_err(to_io)?;
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
