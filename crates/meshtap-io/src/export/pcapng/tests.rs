//! pcapng tests: the block layout read back by a small independent reader, and the TCP
//! conversation's sequence and acknowledgement numbers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::packet::{ACK, FIN, PSH, SYN};
use super::*;
use crate::model::event::{
    Direction, Endpoint, Eos, Headers, Labels, RequestInit, ResponseEnd, ResponseInit, Shape, Slot,
    StreamId, Text,
};
use crate::model::request::Request;

fn at(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().expect("valid time")
}

fn request(source: Option<&str>, destination: Option<&str>, path: &str) -> Request {
    let addr = |a: Option<&str>| a.map(|a| a.parse::<SocketAddr>().expect("addr"));
    let headers = Headers::new(
        Arc::new(Shape::new(vec![Slot::Str(Text::from("content-type"))])),
        [b"application/grpc".as_slice()],
    );
    Request {
        cluster: None,
        seq: 7,
        direction: Direction::Inbound,
        source: Endpoint {
            addr: addr(source),
            labels: [
                (
                    "client_id",
                    "web.shop.serviceaccount.identity.linkerd.cluster.local",
                ),
                ("tls", "true"),
            ]
            .into_iter()
            .collect(),
        },
        destination: Endpoint {
            addr: addr(destination),
            labels: Labels::default(),
        },
        route: Labels::default(),
        started: at(1_700_000_000_000_000),
        ended_at: Some(at(1_700_000_000_009_000)),
        init: Some(RequestInit {
            id: StreamId {
                base: 3,
                stream: 17,
            },
            method: Some(Text::from("POST")),
            scheme: Some(Text::from("http")),
            authority: Text::from("emoji-svc.emojivoto:8080"),
            path: path.into(),
            headers,
            matched_route: None,
        }),
        response: Some(ResponseInit {
            id: StreamId {
                base: 3,
                stream: 17,
            },
            since_request_init: Some(Duration::from_millis(4)),
            http_status: 200,
            headers: Headers::default(),
        }),
        end: Some(ResponseEnd {
            id: StreamId {
                base: 3,
                stream: 17,
            },
            since_request_init: Some(Duration::from_millis(9)),
            since_response_init: Some(Duration::from_millis(5)),
            response_bytes: 12,
            eos: Some(Eos::Grpc(0)),
            trailers: Headers::default(),
        }),
        expired: false,
        superseded: false,
        other_side: None,
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// A block as read back: its type, the bytes of its body, and its options.
struct Block {
    kind: u32,
    body: Vec<u8>,
}

/// Splits a file into blocks, checking each block's two length fields and alignment.
fn blocks(file: &[u8]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let kind = u32_at(file, at);
        let total = u32_at(file, at + 4) as usize;
        assert_eq!(total % 4, 0, "block at {at} is 32-bit aligned");
        assert!(
            total >= 12 && at + total <= file.len(),
            "block at {at} fits"
        );
        assert_eq!(
            u32_at(file, at + total - 4) as usize,
            total,
            "trailing length"
        );
        out.push(Block {
            kind,
            body: file[at + 8..at + total - 4].to_vec(),
        });
        at += total;
    }
    out
}

/// The options that start at `from` in a block body: `(code, value)`, ending at `opt_endofopt`.
fn options(body: &[u8], from: usize) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let (code, len) = (u16_at(body, at), u16_at(body, at + 2) as usize);
        if code == 0 {
            assert_eq!(len, 0);
            assert_eq!(at + 4, body.len(), "end of options ends the block");
            return out;
        }
        out.push((code, body[at + 4..at + 4 + len].to_vec()));
        at += 4 + len.div_ceil(4) * 4;
    }
}

/// An Enhanced Packet Block's (timestamp µs, packet bytes, comment).
fn packet(block: &Block) -> (u64, Vec<u8>, String) {
    assert_eq!(block.kind, 6);
    let b = &block.body;
    let micros = (u64::from(u32_at(b, 4)) << 32) | u64::from(u32_at(b, 8));
    let (captured, original) = (u32_at(b, 12) as usize, u32_at(b, 16) as usize);
    assert_eq!(captured, original);
    let data = b[20..20 + captured].to_vec();
    let opts = options(b, 20 + captured.div_ceil(4) * 4);
    let comment = opts
        .iter()
        .find(|(code, _)| *code == 1)
        .map(|(_, v)| String::from_utf8(v.clone()).expect("utf-8 comment"))
        .expect("every packet has a comment");
    (micros, data, comment)
}

fn export(requests: &[Request]) -> Vec<u8> {
    let mut out = Vec::new();
    let written = write(&mut out, requests, &Redactor::default(), None).expect("write");
    assert_eq!(written, requests.len());
    out
}

#[test]
fn header_blocks_declare_raw_ip_and_microseconds() {
    let file = export(&[]);
    let blocks = blocks(&file);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].kind, 0x0A0D_0D0A);
    assert_eq!(u32_at(&blocks[0].body, 0), 0x1A2B_3C4D);
    assert_eq!(
        (u16_at(&blocks[0].body, 4), u16_at(&blocks[0].body, 6)),
        (1, 0)
    );
    let shb = options(&blocks[0].body, 16);
    assert!(
        shb.iter()
            .any(|(code, v)| *code == 4 && v.starts_with(b"meshtap "))
    );
    assert_eq!(blocks[1].kind, 1);
    assert_eq!(u16_at(&blocks[1].body, 0), LINKTYPE_RAW);
    let idb = options(&blocks[1].body, 8);
    assert!(idb.contains(&(9, vec![6])), "if_tsresol = microseconds");
}

#[test]
fn odd_lengths_are_padded_and_long_values_truncated() {
    let mut options = Options(Vec::new());
    options.add(1, b"abcde");
    let body = options.end();
    assert_eq!(body.len(), 4 + 8 + 4);
    assert_eq!(u16_at(&body, 2), 5, "the length field counts no padding");
    let long = "é".repeat(40_000); // 80,000 bytes of two-byte characters
    let cut = truncate_utf8(long.as_bytes(), OPTION_VALUE_MAX_BYTES);
    assert!(cut.len() <= OPTION_VALUE_MAX_BYTES);
    assert!(
        std::str::from_utf8(cut).is_ok(),
        "cut at a character boundary"
    );
}

/// `(seq, ack, flags, payload length, client→server)` of each packet of a conversation.
fn tcp(packets: &[(u64, Vec<u8>, String)], ip_header: usize) -> Vec<(u32, u32, u8, usize, bool)> {
    packets
        .iter()
        .map(|(_, p, _)| {
            let t = &p[ip_header..];
            let seq = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
            let ack = u32::from_be_bytes([t[8], t[9], t[10], t[11]]);
            let from_client = u16::from_be_bytes([t[0], t[1]]) == 40_000;
            (seq, ack, t[13], t.len() - 20, from_client)
        })
        .collect()
}

#[test]
fn conversation_numbers_follow_tcp() {
    let file = export(&[request(
        Some("10.0.0.1:40000"),
        Some("10.0.0.2:8080"),
        "/emojivoto.v1.EmojiService/ListAll",
    )]);
    let packets: Vec<_> = blocks(&file)[2..].iter().map(packet).collect();
    let segs = tcp(&packets, 20);
    assert_eq!(
        segs.len(),
        3 + 1 + 1 + 3,
        "handshake, request, response, close"
    );
    let (c, s) = conversation::initial_sequences(7);
    let (req, resp) = (segs[3].3 as u32, segs[4].3 as u32);
    let expected = [
        (c, 0, SYN, 0, true),
        (s, c + 1, SYN | ACK, 0, false),
        (c + 1, s + 1, ACK, 0, true),
        (c + 1, s + 1, PSH | ACK, req as usize, true),
        (s + 1, c + 1 + req, PSH | ACK, resp as usize, false),
        (s + 1 + resp, c + 1 + req, FIN | ACK, 0, false),
        (c + 1 + req, s + 2 + resp, FIN | ACK, 0, true),
        (s + 2 + resp, c + 2 + req, ACK, 0, false),
    ];
    assert_eq!(segs, expected);
    // Real timestamps: request at request-init, response 4 ms later, close at the end.
    let times: Vec<u64> = packets.iter().map(|p| p.0).collect();
    let t0 = 1_700_000_000_000_000;
    assert_eq!(
        times,
        [
            t0,
            t0,
            t0,
            t0,
            t0 + 4_000,
            t0 + 9_000,
            t0 + 9_000,
            t0 + 9_000
        ]
    );
    let text = String::from_utf8_lossy(&packets[3].1[40..]).to_string();
    assert!(
        text.starts_with("POST /emojivoto.v1.EmojiService/ListAll HTTP/1.1\r\nhost: emoji-svc")
    );
    let comment = &packets[3].2;
    for needle in [
        "request #7",
        "stream 3:17",
        "web.shop.serviceaccount",
        "tls=true",
        "gRPC",
        "no bodies",
    ] {
        assert!(comment.contains(needle), "{needle} in {comment}");
    }
    assert!(
        packets[5].2.contains("grpc-status 0 OK"),
        "{}",
        packets[5].2
    );
    // Every IPv4 header checks out.
    assert!(packets.iter().all(|p| packet::checksum(&[&p.1[..20]]) == 0));
}

#[test]
fn long_headers_split_into_segments_and_ipv6_works() {
    let path = format!("/{}", "a".repeat(3_000));
    let file = export(&[request(
        Some("[2001:db8::1]:40000"),
        Some("[2001:db8::2]:80"),
        &path,
    )]);
    let packets: Vec<_> = blocks(&file)[2..].iter().map(packet).collect();
    let segs = tcp(&packets, 40);
    let data: Vec<_> = segs.iter().filter(|s| s.3 > 0 && s.4).collect();
    assert_eq!(
        data.len(),
        3,
        "a 3 KB request needs three 1440-byte segments"
    );
    assert!(data.iter().all(|s| s.3 <= SEGMENT_PAYLOAD_MAX_BYTES));
    for pair in data.windows(2) {
        assert_eq!(
            pair[1].0,
            pair[0].0.wrapping_add(pair[0].3 as u32),
            "contiguous"
        );
    }
    assert!(packets.iter().all(|p| p.1[0] >> 4 == 6));
}

#[test]
fn missing_addresses_get_documentation_placeholders() {
    let file = export(&[request(None, None, "/")]);
    let (_, bytes, comment) = packet(&blocks(&file)[2]);
    assert_eq!(&bytes[12..16], &[192, 0, 2, 1]);
    assert_eq!(&bytes[16..20], &[192, 0, 2, 2]);
    assert!(comment.contains("placeholder"), "{comment}");
}
