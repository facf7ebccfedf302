//! HAR read as a stream: the document is one JSON value, so it is walked with serde visitors that
//! take `log._meshtap` (the capture, which meshtap writes before the entries) and then each entry
//! of `log.entries` as it is parsed, never the whole array.

use std::fmt;
use std::io::{self, BufReader, Read};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::ReplayError;
use super::read::READ_CHUNK_BYTES;
use super::records;
use super::sink::Sink;
use crate::capture::har::Entry;

/// Reads a HAR document from `input` into `sink`.
pub fn read(input: &mut impl Read, sink: &mut Sink) -> io::Result<()> {
    let mut walk = Walk {
        sink,
        log: false,
        entries: None,
    };
    let reader = BufReader::with_capacity(READ_CHUNK_BYTES, input);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = Document(&mut walk).deserialize(&mut de);
    let Walk { sink, log, entries } = walk;
    let message = match result {
        // The player went away mid-document: nothing more to say.
        Err(_) if sink.closed => return Ok(()),
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

struct Walk<'a> {
    sink: &'a mut Sink,
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
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            let index = walk.entries.unwrap_or(0);
            walk.entries = Some(index + 1);
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
