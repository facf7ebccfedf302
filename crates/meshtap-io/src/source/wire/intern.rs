//! The interner: label keys, label values, header names and whole label sets repeat from event to
//! event, so each distinct one is allocated once and shared.
//!
//! Lookups borrow: a string is found by its bytes straight out of a frame, and a label set by a
//! keyed hash of its sorted content, so a repeat costs a hash and a compare but no allocation
//! (and no UTF-8 validation: bytes equal to an interned string are valid).

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

use crate::model::event::{ClusterName, Header, Headers, Labels, Text};

mod headers;

use headers::HeaderTables;
pub use headers::{
    HEADER_CANDIDATES_MAX_ENTRIES, HEADER_RECENT_LISTS, HEADER_SHAPES_MAX_ENTRIES,
    HEADER_SHARE_AFTER_SIGHTINGS, HEADER_VALUES_MAX_ENTRIES, HeaderInternStats,
};

/// Distinct strings and label sets kept before the interner starts afresh. Bounds memory on
/// streams with unbounded label values (pod churn); sharing simply restarts after a reset.
pub const INTERNER_MAX_ENTRIES: usize = 50_000;

/// An interned string keyed by its bytes, so a set of them can be searched with a `&[u8]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key(Text);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly as the borrowed `[u8]` form does.
        self.0.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The label-set table is keyed by a hash already computed with a random key; hashing it again
/// would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in so the hasher stays total.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A fast hash for short strings: a multiply-rotate over 8-byte words (as `FxHash` does), keyed
/// with a random seed per interner and finished with a full avalanche. `SipHash` was the largest
/// single cost of decoding. Lookups compare content, so a collision costs sharing, never
/// correctness; the random seed keeps crafted collisions out of reach.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastState(u64);

impl Default for FastState {
    fn default() -> Self {
        Self(RandomState::new().hash_one(0x006d_6573_6874_6170_u64))
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

pub(crate) struct FastHasher(u64);

const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(MULTIPLIER).rotate_left(26);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // murmur3's finaliser: every input bit reaches the high bits the table probes with.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.word(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.word(n as u64);
    }
}

/// A label pair as spans of a frame. The direct decoder collects these in a reused buffer instead
/// of borrowing, so the buffer can live here across frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PairSpan {
    /// The key's first eight bytes, big-endian and zero-padded: sorting compares these first,
    /// and only equal prefixes need the full key.
    pub prefix: u64,
    pub key: (usize, usize),
    pub value: (usize, usize),
}

/// Shares repeated strings and label sets between events.
#[derive(Debug, Default)]
pub struct Interner {
    strings: Strings,
    /// Label sets by the keyed hash of their sorted pairs. A collision (a different set with the
    /// same 64-bit hash) is detected by comparing content and simply not shared.
    label_sets: LabelSets,
    hasher: FastState,
    /// Header values, shapes and lists: bounded on their own, so unique values never reset the
    /// label tables.
    headers: HeaderTables,
    /// Reused by the direct decoder: one buffer per label map of an event.
    pub(crate) scratch: [Vec<PairSpan>; 3],
    /// Cluster names read back from a capture, shared by every request of the cluster.
    clusters: Vec<ClusterName>,
}

/// Cluster names an interner shares; a capture naming more gets the rest unshared.
pub const INTERNED_CLUSTERS_MAX: usize = 64;

type Strings = HashSet<Key, FastState>;
type LabelSets = HashMap<u64, Labels, BuildHasherDefault<PassThrough>>;

fn insert_text(strings: &mut Strings, label_sets: &mut LabelSets, s: &str) -> Text {
    bound(strings, label_sets);
    let t = Text::from(s);
    strings.insert(Key(t.clone()));
    t
}

fn bound(strings: &mut Strings, label_sets: &mut LabelSets) {
    if strings.len() + label_sets.len() >= INTERNER_MAX_ENTRIES {
        strings.clear();
        label_sets.clear();
    }
}

impl std::fmt::Debug for PassThrough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassThrough")
    }
}

impl Interner {
    /// The shared name of cluster `name`.
    pub fn cluster(&mut self, name: &str) -> ClusterName {
        if let Some(found) = self.clusters.iter().find(|c| c.as_str() == name) {
            return found.clone();
        }
        let cluster = ClusterName::new(name);
        if self.clusters.len() < INTERNED_CLUSTERS_MAX {
            self.clusters.push(cluster.clone());
        }
        cluster
    }

    pub fn text(&mut self, s: &str) -> Text {
        if let Some(t) = self.strings.get(s.as_bytes()) {
            return t.0.clone();
        }
        self.insert_text(s)
    }

    /// The interned string with these bytes; validates UTF-8 only when the bytes are new.
    pub(crate) fn text_bytes(&mut self, bytes: &[u8]) -> Option<Text> {
        if let Some(t) = self.strings.get(bytes) {
            return Some(t.0.clone());
        }
        let s = std::str::from_utf8(bytes).ok()?;
        Some(self.insert_text(s))
    }

    fn insert_text(&mut self, s: &str) -> Text {
        insert_text(&mut self.strings, &mut self.label_sets, s)
    }

    /// The stored form of a header list: names interned, repeated values and lists shared.
    pub fn headers(&mut self, list: &[Header<'_>]) -> Headers {
        let Self {
            strings,
            label_sets,
            headers,
            ..
        } = self;
        headers.headers(list, |name| match strings.get(name.as_bytes()) {
            Some(t) => t.0.clone(),
            None => insert_text(strings, label_sets, name),
        })
    }

    /// What the header tables hold and refused.
    pub fn header_stats(&self) -> HeaderInternStats {
        self.headers.stats()
    }

    /// The label set holding `map`'s pairs. Pairs with equal keys are all kept, in input order.
    pub fn labels<'a>(
        &mut self,
        map: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Labels {
        let mut pairs: Vec<(&[u8], &[u8])> = map
            .into_iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        // A stable sort, so equal keys keep their order, as `Labels::new` does.
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        // Every input is a `String`, so the bytes are valid UTF-8 and this cannot fail.
        self.label_set(pairs.iter().copied()).unwrap_or_default()
    }

    /// The label set of `pairs`, which must be sorted by key. `None` when a string is not UTF-8.
    /// A set seen before costs a hash and a compare, no allocation.
    pub(crate) fn label_set<'b, I>(&mut self, pairs: I) -> Option<Labels>
    where
        I: ExactSizeIterator<Item = (&'b [u8], &'b [u8])> + Clone,
    {
        if pairs.len() == 0 {
            return Some(Labels::default());
        }
        let mut h = self.hasher.build_hasher();
        h.write_usize(pairs.len());
        for (k, v) in pairs.clone() {
            // Length prefixes keep ("ab", "c") apart from ("a", "bc").
            h.write_usize(k.len());
            h.write(k);
            h.write_usize(v.len());
            h.write(v);
        }
        let hash = h.finish();
        if let Some(labels) = self.label_sets.get(&hash)
            && labels.len() == pairs.len()
            && labels
                .iter()
                .zip(pairs.clone())
                .all(|((k, v), (wk, wv))| k.as_bytes() == wk && v.as_bytes() == wv)
        {
            return Some(labels.clone());
        }
        let mut owned = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            owned.push((self.text_bytes(k)?, self.text_bytes(v)?));
        }
        let labels = Labels::new(owned);
        bound(&mut self.strings, &mut self.label_sets);
        self.label_sets.insert(hash, labels.clone());
        Some(labels)
    }

    /// Distinct strings and label sets held; for tests of the bound.
    pub fn len(&self) -> usize {
        self.strings.len() + self.label_sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
