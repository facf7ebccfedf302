//! Owned tap events: what every source turns wire messages into, and all the rest of meshtap sees.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

mod headers;

use super::policy::MatchedRoute;

pub use headers::{Header, HeaderValue, Headers, HeadersIter, Shape, Slot};

/// Shared immutable text. Label keys, label values and header names repeat from event to event,
/// so sources intern them and events share one allocation.
pub type Text = Arc<str>;

/// A cluster's name (the kube context, or its `--cluster-name`), shared by every event and
/// request of that cluster. One pointer wide where a [`Text`] is two, because every stored
/// request carries one; the join key it contributes is computed once, here.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClusterName(Arc<ClusterNameInner>);

#[derive(PartialEq, Eq, Hash)]
struct ClusterNameInner {
    name: Box<str>,
    key: u32,
}

impl ClusterName {
    pub fn new(name: &str) -> Self {
        // FNV-1a: the join key only has to tell the session's few clusters apart.
        let key = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        });
        Self(Arc::new(ClusterNameInner {
            name: name.into(),
            key,
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0.name
    }

    /// A number for the join key: events of different clusters never join even when their
    /// proxies share an address (overlapping pod networks are common between clusters).
    pub fn key(&self) -> u32 {
        self.0.key
    }
}

impl fmt::Debug for ClusterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ClusterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label set, sorted by key. Cheap to clone: label sets repeat across events and are shared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Labels(Arc<[(Text, Text)]>);

impl Labels {
    /// Builds a label set from pairs in any order.
    pub fn new(pairs: impl IntoIterator<Item = (Text, Text)>) -> Self {
        let mut pairs: Vec<_> = pairs.into_iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Self(pairs.into())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::new(
            iter.into_iter()
                .map(|(k, v)| (Text::from(k.as_ref()), Text::from(v.as_ref()))),
        )
    }
}

/// Which side of the proxy reported the event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    #[default]
    Unknown,
    Inbound,
    Outbound,
}

impl Direction {
    /// The proto enum name, as `linkerd viz tap -o json` prints it.
    pub fn proto_name(self) -> &'static str {
        match self {
            Direction::Unknown => "UNKNOWN",
            Direction::Inbound => "INBOUND",
            Direction::Outbound => "OUTBOUND",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Direction::Unknown => "???",
            Direction::Inbound => "in",
            Direction::Outbound => "out",
        }
    }
}

/// One end of a tapped connection: its address and the labels Linkerd attached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// Absent when the event carried no address.
    pub addr: Option<SocketAddr>,
    pub labels: Labels,
}

/// Identifies one HTTP stream on one proxy: `base` changes with every Observe call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    pub base: u32,
    pub stream: u64,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.base, self.stream)
    }
}

/// How a response stream ended, when the proxy said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eos {
    Grpc(u32),
    Reset(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInit {
    pub id: StreamId,
    /// `None` when the event carried no method (Linkerd's text output then prints `GET`).
    pub method: Option<Text>,
    pub scheme: Option<Text>,
    pub authority: Text,
    pub path: Box<str>,
    pub headers: Headers,
    /// The outbound policy route the client's proxy applied, as meshtap attributed it (the
    /// policy stage, or a replayed capture); `None` when no policy was known. Shared: requests
    /// to one rule and backend point at one value.
    pub matched_route: Option<Arc<MatchedRoute>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseInit {
    pub id: StreamId,
    pub since_request_init: Option<Duration>,
    pub http_status: u32,
    pub headers: Headers,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseEnd {
    pub id: StreamId,
    pub since_request_init: Option<Duration>,
    /// Absent when the stream ended before any response.
    pub since_response_init: Option<Duration>,
    pub response_bytes: u64,
    pub eos: Option<Eos>,
    pub trailers: Headers,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpEvent {
    RequestInit(RequestInit),
    ResponseInit(ResponseInit),
    ResponseEnd(ResponseEnd),
}

impl HttpEvent {
    pub fn id(&self) -> StreamId {
        match self {
            HttpEvent::RequestInit(e) => e.id,
            HttpEvent::ResponseInit(e) => e.id,
            HttpEvent::ResponseEnd(e) => e.id,
        }
    }
}

/// One tap event as a proxy reported it, stamped with when meshtap received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapEvent {
    /// The cluster whose tap reported it, when the session opened several (`--context A,B`);
    /// `None` with one cluster, so a single-cluster session carries nothing extra.
    pub cluster: Option<ClusterName>,
    pub arrived: DateTime<Utc>,
    pub source: Endpoint,
    pub destination: Endpoint,
    pub direction: Direction,
    pub route: Labels,
    /// `None` for an event whose `http` carried nothing (printed as `unknown`).
    pub http: Option<HttpEvent>,
}

impl TapEvent {
    /// The address of the proxy that reported the event: the destination for inbound traffic,
    /// the source for outbound.
    pub fn reporter(&self) -> Option<SocketAddr> {
        reporter(self.direction, &self.source, &self.destination)
    }

    /// The TLS label that speaks for this event: the source's for inbound, the destination's
    /// for outbound, none when the direction is unknown.
    pub fn tls(&self) -> &str {
        match self.direction {
            Direction::Inbound => self.source.labels.get("tls").unwrap_or(""),
            Direction::Outbound => self.destination.labels.get("tls").unwrap_or(""),
            Direction::Unknown => "",
        }
    }
}

/// The address of the proxy that reported traffic in `direction` between these endpoints.
pub fn reporter(
    direction: Direction,
    source: &Endpoint,
    destination: &Endpoint,
) -> Option<SocketAddr> {
    match direction {
        Direction::Inbound => destination.addr,
        Direction::Outbound | Direction::Unknown => source.addr,
    }
}

/// gRPC status code names as Go's `codes.Code` prints them.
pub fn grpc_code_name(code: u32) -> Option<&'static str> {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    NAMES.get(code as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_searchable() {
        let labels: Labels = [
            ("tls", "true"),
            ("pod", "web-1"),
            ("namespace", "emojivoto"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            labels.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["namespace", "pod", "tls"]
        );
        assert_eq!(labels.get("pod"), Some("web-1"));
        assert_eq!(labels.get("zone"), None);
    }

    #[test]
    fn grpc_names_cover_the_standard_codes() {
        assert_eq!(grpc_code_name(0), Some("OK"));
        assert_eq!(grpc_code_name(16), Some("Unauthenticated"));
        assert_eq!(grpc_code_name(17), None);
    }
}
