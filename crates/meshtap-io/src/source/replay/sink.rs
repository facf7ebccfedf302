//! Where the format readers put what they read: events in batches of `BATCH_MAX_EVENTS` and
//! warnings, over a short bounded channel to the player, so reading never runs further ahead of
//! the consumer than a few batches. The first send also answers `open`: the file is usable.

use tokio::sync::{mpsc, oneshot};

use super::reorder::{REORDER_WINDOW, Reorder};
use super::{MAX_WARNINGS, ReplayError, ReplayFormat};
use crate::capture::CaptureRecord;
use crate::model::event::TapEvent;
use crate::session::BATCH_MAX_EVENTS;
use crate::source::wire::Interner;

/// Batches read ahead of the player: enough to keep both sides busy, few enough that memory does
/// not depend on the file.
pub const READ_AHEAD_BATCHES: usize = 4;

/// One batch from the reader: the warnings since the last one, then its events in order.
#[derive(Debug, Default)]
pub struct Batch {
    pub warnings: Vec<String>,
    pub events: Vec<TapEvent>,
    /// Malformed records so far (sent with the last batch, so the report has the total).
    pub skipped: usize,
}

/// What `open` learns before anything is sent.
#[derive(Debug)]
pub struct Head {
    pub format: ReplayFormat,
    pub capture: Option<CaptureRecord>,
}

pub type Ready = oneshot::Sender<Result<Head, ReplayError>>;

pub struct Sink {
    pub interner: Interner,
    pub capture: Option<CaptureRecord>,
    name: String,
    format: ReplayFormat,
    reorder: Option<Reorder>,
    batch: Batch,
    events: usize,
    first_warning: Option<String>,
    ready: Option<Ready>,
    out: mpsc::Sender<Batch>,
    /// The player went away: readers stop.
    pub closed: bool,
}

impl Sink {
    pub fn new(name: String, format: ReplayFormat, ready: Ready, out: mpsc::Sender<Batch>) -> Self {
        let reorder =
            matches!(format, ReplayFormat::Ndjson | ReplayFormat::Har).then(Reorder::default);
        Self {
            interner: Interner::default(),
            capture: None,
            name,
            format,
            reorder,
            batch: Batch::default(),
            events: 0,
            first_warning: None,
            ready: Some(ready),
            out,
            closed: false,
        }
    }

    /// The file's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One event, in arrival order (formats whose readers date events themselves).
    pub fn event(&mut self, event: TapEvent) {
        self.batch.events.push(event);
        self.events += 1;
        self.flush_full();
    }

    /// The events of one whole request, through the reorder window.
    pub fn request(&mut self, events: Vec<TapEvent>) {
        let before = self.batch.events.len();
        match &mut self.reorder {
            Some(reorder) => reorder.push(events, &mut self.batch.events),
            None => self.batch.events.extend(events),
        }
        self.events += self.batch.events.len() - before;
        self.flush_full();
    }

    /// A malformed line, entry or frame: counted, reported (the first `MAX_WARNINGS`), skipped.
    pub fn skip(&mut self, message: String) {
        self.batch.skipped += 1;
        if self.first_warning.is_none() {
            self.first_warning = Some(message.clone());
        }
        if self.batch.skipped <= MAX_WARNINGS {
            self.batch.warnings.push(message);
        }
    }

    /// The file cannot be read on: before anything was sent that is `open`'s error; after, the
    /// events read so far stand and the error is the last warning.
    pub fn fail(&mut self, error: ReplayError) {
        // The requests in the reorder window were read whole before the break: they stand too.
        self.release_reordered();
        if self.events == 0
            && let Some(ready) = self.ready.take()
        {
            let _ = ready.send(Err(error));
            self.closed = true;
            return;
        }
        self.skip(error.to_string());
    }

    /// Moves everything the reorder window holds into the batch, in order.
    fn release_reordered(&mut self) {
        if let Some(reorder) = &mut self.reorder {
            let before = self.batch.events.len();
            reorder.drain(&mut self.batch.events);
            self.events += self.batch.events.len() - before;
        }
    }

    fn flush_full(&mut self) {
        if self.batch.events.len() >= BATCH_MAX_EVENTS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if let Some(ready) = self.ready.take() {
            let head = Head {
                format: self.format,
                capture: self.capture.clone(),
            };
            // `open` gave up waiting (its task was dropped): nobody will play.
            self.closed |= ready.send(Ok(head)).is_err();
        }
        let skipped = self.batch.skipped;
        let batch = std::mem::replace(
            &mut self.batch,
            Batch {
                skipped,
                ..Batch::default()
            },
        );
        if !self.closed {
            self.closed = self.out.blocking_send(batch).is_err();
        }
    }

    /// The file has ended: releases what the reorder window holds and sends the rest; a file
    /// with no event at all is `open`'s error.
    pub fn finish(mut self) {
        if self.closed {
            return;
        }
        self.release_reordered();
        if let Some(reorder) = &self.reorder
            && reorder.late > 0
        {
            let late = reorder.late;
            self.batch.warnings.push(format!(
                "{late} events were more than {}s out of order and were sent late",
                REORDER_WINDOW.as_secs()
            ));
        }
        let skipped = self.batch.skipped;
        if skipped > MAX_WARNINGS {
            let more = skipped - MAX_WARNINGS;
            self.batch
                .warnings
                .push(format!("… and {more} more malformed records skipped"));
        }
        if self.events == 0
            && let Some(ready) = self.ready.take()
        {
            let _ = ready.send(Err(ReplayError::NothingLoaded {
                name: self.name.clone(),
                skipped,
                first: self
                    .first_warning
                    .take()
                    .unwrap_or_else(|| "no events".to_string()),
            }));
            return;
        }
        self.flush();
    }
}
