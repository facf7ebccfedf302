//! The direct decoder: walks the protobuf bytes of a viz `TapEvent` straight into the model's
//! [`TapEvent`], without building the prost message first.
//!
//! Decoding with prost allocates every label key, label value and header name of every event,
//! and a hash map per label set, only for [`wire::event`](super::wire::event) to intern them
//! again. Here strings are borrowed from the frame and looked up in the [`Interner`]; label pairs
//! are collected as spans in a reused buffer, sorted and looked up by content, so a label set seen
//! before costs no allocation at all. What is left to allocate is what is new: paths, header
//! values, and the event itself.
//!
//! The result is exactly what `wire::event(prost decode)` gives (the tests prove it on arbitrary
//! events), and the decoder accepts only bytes prost accepts: anything it refuses, including
//! valid-but-unusual input such as groups or a very large label map, is handed back to prost by
//! [`frames::decode_fast`](super::frames::decode_fast), so behaviour on odd input is unchanged.

mod http;
mod reader;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::model::event::{Direction, Endpoint, Labels, TapEvent};
use crate::proto::net;
pub use reader::Malformed;
use reader::{Reader, Result, WireType, expect};

use super::wire::{Interner, PairSpan, socket_addr};

/// Label pairs one map may hold before the decoder gives the frame to prost instead: an honest
/// event carries a few dozen, and the cap bounds the scratch buffers on hostile input.
const MAX_LABEL_PAIRS: usize = 1024;

/// Indices of the scratch buffers, one per label map of an event.
const SOURCE: usize = 0;
const DESTINATION: usize = 1;
const ROUTE: usize = 2;

/// A decoded event, and whether it looked empty: framing cannot tell an `ApiError` from a
/// `TapEvent`, and an error's text can read as an event with nothing in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub event: TapEvent,
    /// No HTTP event, a zero direction and no destination: `frames::decode`'s test for a frame
    /// that may really be an `ApiError`.
    pub looks_empty: bool,
}

/// Decodes one frame's payload (without its length prefix) that arrived at `arrived`.
pub fn event(
    interner: &mut Interner,
    frame: &[u8],
    arrived: DateTime<Utc>,
) -> std::result::Result<Decoded, Malformed> {
    let mut scratch = std::mem::take(&mut interner.scratch);
    for pairs in &mut scratch {
        pairs.clear();
    }
    let result = walk(interner, &mut scratch, frame, arrived);
    interner.scratch = scratch;
    result
}

fn walk(
    interner: &mut Interner,
    scratch: &mut [Vec<PairSpan>; 3],
    frame: &[u8],
    arrived: DateTime<Utc>,
) -> Result<Decoded> {
    let mut r = Reader::new(frame);
    let mut source: Option<net::TcpAddress> = None;
    let mut destination: Option<net::TcpAddress> = None;
    let mut direction = 0i32;
    let mut http: Option<http::State> = None;
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => address(wire, &mut r, source.get_or_insert_default())?,
            2 => address(wire, &mut r, destination.get_or_insert_default())?,
            3 => {
                expect(wire, WireType::Len)?;
                http::merge(&mut r.message()?, http.get_or_insert_default())?;
            }
            4 => label_map(wire, &mut r, &mut scratch[DESTINATION])?,
            5 => label_map(wire, &mut r, &mut scratch[SOURCE])?,
            6 => {
                expect(wire, WireType::Varint)?;
                direction = r.varint()? as i32;
            }
            7 => label_map(wire, &mut r, &mut scratch[ROUTE])?,
            _ => r.skip(wire)?,
        }
    }
    let looks_empty = http.is_none() && direction == 0 && destination.is_none();
    let [source_pairs, destination_pairs, route_pairs] = scratch;
    let event = TapEvent {
        cluster: None,
        arrived,
        source: Endpoint {
            addr: source.as_ref().and_then(socket_addr),
            labels: labels(interner, frame, source_pairs)?,
        },
        destination: Endpoint {
            addr: destination.as_ref().and_then(socket_addr),
            labels: labels(interner, frame, destination_pairs)?,
        },
        direction: match direction {
            1 => Direction::Inbound,
            2 => Direction::Outbound,
            _ => Direction::Unknown,
        },
        route: labels(interner, frame, route_pairs)?,
        http: http.and_then(|state| state.finish(interner)),
    };
    Ok(Decoded { event, looks_empty })
}

/// Merges a `net.TcpAddress` into `addr`, as prost merges a repeated message field.
fn address(wire: WireType, r: &mut Reader<'_>, addr: &mut net::TcpAddress) -> Result<()> {
    use net::ip_address::Ip;
    expect(wire, WireType::Len)?;
    let mut m = r.message()?;
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                let ip = addr.ip.get_or_insert_default();
                let mut m = m.message()?;
                while let Some((field, wire)) = m.key()? {
                    match field {
                        1 => {
                            expect(wire, WireType::Fixed32)?;
                            ip.ip = Some(Ip::Ipv4(m.fixed32()?));
                        }
                        2 => {
                            expect(wire, WireType::Len)?;
                            if !matches!(ip.ip, Some(Ip::Ipv6(_))) {
                                ip.ip = Some(Ip::Ipv6(net::IPv6::default()));
                            }
                            if let Some(Ip::Ipv6(v6)) = &mut ip.ip {
                                ipv6(&mut m.message()?, v6)?;
                            }
                        }
                        _ => m.skip(wire)?,
                    }
                }
            }
            2 => {
                expect(wire, WireType::Varint)?;
                addr.port = m.varint()? as u32;
            }
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

fn ipv6(m: &mut Reader<'_>, v6: &mut net::IPv6) -> Result<()> {
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => {
                expect(wire, WireType::Fixed64)?;
                v6.first = m.fixed64()?;
            }
            2 => {
                expect(wire, WireType::Fixed64)?;
                v6.last = m.fixed64()?;
            }
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

/// Collects an `EndpointMeta`/`RouteMeta`'s map entries as spans. A message seen twice merges,
/// as prost merges maps; duplicates are resolved in [`labels`].
fn label_map(wire: WireType, r: &mut Reader<'_>, pairs: &mut Vec<PairSpan>) -> Result<()> {
    expect(wire, WireType::Len)?;
    let mut m = r.message()?;
    while let Some((field, wire)) = m.key()? {
        if field != 1 {
            m.skip(wire)?;
            continue;
        }
        expect(wire, WireType::Len)?;
        if pairs.len() >= MAX_LABEL_PAIRS {
            return Err(Malformed);
        }
        // A missing key or value is the empty string, as in prost.
        let (mut key, mut value) = (None, None);
        let mut entry = m.message()?;
        while let Some((field, wire)) = entry.key()? {
            let slot = match field {
                1 => &mut key,
                2 => &mut value,
                _ => {
                    entry.skip(wire)?;
                    continue;
                }
            };
            expect(wire, WireType::Len)?;
            // Only the last survives, but prost refuses any that is not UTF-8. Spans are checked
            // when looked up, so only an overwritten one needs checking here.
            if let Some(old) = *slot {
                std::str::from_utf8(entry.bytes(old)).map_err(|_| Malformed)?;
            }
            *slot = Some(entry.span()?);
        }
        let (key, value) = (key.unwrap_or_default(), value.unwrap_or_default());
        let mut prefix = [0u8; 8];
        let head = m.bytes(key);
        let n = head.len().min(8);
        prefix[..n].copy_from_slice(&head[..n]);
        pairs.push(PairSpan {
            prefix: u64::from_be_bytes(prefix),
            key,
            value,
        });
    }
    Ok(())
}

/// The label set of the collected pairs: sorted by key, the last value winning for a repeated
/// key (a map insert), and looked up by content so a repeated set allocates nothing.
fn labels(interner: &mut Interner, frame: &[u8], pairs: &mut Vec<PairSpan>) -> Result<Labels> {
    let bytes = |(start, end): (usize, usize)| frame.get(start..end).unwrap_or_default();
    // Stable, so pairs with equal keys stay in arrival order and the last one is the survivor.
    // Equal prefixes order as the keys do (zero padding sorts first), so the full compare is
    // only needed between keys sharing eight bytes.
    pairs.sort_by(|a, b| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| bytes(a.key).cmp(bytes(b.key)))
    });
    let mut kept = 0;
    for i in 0..pairs.len() {
        let p = pairs[i];
        if pairs
            .get(i + 1)
            .is_some_and(|next| next.prefix == p.prefix && bytes(next.key) == bytes(p.key))
        {
            // Overwritten, but prost still rejects it if it is not UTF-8.
            std::str::from_utf8(bytes(p.key)).map_err(|_| Malformed)?;
            std::str::from_utf8(bytes(p.value)).map_err(|_| Malformed)?;
            continue;
        }
        pairs[kept] = p;
        kept += 1;
    }
    pairs.truncate(kept);
    interner
        .label_set(pairs.iter().map(|p| (bytes(p.key), bytes(p.value))))
        .ok_or(Malformed)
}
