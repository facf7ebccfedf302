//! Raw IPv4/IPv6 + TCP packets (`LINKTYPE_RAW`) with correct checksums: the bytes of one synthetic
//! segment, built so that Wireshark's TCP analysis and checksum validation find nothing to flag.

use std::net::{IpAddr, SocketAddr};

/// TCP flags used by the synthetic conversations.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// IP protocol number of TCP.
const PROTO_TCP: u8 = 6;
const IPV4_HEADER_BYTES: usize = 20;
const IPV6_HEADER_BYTES: usize = 40;
const TCP_HEADER_BYTES: usize = 20;
/// What a Linux sender starts with; any value works, a usual one looks usual in Wireshark.
const TTL: u8 = 64;
/// The advertised receive window: large enough that no segment looks like it overruns it.
const WINDOW: u16 = 65_535;

/// One TCP segment between two endpoints of the same address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: &'a [u8],
}

/// The packet's bytes: IP header, TCP header, payload. `ip_id` numbers IPv4 datagrams (ignored
/// for IPv6, which has no identification field outside fragments). The endpoints must share an
/// address family (the caller picks placeholders to match).
pub fn build(segment: &Segment<'_>, ip_id: u16) -> Vec<u8> {
    let tcp = tcp_header(segment);
    let tcp_len = tcp.len() + segment.payload.len();
    let mut packet = Vec::with_capacity(IPV6_HEADER_BYTES + tcp_len);
    match (segment.from.ip(), segment.to.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let total = u16::try_from(IPV4_HEADER_BYTES + tcp_len).unwrap_or(u16::MAX);
            let mut ip = [0u8; IPV4_HEADER_BYTES];
            ip[0] = 0x45; // version 4, 5 words of header
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
            ip[6] = 0x40; // don't fragment
            ip[8] = TTL;
            ip[9] = PROTO_TCP;
            ip[12..16].copy_from_slice(&src.octets());
            ip[16..20].copy_from_slice(&dst.octets());
            let sum = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            packet.extend_from_slice(&ip);
        }
        (src, dst) => {
            let (src, dst) = (v6(src), v6(dst));
            let len = u16::try_from(tcp_len).unwrap_or(u16::MAX);
            packet.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no class or flow label
            packet.extend_from_slice(&len.to_be_bytes());
            packet.extend_from_slice(&[PROTO_TCP, TTL]);
            packet.extend_from_slice(&src);
            packet.extend_from_slice(&dst);
        }
    }
    let tcp_start = packet.len();
    packet.extend_from_slice(&tcp);
    packet.extend_from_slice(segment.payload);
    let sum = tcp_checksum(segment.from.ip(), segment.to.ip(), &packet[tcp_start..]);
    packet[tcp_start + 16..tcp_start + 18].copy_from_slice(&sum.to_be_bytes());
    packet
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn tcp_header(segment: &Segment<'_>) -> [u8; TCP_HEADER_BYTES] {
    let mut tcp = [0u8; TCP_HEADER_BYTES];
    tcp[0..2].copy_from_slice(&segment.from.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&segment.to.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&segment.seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&segment.ack.to_be_bytes());
    tcp[12] = 5 << 4; // 5 words of header, no options
    tcp[13] = segment.flags;
    tcp[14..16].copy_from_slice(&WINDOW.to_be_bytes());
    tcp
}

/// The TCP checksum over the pseudo-header (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6) and
/// `tcp`, the header (checksum field zero) plus payload.
fn tcp_checksum(src: IpAddr, dst: IpAddr, tcp: &[u8]) -> u16 {
    let len = u32::try_from(tcp.len()).unwrap_or(u32::MAX);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
            let pseudo = [0, PROTO_TCP, len[0], len[1]];
            checksum(&[&s.octets(), &d.octets(), &pseudo, tcp])
        }
        (s, d) => {
            let len = len.to_be_bytes();
            let pseudo = [len[0], len[1], len[2], len[3], 0, 0, 0, PROTO_TCP];
            checksum(&[&v6(s), &v6(d), &pseudo, tcp])
        }
    }
}

/// The Internet checksum (RFC 1071) of the concatenation of `parts`: the ones' complement of the
/// ones' complement sum of 16-bit big-endian words, an odd last byte padded with zero.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &byte in *part {
            match odd.take() {
                Some(high) => sum += u32::from(u16::from_be_bytes([high, byte])),
                None => odd = Some(byte),
            }
        }
    }
    if let Some(high) = odd {
        sum += u32::from(u16::from_be_bytes([high, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(from: &str, to: &str, payload: &[u8]) -> Vec<u8> {
        build(
            &Segment {
                from: from.parse().expect("addr"),
                to: to.parse().expect("addr"),
                seq: 1000,
                ack: 2000,
                flags: PSH | ACK,
                payload,
            },
            7,
        )
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, whose complement is 220d.
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03], &[0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
        // An odd length pads with a zero byte, also across part boundaries.
        assert_eq!(checksum(&[&[0x01]]), !0x0100);
        assert_eq!(checksum(&[&[0x12], &[0x34]]), !0x1234);
    }

    #[test]
    fn ipv4_packet_verifies() {
        let packet = segment("10.0.0.1:40000", "10.0.0.2:8080", b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(packet.len(), 20 + 20 + 18);
        assert_eq!(
            u16::from_be_bytes([packet[2], packet[3]]),
            58,
            "total length"
        );
        // A correct header sums to zero with its checksum in place.
        assert_eq!(checksum(&[&packet[..20]]), 0);
        let tcp = &packet[20..];
        let len = (tcp.len() as u16).to_be_bytes();
        assert_eq!(
            checksum(&[&packet[12..20], &[0, 6, len[0], len[1]], tcp]),
            0,
            "TCP checksum with the pseudo-header"
        );
        assert_eq!(u16::from_be_bytes([tcp[0], tcp[1]]), 40000);
        assert_eq!(u16::from_be_bytes([tcp[2], tcp[3]]), 8080);
        assert_eq!(u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]), 1000);
        assert_eq!(u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]), 2000);
        assert_eq!(tcp[13], PSH | ACK);
        assert_eq!(&tcp[20..], b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn ipv6_packet_verifies() {
        let packet = segment("[2001:db8::1]:40000", "[2001:db8::2]:80", b"odd");
        assert_eq!(packet.len(), 40 + 20 + 3);
        assert_eq!(packet[0] >> 4, 6);
        assert_eq!(
            u16::from_be_bytes([packet[4], packet[5]]),
            23,
            "payload length"
        );
        assert_eq!(packet[6], 6, "next header: TCP");
        let tcp = &packet[40..];
        let len = (tcp.len() as u32).to_be_bytes();
        let pseudo = [len[0], len[1], len[2], len[3], 0, 0, 0, 6];
        assert_eq!(checksum(&[&packet[8..40], &pseudo, tcp]), 0);
    }

    #[test]
    fn a_changed_byte_breaks_the_checksum() {
        let mut packet = segment("10.0.0.1:1", "10.0.0.2:2", b"abcd");
        packet[41] ^= 0x20;
        let tcp = &packet[20..];
        let len = (tcp.len() as u16).to_be_bytes();
        assert_ne!(
            checksum(&[&packet[12..20], &[0, 6, len[0], len[1]], tcp]),
            0
        );
    }
}
