//! Sending a loaded file: warnings first, then events in batches, as fast as the consumer takes
//! them or at a multiple of the original pace.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{MAX_GAP, Speed};
use crate::model::event::TapEvent;
use crate::session::{BATCH_MAX_EVENTS, SourceMsg, StreamState};

/// Sends warnings, then events paced by `speed`; returns how many events were taken before the
/// consumer went away.
pub async fn send(
    events: Vec<TapEvent>,
    warnings: Vec<String>,
    speed: Speed,
    tx: &mpsc::Sender<SourceMsg>,
) -> usize {
    let connected = SourceMsg::State {
        stream: 0,
        state: StreamState::Connected,
    };
    if tx.send(connected).await.is_err() {
        return 0;
    }
    for message in warnings {
        if tx
            .send(SourceMsg::Warning { stream: 0, message })
            .await
            .is_err()
        {
            return 0;
        }
    }
    let first = events.first().map(|e| e.arrived);
    let started = tokio::time::Instant::now();
    let mut previous = first;
    let mut offset = Duration::ZERO;
    let mut sent = 0;
    let mut batch = Vec::with_capacity(BATCH_MAX_EVENTS.min(events.len()));
    for event in events {
        if let (Speed::Factor(factor), Some(previous)) = (speed, previous) {
            let gap = (event.arrived - previous).to_std().unwrap_or_default();
            let gap = Duration::try_from_secs_f64(gap.as_secs_f64() / factor).unwrap_or(MAX_GAP);
            offset += gap.min(MAX_GAP);
            let due = started + offset;
            if due > tokio::time::Instant::now() {
                if !batch.is_empty() {
                    let n = batch.len();
                    if tx
                        .send(SourceMsg::Events(std::mem::take(&mut batch)))
                        .await
                        .is_err()
                    {
                        return sent;
                    }
                    sent += n;
                }
                tokio::time::sleep_until(due).await;
            }
        }
        previous = Some(event.arrived);
        batch.push(event);
        if batch.len() >= BATCH_MAX_EVENTS {
            let n = batch.len();
            if tx
                .send(SourceMsg::Events(std::mem::take(&mut batch)))
                .await
                .is_err()
            {
                return sent;
            }
            sent += n;
        }
    }
    if !batch.is_empty() {
        let n = batch.len();
        if tx.send(SourceMsg::Events(batch)).await.is_ok() {
            sent += n;
        }
    }
    sent
}
