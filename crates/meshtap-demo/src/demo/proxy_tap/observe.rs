//! One simulated `Observe` call on one pod's proxy, with the proxy's semantics: the first `limit`
//! requests that match are tapped and numbered `base:0…limit-1` (base counts the proxy's Observe
//! calls), their events are streamed, and the stream ends once the limit was reached and every
//! tapped request has finished (or been given up by its client).
//!
//! Traffic is the simulation's ([`Session`] on a virtual clock advanced one tick per wall-clock
//! tick): the session reports every request of the pod and this layer applies `match` and
//! `limit`, exactly the part a real proxy does itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use bytes::BytesMut;
use linkerd2_proxy_api::tap::observe_request::Match;
use linkerd2_proxy_api::tap::{TapEvent, tap_event};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::matcher;
use crate::demo::mesh::{Mesh, PodId};
use crate::demo::sim::HANG_RELEASE_NS;
use crate::demo::tapper::{Plan, Session, TICK_NS};

/// Events buffered between a simulated proxy and its gRPC response stream.
pub const EVENT_BUFFER: usize = 256;

/// What one Observe asked for.
#[derive(Debug, Clone)]
pub struct Observe {
    pub pod: PodId,
    pub limit: u32,
    pub r#match: Option<Match>,
    pub headers: bool,
    pub seed: u64,
    pub rate: f64,
}

/// A request this Observe tapped and still holds.
#[derive(Debug, Clone, Copy)]
struct Held {
    stream: u64,
    /// Virtual time after which its client has given up on it.
    deadline: u64,
}

/// Runs one Observe until it is complete or its receiver goes away.
pub async fn run(
    observe: Observe,
    mesh: Arc<Mesh>,
    bases: Arc<[AtomicU32]>,
    tx: mpsc::Sender<Result<TapEvent, tonic::Status>>,
) {
    let plan = Plan {
        pods: vec![observe.pod],
        // This layer applies the limit; the session only numbers what it reports.
        limit: u32::MAX,
        conditions: Vec::new(),
        headers: observe.headers,
    };
    let mut session = Session::new(mesh, observe.seed, observe.rate, plan, bases);
    let mut ticks = tokio::time::interval(Duration::from_nanos(TICK_NS));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut tapper = Tapper {
        limit: observe.limit,
        r#match: observe.r#match,
        tapped: 0,
        held: HashMap::new(),
    };
    let mut buf = BytesMut::new();
    loop {
        tokio::select! {
            () = tx.closed() => return,
            _ = ticks.tick() => {}
        }
        session.advance(TICK_NS, &mut buf);
        let now = session.now();
        for event in frames(&mut buf) {
            if let Some(event) = tapper.admit(event, now)
                && tx.send(Ok(event)).await.is_err()
            {
                return;
            }
        }
        tapper.release(now);
        if tapper.done() {
            return;
        }
    }
}

/// The proxy's bookkeeping for one Observe.
#[derive(Debug)]
struct Tapper {
    limit: u32,
    r#match: Option<Match>,
    tapped: u32,
    /// Session stream number → what this Observe calls it.
    held: HashMap<u64, Held>,
}

impl Tapper {
    /// The event as this Observe reports it, or `None` when the request is not tapped.
    fn admit(&mut self, mut event: TapEvent, now: u64) -> Option<TapEvent> {
        use tap_event::http::Event;
        let Some(tap_event::Event::Http(http)) = &mut event.event else {
            return None;
        };
        let (id, opens, ends) = match http.event.as_mut()? {
            Event::RequestInit(e) => (e.id.as_mut()?, true, false),
            Event::ResponseInit(e) => (e.id.as_mut()?, false, false),
            Event::ResponseEnd(e) => (e.id.as_mut()?, false, true),
        };
        let key = id.stream;
        if opens {
            if self.tapped >= self.limit {
                return None;
            }
            let ok = self
                .r#match
                .as_ref()
                .is_none_or(|m| matcher::matches(m, &event));
            if !ok {
                return None;
            }
            let stream = u64::from(self.tapped);
            self.tapped += 1;
            self.held.insert(
                key,
                Held {
                    stream,
                    deadline: now.saturating_add(HANG_RELEASE_NS),
                },
            );
        }
        let held = if ends {
            self.held.remove(&key)?
        } else {
            *self.held.get(&key)?
        };
        // Renumber: untapped requests leave no gaps, as on a real proxy.
        if let Some(tap_event::Event::Http(http)) = &mut event.event
            && let Some(e) = http.event.as_mut()
        {
            let id = match e {
                Event::RequestInit(e) => e.id.as_mut(),
                Event::ResponseInit(e) => e.id.as_mut(),
                Event::ResponseEnd(e) => e.id.as_mut(),
            };
            if let Some(id) = id {
                id.stream = held.stream;
            }
        }
        Some(event)
    }

    /// Forgets requests whose clients gave up without an end (the simulation's hangs).
    fn release(&mut self, now: u64) {
        self.held.retain(|_, h| h.deadline > now);
    }

    fn done(&self) -> bool {
        self.tapped >= self.limit && self.held.is_empty()
    }
}

/// Decodes the session's length-prefixed frames as the proxy's own event type. The wire forms
/// agree field for field except binary header values (`value_bin`), which the simulation never
/// produces (a unit test checks it).
fn frames(buf: &mut BytesMut) -> Vec<TapEvent> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if buf.len() < 4 + len {
            break;
        }
        let frame = buf.split_to(4 + len);
        // The session encodes every frame itself, so decoding cannot fail.
        if let Ok(event) = TapEvent::decode(&frame[4..]) {
            out.push(event);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_events_survive_the_proxy_types() {
        for viz in crate::demo::sim::generate(3, 400) {
            let bytes = viz.encode_to_vec();
            let proxy = TapEvent::decode(bytes.as_slice()).expect("decodes");
            // Same bytes back: nothing (such as a binary header) was dropped.
            assert_eq!(proxy.encoded_len(), bytes.len());
        }
    }
}
