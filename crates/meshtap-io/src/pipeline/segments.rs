//! `--record-dir DIR`: the stream kept as a rolling set of segment files under a disk budget
//! (`--record-max`), each frame with its arrival time, each closed segment with an index, so
//! `meshtap replay DIR --from … --to …` finds a time range without reading everything.
//!
//! A segment (`segment-NNNNNNNNNN.mtseg`) is
//!
//! ```text
//! "MTSEG\0\0\0" (8 bytes)  version: u32 LE (1)
//! then per frame: arrival: i64 LE (microseconds since the Unix epoch)
//!                 length: u32 LE, then `length` bytes of a tap.TapEvent (the tap API's framing)
//! ```
//!
//! When a segment closes, its index goes beside it (`segment-NNNNNNNNNN.idx`, JSON: version,
//! first and last arrival, frame count, bytes). A segment without an index (the one open when
//! meshtap stopped or crashed) is scanned instead; a torn last frame is reported and skipped.

pub mod read;
pub mod time;
pub mod write;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The first 8 bytes of every segment.
pub const SEGMENT_MAGIC: &[u8; 8] = b"MTSEG\0\0\0";
/// The segment format's version; a reader refuses others.
pub const SEGMENT_VERSION: u32 = 1;
/// Magic and version.
pub const SEGMENT_HEADER_BYTES: usize = 12;
/// Arrival time and frame length before each frame's payload.
pub const FRAME_HEADER_BYTES: usize = 12;
/// `--record-max`'s default.
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 1 << 30;
/// A segment is an eighth of the budget, within these bounds: small enough that deleting one
/// gives back little of what the budget keeps, large enough not to make thousands of files.
pub const SEGMENT_MIN_BYTES: u64 = 16 * 1024;
pub const SEGMENT_MAX_BYTES: u64 = 64 * 1024 * 1024;

const SEGMENT_EXT: &str = "mtseg";
const INDEX_EXT: &str = "idx";
const SEGMENT_PREFIX: &str = "segment-";

/// A closed segment's index (its sidecar file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub version: u32,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub count: u64,
    /// The segment file's length.
    pub bytes: u64,
}

impl Index {
    /// Whether any frame of the segment may fall in `[from, until]`.
    pub fn overlaps(&self, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> bool {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return false;
        };
        from.is_none_or(|from| last >= from) && until.is_none_or(|until| first <= until)
    }
}

/// The segment with sequence number `seq` in `dir`.
pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{seq:010}.{SEGMENT_EXT}"))
}

/// The index beside a segment.
pub fn index_path(segment: &Path) -> PathBuf {
    segment.with_extension(INDEX_EXT)
}

/// The largest segment number: ten digits, as the names are written. A longer name is not one
/// of ours (and a planted `segment-18446744073709551615.mtseg` cannot make the next one wrap).
pub const MAX_SEGMENT_SEQ: u64 = 9_999_999_999;

/// The sequence number of a segment file's name, if it is one.
pub fn segment_seq(path: &Path) -> Option<u64> {
    seq_of(path, SEGMENT_EXT)
}

/// The sequence number of an index file's name, if it is one.
pub fn index_seq(path: &Path) -> Option<u64> {
    seq_of(path, INDEX_EXT)
}

fn seq_of(path: &Path, ext: &str) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(ext)?
        .strip_suffix('.')?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|seq| *seq <= MAX_SEGMENT_SEQ)
}

/// The segments in `dir`, oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(seq) = segment_seq(&path) {
            found.push((seq, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Whether `path` is a regular file that starts like a segment. Only regular files are probed:
/// the head of a pipe (`replay /dev/stdin`, `<(…)`) read here would be missing from the replay.
pub fn is_segment_file(path: &Path) -> bool {
    use std::io::Read as _;
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut magic = [0u8; 8];
    crate::files::open_regular(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == SEGMENT_MAGIC)
}

/// How large one segment grows before the next begins, for a budget.
pub fn segment_bytes(budget: u64) -> u64 {
    (budget / 8).clamp(SEGMENT_MIN_BYTES, SEGMENT_MAX_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_others_are_ignored() {
        let path = segment_path(Path::new("/d"), 42);
        assert_eq!(segment_seq(&path), Some(42));
        assert_eq!(segment_seq(&index_path(&path)), None);
        assert_eq!(segment_seq(Path::new("/d/notes.txt")), None);
        // Only the names meshtap writes: ten digits, so the next number never wraps.
        assert_eq!(
            segment_seq(Path::new("/d/segment-18446744073709551615.mtseg")),
            None
        );
        assert_eq!(segment_seq(Path::new("/d/segment-1.mtseg")), None);
        assert_eq!(segment_seq(Path::new("/d/segment-+000000001.mtseg")), None);
        assert_eq!(index_seq(&index_path(&path)), Some(42));
        assert_eq!(segment_bytes(2 << 20), 256 << 10);
        assert_eq!(segment_bytes(1), SEGMENT_MIN_BYTES);
    }
}
