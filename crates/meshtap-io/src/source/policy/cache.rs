//! One cluster's policies by target: a watch per (client namespace, target) seen in the
//! traffic, at most [`POLICY_WATCHES_MAX`] (the least recently used goes first), each dropped
//! after [`POLICY_IDLE`] without a request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::watch::{self as policy_watch, Health};
use super::{PolicyClient, PolicyTarget, target::TargetKey};
use crate::model::policy::OutboundPolicy;
use crate::source::backoff::Backoff;

/// Most targets watched at once per cluster.
pub const POLICY_WATCHES_MAX: usize = 512;
/// A target without requests for this long is no longer watched.
pub const POLICY_IDLE: Duration = Duration::from_secs(5 * 60);
/// How long a new target's first requests may wait for its first policy.
pub const FIRST_POLICY_WAIT: Duration = Duration::from_secs(1);

/// What is known of a target's policy.
#[derive(Clone, Debug, Default)]
pub enum PolicyState {
    /// Asked, no answer yet.
    #[default]
    Pending,
    Ready(Arc<OutboundPolicy>),
    /// No policy (unknown target, controller out of reach): requests fall back.
    Absent,
}

impl PolicyState {
    pub fn is_pending(&self) -> bool {
        matches!(self, PolicyState::Pending)
    }
}

struct Entry {
    state: watch::Receiver<PolicyState>,
    last_used: Instant,
    /// Until when requests wait for the first policy.
    deadline: Instant,
    task: JoinHandle<()>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The watches of one cluster's policy controller.
pub struct PolicyCache {
    client: PolicyClient,
    health: Arc<Health>,
    entries: HashMap<TargetKey, Entry>,
    /// Targets dropped to make room (not those dropped for being idle).
    evicted: u64,
    /// Seeds each watch's backoff differently, so reconnects after a restart spread out.
    seed: u64,
}

impl PolicyCache {
    /// `label` prefixes what is said about this controller (`[east] ` with several clusters);
    /// `notices` is where it is said.
    pub fn new(client: PolicyClient, label: String, notices: mpsc::Sender<String>) -> Self {
        Self {
            client,
            health: Arc::new(Health::new(label, notices)),
            entries: HashMap::new(),
            evicted: 0,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The target's policy state, its watch started when new, and until when a request may
    /// wait for its first policy. Must run inside a tokio runtime.
    pub fn touch(
        &mut self,
        target: &PolicyTarget,
        now: Instant,
    ) -> (watch::Receiver<PolicyState>, Instant) {
        let key = target.key();
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.last_used = now;
            return (entry.state.clone(), entry.deadline);
        }
        if self.entries.len() >= POLICY_WATCHES_MAX {
            self.evict_oldest();
        }
        let (tx, rx) = watch::channel(PolicyState::Pending);
        self.seed = self.seed.wrapping_add(0x9e37_79b9);
        let task = tokio::spawn(policy_watch::run(
            self.client.clone(),
            target.clone(),
            tx,
            self.health.clone(),
            Backoff::new(self.seed),
        ));
        let deadline = now + FIRST_POLICY_WAIT;
        self.entries.insert(
            key,
            Entry {
                state: rx.clone(),
                last_used: now,
                deadline,
                task,
            },
        );
        (rx, deadline)
    }

    /// Drops the targets without a request for [`POLICY_IDLE`].
    pub fn sweep(&mut self, now: Instant) {
        self.entries
            .retain(|_, entry| now.saturating_duration_since(entry.last_used) < POLICY_IDLE);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Targets dropped to stay within [`POLICY_WATCHES_MAX`].
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Whether `target` is watched now.
    pub fn contains(&self, target: &PolicyTarget) -> bool {
        self.entries.contains_key(&target.key())
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(key, _)| key.clone());
        if let Some(key) = oldest {
            self.entries.remove(&key);
            self.evicted += 1;
        }
    }
}
