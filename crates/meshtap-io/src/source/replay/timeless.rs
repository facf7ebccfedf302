//! The formats without timestamps, Linkerd's JSON and raw tap frames: their events are dated
//! from the replay's start, a request at a running clock and its response and end
//! `sinceRequestInit` after it. Both are read as they come: frames through the one framing type
//! and the direct decoder, Linkerd's objects one at a time.

use std::collections::HashMap;
use std::io::{self, Read};

use chrono::{DateTime, Utc};

use super::linkerd;
use super::read::{self, Line, READ_CHUNK_BYTES};
use super::sink::Sink;
use crate::capture::after;
use crate::model::event::{HttpEvent, TapEvent};
use crate::model::request::RequestKey;
use crate::source::frames::{self, FrameDecoder, ModelFrame};

/// Dates events that carry no timestamp: a request at the running clock, its response and end
/// `sinceRequestInit` after it, and never earlier than the event before (the file is in
/// arrival order).
struct Clock {
    now: DateTime<Utc>,
    inits: HashMap<RequestKey, DateTime<Utc>>,
}

/// Open requests the clock remembers; beyond it (ends that never came) it starts afresh.
const CLOCK_MAX_OPEN: usize = 100_000;

impl Clock {
    fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: start,
            inits: HashMap::new(),
        }
    }

    fn stamp(&mut self, event: &mut TapEvent) {
        let key = RequestKey::of(event);
        let since = match &event.http {
            Some(HttpEvent::RequestInit(_)) => {
                if let Some(key) = key {
                    if self.inits.len() >= CLOCK_MAX_OPEN {
                        self.inits.clear();
                    }
                    self.inits.insert(key, self.now);
                }
                None
            }
            Some(HttpEvent::ResponseInit(e)) => e.since_request_init,
            Some(HttpEvent::ResponseEnd(e)) => e.since_request_init,
            None => None,
        };
        let base = key.and_then(|k| self.inits.get(&k).copied());
        if let (Some(base), Some(since)) = (base, since) {
            self.now = self.now.max(after(base, since));
        }
        if let (Some(HttpEvent::ResponseEnd(_)), Some(key)) = (&event.http, key) {
            self.inits.remove(&key);
        }
        event.arrived = self.now;
    }
}

/// Linkerd's `tap -o json`: pretty objects one after another, each starting with `{` at the start
/// of a line and indenting the rest, so such a line starts the next object — which is also how a
/// broken object is stepped over.
pub fn linkerd_json(
    input: &mut impl Read,
    sink: &mut Sink,
    start: DateTime<Utc>,
) -> io::Result<()> {
    let mut clock = Clock::new(start);
    let mut object = Vec::new();
    // The line `object` starts on.
    let mut first = 0;
    read::lines(input, |number, line| {
        let Line::Text(line) = line else {
            sink.skip(read::too_long(number));
            object.clear();
            return !sink.closed;
        };
        if line.first() == Some(&b'{') && !object.is_empty() {
            objects(&object, first, &mut clock, sink, start);
            object.clear();
        }
        if object.is_empty() {
            if line.iter().all(u8::is_ascii_whitespace) {
                return true;
            }
            first = number;
        }
        object.extend_from_slice(line);
        object.push(b'\n');
        if object.len() > read::MAX_LINE_BYTES {
            sink.skip(format!(
                "line {first}: an object longer than {} bytes",
                read::MAX_LINE_BYTES
            ));
            object.clear();
        }
        !sink.closed
    })?;
    objects(&object, first, &mut clock, sink, start);
    Ok(())
}

/// The objects in `text` (normally one) that starts on line `line`.
fn objects(text: &[u8], line: usize, clock: &mut Clock, sink: &mut Sink, start: DateTime<Utc>) {
    let stream = serde_json::Deserializer::from_slice(text).into_iter::<serde_json::Value>();
    for value in stream {
        let event = value
            .map_err(|e| e.to_string())
            .and_then(|value| linkerd::event(value, &mut sink.interner, start));
        match event {
            Ok(mut event) => {
                clock.stamp(&mut event);
                sink.event(event);
            }
            Err(message) => {
                sink.skip(format!("line {line}: {message}"));
                return;
            }
        }
    }
}

/// A recorded tap stream: frames read in large chunks, split by the one framing type and decoded
/// by the direct decoder. A torn last frame is reported and skipped; a bad length ends the
/// replay (it cannot be resynchronised), keeping what came before.
pub fn framed(input: &mut impl Read, sink: &mut Sink, start: DateTime<Utc>) -> io::Result<()> {
    let mut clock = Clock::new(start);
    let mut decoder = FrameDecoder::default();
    let mut chunk = vec![0; READ_CHUNK_BYTES];
    let mut number = 0;
    loop {
        let n = read::read_some(input, &mut chunk)?;
        if n == 0 {
            if let Err(err) = decoder.finish() {
                sink.skip(format!("frame {}: {err}", number + 1));
            }
            return Ok(());
        }
        decoder.push(&chunk[..n]);
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(err) => {
                    sink.skip(format!("frame {}: {err}", number + 1));
                    return Ok(());
                }
            };
            number += 1;
            match frames::decode_fast(&mut sink.interner, &frame, start) {
                Ok(ModelFrame::Event(mut event)) => {
                    clock.stamp(&mut event);
                    sink.event(event);
                }
                Ok(ModelFrame::ApiError(error)) => sink.skip(format!(
                    "frame {number}: the tap server reported: {}",
                    error.trim()
                )),
                Err(err) => sink.skip(format!("frame {number}: {err}")),
            }
            if sink.closed {
                return Ok(());
            }
        }
    }
}
