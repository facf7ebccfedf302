//! `linkerd viz tap -o json` output back into tap events: the inverse of
//! `export::linkerd_json`. The format carries no timestamps; the caller dates the events.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::event::{
    Direction, Endpoint, Eos, Headers, HttpEvent, RequestInit, ResponseEnd, ResponseInit, StreamId,
    TapEvent,
};
use crate::source::wire::Interner;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the names are Linkerd's JSON keys"
)]
struct Event {
    #[serde(default)]
    source: Option<JsonEndpoint>,
    #[serde(default)]
    destination: Option<JsonEndpoint>,
    #[serde(default)]
    route_meta: Option<BTreeMap<String, String>>,
    proxy_direction: String,
    #[serde(default)]
    request_init_event: Option<JsonRequestInit>,
    #[serde(default)]
    response_init_event: Option<JsonResponseInit>,
    #[serde(default)]
    response_end_event: Option<JsonResponseEnd>,
}

#[derive(Deserialize)]
struct JsonEndpoint {
    #[serde(default)]
    ip: String,
    #[serde(default)]
    port: u16,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
struct Id {
    #[serde(default)]
    base: u32,
    #[serde(default)]
    stream: u64,
}

#[derive(Deserialize, Clone, Copy)]
struct JsonDuration {
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    nanos: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeader {
    name: String,
    #[serde(default)]
    value_str: Option<String>,
    #[serde(default)]
    value_bin: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequestInit {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    method: String,
    #[serde(default)]
    scheme: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    headers: Option<Vec<JsonHeader>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResponseInit {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    since_request_init: Option<JsonDuration>,
    http_status: u32,
    #[serde(default)]
    headers: Option<Vec<JsonHeader>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResponseEnd {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    since_request_init: Option<JsonDuration>,
    #[serde(default)]
    since_response_init: Option<JsonDuration>,
    #[serde(default)]
    response_bytes: u64,
    #[serde(default)]
    trailers: Option<Vec<JsonHeader>>,
    #[serde(default)]
    grpc_status_code: u32,
    #[serde(default)]
    reset_error_code: u32,
}

/// Whether a JSON object looks like one of Linkerd's tap events.
pub fn looks_like_event(object: &serde_json::Map<String, serde_json::Value>) -> bool {
    object.contains_key("proxyDirection")
}

/// One event object, dated `arrived`.
pub fn event(
    value: serde_json::Value,
    interner: &mut Interner,
    arrived: DateTime<Utc>,
) -> Result<TapEvent, String> {
    let json: Event = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let direction = match json.proxy_direction.as_str() {
        "INBOUND" => Direction::Inbound,
        "OUTBOUND" => Direction::Outbound,
        _ => Direction::Unknown,
    };
    let http = match (
        json.request_init_event,
        json.response_init_event,
        json.response_end_event,
    ) {
        (Some(e), _, _) => Some(HttpEvent::RequestInit(RequestInit {
            id: id(e.id),
            // Linkerd prints "" for a missing method or scheme.
            method: Some(e.method)
                .filter(|m| !m.is_empty())
                .map(|m| interner.text(&m)),
            scheme: Some(e.scheme)
                .filter(|s| !s.is_empty())
                .map(|s| interner.text(&s)),
            authority: interner.text(&e.authority),
            path: e.path.into_boxed_str(),
            headers: headers(e.headers, interner)?,
            matched_route: None,
        })),
        (None, Some(e), _) => Some(HttpEvent::ResponseInit(ResponseInit {
            id: id(e.id),
            since_request_init: e.since_request_init.map(duration),
            http_status: e.http_status,
            headers: headers(e.headers, interner)?,
        })),
        (None, None, Some(e)) => {
            let trailers = headers(e.trailers, interner)?;
            Some(HttpEvent::ResponseEnd(ResponseEnd {
                id: id(e.id),
                since_request_init: e.since_request_init.map(duration),
                since_response_init: e.since_response_init.map(duration),
                response_bytes: e.response_bytes,
                eos: eos(e.grpc_status_code, e.reset_error_code, &trailers),
                trailers,
            }))
        }
        (None, None, None) => None,
    };
    Ok(TapEvent {
        cluster: None,
        arrived,
        source: endpoint(json.source, interner)?,
        destination: endpoint(json.destination, interner)?,
        direction,
        route: json
            .route_meta
            .map(|m| interner.labels(&m))
            .unwrap_or_default(),
        http,
    })
}

/// Linkerd prints `grpcStatusCode: 0` both for gRPC OK and for a stream without an end-of-stream
/// status; a `grpc-status` trailer tells them apart where the proxy sent trailers.
fn eos(grpc: u32, reset: u32, trailers: &Headers) -> Option<Eos> {
    if reset != 0 {
        return Some(Eos::Reset(reset));
    }
    if grpc != 0 {
        return Some(Eos::Grpc(grpc));
    }
    trailers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("grpc-status"))
        .then_some(Eos::Grpc(0))
}

fn id(id: Option<Id>) -> StreamId {
    let id = id.unwrap_or_default();
    StreamId {
        base: id.base,
        stream: id.stream,
    }
}

fn duration(d: JsonDuration) -> Duration {
    Duration::new(d.seconds, 0).saturating_add(Duration::from_nanos(u64::from(d.nanos)))
}

fn endpoint(json: Option<JsonEndpoint>, interner: &mut Interner) -> Result<Endpoint, String> {
    let Some(json) = json else {
        return Ok(Endpoint::default());
    };
    let addr = if json.ip.is_empty() {
        None
    } else {
        let ip: IpAddr = json
            .ip
            .parse()
            .map_err(|_| format!("bad IP address {:?}", json.ip))?;
        Some(SocketAddr::new(ip, json.port))
    };
    Ok(Endpoint {
        addr,
        labels: json
            .metadata
            .map(|m| interner.labels(&m))
            .unwrap_or_default(),
    })
}

fn headers(json: Option<Vec<JsonHeader>>, interner: &mut Interner) -> Result<Headers, String> {
    let json = json.unwrap_or_default();
    let fields = json.iter().map(|h| {
        (
            h.name.as_str(),
            h.value_str.as_deref(),
            h.value_bin.as_deref(),
        )
    });
    super::records::header_list(fields, interner)
}
