//! Sending what the reader read: warnings first, then events in batches, as fast as the consumer
//! takes them or at a multiple of the original pace.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{MAX_GAP, Speed};
use crate::model::event::TapEvent;
use crate::session::{BATCH_MAX_EVENTS, SourceMsg, StreamState};

/// The consumer went away.
pub struct Gone;

/// Paces events across batches: the original gaps divided by the speed factor.
pub struct Pacer {
    speed: Speed,
    started: tokio::time::Instant,
    previous: Option<chrono::DateTime<chrono::Utc>>,
    offset: Duration,
    /// Events the consumer took.
    pub sent: usize,
}

impl Pacer {
    pub fn new(speed: Speed) -> Self {
        Self {
            speed,
            started: tokio::time::Instant::now(),
            previous: None,
            offset: Duration::ZERO,
            sent: 0,
        }
    }

    pub async fn warnings(
        &mut self,
        warnings: Vec<String>,
        tx: &mpsc::Sender<SourceMsg>,
    ) -> Result<(), Gone> {
        for message in warnings {
            send(tx, SourceMsg::Warning { stream: 0, message }).await?;
        }
        Ok(())
    }

    /// Sends one batch of events in order, each no earlier than its time at this speed.
    pub async fn events(
        &mut self,
        events: Vec<TapEvent>,
        tx: &mpsc::Sender<SourceMsg>,
    ) -> Result<(), Gone> {
        let Speed::Factor(factor) = self.speed else {
            let n = events.len();
            if n > 0 {
                send(tx, SourceMsg::Events(events)).await?;
                self.sent += n;
            }
            return Ok(());
        };
        let mut batch = Vec::with_capacity(BATCH_MAX_EVENTS.min(events.len()));
        for event in events {
            if let Some(previous) = self.previous {
                let gap = (event.arrived - previous).to_std().unwrap_or_default();
                let gap =
                    Duration::try_from_secs_f64(gap.as_secs_f64() / factor).unwrap_or(MAX_GAP);
                self.offset += gap.min(MAX_GAP);
                let due = self.started + self.offset;
                if due > tokio::time::Instant::now() {
                    self.flush(&mut batch, tx).await?;
                    tokio::time::sleep_until(due).await;
                }
            } else {
                // The clock starts with the first event, not when the file was opened.
                self.started = tokio::time::Instant::now();
            }
            self.previous = Some(event.arrived);
            batch.push(event);
        }
        self.flush(&mut batch, tx).await
    }

    async fn flush(
        &mut self,
        batch: &mut Vec<TapEvent>,
        tx: &mpsc::Sender<SourceMsg>,
    ) -> Result<(), Gone> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len();
        send(tx, SourceMsg::Events(std::mem::take(batch))).await?;
        self.sent += n;
        Ok(())
    }
}

/// Sends every batch — its warnings, then its events at `speed` — into `tx` as stream 0 until the
/// batches end or the consumer goes away, then reports the stream ended. `split` takes a batch
/// apart into warnings and events. Returns the events the consumer took.
pub async fn drain<B>(
    mut batches: mpsc::Receiver<B>,
    speed: Speed,
    tx: &mpsc::Sender<SourceMsg>,
    mut split: impl FnMut(B) -> (Vec<String>, Vec<TapEvent>),
) -> usize {
    let mut pacer = Pacer::new(speed);
    while let Some(batch) = batches.recv().await {
        let (warnings, events) = split(batch);
        let sent = match pacer.warnings(warnings, tx).await {
            Ok(()) => pacer.events(events, tx).await,
            Err(gone) => Err(gone),
        };
        if sent.is_err() {
            break;
        }
    }
    // Dropping the receiver stops the reader if the consumer went away early.
    drop(batches);
    let ended = SourceMsg::State {
        stream: 0,
        state: StreamState::Ended,
    };
    let _ = send(tx, ended).await;
    pacer.sent
}

pub async fn send(tx: &mpsc::Sender<SourceMsg>, message: SourceMsg) -> Result<(), Gone> {
    tx.send(message).await.map_err(|_| Gone)
}
