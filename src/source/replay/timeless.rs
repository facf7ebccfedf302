//! The formats without timestamps, Linkerd's JSON and raw tap frames: their events are dated
//! from the replay's start, a request at a running clock and its response and end
//! `sinceRequestInit` after it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Loaded, linkerd};
use crate::export::events::after;
use crate::model::event::{HttpEvent, TapEvent};
use crate::model::request::RequestKey;
use crate::source::frames::{self, Frame, FrameDecoder};
use crate::source::wire::{self, Interner};

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

pub fn linkerd_json(
    text: &[u8],
    interner: &mut Interner,
    loaded: &mut Loaded,
    start: DateTime<Utc>,
) {
    let mut clock = Clock::new(start);
    let mut offset = 0;
    // Lines before `offset`, counted incrementally so the whole parse stays linear.
    let (mut counted, mut line) = (0, 1);
    while offset < text.len() {
        let rest = &text[offset..];
        let skipped_ws = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if skipped_ws == rest.len() {
            break;
        }
        let object_start = offset + skipped_ws;
        #[allow(
            clippy::naive_bytecount,
            reason = "one pass over each byte; no extra crate"
        )]
        let newlines = text[counted..object_start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        line += newlines;
        counted = object_start;
        let mut stream = serde_json::Deserializer::from_slice(&text[object_start..])
            .into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(value)) => {
                offset = object_start + stream.byte_offset();
                match linkerd::event(value, interner, start) {
                    Ok(mut event) => {
                        clock.stamp(&mut event);
                        loaded.events.push(event);
                    }
                    Err(message) => loaded.skip(format!("line {line}: {message}")),
                }
            }
            Some(Err(err)) => {
                loaded.skip(format!("line {line}: {err}"));
                // Linkerd starts every object with `{` at the start of a line and indents the
                // rest, so the next such line is the next object.
                offset = find(&text[object_start + 1..], b"\n{")
                    .map_or(text.len(), |i| object_start + 1 + i + 1);
            }
            None => break,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn framed(bytes: &[u8], interner: &mut Interner, loaded: &mut Loaded, start: DateTime<Utc>) {
    let mut clock = Clock::new(start);
    let mut decoder = FrameDecoder::default();
    decoder.push(bytes);
    for number in 1.. {
        match decoder.next_frame() {
            Ok(Some(frame)) => match frames::decode(&frame) {
                Ok(Frame::Event(wire)) => {
                    let mut event = wire::event(interner, *wire, start);
                    clock.stamp(&mut event);
                    loaded.events.push(event);
                }
                Ok(Frame::ApiError(error)) => {
                    loaded.skip(format!(
                        "frame {number}: the tap server reported: {}",
                        error.trim()
                    ));
                }
                Err(err) => loaded.skip(format!("frame {number}: {err}")),
            },
            Ok(None) => {
                if let Err(err) = decoder.finish() {
                    loaded.skip(format!("frame {number}: {err}"));
                }
                return;
            }
            // A bad length cannot be resynchronised: what came before is kept.
            Err(err) => {
                loaded.skip(format!("frame {number}: {err}"));
                return;
            }
        }
    }
}
