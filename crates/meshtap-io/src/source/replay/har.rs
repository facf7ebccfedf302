//! HAR read as a stream: the document is one JSON value, so it is walked with serde visitors that
//! take `log._meshtap` (the capture, which meshtap writes before the entries) and then each entry
//! of `log.entries` as it is parsed, never the whole array. One value (an entry, `_meshtap`) may
//! take at most [`MAX_ENTRY_BYTES`] of the document, as an NDJSON line may: a larger one ends
//! the replay with a message rather than being held whole.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::ReplayError;
use super::read::{MAX_LINE_BYTES, READ_CHUNK_BYTES};
use super::records;
use super::sink::Sink;
use crate::capture::har::Entry;

/// The most of the document one entry (or other value of `log`) may take.
pub const MAX_ENTRY_BYTES: usize = MAX_LINE_BYTES;

/// Reads a HAR document from `input` into `sink`.
pub fn read(input: &mut impl Read, sink: &mut Sink) -> io::Result<()> {
    let since = Rc::new(Cell::new(0));
    let mut walk = Walk {
        sink,
        log: false,
        entries: None,
        since: Rc::clone(&since),
    };
    let capped = Capped {
        inner: input,
        since,
        over: false,
    };
    let mut reader = BufReader::with_capacity(READ_CHUNK_BYTES, capped);
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let result = Document(&mut walk).deserialize(&mut de);
    let over = reader.get_ref().over;
    let Walk {
        sink, log, entries, ..
    } = walk;
    let message = match result {
        // The player went away mid-document: nothing more to say.
        Err(_) if sink.closed => return Ok(()),
        Err(_) if over => format!(
            "entry {} is larger than {} MiB; it and the rest of the document are not read",
            entries.unwrap_or(0),
            MAX_ENTRY_BYTES >> 20
        ),
        Err(e) if e.is_io() => return Err(io::Error::other(e)),
        Err(e) if entries.is_some() => format!("the HAR document breaks off: {e}"),
        Err(e) => format!("not a HAR document: {e}"),
        Ok(()) if !log => "HAR without `log`".to_string(),
        Ok(()) if entries.is_none() => "HAR without `log.entries`".to_string(),
        Ok(()) => return Ok(()),
    };
    let name = sink.name().to_string();
    sink.fail(ReplayError::Malformed { name, message });
    Ok(())
}

/// The reader under the parser: counts the bytes since the current value began and refuses to
/// read past [`MAX_ENTRY_BYTES`] (plus one read-ahead chunk) of it.
struct Capped<'r, R> {
    inner: &'r mut R,
    since: Rc<Cell<usize>>,
    over: bool,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since.get() > MAX_ENTRY_BYTES + READ_CHUNK_BYTES {
            self.over = true;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a HAR entry is too large",
            ));
        }
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n);
        Ok(n)
    }
}

struct Walk<'a> {
    sink: &'a mut Sink,
    /// Bytes read since the current value began (shared with [`Capped`]).
    since: Rc<Cell<usize>>,
    log: bool,
    /// Entries seen so far, once `log.entries` has begun.
    entries: Option<usize>,
}

/// The top level: `{"log": …}`.
struct Document<'w, 'a>(&'w mut Walk<'a>);
/// `log`: `_meshtap` and `entries`.
struct Log<'w, 'a>(&'w mut Walk<'a>);
/// `log.entries`, one entry at a time.
struct Entries<'w, 'a>(&'w mut Walk<'a>);

fn stopped<E: de::Error>() -> E {
    E::custom("the replay was stopped")
}

impl<'de> DeserializeSeed<'de> for Document<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "log" {
                self.0.log = true;
                map.next_value_seed(Log(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Log<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Log<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR log")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.0.since.set(0);
            match key.as_str() {
                "_meshtap" => {
                    let value = map.next_value::<serde_json::Value>()?;
                    // A capture description this meshtap cannot read is left out, not fatal.
                    self.0.sink.capture = serde_json::from_value(value).ok();
                }
                "entries" => {
                    self.0.entries = Some(0);
                    map.next_value_seed(Entries(&mut *self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Entries<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the HAR entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let walk = self.0;
        // Each entry is taken as a JSON value first so that a malformed one is skipped alone.
        loop {
            walk.since.set(0);
            // Counted before it is read, so an entry too large to read is named by its number.
            let index = walk.entries.unwrap_or(0);
            walk.entries = Some(index + 1);
            let Some(value) = seq.next_element::<serde_json::Value>()? else {
                walk.entries = Some(index);
                break;
            };
            let sink = &mut *walk.sink;
            let events = serde_json::from_value::<Entry>(value)
                .map_err(|e| e.to_string())
                .and_then(|entry| {
                    records::record_events(&records::har_record(entry, index), &mut sink.interner)
                });
            match events {
                Ok(events) => sink.request(events),
                Err(message) => sink.skip(format!("entry {}: {message}", index + 1)),
            }
            if sink.closed {
                return Err(stopped());
            }
        }
        Ok(())
    }
}
