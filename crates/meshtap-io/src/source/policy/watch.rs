//! One target's `Watch`, kept open for as long as the cache holds the target: each policy the
//! controller sends replaces the last; a broken stream is opened again after the session's
//! backoff. The last policy stays in use while the stream is down (the proxy keeps its own too).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, watch};

use super::cache::PolicyState;
use super::{Fault, PolicyApiError, PolicyClient, PolicyTarget};
use crate::source::backoff::Backoff;

/// What one cluster's watches share: whether the user was told the controller is out of reach
/// (once per session), and where that is said.
#[derive(Debug)]
pub struct Health {
    told: AtomicBool,
    /// `[east] ` with several clusters, else empty.
    label: String,
    notices: mpsc::Sender<String>,
}

impl Health {
    pub fn new(label: String, notices: mpsc::Sender<String>) -> Self {
        Self {
            told: AtomicBool::new(false),
            label,
            notices,
        }
    }

    /// Says once why no policy comes from this controller.
    fn down(&self, error: &PolicyApiError) {
        if !self.told.swap(true, Ordering::Relaxed) {
            let message = format!(
                "{}routes: {error}; requests are attributed by ServiceProfile routes and path \
                 templates instead (--policy-api ADDR names the controller, --no-policy stops asking)",
                self.label
            );
            // The stage reads these as it passes batches on; one message never fills the queue.
            let _ = self.notices.try_send(message);
        }
    }
}

/// Runs until aborted (the cache dropped the target).
pub(super) async fn run(
    client: PolicyClient,
    target: PolicyTarget,
    slot: watch::Sender<PolicyState>,
    health: Arc<Health>,
    mut backoff: Backoff,
) {
    // Bounded by the cache: it aborts this task when the target is evicted or idle.
    loop {
        let failure = match client.watch(&target).await {
            Ok(mut stream) => loop {
                match stream.next().await {
                    Some(Ok(policy)) => {
                        backoff.reset();
                        slot.send_replace(PolicyState::Ready(Arc::new(policy)));
                    }
                    Some(Err(error)) => break Some(error),
                    // The controller ended the stream (a restart, a drain): watch again.
                    None => break None,
                }
            },
            Err(error) => Some(error),
        };
        if let Some(error) = failure {
            tracing::debug!(%error, %target, "policy watch failed");
            let fault = error.fault();
            if fault == Fault::Controller {
                health.down(&error);
            }
            slot.send_if_modified(|state| match state {
                // A policy that no longer exists, or an unusable one, is not applied.
                PolicyState::Ready(_) if fault == Fault::Target => {
                    *state = PolicyState::Absent;
                    true
                }
                // No answer at all: requests stop waiting for one.
                PolicyState::Pending => {
                    *state = PolicyState::Absent;
                    true
                }
                _ => false,
            });
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}
