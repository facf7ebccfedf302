//! The one reconnect loop of every live source (cluster tap, direct proxy tap): attempt, report
//! the state, back off with jitter (or as long as the server's `Retry-After` asks), try again.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use super::backoff::Backoff;
use crate::session::{ErrorKind, SourceMsg, StreamError, StreamState};

/// A stream that delivered for this long counts as healthy: the next failure starts the backoff
/// schedule from the beginning.
pub const HEALTHY_STREAM: Duration = Duration::from_secs(10);

/// Runs `attempt` until the stream ends for good, reporting every state change of stream
/// `stream` on `tx`. An attempt returns `Ok` when the server ended the stream cleanly. Without
/// `reconnect` the first end is final (`Ended` after a clean end, `Failed` after an error).
pub async fn supervise<F, Fut>(
    stream: usize,
    reconnect: bool,
    tx: &mpsc::Sender<SourceMsg>,
    mut attempt: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StreamError>>,
{
    let state = |state| SourceMsg::State { stream, state };
    let mut backoff = Backoff::new(stream as u64 ^ u64::from(Utc::now().timestamp_subsec_nanos()));
    loop {
        if tx.send(state(StreamState::Connecting)).await.is_err() {
            return;
        }
        let started = Instant::now();
        let result = attempt().await;
        // Nobody listens any more (the UI quit, the headless writer stopped): stop quietly.
        if tx.is_closed() {
            return;
        }
        if started.elapsed() >= HEALTHY_STREAM {
            backoff.reset();
        }
        let error = match result {
            Err(err) if err.is_permanent() || !reconnect => {
                let _ = tx.send(state(StreamState::Failed(err))).await;
                return;
            }
            Err(err) => err,
            Ok(()) if !reconnect => {
                let _ = tx.send(state(StreamState::Ended)).await;
                return;
            }
            Ok(()) => StreamError::new(ErrorKind::Ended, "the server ended the stream"),
        };
        let after = delay(&mut backoff, &error);
        if tx
            .send(state(StreamState::Reconnecting { after, error }))
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(after).await;
    }
}

/// The backoff's next delay, or the server's `Retry-After` when it asks for longer (bounded by
/// the backoff's cap, so a hostile header cannot park the stream for a day).
fn delay(backoff: &mut Backoff, error: &StreamError) -> Duration {
    let next = backoff.next_delay();
    match error.retry_after {
        Some(asked) => asked.clamp(next, super::backoff::BACKOFF_CAP.max(next)),
        None => next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let mut backoff = Backoff::new(1);
        let mut error = StreamError::new(ErrorKind::Throttled, "429");
        error.retry_after = Some(Duration::from_secs(7));
        assert_eq!(delay(&mut backoff, &error), Duration::from_secs(7));
        error.retry_after = Some(Duration::from_secs(86_400));
        assert_eq!(
            delay(&mut backoff, &error),
            super::super::backoff::BACKOFF_CAP
        );
        error.retry_after = None;
        assert!(delay(&mut backoff, &error) < Duration::from_secs(7));
    }

    #[tokio::test]
    async fn a_permanent_error_is_final_and_a_transient_one_retries() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut calls = 0;
        supervise(3, true, &tx, || {
            calls += 1;
            let kind = if calls == 1 {
                ErrorKind::Transport
            } else {
                ErrorKind::Forbidden
            };
            async move { Err(StreamError::new(kind, "boom")) }
        })
        .await;
        drop(tx);
        let mut states = Vec::new();
        while let Some(SourceMsg::State { stream, state }) = rx.recv().await {
            assert_eq!(stream, 3);
            states.push(state);
        }
        assert_eq!(calls, 2);
        assert!(
            matches!(states[1], StreamState::Reconnecting { .. }),
            "{states:?}"
        );
        assert!(
            matches!(&states[3], StreamState::Failed(e) if e.kind == ErrorKind::Forbidden),
            "{states:?}"
        );
    }
}
