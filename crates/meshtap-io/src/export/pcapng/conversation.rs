//! One tapped request as a synthetic TCP conversation: handshake, the request's HTTP/1.1 text at
//! its request-init time, the response's at response-init, and the close at the end of stream,
//! each packet carrying a comment that says where its facts came from.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use chrono::{DateTime, Utc};

use super::http;
use super::packet::{self, ACK, FIN, PSH, SYN, Segment};
use crate::capture::after;
use crate::model::event::{Eos, HeaderValue, grpc_code_name};
use crate::model::request::Request;
use crate::session::Redactor;

/// Payload bytes per segment: a 1500-byte MTU less the IPv6 and TCP headers, so a long header
/// block is split the way a real sender would split it (and no IPv4 length field overflows).
pub const SEGMENT_PAYLOAD_MAX_BYTES: usize = 1440;
/// The first ephemeral port (RFC 6335), for placeholder client ports.
const EPHEMERAL_PORT_MIN: u16 = 49_152;

/// One packet of the capture: when, its bytes, and its comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Microseconds since the Unix epoch.
    pub micros: u64,
    pub bytes: Vec<u8>,
    pub comment: String,
}

/// Numbers IPv4 datagrams across the whole capture.
#[derive(Debug, Default)]
pub struct IpIds(u16);

impl IpIds {
    fn next(&mut self) -> u16 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

/// The packets of `request`'s conversation, in order.
pub fn packets(request: &Request, redactor: &Redactor, ids: &mut IpIds) -> Vec<Packet> {
    let (client, server, placeholder) = endpoints(request);
    let about = describe(request, placeholder);
    let request_at = request.started;
    let response_at = request
        .latency()
        .map_or(request_at, |d| after(request_at, d));
    let end_at = request
        .ended_at
        .or_else(|| request.duration().map(|d| after(request_at, d)))
        .unwrap_or(response_at)
        .max(response_at);

    let mut out = Conversation {
        packets: Vec::new(),
        ids,
        about,
    };
    // Distinct initial sequence numbers per request, so Wireshark tells apart conversations that
    // reuse a 4-tuple (HTTP/2 multiplexes many streams over one connection).
    let (mut c, mut s) = initial_sequences(request.seq);
    let handshake = "synthetic TCP handshake (tap reports HTTP streams, not connections)";
    out.push(request_at, seg(client, server, c, 0, SYN, &[]), handshake);
    c = c.wrapping_add(1);
    out.push(
        request_at,
        seg(server, client, s, c, SYN | ACK, &[]),
        handshake,
    );
    s = s.wrapping_add(1);
    out.push(request_at, seg(client, server, c, s, ACK, &[]), handshake);

    if let Some(init) = &request.init {
        let text = http::request(init, redactor);
        let mut note = "request headers at request-init; tap carries no bodies".to_string();
        if init.method.is_none() {
            let _ = write!(
                note,
                "; the event named no method, shown as {}",
                http::DEFAULT_METHOD
            );
        }
        for chunk in text.chunks(SEGMENT_PAYLOAD_MAX_BYTES) {
            out.push(
                request_at,
                seg(client, server, c, s, PSH | ACK, chunk),
                &note,
            );
            c = c.wrapping_add(chunk.len() as u32);
        }
    }
    if let Some(response) = &request.response {
        let text = http::response(response, redactor);
        let note = "response headers at response-init; content-length: 0 because tap carries no \
                    bodies";
        for chunk in text.chunks(SEGMENT_PAYLOAD_MAX_BYTES) {
            out.push(
                response_at,
                seg(server, client, s, c, PSH | ACK, chunk),
                note,
            );
            s = s.wrapping_add(chunk.len() as u32);
        }
    }
    let close = end_note(request, redactor);
    out.push(end_at, seg(server, client, s, c, FIN | ACK, &[]), &close);
    s = s.wrapping_add(1);
    out.push(end_at, seg(client, server, c, s, FIN | ACK, &[]), &close);
    c = c.wrapping_add(1);
    out.push(end_at, seg(server, client, s, c, ACK, &[]), &close);
    out.packets
}

fn seg(
    from: SocketAddr,
    to: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Segment<'_> {
    Segment {
        from,
        to,
        seq,
        ack,
        flags,
        payload,
    }
}

/// The packets built so far, each commented with its own note and the request's description.
struct Conversation<'a> {
    packets: Vec<Packet>,
    ids: &'a mut IpIds,
    about: String,
}

impl Conversation<'_> {
    fn push(&mut self, at: DateTime<Utc>, segment: Segment<'_>, note: &str) {
        self.packets.push(Packet {
            micros: u64::try_from(at.timestamp_micros()).unwrap_or(0),
            bytes: packet::build(&segment, self.ids.next()),
            comment: format!("{note}; {}", self.about),
        });
    }
}

/// Client and server initial sequence numbers derived from the request's arrival number: stable
/// output for the same capture, different for every request.
pub fn initial_sequences(seq: u64) -> (u32, u32) {
    let mixed = seq.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((mixed >> 32) as u32, mixed as u32)
}

/// The conversation's client and server, with documentation-range placeholders (RFC 5737,
/// RFC 3849) for an address the event lacked; `true` when a placeholder was used.
fn endpoints(request: &Request) -> (SocketAddr, SocketAddr, bool) {
    let (source, destination) = (request.source.addr, request.destination.addr);
    let v6 = matches!(source.or(destination), Some(a) if a.is_ipv6());
    let placeholder = |last: u8, port: u16| {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(last)))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
        };
        SocketAddr::new(ip, port)
    };
    let client_port = EPHEMERAL_PORT_MIN + (request.seq % 16_384) as u16;
    (
        source.unwrap_or_else(|| placeholder(1, client_port)),
        destination.unwrap_or_else(|| placeholder(2, 80)),
        source.is_none() || destination.is_none(),
    )
}

/// What every packet of the request says about it: tap ids, identities, TLS, notes.
fn describe(request: &Request, placeholder: bool) -> String {
    let identity = |labels: &crate::model::event::Labels, key| {
        labels.get(key).unwrap_or("not reported").to_string()
    };
    let (_, tls) = request.identity();
    let mut text = format!(
        "meshtap request #{} tap {} stream {}; client identity {}; server identity {}; tls={}",
        request.seq,
        request.direction().proto_name().to_ascii_lowercase(),
        request.key().id,
        identity(&request.source.labels, "client_id"),
        identity(&request.destination.labels, "server_id"),
        if tls.is_empty() { "unknown" } else { tls },
    );
    if is_grpc(request) {
        text.push_str("; gRPC over HTTP/2 rendered as HTTP/1.1 text");
    }
    if placeholder {
        text.push_str("; the tap event carried no address: documentation-range placeholder");
    }
    if request.init.is_none() {
        text.push_str("; the request began before the tap (no request headers)");
    }
    text
}

fn is_grpc(request: &Request) -> bool {
    let content_type = request.init.as_ref().and_then(|init| {
        init.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-type"))
            .map(|h| h.value)
    });
    matches!(request.eos(), Some(Eos::Grpc(_)))
        || matches!(content_type, Some(HeaderValue::Str(v)) if v.starts_with("application/grpc"))
}

/// How the stream ended, for the closing packets.
fn end_note(request: &Request, redactor: &Redactor) -> String {
    let Some(end) = &request.end else {
        return "synthetic close: no end of stream was seen".to_string();
    };
    let mut text = format!(
        "synthetic close at end of stream ({} response bytes not captured)",
        end.response_bytes
    );
    match end.eos {
        Some(Eos::Grpc(code)) => {
            let _ = write!(
                text,
                "; grpc-status {code} {}",
                grpc_code_name(code).unwrap_or("")
            );
        }
        Some(Eos::Reset(code)) => {
            let _ = write!(text, "; reset with HTTP/2 error {code}");
        }
        None => {}
    }
    let trailers = http::trailers(&end.trailers, redactor);
    if !trailers.is_empty() {
        let _ = write!(text, "; trailers: {trailers}");
    }
    text
}
