//! `meshtap replay`: reads any export back and feeds it to the same main loop a live tap feeds.
//!
//! The format is recognised from the content, never the name: meshtap NDJSON (with or without
//! its header line), `linkerd viz tap -o json` (concatenated pretty objects), HAR, or a raw tap
//! stream (4-byte little-endian length + `TapEvent` frames). Every event is dated — from the
//! file's timestamps where it has them; Linkerd's JSON and raw frames have none, so their events
//! are laid out from the replay's start using each response's `sinceRequestInit` — and sent in
//! arrival order, as fast as the consumer takes them or at a multiple of the original pace.
//! A malformed line or entry is reported and skipped; the rest loads.

mod linkerd;
mod pace;
mod records;
mod timeless;

use std::io;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::AsyncReadExt as _;
use tokio::sync::mpsc;

use super::frames;
use super::wire::Interner;
use crate::export::file::{CaptureRecord, HeaderLine};
use crate::export::har::Entry;
use crate::export::ndjson::RequestRecord;
use crate::model::event::TapEvent;
use crate::session::{SourceMsg, StreamState};

/// Largest input read: the whole file is held while it is parsed and sorted.
pub const MAX_REPLAY_BYTES: u64 = 2 * 1024 * 1024 * 1024;
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
    #[error("{name} is larger than {MAX_REPLAY_BYTES} bytes; split it first")]
    TooLarge { name: String },
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

/// What a file held, parsed and dated, in arrival order.
#[derive(Debug, Default)]
pub struct Loaded {
    pub events: Vec<TapEvent>,
    /// One per malformed line, entry or frame (at most `MAX_WARNINGS`, then a count).
    pub warnings: Vec<String>,
    pub skipped: usize,
    pub capture: Option<CaptureRecord>,
}

impl Loaded {
    pub(crate) fn skip(&mut self, message: String) {
        self.skipped += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        }
    }
}

/// Which format `bytes` hold.
pub fn detect(bytes: &[u8]) -> Option<ReplayFormat> {
    // A frame header is a length under 16 MiB, so its fourth byte is 0 (or 1 for exactly
    // 16 MiB); text never starts like that, so the two cannot be confused.
    if let Some(header) = bytes.get(..4) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len <= frames::MAX_FRAME_BYTES && header[3] <= 1 {
            return Some(ReplayFormat::Framed);
        }
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<serde_json::Value>();
    let Some(Ok(serde_json::Value::Object(first))) = stream.next() else {
        // The first line may be malformed NDJSON: look for a record on the lines after it.
        let mut lines = text.split(|b| *b == b'\n').skip(1);
        return lines
            .any(|line| serde_json::from_slice::<RequestRecord>(line).is_ok())
            .then_some(ReplayFormat::Ndjson);
    };
    if first.contains_key("log") {
        Some(ReplayFormat::Har)
    } else if first.contains_key("meshtap_capture") || first.contains_key("phase") {
        Some(ReplayFormat::Ndjson)
    } else if linkerd::looks_like_event(&first) {
        Some(ReplayFormat::LinkerdJson)
    } else {
        None
    }
}

/// Parses a whole input. `start` dates the events of formats without timestamps.
pub fn load(
    name: &str,
    bytes: &[u8],
    start: DateTime<Utc>,
) -> Result<(ReplayFormat, Loaded), ReplayError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReplayError::Empty {
            name: name.to_string(),
        });
    }
    let format = detect(bytes).ok_or_else(|| ReplayError::UnknownFormat {
        name: name.to_string(),
    })?;
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut interner = Interner::default();
    let mut loaded = Loaded::default();
    match format {
        ReplayFormat::Ndjson => ndjson(text, &mut interner, &mut loaded),
        ReplayFormat::LinkerdJson => {
            timeless::linkerd_json(text, &mut interner, &mut loaded, start);
        }
        ReplayFormat::Har => har(name, text, &mut interner, &mut loaded)?,
        ReplayFormat::Framed => timeless::framed(bytes, &mut interner, &mut loaded, start),
    }
    if loaded.skipped > MAX_WARNINGS {
        let more = loaded.skipped - MAX_WARNINGS;
        loaded
            .warnings
            .push(format!("… and {more} more malformed records skipped"));
    }
    if loaded.events.is_empty() {
        return Err(ReplayError::NothingLoaded {
            name: name.to_string(),
            skipped: loaded.skipped,
            first: loaded
                .warnings
                .first()
                .cloned()
                .unwrap_or_else(|| "no events".to_string()),
        });
    }
    // Stable: events with the same time keep their order in the file.
    loaded.events.sort_by_key(|e| e.arrived);
    Ok((format, loaded))
}

fn ndjson(text: &[u8], interner: &mut Interner, loaded: &mut Loaded) {
    for (index, line) in text.split(|b| *b == b'\n').enumerate() {
        let number = index + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Ok(header) = serde_json::from_slice::<HeaderLine>(line) {
            // `cat a.ndjson b.ndjson` holds two headers: the first describes the capture.
            loaded.capture.get_or_insert(header.meshtap_capture);
            continue;
        }
        let events = serde_json::from_slice::<RequestRecord>(line)
            .map_err(|e| e.to_string())
            .and_then(|record| records::record_events(&record, interner));
        match events {
            Ok(events) => loaded.events.extend(events),
            Err(message) => loaded.skip(format!("line {number}: {message}")),
        }
    }
}

fn har(
    name: &str,
    text: &[u8],
    interner: &mut Interner,
    loaded: &mut Loaded,
) -> Result<(), ReplayError> {
    let malformed = |message: String| ReplayError::Malformed {
        name: name.to_string(),
        message,
    };
    let mut document: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| malformed(format!("not a HAR document: {e}")))?;
    let log = document
        .get_mut("log")
        .ok_or_else(|| malformed("HAR without `log`".into()))?;
    if let Some(capture) = log.get_mut("_meshtap").map(serde_json::Value::take) {
        loaded.capture = serde_json::from_value(capture).ok();
    }
    let Some(serde_json::Value::Array(entries)) =
        log.get_mut("entries").map(serde_json::Value::take)
    else {
        return Err(malformed("HAR without `log.entries`".into()));
    };
    for (index, entry) in entries.into_iter().enumerate() {
        let events = serde_json::from_value::<Entry>(entry)
            .map_err(|e| e.to_string())
            .and_then(|entry| records::record_events(&records::har_record(entry, index), interner));
        match events {
            Ok(events) => loaded.events.extend(events),
            Err(message) => loaded.skip(format!("entry {}: {message}", index + 1)),
        }
    }
    Ok(())
}

async fn read(input: &Path) -> Result<Vec<u8>, io::Error> {
    let mut bytes = Vec::new();
    if input == Path::new("-") {
        tokio::io::stdin()
            .take(MAX_REPLAY_BYTES + 1)
            .read_to_end(&mut bytes)
            .await?;
    } else {
        let file = tokio::fs::File::open(input).await?;
        file.take(MAX_REPLAY_BYTES + 1)
            .read_to_end(&mut bytes)
            .await?;
    }
    Ok(bytes)
}

/// The name messages use for `input`.
pub fn display_name(input: &Path) -> String {
    if input == Path::new("-") {
        "stdin".to_string()
    } else {
        input.display().to_string()
    }
}

/// A file read and parsed, ready to play.
#[derive(Debug)]
pub struct Opened {
    pub name: String,
    pub format: ReplayFormat,
    pub loaded: Loaded,
}

/// Reads and parses `input` (a path, or `-` for stdin). Every problem that makes the whole file
/// unusable shows up here, before anything is sent.
pub async fn open(input: &Path) -> Result<Opened, ReplayError> {
    let name = display_name(input);
    let bytes = read(input).await.map_err(|source| ReplayError::Read {
        name: name.clone(),
        source,
    })?;
    if bytes.len() as u64 > MAX_REPLAY_BYTES {
        return Err(ReplayError::TooLarge { name });
    }
    let (format, loaded) = load(&name, &bytes, Utc::now())?;
    Ok(Opened {
        name,
        format,
        loaded,
    })
}

/// Sends an opened file into `tx` as stream 0 (warnings first, then events at `speed`), then
/// reports the stream ended.
pub async fn play(opened: Opened, speed: Speed, tx: mpsc::Sender<SourceMsg>) -> ReplayReport {
    let Loaded {
        events,
        warnings,
        skipped,
        capture,
    } = opened.loaded;
    let events = pace::send(events, warnings, speed, &tx).await;
    let _ = tx
        .send(SourceMsg::State {
            stream: 0,
            state: StreamState::Ended,
        })
        .await;
    ReplayReport {
        format: opened.format,
        events,
        skipped,
        capture,
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

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(
            detect(b"{\"log\": {\"entries\": []}}"),
            Some(ReplayFormat::Har)
        );
        assert_eq!(
            detect(b"{\"meshtap_capture\": {}}\n"),
            Some(ReplayFormat::Ndjson)
        );
        assert_eq!(
            detect(b"{\n  \"proxyDirection\": \"INBOUND\"\n}\n"),
            Some(ReplayFormat::LinkerdJson)
        );
        // A 123-byte frame starts with `{`, but its length bytes say what it is.
        assert_eq!(detect(&[123, 0, 0, 0, 8]), Some(ReplayFormat::Framed));
        assert_eq!(detect(b"{\"hello\": 1}"), None);
        assert_eq!(detect(b"hello"), None);
    }

    #[test]
    fn a_broken_first_line_needs_a_whole_record_after_it() {
        let text = b"{broken\n{\"v\":1}\n";
        // The second line is not a full record either: nothing to recognise.
        assert_eq!(detect(text), None);
    }
}
