//! The request detail: the selected request as a tree of labelled nodes, and where the user is in
//! it. Building the tree is pure, so the reducer navigates the same nodes the pane renders.

mod matched;
mod state;

use std::fmt::Write as _;
use std::time::Duration;

use crate::model::event::{Endpoint, Eos, HeaderValue, Headers, Labels, grpc_code_name};
use crate::model::request::Request;

use crate::session::{REDACTED, Redactor};
pub use state::DetailState;

/// Which header values the tree masks: what the session's redactor hides, until the user
/// reveals them (`r`).
#[derive(Clone, Copy, Debug)]
struct Mask<'a> {
    redactor: &'a Redactor,
    reveal: bool,
}

impl Mask<'_> {
    fn hides(self, name: &str) -> bool {
        !self.reveal && self.redactor.is_sensitive(name)
    }
}

/// One line of the tree: `key: value`, with children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Unique among siblings; a node's path of ids identifies it.
    pub id: String,
    pub key: String,
    pub value: String,
    /// The value was masked.
    pub redacted: bool,
    pub children: Vec<Node>,
}

impl Node {
    fn leaf(key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        Self {
            id: key.clone(),
            key,
            value: value.into(),
            redacted: false,
            children: Vec::new(),
        }
    }

    fn branch(key: &str, children: Vec<Node>) -> Self {
        Self {
            id: key.to_owned(),
            key: key.to_owned(),
            value: String::new(),
            redacted: false,
            children,
        }
    }
}

/// The detail tree of a request; the values `redactor` hides are masked unless `reveal`.
pub fn nodes(request: &Request, redactor: &Redactor, reveal: bool) -> Vec<Node> {
    let reveal = Mask { redactor, reveal };
    let mut out = vec![
        request_node(request, reveal),
        response_node(request, reveal),
        end_node(request, reveal),
    ];
    let (identity, tls) = request.identity();
    out.push(endpoint(
        "source",
        &request.source,
        request.direction() == crate::model::event::Direction::Inbound,
        identity,
        tls,
    ));
    out.push(endpoint(
        "destination",
        &request.destination,
        request.direction() == crate::model::event::Direction::Outbound,
        identity,
        tls,
    ));
    out.push(matched::matched_node(request));
    out.push(labels_node("route", &request.route));

    let mut ids = vec![
        Node::leaf("seq", request.seq.to_string()),
        Node::leaf("stream", request.key().id.to_string()),
        Node::leaf("direction", request.direction().proto_name()),
        Node::leaf(
            "reporter",
            request
                .key()
                .reporter
                .map_or_else(|| "(unknown)".to_owned(), |a| a.to_string()),
        ),
    ];
    ids.push(Node::leaf(
        "started",
        request
            .started
            .format("%Y-%m-%d %H:%M:%S%.3f UTC")
            .to_string(),
    ));
    out.push(Node::branch("ids", ids));
    out
}

fn request_node(request: &Request, reveal: Mask) -> Node {
    let mut req = Vec::new();
    match &request.init {
        Some(init) => {
            req.push(Node::leaf(
                "method",
                init.method.as_deref().unwrap_or("(none)"),
            ));
            req.push(Node::leaf(
                "scheme",
                init.scheme.as_deref().unwrap_or("(none)"),
            ));
            req.push(Node::leaf("authority", init.authority.as_ref()));
            req.push(Node::leaf("path", init.path.as_ref()));
            req.push(headers("headers", &init.headers, reveal));
        }
        None => req.push(Node::leaf(
            "missing",
            "the tap started after this request was sent (orphan)",
        )),
    }
    Node::branch("request", req)
}

fn response_node(request: &Request, reveal: Mask) -> Node {
    let mut rsp = Vec::new();
    match &request.response {
        Some(response) => {
            rsp.push(Node::leaf("status", response.http_status.to_string()));
            rsp.push(Node::leaf(
                "latency",
                opt_duration(response.since_request_init),
            ));
            rsp.push(headers("headers", &response.headers, reveal));
        }
        None if request.expired => rsp.push(Node::leaf("missing", "expired without a response")),
        None if request.end.is_some() => {
            rsp.push(Node::leaf("missing", "ended before any response"));
        }
        None => rsp.push(Node::leaf("waiting", "no response yet (in flight)")),
    }
    Node::branch("response", rsp)
}

fn end_node(request: &Request, reveal: Mask) -> Node {
    let mut end = Vec::new();
    match &request.end {
        Some(e) => {
            end.push(Node::leaf("duration", opt_duration(e.since_request_init)));
            end.push(Node::leaf(
                "since response",
                opt_duration(e.since_response_init),
            ));
            end.push(Node::leaf("bytes", e.response_bytes.to_string()));
            let outcome = match e.eos {
                Some(Eos::Grpc(code)) => {
                    format!(
                        "grpc-status {code} ({})",
                        grpc_code_name(code).unwrap_or("?")
                    )
                }
                Some(Eos::Reset(code)) => format!("stream reset, error code {code}"),
                None => "ended normally".to_owned(),
            };
            end.push(Node::leaf("outcome", outcome));
            end.push(headers("trailers", &e.trailers, reveal));
        }
        None if request.expired => end.push(Node::leaf("expired", "no end arrived in time")),
        None => end.push(Node::leaf("open", "the stream has not ended yet")),
    }
    Node::branch("end", end)
}

fn endpoint(
    key: &str,
    endpoint: &Endpoint,
    speaks_for_tls: bool,
    identity: Option<&str>,
    tls: &str,
) -> Node {
    let mut children = vec![Node::leaf(
        "address",
        endpoint
            .addr
            .map_or_else(|| "(none)".to_owned(), |a| a.to_string()),
    )];
    if speaks_for_tls {
        children.push(Node::leaf("tls", tls_words(tls)));
        children.push(Node::leaf("identity", identity.unwrap_or("(none)")));
    }
    children.push(labels_node("labels", &endpoint.labels));
    Node::branch(key, children)
}

/// TLS status in plain words (PROTOCOL.md §3 lists the reasons).
pub fn tls_words(tls: &str) -> String {
    match tls {
        "true" => "mutual TLS".to_owned(),
        "" => "unknown (no tls label)".to_owned(),
        "loopback" => "not encrypted: loopback".to_owned(),
        "no_tls_from_remote" => "not encrypted: the client sent plaintext".to_owned(),
        "not_provided_by_service_discovery" => {
            "not encrypted: destination not meshed (no identity from discovery)".to_owned()
        }
        "disabled" => "not encrypted: TLS disabled".to_owned(),
        "port_skipped" => "not encrypted: port skipped by the proxy".to_owned(),
        "ingress_without_override" => "not encrypted: ingress without l5d-dst-override".to_owned(),
        other => format!("not encrypted: {other}"),
    }
}

fn labels_node(key: &str, labels: &Labels) -> Node {
    let children: Vec<Node> = labels.iter().map(|(k, v)| Node::leaf(k, v)).collect();
    let mut node = Node::branch(key, children);
    if labels.is_empty() {
        "(none)".clone_into(&mut node.value);
    }
    node
}

fn headers(key: &str, headers: &Headers, mask: Mask) -> Node {
    let mut children: Vec<Node> = Vec::with_capacity(headers.len());
    for (i, header) in headers.iter().enumerate() {
        let hidden = mask.hides(header.name);
        let value = if hidden {
            REDACTED.to_owned()
        } else {
            header_text(&header.value)
        };
        children.push(Node {
            // Header names repeat (set-cookie); the index keeps ids unique among siblings.
            id: format!("{i}:{}", header.name),
            key: header.name.to_string(),
            value,
            redacted: hidden,
            children: Vec::new(),
        });
    }
    let mut node = Node::branch(key, children);
    if headers.is_empty() {
        "(none)".clone_into(&mut node.value);
    }
    node
}

fn header_text(value: &HeaderValue<'_>) -> String {
    match value {
        HeaderValue::Str(s) => s.to_string(),
        HeaderValue::Bin(bytes) => {
            let mut out = String::from("0x");
            for b in bytes.iter().take(64) {
                let _ = write!(out, "{b:02x}");
            }
            if bytes.len() > 64 {
                let _ = write!(out, "… ({} bytes)", bytes.len());
            }
            out
        }
    }
}

fn opt_duration(d: Option<Duration>) -> String {
    d.map_or_else(|| "(unknown)".to_owned(), format_duration)
}

/// `850µs`, `4.2ms`, `120ms`, `1.25s`.
pub fn format_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 10_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else if micros < 1_000_000 {
        format!("{}ms", micros / 1_000)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}
