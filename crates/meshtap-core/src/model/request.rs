//! A request: the three tap events of one HTTP stream joined together.

use std::net::SocketAddr;
use std::num::NonZeroI32;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::ClusterName;
use super::event::{
    Direction, Endpoint, Eos, HttpEvent, Labels, RequestInit, ResponseEnd, ResponseInit, StreamId,
    TapEvent, reporter,
};

/// What joins events into a request: the same stream on the same reporting proxy.
/// (`linkerd viz top` keys on source, destination and stream, which collides across windows.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey {
    /// [`ClusterName::key`]; 0 with one cluster.
    pub cluster: u32,
    pub direction: Direction,
    pub reporter: Option<SocketAddr>,
    pub id: StreamId,
}

impl RequestKey {
    pub fn of(event: &TapEvent) -> Option<Self> {
        let http = event.http.as_ref()?;
        Some(Self {
            cluster: event.cluster.as_ref().map_or(0, ClusterName::key),
            direction: event.direction,
            reporter: event.reporter(),
            id: http.id(),
        })
    }
}

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Request seen, no response yet.
    Waiting,
    /// Response headers seen, body still streaming.
    Streaming,
    /// The stream ended.
    Done,
    /// No end arrived within the TTL; meshtap gave up waiting.
    Expired,
    /// A newer request arrived with the same key (stream id reused, or a lost end): nothing more
    /// can join this one, so meshtap closed it.
    Superseded,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Arrival order, unique for the whole capture: the stable key the UI selects by.
    pub seq: u64,
    /// The cluster that reported it, when several are open (`TapEvent::cluster`).
    pub cluster: Option<ClusterName>,
    /// The join key is not stored: it derives from the direction, the endpoints and the events'
    /// stream id ([`Request::key`]), and 56 bytes a request add up over 100,000 of them.
    pub direction: Direction,
    pub source: Endpoint,
    pub destination: Endpoint,
    pub route: Labels,
    /// When the first event of this request arrived.
    pub started: DateTime<Utc>,
    /// When the end of stream arrived.
    pub ended_at: Option<DateTime<Utc>>,
    /// `None` for an orphan: the tap began after the request did.
    pub init: Option<RequestInit>,
    pub response: Option<ResponseInit>,
    pub end: Option<ResponseEnd>,
    /// Closed without an end because the TTL passed (at most one of `expired`/`superseded`).
    pub expired: bool,
    /// Closed without an end because a newer request took its key.
    pub superseded: bool,
    /// The other side of the same call (the other proxy's report of it), as the offset from
    /// this request's seq to its seq, when the store paired them for certain
    /// ([`super::store::sides`]). Read it with `Store::other_side`. It fits in the struct's
    /// padding: pairing costs a held request nothing.
    pub other_side: Option<NonZeroI32>,
}

impl Request {
    pub fn from_event(seq: u64, key: RequestKey, event: TapEvent) -> Self {
        let mut request = Self {
            seq,
            cluster: event.cluster,
            direction: key.direction,
            source: event.source,
            destination: event.destination,
            route: event.route,
            started: event.arrived,
            ended_at: None,
            init: None,
            response: None,
            end: None,
            expired: false,
            superseded: false,
            other_side: None,
        };
        if let Some(http) = event.http {
            request.apply(http, event.arrived);
        }
        request
    }

    pub fn apply(&mut self, http: HttpEvent, arrived: DateTime<Utc>) {
        match http {
            HttpEvent::RequestInit(e) => self.init = Some(e),
            HttpEvent::ResponseInit(e) => self.response = Some(e),
            HttpEvent::ResponseEnd(e) => {
                self.end = Some(e);
                self.ended_at = Some(arrived);
            }
        }
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The key the store joined this request's events by.
    pub fn key(&self) -> RequestKey {
        let id = match (&self.init, &self.response, &self.end) {
            (Some(init), _, _) => init.id,
            (None, Some(response), _) => response.id,
            (None, None, Some(end)) => end.id,
            (None, None, None) => StreamId::default(),
        };
        RequestKey {
            cluster: self.cluster.as_ref().map_or(0, ClusterName::key),
            direction: self.direction,
            reporter: reporter(self.direction, &self.source, &self.destination),
            id,
        }
    }

    pub fn phase(&self) -> Phase {
        if self.end.is_some() {
            Phase::Done
        } else if self.expired {
            Phase::Expired
        } else if self.superseded {
            Phase::Superseded
        } else if self.response.is_some() {
            Phase::Streaming
        } else {
            Phase::Waiting
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.phase(), Phase::Waiting | Phase::Streaming)
    }

    /// Heap bytes this request owns alone: its path and the header bytes that are not shared
    /// with other requests. Label sets, interned strings and header shapes are shared (and
    /// bounded by the source's interner), so they are not counted here.
    pub fn heap_bytes(&self) -> usize {
        let init = self
            .init
            .as_ref()
            .map_or(0, |i| i.path.len() + i.headers.heap_bytes());
        let response = self.response.as_ref().map_or(0, |r| r.headers.heap_bytes());
        let end = self.end.as_ref().map_or(0, |e| e.trailers.heap_bytes());
        init + response + end
    }

    pub fn method(&self) -> &str {
        self.init
            .as_ref()
            .and_then(|i| i.method.as_deref())
            .unwrap_or("")
    }

    pub fn authority(&self) -> &str {
        self.init.as_ref().map_or("", |i| &i.authority)
    }

    pub fn path(&self) -> &str {
        self.init.as_ref().map_or("", |i| &i.path)
    }

    pub fn http_status(&self) -> Option<u32> {
        self.response.as_ref().map(|r| r.http_status)
    }

    pub fn eos(&self) -> Option<Eos> {
        self.end.as_ref().and_then(|e| e.eos)
    }

    pub fn grpc_status(&self) -> Option<u32> {
        match self.eos() {
            Some(Eos::Grpc(code)) => Some(code),
            _ => None,
        }
    }

    pub fn reset_code(&self) -> Option<u32> {
        match self.eos() {
            Some(Eos::Reset(code)) => Some(code),
            _ => None,
        }
    }

    /// Time to response headers.
    pub fn latency(&self) -> Option<Duration> {
        self.response.as_ref().and_then(|r| r.since_request_init)
    }

    /// Time from request to end of stream (falls back to latency while streaming).
    pub fn duration(&self) -> Option<Duration> {
        self.end
            .as_ref()
            .and_then(|e| e.since_request_init)
            .or_else(|| self.latency())
    }

    pub fn response_bytes(&self) -> Option<u64> {
        self.end.as_ref().map(|e| e.response_bytes)
    }

    /// Linkerd's success rule: status < 500, no reset, and no gRPC status that means the server
    /// failed. `None` while the outcome is unknown.
    pub fn success(&self) -> Option<bool> {
        if let Some(end) = &self.end {
            return Some(match end.eos {
                Some(Eos::Reset(_)) => false,
                Some(Eos::Grpc(code)) => !is_grpc_failure(code) && self.http_ok(),
                None => self.http_ok(),
            });
        }
        // A superseded request's end may simply have been lost: its outcome stays unknown.
        match self.http_status() {
            Some(status) if status >= 500 => Some(false),
            _ if self.expired => Some(false),
            _ => None,
        }
    }

    fn http_ok(&self) -> bool {
        self.http_status().is_none_or(|s| s < 500)
    }

    /// The identity that speaks for this request and its TLS label: the client's for inbound,
    /// the server's for outbound.
    pub fn identity(&self) -> (Option<&str>, &str) {
        match self.direction() {
            Direction::Inbound => (
                self.source.labels.get("client_id"),
                self.source.labels.get("tls").unwrap_or(""),
            ),
            Direction::Outbound => (
                self.destination.labels.get("server_id"),
                self.destination.labels.get("tls").unwrap_or(""),
            ),
            Direction::Unknown => (None, ""),
        }
    }
}

/// gRPC codes Linkerd counts as failures: `Unknown`, `DeadlineExceeded`, `Internal`,
/// `Unavailable`, `DataLoss`.
pub fn is_grpc_failure(code: u32) -> bool {
    matches!(code, 2 | 4 | 13 | 14 | 15)
}

/// The workload an endpoint belongs to, from its labels: `(namespace, kind, name)`.
pub fn workload(endpoint: &Endpoint) -> Option<(&str, &'static str, &str)> {
    const OWNERS: [(&str, &str); 7] = [
        ("deployment", "deploy"),
        ("statefulset", "sts"),
        ("daemonset", "ds"),
        ("k8s_job", "job"),
        ("replicaset", "rs"),
        ("replicationcontroller", "rc"),
        ("pod", "po"),
    ];
    let labels = &endpoint.labels;
    let namespace = labels.get("namespace").unwrap_or("");
    OWNERS
        .iter()
        .find_map(|(key, short)| labels.get(key).map(|name| (namespace, *short, name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Headers, Labels, StreamId};

    fn end_with(eos: Option<Eos>) -> ResponseEnd {
        ResponseEnd {
            id: StreamId::default(),
            since_request_init: Some(Duration::from_millis(5)),
            since_response_init: Some(Duration::from_millis(1)),
            response_bytes: 10,
            eos,
            trailers: Headers::default(),
        }
    }

    /// `end`: `None` while the stream is open, `Some(eos)` once it ended.
    #[allow(
        clippy::option_option,
        reason = "open vs ended-without-eos vs ended-with-eos"
    )]
    fn request(status: Option<u32>, end: Option<Option<Eos>>) -> Request {
        Request {
            cluster: None,
            seq: 0,
            direction: Direction::Outbound,
            source: Endpoint::default(),
            destination: Endpoint::default(),
            route: Labels::default(),
            started: DateTime::<Utc>::UNIX_EPOCH,
            ended_at: None,
            init: None,
            response: status.map(|http_status| ResponseInit {
                id: StreamId::default(),
                since_request_init: Some(Duration::from_millis(4)),
                http_status,
                headers: Headers::default(),
            }),
            end: end.map(end_with),
            expired: false,
            superseded: false,
            other_side: None,
        }
    }

    #[test]
    fn success_follows_linkerd_rules() {
        assert_eq!(request(Some(200), Some(None)).success(), Some(true));
        assert_eq!(request(Some(404), Some(None)).success(), Some(true));
        assert_eq!(request(Some(503), Some(None)).success(), Some(false));
        assert_eq!(request(Some(503), None).success(), Some(false));
        assert_eq!(request(Some(200), None).success(), None);
        assert_eq!(
            request(Some(200), Some(Some(Eos::Reset(2)))).success(),
            Some(false)
        );
        assert_eq!(
            request(Some(200), Some(Some(Eos::Grpc(5)))).success(),
            Some(true)
        );
        for failing in [2, 4, 13, 14, 15] {
            assert_eq!(
                request(Some(200), Some(Some(Eos::Grpc(failing)))).success(),
                Some(false),
                "grpc {failing}"
            );
        }
    }

    #[test]
    fn phases() {
        assert_eq!(request(None, None).phase(), Phase::Waiting);
        assert_eq!(request(Some(200), None).phase(), Phase::Streaming);
        assert_eq!(request(Some(200), Some(None)).phase(), Phase::Done);
        let mut lost = request(None, None);
        lost.expired = true;
        assert_eq!(lost.phase(), Phase::Expired);
        assert_eq!(lost.success(), Some(false));
        let mut replaced = request(Some(200), None);
        replaced.superseded = true;
        assert_eq!(replaced.phase(), Phase::Superseded);
        assert!(!replaced.is_open());
        assert_eq!(replaced.success(), None, "its end may have been lost");
    }

    #[test]
    fn workload_prefers_owner_over_pod() {
        let endpoint = Endpoint {
            addr: None,
            labels: [
                ("namespace", "shop"),
                ("pod", "web-1"),
                ("deployment", "web"),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(workload(&endpoint), Some(("shop", "deploy", "web")));
    }
}
