//! Reading segments back (`meshtap replay DIR|SEGMENT [--from T] [--to T]`): the segments whose
//! index says they overlap the range, frame by frame through the one decoder
//! (`source::frames::decode_fast`), on the arrival times they were recorded with.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{FRAME_HEADER_BYTES, Index, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, SEGMENT_VERSION};
use crate::model::event::TapEvent;
use crate::session::{BATCH_MAX_EVENTS, SourceMsg};
use crate::source::frames::{self, MAX_FRAME_BYTES, ModelFrame};
use crate::source::replay::{READ_AHEAD_BATCHES, Speed, drain};
use crate::source::wire::Interner;

/// A time range; an open end is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Range {
    pub fn contains(self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.until.is_none_or(|until| at <= until)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a meshtap segment", path.display())]
    NotASegment { path: PathBuf },
    #[error("{} is a version {version} segment; this meshtap reads version {SEGMENT_VERSION}", path.display())]
    Version { path: PathBuf, version: u32 },
    #[error("{} holds no segments", path.display())]
    Empty { path: PathBuf },
}

/// What one segment held in the range.
#[derive(Debug, Default)]
pub struct Read {
    pub events: Vec<TapEvent>,
    /// A torn last frame, an undecodable frame: reported, skipped.
    pub warnings: Vec<String>,
}

/// The segments to read for `path` (a directory of segments, or one segment file), oldest
/// first, leaving out those whose index says they hold nothing in `range`.
pub fn plan(path: &Path, range: Range) -> Result<Vec<PathBuf>, SegmentError> {
    let io = |source| SegmentError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let all = super::list(path).map_err(io)?;
    if all.is_empty() {
        return Err(SegmentError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(all
        .into_iter()
        .map(|(_, segment)| segment)
        .filter(|segment| {
            index_of(segment).is_none_or(|index| index.overlaps(range.from, range.until))
        })
        .collect())
}

/// A segment's index, if it has a usable one (the last segment of a crashed run has none).
pub fn index_of(segment: &Path) -> Option<Index> {
    let text = std::fs::read(super::index_path(segment)).ok()?;
    serde_json::from_slice::<Index>(&text)
        .ok()
        .filter(|index| index.version == SEGMENT_VERSION)
}

/// Reads the frames of one segment that arrived within `range`.
pub fn read_segment(
    path: &Path,
    range: Range,
    interner: &mut Interner,
) -> Result<Read, SegmentError> {
    let bytes = std::fs::read(path).map_err(|source| SegmentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let Some(rest) = bytes.strip_prefix(SEGMENT_MAGIC.as_slice()) else {
        return Err(SegmentError::NotASegment {
            path: path.to_path_buf(),
        });
    };
    let version = rest
        .get(..4)
        .map_or(0, |v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
    if version != SEGMENT_VERSION {
        return Err(SegmentError::Version {
            path: path.to_path_buf(),
            version,
        });
    }
    let name = path.display();
    let mut read = Read::default();
    let mut at = SEGMENT_HEADER_BYTES;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + FRAME_HEADER_BYTES) else {
            read.warnings
                .push(format!("{name}: the last frame is torn (skipped)"));
            break;
        };
        let micros = i64::from_le_bytes(header[..8].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(header[8..].try_into().unwrap_or_default()) as usize;
        if len > MAX_FRAME_BYTES {
            read.warnings.push(format!(
                "{name}: a frame claims {len} bytes at offset {at}; the rest is skipped"
            ));
            break;
        }
        let Some(payload) = bytes.get(at + FRAME_HEADER_BYTES..at + FRAME_HEADER_BYTES + len)
        else {
            read.warnings.push(format!(
                "{name}: the last frame is torn ({} of {len} bytes; skipped)",
                bytes.len() - at - FRAME_HEADER_BYTES
            ));
            break;
        };
        at += FRAME_HEADER_BYTES + len;
        let Some(arrived) = DateTime::from_timestamp_micros(micros) else {
            read.warnings
                .push(format!("{name}: a frame has no valid time (skipped)"));
            continue;
        };
        if !range.contains(arrived) {
            continue;
        }
        match frames::decode_fast(interner, payload, arrived) {
            Ok(ModelFrame::Event(event)) => read.events.push(event),
            // Recordings hold events only; an error frame is not one of them.
            Ok(ModelFrame::ApiError(_)) => {}
            Err(err) => read.warnings.push(format!("{name}: {err} (skipped)")),
        }
    }
    Ok(read)
}

/// Starts reading the frames of `segments` within `range` on a thread of their own, at most
/// `READ_AHEAD_BATCHES` batches ahead of [`play`].
pub fn spawn_reader(segments: Vec<PathBuf>, range: Range) -> std::io::Result<mpsc::Receiver<Read>> {
    let (batches, ready) = mpsc::channel(READ_AHEAD_BATCHES);
    std::thread::Builder::new()
        .name("meshtap-segments".into())
        .spawn(move || read_all(&segments, range, &batches))?;
    Ok(ready)
}

/// Sends what the reader read into `tx` as stream 0, segment by segment (warnings first, then
/// events in batches) at `speed` — paced from the recorded arrival times by the same pacer as
/// file replay — then reports the stream ended. Returns the events sent.
pub async fn play(ready: mpsc::Receiver<Read>, speed: Speed, tx: mpsc::Sender<SourceMsg>) -> u64 {
    drain(ready, speed, &tx, |read| (read.warnings, read.events)).await as u64
}

/// Reads `segments` into `out`, a segment's warnings first, its events in batches of at most
/// `BATCH_MAX_EVENTS`. Blocking; stops when the receiver is gone.
fn read_all(segments: &[PathBuf], range: Range, out: &mpsc::Sender<Read>) {
    for segment in segments {
        // A fresh interner per segment keeps it bounded over any number of segments.
        let mut interner = Interner::default();
        let read = match read_segment(segment, range, &mut interner) {
            Ok(read) => read,
            Err(err) => Read {
                events: Vec::new(),
                warnings: vec![format!("{err} (skipped)")],
            },
        };
        let mut events = read.events;
        let mut warnings = read.warnings;
        loop {
            let rest = events.split_off(events.len().min(BATCH_MAX_EVENTS));
            let batch = Read {
                events,
                warnings: std::mem::take(&mut warnings),
            };
            if out.blocking_send(batch).is_err() {
                return;
            }
            if rest.is_empty() {
                break;
            }
            events = rest;
        }
    }
}
