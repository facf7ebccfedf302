//! Reading segments back (`meshtap replay DIR|SEGMENT [--from T] [--until T]`): the segments whose
//! index says they overlap the range, frame by frame through the one decoder
//! (`source::frames::decode_fast`), on the arrival times they were recorded with. Segments are
//! streamed (memory is a buffer and a frame, whatever their size) and only regular files are
//! read.

use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{FRAME_HEADER_BYTES, Index, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, SEGMENT_VERSION};
use crate::files;
use crate::model::event::TapEvent;
use crate::session::{BATCH_MAX_EVENTS, SourceMsg};
use crate::source::frames::{self, MAX_FRAME_BYTES, ModelFrame};
use crate::source::replay::{MAX_WARNINGS, READ_AHEAD_BATCHES, Speed, drain, read_some};
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
    #[error("--from {from} is after --until {to}: nothing can be between them")]
    Backwards {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// What one segment held in the range (see [`read_segment`]), or one batch of what the segments
/// hold (the reader thread's batches).
#[derive(Debug, Default)]
pub struct Read {
    pub events: Vec<TapEvent>,
    /// A torn last frame, an undecodable frame: reported, skipped.
    pub warnings: Vec<String>,
}

/// One thing read from a segment.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "moved straight into a batch; boxing would cost an allocation per event"
)]
pub enum Item {
    Event(TapEvent),
    Warning(String),
}

/// The most of an index file read: a real one is a hundred bytes, and a planted one must not
/// cost memory.
pub const MAX_INDEX_BYTES: u64 = 64 * 1024;
/// Buffer of the segment reader: memory is this plus one frame, whatever the segment's size.
const SEGMENT_READ_BYTES: usize = 256 * 1024;

/// The segments to read for `path` (a directory of segments, or one segment file), oldest
/// first, leaving out those whose index says they hold nothing in `range`. An index is believed
/// only when it agrees with its segment (its length and first arrival): a stale or doctored one
/// never hides what the segment holds.
pub fn plan(path: &Path, range: Range) -> Result<Vec<PathBuf>, SegmentError> {
    if let (Some(from), Some(to)) = (range.from, range.until)
        && from > to
    {
        return Err(SegmentError::Backwards { from, to });
    }
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
            trusted_index(segment).is_none_or(|index| index.overlaps(range.from, range.until))
        })
        .collect())
}

/// A segment's index, if it has a usable one (the last segment of a crashed run has none): a
/// regular file, at most [`MAX_INDEX_BYTES`], of this version.
pub fn index_of(segment: &Path) -> Option<Index> {
    let file = files::open_regular(&super::index_path(segment)).ok()?;
    let mut text = Vec::new();
    file.take(MAX_INDEX_BYTES).read_to_end(&mut text).ok()?;
    serde_json::from_slice::<Index>(&text)
        .ok()
        .filter(|index| index.version == SEGMENT_VERSION)
}

/// A segment's index when it agrees with the segment: the segment's length, and the arrival of
/// its first frame (none for an empty segment).
fn trusted_index(segment: &Path) -> Option<Index> {
    let index = index_of(segment)?;
    let mut file = files::open_regular(segment).ok()?;
    if file.metadata().ok()?.len() != index.bytes {
        return None;
    }
    let mut head = [0u8; SEGMENT_HEADER_BYTES + 8];
    let got = read_full(&mut file, &mut head).ok()?;
    let first = match got {
        SEGMENT_HEADER_BYTES => None,
        n if n == head.len() => {
            let micros = i64::from_le_bytes(head[SEGMENT_HEADER_BYTES..].try_into().ok()?);
            Some(DateTime::from_timestamp_micros(micros)?)
        }
        _ => return None,
    };
    (first == index.first).then_some(index)
}

/// Reads the frames of one segment that arrived within `range`, all at once (tests, small
/// segments); [`stream_segment`] is the bounded form.
pub fn read_segment(
    path: &Path,
    range: Range,
    interner: &mut Interner,
) -> Result<Read, SegmentError> {
    let mut read = Read::default();
    stream_segment(path, range, interner, &mut |item| {
        match item {
            Item::Event(event) => read.events.push(event),
            Item::Warning(warning) => read.warnings.push(warning),
        }
        true
    })?;
    Ok(read)
}

/// Reads the frames of one segment that arrived within `range`, frame by frame: `each` gets
/// every event and warning as it is read and returns `false` to stop. Memory is one buffer and
/// one frame, never the segment. Returns whether `each` wanted everything.
pub fn stream_segment(
    path: &Path,
    range: Range,
    interner: &mut Interner,
    each: &mut dyn FnMut(Item) -> bool,
) -> Result<bool, SegmentError> {
    let io = |source| SegmentError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = files::open_regular(path).map_err(io)?;
    let mut input = BufReader::with_capacity(SEGMENT_READ_BYTES, file);
    let mut header = [0u8; SEGMENT_HEADER_BYTES];
    let got = read_full(&mut input, &mut header).map_err(io)?;
    if got < SEGMENT_MAGIC.len() || !header.starts_with(SEGMENT_MAGIC) {
        return Err(SegmentError::NotASegment {
            path: path.to_path_buf(),
        });
    }
    let version = header[SEGMENT_MAGIC.len()..]
        .try_into()
        .map_or(0, u32::from_le_bytes);
    if got < SEGMENT_HEADER_BYTES || version != SEGMENT_VERSION {
        return Err(SegmentError::Version {
            path: path.to_path_buf(),
            version,
        });
    }
    // Warnings name the segment file; the session names the directory.
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut at = SEGMENT_HEADER_BYTES;
    let mut payload = Vec::new();
    loop {
        let mut frame_header = [0u8; FRAME_HEADER_BYTES];
        match read_full(&mut input, &mut frame_header).map_err(io)? {
            0 => return Ok(true),
            FRAME_HEADER_BYTES => {}
            _ => {
                return Ok(each(Item::Warning(format!(
                    "{name}: the last frame is torn"
                ))));
            }
        }
        let micros = i64::from_le_bytes(frame_header[..8].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(frame_header[8..].try_into().unwrap_or_default()) as usize;
        if len > MAX_FRAME_BYTES {
            return Ok(each(Item::Warning(format!(
                "{name}: a frame claims {len} bytes at offset {at}; the rest is skipped"
            ))));
        }
        payload.resize(len, 0);
        let got = read_full(&mut input, &mut payload).map_err(io)?;
        if got < len {
            return Ok(each(Item::Warning(format!(
                "{name}: the last frame is torn ({got} of {len} bytes)"
            ))));
        }
        at += FRAME_HEADER_BYTES + len;
        let Some(arrived) = DateTime::from_timestamp_micros(micros) else {
            if !each(Item::Warning(format!("{name}: a frame has no valid time"))) {
                return Ok(false);
            }
            continue;
        };
        if !range.contains(arrived) {
            continue;
        }
        let item = match frames::decode_fast(interner, &payload, arrived) {
            Ok(ModelFrame::Event(event)) => Item::Event(event),
            // Recordings hold events only; an error frame is not one of them.
            Ok(ModelFrame::ApiError(_)) => continue,
            Err(err) => Item::Warning(format!("{name}: {err}")),
        };
        if !each(item) {
            return Ok(false);
        }
    }
}

/// Fills `buf` as far as `input` goes; returns how much it filled (less only at the end).
fn read_full(input: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_some(input, &mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
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

/// Sends what the reader read into `tx` as stream 0, batch by batch (warnings first, then
/// events) at `speed` — paced from the recorded arrival times by the same pacer as file replay —
/// then reports the stream ended. Returns the events sent.
pub async fn play(ready: mpsc::Receiver<Read>, speed: Speed, tx: mpsc::Sender<SourceMsg>) -> u64 {
    drain(ready, speed, &tx, |read| (read.warnings, read.events)).await as u64
}

/// Reads `segments` into `out` in batches of at most `BATCH_MAX_EVENTS` events, streamed. The
/// first [`MAX_WARNINGS`] warnings are sent, then only their count, as file replay does.
/// Blocking; stops when the receiver is gone.
fn read_all(segments: &[PathBuf], range: Range, out: &mpsc::Sender<Read>) {
    let mut batch = Read::default();
    let warnings = std::cell::Cell::new(0usize);
    let mut each = |item: Item| {
        match item {
            Item::Event(event) => batch.events.push(event),
            Item::Warning(warning) => {
                warnings.set(warnings.get() + 1);
                if warnings.get() <= MAX_WARNINGS {
                    batch.warnings.push(warning);
                }
            }
        }
        batch.events.len() < BATCH_MAX_EVENTS
            || out.blocking_send(std::mem::take(&mut batch)).is_ok()
    };
    for segment in segments {
        // A fresh interner per segment keeps it bounded over any number of segments.
        let mut interner = Interner::default();
        let wanted = match stream_segment(segment, range, &mut interner, &mut each) {
            Ok(wanted) => wanted,
            Err(err) => each(Item::Warning(err.to_string())),
        };
        if !wanted {
            return;
        }
    }
    let more = warnings.get().saturating_sub(MAX_WARNINGS);
    if more > 0 {
        // Past the cap, so `each` keeps it out: said directly.
        batch
            .warnings
            .push(format!("{more} more warnings not shown"));
    }
    if !batch.events.is_empty() || !batch.warnings.is_empty() {
        let _ = out.blocking_send(batch);
    }
}
