//! pcapng for Wireshark and tshark: each joined request as a synthetic TCP conversation carrying
//! an HTTP/1.1 rendering of its headers (tap carries no bodies, and says so in the comments).
//!
//! The file is one section: a Section Header Block (its comment holds the capture description as
//! JSON), one Interface Description Block, then Enhanced Packet Blocks in little-endian order
//! (pcapng readers take either byte order from the magic). The link type is `LINKTYPE_RAW`: the
//! packets start at the IP header, IPv4 or IPv6 told apart by the version nibble. Tap knows
//! addresses and ports but no link layer, so Ethernet would need invented MAC addresses that
//! mean nothing; RAW carries only what tap reported. Timestamps are microseconds (`if_tsresol`
//! 6), the precision of the tap events' arrival times.

use std::io;

use crate::capture::CaptureRecord;
use crate::model::request::Request;
use crate::session::Redactor;

mod conversation;
mod http;
mod packet;

pub use conversation::SEGMENT_PAYLOAD_MAX_BYTES;

/// Block types (pcapng spec, draft-ietf-opsawg-pcapng §4).
const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const ENHANCED_PACKET: u32 = 6;
/// Written in the file's byte order; a reader finds the order from it.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// IPv4 or IPv6 with no link-layer header (tcpdump.org link-layer types).
pub const LINKTYPE_RAW: u16 = 101;
/// Option codes.
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const SHB_USERAPPL: u16 = 4;
const IF_TSRESOL: u16 = 9;
/// `if_tsresol`: 10^-6 seconds.
const TSRESOL_MICROS: u8 = 6;
/// An option's length field is 16 bits.
const OPTION_VALUE_MAX_BYTES: usize = u16::MAX as usize;

/// Writes `requests` as a pcapng capture; returns how many requests it wrote.
pub fn write<'a>(
    out: &mut impl io::Write,
    requests: impl IntoIterator<Item = &'a Request>,
    redactor: &Redactor,
    capture: Option<&CaptureRecord>,
) -> io::Result<usize> {
    let description = match capture {
        Some(capture) => serde_json::to_string(capture).map_err(io::Error::other)?,
        None => String::new(),
    };
    section_header(out, &description)?;
    interface_description(out)?;
    let mut ids = conversation::IpIds::default();
    let mut written = 0;
    for request in requests {
        for packet in conversation::packets(request, redactor, &mut ids) {
            enhanced_packet(out, &packet)?;
        }
        written += 1;
    }
    Ok(written)
}

fn section_header(out: &mut impl io::Write, description: &str) -> io::Result<()> {
    let mut body = Vec::new();
    body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes()); // major version
    body.extend_from_slice(&0u16.to_le_bytes()); // minor version
    body.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
    let mut options = Options(body);
    if !description.is_empty() {
        options.comment(description);
    }
    let app = concat!("meshtap ", env!("CARGO_PKG_VERSION"));
    options.add(SHB_USERAPPL, app.as_bytes());
    block(out, SECTION_HEADER, &options.end())
}

fn interface_description(out: &mut impl io::Write) -> io::Result<()> {
    let mut body = Vec::new();
    body.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes()); // reserved
    body.extend_from_slice(&0u32.to_le_bytes()); // snap length: no limit
    let mut options = Options(body);
    options.add(IF_NAME, b"meshtap");
    options.add(
        IF_DESCRIPTION,
        b"synthetic TCP conversations rebuilt from Linkerd tap events",
    );
    options.add(IF_TSRESOL, &[TSRESOL_MICROS]);
    block(out, INTERFACE_DESCRIPTION, &options.end())
}

fn enhanced_packet(out: &mut impl io::Write, packet: &conversation::Packet) -> io::Result<()> {
    let len = u32::try_from(packet.bytes.len()).map_err(io::Error::other)?;
    let mut body = Vec::with_capacity(packet.bytes.len() + packet.comment.len() + 32);
    body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
    body.extend_from_slice(&((packet.micros >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(packet.micros as u32).to_le_bytes());
    body.extend_from_slice(&len.to_le_bytes()); // captured
    body.extend_from_slice(&len.to_le_bytes()); // original
    body.extend_from_slice(&packet.bytes);
    pad(&mut body);
    let mut options = Options(body);
    options.comment(&packet.comment);
    block(out, ENHANCED_PACKET, &options.end())
}

/// A block: type, total length, body (already a multiple of 4 bytes), total length again.
fn block(out: &mut impl io::Write, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(body.len() + 12).map_err(io::Error::other)?;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

/// A block body followed by options, each `code, length, value` padded to 32 bits.
struct Options(Vec<u8>);

impl Options {
    fn add(&mut self, code: u16, value: &[u8]) {
        let value = truncate_utf8(value, OPTION_VALUE_MAX_BYTES);
        self.0.extend_from_slice(&code.to_le_bytes());
        self.0
            .extend_from_slice(&(value.len() as u16).to_le_bytes());
        self.0.extend_from_slice(value);
        pad(&mut self.0);
    }

    /// A comment option. Comments carry captured identities and names, and
    /// `tshark -e frame.comment` prints them to a terminal: the one escaping rule applies.
    fn comment(&mut self, text: &str) {
        self.add(OPT_COMMENT, crate::terminal::escape(text).as_bytes());
    }

    fn end(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&OPT_END.to_le_bytes());
        self.0.extend_from_slice(&0u16.to_le_bytes());
        self.0
    }
}

/// At most `max` bytes, never cutting a UTF-8 character (comments must stay valid UTF-8).
fn truncate_utf8(value: &[u8], max: usize) -> &[u8] {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    // Back off continuation bytes (0b10xx_xxxx) to the start of a character.
    while end > 0 && value[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    &value[..end]
}

fn pad(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

#[cfg(test)]
#[path = "pcapng/tests.rs"]
mod tests;
