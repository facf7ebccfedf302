//! `meshtap replay`: reads any export back and feeds it to the same main loop a live tap feeds.
//!
//! The format is recognised from the content, never the name: meshtap NDJSON (with or without
//! its header line), `linkerd viz tap -o json` (concatenated pretty objects), HAR, or a raw tap
//! stream (4-byte little-endian length + `TapEvent` frames). Every event is dated — from the
//! file's timestamps where it has them; Linkerd's JSON and raw frames have none, so their events
//! are laid out from the replay's start using each response's `sinceRequestInit` — and sent in
//! arrival order, as fast as the consumer takes them or at a multiple of the original pace.
//! A malformed line or entry is reported and skipped; the rest loads.
//!
//! Files are streamed, never held: a reader thread reads large chunks and sends batches a few at
//! a time (`READ_AHEAD_BATCHES`), so memory is bounded by the consumer's store, not the file.
//! Formats that hold whole requests (NDJSON, HAR) pass a reorder window (`REORDER_WINDOW`).

mod detect;
mod har;
mod linkerd;
mod pace;
mod read;
mod records;
mod reorder;
mod sink;
mod timeless;

use std::io;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use crate::capture::CaptureRecord;
use crate::session::{SourceMsg, StreamState};

pub use detect::{HEAD_BYTES, detect};
pub use pace::drain;
pub use read::{MAX_LINE_BYTES, READ_CHUNK_BYTES, read_some};
pub use reorder::{REORDER_MAX_EVENTS, REORDER_WINDOW};
pub use sink::READ_AHEAD_BATCHES;

/// Malformed lines reported one by one; beyond this only a count is reported, so a wrong file
/// cannot flood the status bar.
pub const MAX_WARNINGS: usize = 100;
/// Longest wait between two events at any speed: a capture with a long quiet gap does not stall.
pub const MAX_GAP: Duration = Duration::from_secs(60);

/// How fast to replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// Everything at once.
    Max,
    /// The original pace times this factor (2.0 is twice as fast).
    Factor(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "speed must be a number above 0 or `max`, not {s:?}"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayFormat {
    Ndjson,
    LinkerdJson,
    Har,
    Framed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplayReport {
    pub format: ReplayFormat,
    /// Events sent (fewer than loaded if the consumer went away).
    pub events: usize,
    /// Lines, entries or frames skipped as malformed.
    pub skipped: usize,
    /// The capture description, when the file has one.
    pub capture: Option<CaptureRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {name}: {source}")]
    Read { name: String, source: io::Error },
    #[error("{name} is empty: nothing to replay")]
    Empty { name: String },
    #[error(
        "{name} is not something meshtap can replay: expected meshtap NDJSON, `linkerd viz tap \
         -o json` output, HAR, or a recorded tap stream"
    )]
    UnknownFormat { name: String },
    #[error("{name}: {message}")]
    Malformed { name: String, message: String },
    #[error("{name}: nothing could be read ({skipped} malformed; first: {first})")]
    NothingLoaded {
        name: String,
        skipped: usize,
        first: String,
    },
}

/// The name messages use for `input`.
pub fn display_name(input: &Path) -> String {
    if input == Path::new("-") {
        "stdin".to_string()
    } else {
        input.display().to_string()
    }
}

/// A file opened and recognised, its reader started; play it with [`play`].
#[derive(Debug)]
pub struct Opened {
    pub name: String,
    pub format: ReplayFormat,
    /// What `open` read from the file's head.
    pub loaded: Head,
    batches: mpsc::Receiver<sink::Batch>,
}

/// What `open` read from the file's head: the capture description, when the file has one (an
/// NDJSON header line, or a HAR's `log._meshtap`, which meshtap writes before the entries).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub capture: Option<CaptureRecord>,
}

/// Opens `input` (a path, or `-` for stdin), recognises its format and starts reading it. Every
/// problem that makes the whole file unusable (unreadable, empty, foreign, nothing replayable in
/// it) shows up here, before anything is sent; the file is read no further than its first batch
/// of events.
pub async fn open(input: &Path) -> Result<Opened, ReplayError> {
    let name = display_name(input);
    let read_error = |source: io::Error| ReplayError::Read {
        name: name.clone(),
        source,
    };
    let reader: read::Input = if input == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(input).map_err(read_error)?)
    };
    let (ready, head) = oneshot::channel();
    let (out, batches) = mpsc::channel(READ_AHEAD_BATCHES);
    read::spawn(reader, name.clone(), Utc::now(), ready, out).map_err(read_error)?;
    let head = head
        .await
        .map_err(|_| read_error(io::Error::other("the reader stopped unexpectedly")))??;
    Ok(Opened {
        name,
        format: head.format,
        loaded: Head {
            capture: head.capture,
        },
        batches,
    })
}

/// Sends an opened file into `tx` as stream 0 (each batch's warnings, then its events, at
/// `speed`), then reports the stream ended.
pub async fn play(opened: Opened, speed: Speed, tx: mpsc::Sender<SourceMsg>) -> ReplayReport {
    let Opened {
        format,
        loaded,
        batches,
        ..
    } = opened;
    let mut skipped = 0;
    let connected = SourceMsg::State {
        stream: 0,
        state: StreamState::Connected,
    };
    // A consumer already gone gets nothing more than the end.
    let _ = pace::send(&tx, connected).await;
    let events = pace::drain(batches, speed, &tx, |batch: sink::Batch| {
        skipped = batch.skipped;
        (batch.warnings, batch.events)
    })
    .await;
    ReplayReport {
        format,
        events,
        skipped,
        capture: loaded.capture,
    }
}

/// [`open`] then [`play`].
pub async fn replay(
    input: &Path,
    speed: Speed,
    tx: mpsc::Sender<SourceMsg>,
) -> Result<ReplayReport, ReplayError> {
    Ok(play(open(input).await?, speed, tx).await)
}

/// The path replayed, for the status bar (`replay FILE`).
pub fn context(input: &Path) -> String {
    format!("replay {}", display_name(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("MAX".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        for bad in ["0", "-1", "inf", "NaN", "fast"] {
            assert!(bad.parse::<Speed>().is_err(), "{bad}");
        }
    }
}
