//! The one owner of the session's requests while the MCP server runs: a task that ingests what
//! the source sends and answers the server's queries in between, so no lock guards the store.
//! A query is a closure run against the held state; its answer goes back on its own channel.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::health::HealthBook;
use crate::model::store::Store;
use crate::session::{Clock, SourceMsg, StreamState};

/// Queries waiting for the owner; an agent asks one at a time, a few is plenty.
pub const QUEUE_QUERIES: usize = 16;

/// What a query sees.
pub struct Held {
    pub store: Store,
    /// The session's now: the wall clock for a live tap, the last event's time in a replay.
    pub now: DateTime<Utc>,
    /// Each stream's name and its last state, in words.
    pub streams: Vec<(String, String)>,
    /// Warnings the source reported (undecodable frames skipped, …).
    pub warnings: u64,
    /// The source has ended: the store holds all there will be.
    pub ended: bool,
    /// Each target's tap health: its pods as the source listed them and what the stream showed
    /// of each (the UI's `:why`, the headless `why:` lines).
    pub health: HealthBook,
    /// The latest reading of the proxies' refusal counters (live sessions), for explain.
    pub denials: crate::routestats::Readings,
}

pub type Query = Box<dyn FnOnce(&Held) + Send>;

/// Ingests `rx` and answers `queries` until the queries end (the MCP client went away). The
/// source may end first: its requests stay, and queries are answered from them.
pub async fn own(
    mut rx: mpsc::Receiver<SourceMsg>,
    mut queries: mpsc::Receiver<Query>,
    store: Store,
    mut clock: Clock,
    streams: &[String],
) -> Store {
    let mut held = Held {
        store,
        now: clock.now(Utc::now()),
        streams: streams
            .iter()
            .map(|s| (s.clone(), "connecting".to_owned()))
            .collect(),
        warnings: 0,
        ended: false,
        health: HealthBook::default(),
        denials: crate::routestats::Readings::default(),
    };
    loop {
        tokio::select! {
            msg = rx.recv(), if !held.ended => match msg {
                None => held.ended = true,
                Some(SourceMsg::Events(events)) => {
                    clock.observe(&events);
                    let now = clock.now(Utc::now());
                    held.health.observe(&events, now);
                    for event in events {
                        held.store.ingest(event);
                    }
                    held.store.expire(now);
                }
                Some(SourceMsg::State { stream, state }) => {
                    held.health.state(stream, &state, clock.now(Utc::now()));
                    if let Some((_, words)) = held.streams.get_mut(stream) {
                        *words = state_words(&state);
                    }
                }
                Some(SourceMsg::Warning { .. } | SourceMsg::Notice(_)) => held.warnings += 1,
                Some(SourceMsg::Metrics(snapshot)) => held.health.metrics(&snapshot),
                Some(SourceMsg::Pods(list)) => held.health.pods(*list),
                Some(SourceMsg::Denials(reading)) => held.denials.update(*reading),
            },
            query = queries.recv() => match query {
                None => break,
                Some(query) => {
                    held.now = clock.now(Utc::now());
                    query(&held);
                }
            },
        }
    }
    held.store
}

fn state_words(state: &StreamState) -> String {
    match state {
        StreamState::Connecting => "connecting".to_owned(),
        StreamState::Connected => "connected".to_owned(),
        StreamState::Reconnecting { after, error } => {
            format!("reconnecting in {}s after: {error}", after.as_secs())
        }
        StreamState::Ended => "ended".to_owned(),
        StreamState::Failed(error) => format!("failed: {error}"),
    }
}
