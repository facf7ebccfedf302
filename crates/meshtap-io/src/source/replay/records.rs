//! meshtap's own exports back into tap events: NDJSON request records, and HAR entries (meshtap's,
//! with `_meshtap`, or any other tool's, which become requests of unknown direction).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::capture::har::{Entry, HarHeader, MeshtapFields};
use crate::capture::ndjson::{
    EndpointRecord, HeaderRecord, IdentityRecord, MatchedRouteRecord, NDJSON_VERSION,
    RequestRecord, StreamIdRecord,
};
use crate::capture::{after, from_millis, response_arrived};
use crate::model::event::{
    Direction, Endpoint, Eos, Header, HeaderValue, Headers, HttpEvent, RequestInit, ResponseEnd,
    ResponseInit, StreamId, TapEvent,
};
use crate::source::wire::Interner;

/// The three events (as far as they happened) of one exported request.
pub fn record_events(
    record: &RequestRecord,
    interner: &mut Interner,
) -> Result<Vec<TapEvent>, String> {
    if record.v > NDJSON_VERSION {
        return Err(format!(
            "schema version {} is newer than this meshtap reads ({NDJSON_VERSION})",
            record.v
        ));
    }
    let cluster = record.cluster.as_deref().map(|name| interner.cluster(name));
    let started = time(&record.started)?;
    let ended = record.ended.as_deref().map(time).transpose()?;
    let direction = match record.direction.as_str() {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        _ => Direction::Unknown,
    };
    let id = StreamId {
        base: record.id.base,
        stream: record.id.stream,
    };
    let source = endpoint(&record.source, interner)?;
    let destination = endpoint(&record.destination, interner)?;
    let route = interner.labels(&record.route);
    let latency = millis(record.latency_ms);
    let mut http = Vec::with_capacity(3);
    if record.path.is_some() || record.authority.is_some() || record.method.is_some() {
        let init = RequestInit {
            id,
            method: record.method.as_deref().map(|m| interner.text(m)),
            scheme: record.scheme.as_deref().map(|s| interner.text(s)),
            authority: interner.text(record.authority.as_deref().unwrap_or("")),
            path: record.path.as_deref().unwrap_or("").into(),
            headers: headers(
                record.request_headers.as_deref().unwrap_or_default(),
                interner,
            )?,
            // Only a policy match needs carrying: the others derive from the labels again.
            matched_route: record
                .matched_route
                .as_ref()
                .and_then(MatchedRouteRecord::policy_route)
                .map(std::sync::Arc::new),
        };
        http.push((HttpEvent::RequestInit(init), started));
    }
    if let Some(http_status) = record.status {
        let arrived = response_arrived(started, latency, !http.is_empty(), ended);
        let init = ResponseInit {
            id,
            since_request_init: latency,
            http_status,
            headers: headers(
                record.response_headers.as_deref().unwrap_or_default(),
                interner,
            )?,
        };
        http.push((HttpEvent::ResponseInit(init), arrived));
    }
    if record.phase == "done" || ended.is_some() {
        let eos = match (record.reset_code, record.grpc_status) {
            (Some(code), _) => Some(Eos::Reset(code)),
            (None, Some(code)) => Some(Eos::Grpc(code)),
            (None, None) => None,
        };
        let end = ResponseEnd {
            id,
            since_request_init: millis(record.duration_ms),
            since_response_init: millis(record.stream_ms),
            response_bytes: record.response_bytes.unwrap_or(0),
            eos,
            trailers: headers(&record.trailers, interner)?,
        };
        http.push((HttpEvent::ResponseEnd(end), ended.unwrap_or(started)));
    }
    if http.is_empty() {
        return Err("the record holds no request, response or end".to_string());
    }
    Ok(http
        .into_iter()
        .map(|(http, arrived)| TapEvent {
            cluster: cluster.clone(),
            arrived,
            source: source.clone(),
            destination: destination.clone(),
            direction,
            route: route.clone(),
            http: Some(http),
        })
        .collect())
}

fn time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad time {s:?}: {e}"))
}

fn millis(ms: Option<f64>) -> Option<Duration> {
    ms.and_then(from_millis)
}

fn endpoint(record: &EndpointRecord, interner: &mut Interner) -> Result<Endpoint, String> {
    let addr = if record.ip.is_empty() {
        None
    } else {
        let ip: IpAddr = record
            .ip
            .parse()
            .map_err(|_| format!("bad IP address {:?}", record.ip))?;
        Some(SocketAddr::new(ip, record.port))
    };
    Ok(Endpoint {
        addr,
        labels: interner.labels(&record.labels),
    })
}

fn headers(records: &[HeaderRecord], interner: &mut Interner) -> Result<Headers, String> {
    let fields = records
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_deref(), h.value_bin.as_deref()));
    header_list(fields, interner)
}

/// A header list from exported `(name, text value, base64 value)` fields, as both the NDJSON and
/// Linkerd's JSON write them: a binary value wins, a header with neither is empty text.
pub(super) fn header_list<'a>(
    fields: impl Iterator<Item = (&'a str, Option<&'a str>, Option<&'a str>)> + Clone,
    interner: &mut Interner,
) -> Result<Headers, String> {
    // Binary values are decoded first, so the list can borrow them.
    let binary = fields
        .clone()
        .map(|(name, _, bin)| bin.map(|b| decode_base64(name, b)).transpose())
        .collect::<Result<Vec<_>, String>>()?;
    let list: Vec<Header<'_>> = fields
        .zip(&binary)
        .map(|((name, value, _), bin)| Header {
            name,
            value: match (value, bin) {
                (_, Some(bin)) => HeaderValue::Bin(bin),
                (Some(s), None) => HeaderValue::Str(s),
                (None, None) => HeaderValue::Str(""),
            },
        })
        .collect();
    Ok(interner.headers(&list))
}

fn decode_base64(name: &str, value: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| format!("header {name}: bad base64: {e}"))
}

fn har_headers(headers: &[HarHeader]) -> Vec<HeaderRecord> {
    headers.iter().map(HeaderRecord::from).collect()
}

/// `scheme://authority/path?query` → (scheme, authority, path with query).
fn split_url(url: &str) -> (Option<&str>, &str, &str) {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    match rest.find(['/', '?']) {
        Some(i) => (scheme, &rest[..i], &rest[i..]),
        None => (scheme, rest, "/"),
    }
}

fn blank_endpoint(ip: String, port: u16) -> EndpointRecord {
    EndpointRecord {
        ip,
        port,
        labels: BTreeMap::new(),
        namespace: None,
        workload_kind: None,
        workload: None,
    }
}

/// A HAR entry as the request record it was written from. Entries from other tools have no
/// `_meshtap`: they become requests of unknown direction, numbered by their position.
pub fn har_record(entry: Entry, index: usize) -> RequestRecord {
    let request_headers = har_headers(&entry.request.headers);
    let response_headers = har_headers(&entry.response.headers);
    if let Some(MeshtapFields { mut record, .. }) = entry.meshtap {
        // The headers are the entry's own; a file from before `_meshtap` held the whole record
        // has its start only in `startedDateTime`.
        record.request_headers = Some(request_headers);
        record.response_headers = Some(response_headers);
        if record.started.is_empty() {
            record.started = entry.started_date_time;
        }
        return record;
    }
    let (scheme, authority, path) = split_url(&entry.request.url);
    let port = authority
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0);
    let answered = entry.response.status != 0;
    let started = entry.started_date_time;
    let ended = time(&started).ok().filter(|_| answered).map(|t| {
        let total = millis(Some(entry.time)).unwrap_or_default();
        after(t, total).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    });
    RequestRecord {
        v: NDJSON_VERSION,
        cluster: None,
        started,
        ended,
        direction: "unknown".to_string(),
        id: StreamIdRecord {
            base: 0,
            stream: index as u64,
        },
        source: blank_endpoint(String::new(), 0),
        destination: blank_endpoint(entry.server_ip_address.unwrap_or_default(), port),
        identity: IdentityRecord {
            client_id: None,
            server_id: None,
            tls: String::new(),
        },
        method: Some(entry.request.method),
        scheme: scheme.map(str::to_ascii_uppercase),
        authority: Some(authority.to_string()),
        path: Some(path.to_string()),
        status: answered.then_some(entry.response.status),
        grpc_status: None,
        grpc_status_name: None,
        reset_code: None,
        latency_ms: answered.then_some(entry.timings.wait),
        duration_ms: answered.then_some(entry.time),
        stream_ms: answered.then_some(entry.timings.receive),
        response_bytes: u64::try_from(entry.response.body_size).ok(),
        phase: if answered { "done" } else { "waiting" }.to_string(),
        success: None,
        request_headers: Some(request_headers),
        response_headers: Some(response_headers),
        trailers: Vec::new(),
        route: BTreeMap::new(),
        matched_route: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_parts() {
        assert_eq!(
            split_url("https://web:8080/a/b?c=d"),
            (Some("https"), "web:8080", "/a/b?c=d")
        );
        assert_eq!(split_url("http://web?x"), (Some("http"), "web", "?x"));
        assert_eq!(split_url("http://web"), (Some("http"), "web", "/"));
    }
}
