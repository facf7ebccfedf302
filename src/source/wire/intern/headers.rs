//! Header interning: decides which header values are shared and shares whole lists.
//!
//! Names and values like `content-type: application/json` repeat on every request; request ids,
//! trace ids, cookies and per-user tokens repeat rarely or never. A value is shared only once it
//! has been seen [`HEADER_SHARE_AFTER_SIGHTINGS`] times, so unique values cannot flood the tables:
//! they stay packed in their own request. Whole lists are shared too: one whose values are all
//! shared (a response's `content-type` + `content-length`) from a bounded table, and a recent one
//! from a small ring, which catches the two taps of one call (client and server proxy both report
//! the same request headers, request id and all). Every table is bounded; what a full table
//! refuses is counted.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::{FastState, Key, PassThrough};
use crate::model::event::{Header, HeaderValue, Headers, Shape, Slot, Text};

/// Sightings of a header value before it is shared. Two would share every request id (both
/// proxies of a call report it); three keeps those packed in their requests.
pub const HEADER_SHARE_AFTER_SIGHTINGS: u8 = 3;
/// Distinct shared header values kept; past it new values are refused (and stay packed).
pub const HEADER_VALUES_MAX_ENTRIES: usize = 16_384;
/// Values being counted towards sharing; the count starts afresh when this many are pending.
pub const HEADER_CANDIDATES_MAX_ENTRIES: usize = 16_384;
/// Distinct header shapes and fully shared lists kept; past it new ones are refused.
pub const HEADER_SHAPES_MAX_ENTRIES: usize = 16_384;
/// Recent lists with packed values kept for sharing with the other tap of the same call.
pub const HEADER_RECENT_LISTS: usize = 1_024;

/// What the header tables hold and what they turned away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderInternStats {
    /// Distinct shared values held.
    pub shared_values: usize,
    /// Distinct shapes and fully shared lists held.
    pub shapes: usize,
    /// Value sightings kept packed in their request because the value was still rare.
    pub packed_values: u64,
    /// Values or shapes that qualified for sharing but found their table full.
    pub refused: u64,
}

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

#[derive(Debug, Default)]
pub(super) struct HeaderTables {
    values: HashSet<Key, FastState>,
    /// Sightings of values not shared yet, by their keyed hash: a collision only shares a value
    /// a little early.
    candidates: ByHash<u8>,
    /// Lists whose every value is shared, by content hash.
    lists: ByHash<Headers>,
    /// Shapes with packed slots, by shape hash.
    shapes: ByHash<Arc<Shape>>,
    recent: ByHash<Headers>,
    recent_order: VecDeque<u64>,
    hasher: FastState,
    stats: HeaderInternStats,
}

/// Tags in the hashes, so a shared value and a packed slot of the same name never hash alike.
const TAG_STR: u64 = 0;
const TAG_BIN: u64 = 1;
const TAG_PACKED_STR: u64 = 2;
const TAG_PACKED_BIN: u64 = 3;

impl HeaderTables {
    pub(super) fn stats(&self) -> HeaderInternStats {
        HeaderInternStats {
            shared_values: self.values.len(),
            shapes: self.lists.len() + self.shapes.len(),
            ..self.stats
        }
    }

    /// The stored form of `list`; `name` interns a header name.
    pub(super) fn headers(
        &mut self,
        list: &[Header<'_>],
        mut name: impl FnMut(&str) -> Text,
    ) -> Headers {
        if list.is_empty() {
            return Headers::default();
        }
        // A list seen whole before: a hash and a compare, no allocation.
        let whole = self.hash_whole(list);
        for table in [&self.lists, &self.recent] {
            if let Some(found) = table.get(&whole)
                && found.iter().eq(list.iter().copied())
            {
                return found.clone();
            }
        }
        let mut slots = Vec::with_capacity(list.len());
        let mut packed = Vec::new();
        for header in list {
            let name = name(header.name);
            slots.push(match header.value {
                HeaderValue::Str(value) => match self.shared(value) {
                    Some(value) => Slot::Shared { name, value },
                    None => {
                        packed.push(value.as_bytes());
                        Slot::Str(name)
                    }
                },
                HeaderValue::Bin(value) => {
                    self.stats.packed_values += 1;
                    packed.push(value);
                    Slot::Bin(name)
                }
            });
        }
        if packed.is_empty() {
            // Every value shared: share the whole list, under the hash looked up above.
            let headers = Headers::new(Arc::new(Shape::new(slots)), []);
            if self.has_room() {
                self.lists.insert(whole, headers.clone());
            } else {
                self.stats.refused += 1;
            }
            return headers;
        }
        let shape = self.shape(slots);
        let headers = Headers::new(shape, packed);
        if self.recent_order.len() >= HEADER_RECENT_LISTS
            && let Some(oldest) = self.recent_order.pop_front()
        {
            self.recent.remove(&oldest);
        }
        if let Entry::Vacant(slot) = self.recent.entry(whole) {
            slot.insert(headers.clone());
            self.recent_order.push_back(whole);
        }
        headers
    }

    /// The shared copy of `value` once it has been seen often enough.
    fn shared(&mut self, value: &str) -> Option<Text> {
        if let Some(key) = self.values.get(value.as_bytes()) {
            return Some(key.0.clone());
        }
        let mut h = self.hasher.build_hasher();
        h.write(value.as_bytes());
        let hash = h.finish();
        if self.candidates.len() >= HEADER_CANDIDATES_MAX_ENTRIES {
            self.candidates.clear();
        }
        let seen = self.candidates.entry(hash).or_insert(0);
        *seen += 1;
        if *seen < HEADER_SHARE_AFTER_SIGHTINGS {
            self.stats.packed_values += 1;
            return None;
        }
        self.candidates.remove(&hash);
        if self.values.len() >= HEADER_VALUES_MAX_ENTRIES {
            self.stats.refused += 1;
            self.stats.packed_values += 1;
            return None;
        }
        let text = Text::from(value);
        self.values.insert(Key(text.clone()));
        Some(text)
    }

    /// The shared shape with these slots, made if new.
    fn shape(&mut self, slots: Vec<Slot>) -> Arc<Shape> {
        let mut h = self.hasher.build_hasher();
        h.write_usize(slots.len());
        for slot in &slots {
            write_str(&mut h, slot.name());
            match slot {
                Slot::Shared { value, .. } => {
                    h.write_u64(TAG_STR);
                    write_str(&mut h, value);
                }
                Slot::Str(_) => h.write_u64(TAG_PACKED_STR),
                Slot::Bin(_) => h.write_u64(TAG_PACKED_BIN),
            }
        }
        let hash = h.finish();
        if let Some(shape) = self.shapes.get(&hash)
            && shape.slots() == slots.as_slice()
        {
            return shape.clone();
        }
        let shape = Arc::new(Shape::new(slots));
        if self.has_room() {
            self.shapes.insert(hash, shape.clone());
        } else {
            self.stats.refused += 1;
        }
        shape
    }

    /// The hash of a list's content: names, kinds and values.
    fn hash_whole(&self, list: &[Header<'_>]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_usize(list.len());
        for header in list {
            write_str(&mut h, header.name);
            let (tag, bytes) = match header.value {
                HeaderValue::Str(s) => (TAG_STR, s.as_bytes()),
                HeaderValue::Bin(b) => (TAG_BIN, b),
            };
            h.write_u64(tag);
            h.write_usize(bytes.len());
            h.write(bytes);
        }
        h.finish()
    }

    fn has_room(&self) -> bool {
        self.lists.len() + self.shapes.len() < HEADER_SHAPES_MAX_ENTRIES
    }
}

/// Length first, so ("ab", "c") and ("a", "bc") hash apart.
fn write_str(h: &mut impl Hasher, s: &str) {
    h.write_usize(s.len());
    h.write(s.as_bytes());
}
