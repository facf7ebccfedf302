//! A capture read to its end, offline: any export `meshtap replay` reads, or a `--record-dir`
//! recording (or one segment) within a time range, joined into requests by a store and handed
//! one finished request at a time to whoever sums them up (a diff's side).

use std::path::Path;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use tokio::sync::mpsc;

use crate::model::request::Request;
use crate::model::store::{Ingested, Store};
use crate::pipeline::segments::{self, read};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};
use crate::source::replay::{self, Speed};

/// Requests held while joining: only open ones matter, finished ones are handed on at once.
const JOIN_CAPACITY_REQUESTS: usize = 100_000;
/// Memory the join may hold.
const JOIN_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Warnings kept for the report; beyond this only a count.
const MAX_WARNINGS: usize = 20;

/// What reading a capture found besides its requests.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The capture's own description of its sampling (`maxRps`), when it has one.
    pub sampling: String,
    pub warnings: Vec<String>,
    pub more_warnings: usize,
    /// Requests still open when the capture ended: never finished, so not handed on.
    pub unfinished: usize,
}

/// Reads `path` (restricted to `range` when it is a recording) to its end, calling `each` with
/// every request that finished or expired.
pub async fn load(
    path: &Path,
    range: read::Range,
    mut each: impl FnMut(&Request),
) -> anyhow::Result<Loaded> {
    let (tx, mut rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let mut loaded = Loaded::default();
    let task = if path.is_dir() || segments::is_segment_file(path) {
        let plan = read::plan(path, range)?;
        let ready = read::spawn_reader(plan, range)?;
        tokio::spawn(read::play(ready, Speed::Max, tx).map(drop))
    } else {
        anyhow::ensure!(
            range.from.is_none() && range.until.is_none(),
            "{}: a time range applies to a recording (a --record-dir directory), not to an export",
            path.display()
        );
        let opened = replay::open(path).await?;
        if let Some(capture) = &opened.loaded.capture {
            loaded.sampling.clone_from(&capture.sampling);
        }
        tokio::spawn(async move {
            replay::play(opened, Speed::Max, tx).await;
        })
    };
    let mut store = Store::with_limits(JOIN_CAPACITY_REQUESTS, JOIN_MAX_BYTES);
    let mut last: Option<DateTime<Utc>> = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            SourceMsg::Events(events) => {
                for event in events {
                    last = Some(last.map_or(event.arrived, |t| t.max(event.arrived)));
                    if let Ingested::Finished(seq) = store.ingest(event)
                        && let Some(request) = store.get(seq)
                    {
                        each(request);
                    }
                }
                if let Some(now) = last {
                    for seq in store.expire(now) {
                        // Superseded requests may only have lost their end: not counted.
                        if let Some(request) = store.get(seq).filter(|r| r.expired) {
                            each(request);
                        }
                    }
                }
            }
            SourceMsg::Warning { message, .. } | SourceMsg::Notice(message) => {
                if loaded.warnings.len() < MAX_WARNINGS {
                    loaded.warnings.push(message);
                } else {
                    loaded.more_warnings += 1;
                }
            }
            SourceMsg::State { .. }
            | SourceMsg::Metrics(_)
            | SourceMsg::Pods(_)
            | SourceMsg::Denials(_) => {}
        }
    }
    task.await?;
    loaded.unfinished = store.open_len();
    Ok(loaded)
}
