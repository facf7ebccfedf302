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
    /// With how often each was seen whole: a list repeating exactly is shared whole.
    recent: ByHash<(Headers, u8)>,
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
        name: impl FnMut(&str) -> Text,
    ) -> Headers {
        if list.is_empty() {
            return Headers::default();
        }
        // A list seen whole before: a hash and a compare, no allocation.
        let whole = self.hash_whole(list);
        if let Some(found) = self.lists.get(&whole)
            && found.iter().eq(list.iter().copied())
        {
            return found.clone();
        }
        let mut repeats = false;
        if let Some((found, seen)) = self.recent.get_mut(&whole)
            && found.iter().eq(list.iter().copied())
        {
            *seen = seen.saturating_add(1);
            if *seen < HEADER_SHARE_AFTER_SIGHTINGS {
                return found.clone();
            }
            // The same list again and again: its values repeat, whatever their counts say.
            self.recent.remove(&whole);
            repeats = true;
        }
        self.build(list, whole, repeats, name)
    }

    /// A new list; `repeats` shares its text values now rather than after enough sightings.
    fn build(
        &mut self,
        list: &[Header<'_>],
        whole: u64,
        repeats: bool,
        mut name: impl FnMut(&str) -> Text,
    ) -> Headers {
        let mut slots = Vec::with_capacity(list.len());
        let mut packed = Vec::new();
        for header in list {
            let name = name(header.name);
            slots.push(match header.value {
                HeaderValue::Str(value) => {
                    if let Some(value) = self.shared(value, repeats) {
                        Slot::Shared { name, value }
                    } else {
                        packed.push(value.as_bytes());
                        Slot::Str(name)
                    }
                }
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
            slot.insert((headers.clone(), 1));
            self.recent_order.push_back(whole);
        }
        headers
    }

    /// The shared copy of `value` once it has been seen often enough (`now`: already has).
    fn shared(&mut self, value: &str, now: bool) -> Option<Text> {
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
        *seen = seen.saturating_add(1);
        if *seen < HEADER_SHARE_AFTER_SIGHTINGS && !now {
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

#[cfg(test)]
mod tests {
    use super::super::Interner;
    use super::*;

    /// A request's headers: two values that repeat and a request id that does not.
    fn request(id: &str) -> Vec<Header<'_>> {
        vec![
            Header::str("user-agent", "curl/8.5"),
            Header::str("x-request-id", id),
            Header::str("accept", "application/json"),
        ]
    }

    #[test]
    fn repeated_values_are_shared_and_unique_ones_stay_packed() {
        let mut interner = Interner::default();
        let ids: Vec<String> = (0..50).map(|i| format!("{i:032x}")).collect();
        let lists: Vec<Headers> = ids
            .iter()
            .map(|id| interner.headers(&request(id)))
            .collect();
        for (list, id) in lists.iter().zip(&ids) {
            assert_eq!(list.iter().collect::<Vec<_>>(), request(id));
        }
        // Once the repeated values are shared, a list packs only its id: 32 bytes and a length.
        let last = lists.last().expect("lists");
        // The list's allocation (two counts, the shape and the packed bytes' pointers) and 33.
        assert_eq!(last.heap_bytes(), 16 + 24 + 33);
        assert!(Arc::ptr_eq(
            last.shape().expect("shape"),
            lists[10].shape().expect("shape")
        ));
        let stats = interner.header_stats();
        assert_eq!(
            stats.shared_values, 2,
            "only the repeated values: {stats:?}"
        );
        assert_eq!(stats.refused, 0);
        assert!(stats.packed_values >= 50, "{stats:?}");
    }

    #[test]
    fn a_list_seen_again_is_shared_whole() {
        let mut interner = Interner::default();
        let response = [Header::str("content-type", "application/json")];
        let lists: Vec<Headers> = (0..5).map(|_| interner.headers(&response)).collect();
        // Shared from the third sighting on, then the same list each time, at no cost.
        assert_eq!(lists[4].heap_bytes(), 0);
        assert!(Arc::ptr_eq(
            lists[3].shape().expect("shape"),
            lists[4].shape().expect("shape")
        ));
        // The other proxy's tap of a call repeats the request id: the recent list is shared.
        let first = interner.headers(&request("0123456789abcdef"));
        let second = interner.headers(&request("0123456789abcdef"));
        assert_eq!(first, second);
        assert!(first.heap_bytes() > 0);
        assert_eq!(
            interner.header_stats().shared_values,
            1,
            "the id stays unshared"
        );
    }

    #[test]
    fn unique_values_cannot_fill_the_tables() {
        let mut interner = Interner::default();
        for i in 0..(HEADER_CANDIDATES_MAX_ENTRIES * 3) {
            let id = format!("{i:x}");
            interner.headers(&[Header::str("traceparent", &id)]);
        }
        let stats = interner.header_stats();
        assert_eq!(stats.shared_values, 0, "{stats:?}");
        assert_eq!(stats.shapes, 1, "one shape: a packed traceparent");
        assert_eq!(stats.refused, 0);
    }

    #[test]
    fn a_full_table_refuses_and_counts() {
        let mut interner = Interner::default();
        let values: Vec<String> = (0..=HEADER_VALUES_MAX_ENTRIES)
            .map(|i| format!("v{i}"))
            .collect();
        for value in &values {
            for _ in 0..HEADER_SHARE_AFTER_SIGHTINGS {
                interner.headers(&[Header::str("x-tenant", value)]);
            }
        }
        let stats = interner.header_stats();
        assert_eq!(stats.shared_values, HEADER_VALUES_MAX_ENTRIES);
        assert!(stats.refused >= 1, "{stats:?}");
        assert!(stats.shapes <= HEADER_SHAPES_MAX_ENTRIES);
        // Refused values are still stored, packed.
        let last = interner.headers(&[Header::str("x-tenant", &values[HEADER_VALUES_MAX_ENTRIES])]);
        assert_eq!(
            last.iter().next().map(|h| h.value),
            Some(HeaderValue::Str(&values[HEADER_VALUES_MAX_ENTRIES]))
        );
    }
}
