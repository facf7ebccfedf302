//! Route attribution, a stage of the session pipeline before every tee and sink: each tapped
//! OUTBOUND request is matched against its target's outbound policy (from the cluster's policy
//! controller, `source::policy`) the way the client proxy matched it, and carries the result in
//! `RequestInit.matched_route` to every view and file.
//!
//! A `ServiceProfile` route named by tap (`route_meta`) wins, as it does in the proxy; inbound
//! requests keep the server's own labels. A new target's first requests wait at most
//! [`FIRST_POLICY_WAIT`] for its first policy: the batch is held (the source's bounded channel
//! pushes back meanwhile, nothing is dropped), then passed on attributed or not.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::model::event::{ClusterName, HttpEvent, TapEvent};
use crate::model::policy::{OutboundPolicy, RequestLine};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};
use crate::source::policy::cache::{PolicyCache, PolicyState};
use crate::source::policy::{PolicyClient, PolicyTarget};

pub use crate::source::policy::cache::FIRST_POLICY_WAIT;

/// How often idle targets are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// Messages about the controllers waiting to be passed on; one per cluster at most is sent.
const NOTICE_QUEUE: usize = 8;

/// One cluster's controller: `cluster` is what its events carry (`None` with one cluster).
pub struct Controller {
    pub cluster: Option<ClusterName>,
    pub client: PolicyClient,
}

/// The stage's state: one cache per cluster.
pub struct Attribution {
    caches: Vec<(Option<ClusterName>, PolicyCache)>,
}

impl Attribution {
    /// The caches for `controllers`; what they have to say goes to `notices`.
    pub fn new(controllers: Vec<Controller>, notices: &mpsc::Sender<String>) -> Self {
        let several = controllers.len() > 1;
        let caches = controllers
            .into_iter()
            .map(|c| {
                let label = match (&c.cluster, several) {
                    (Some(name), true) => format!("[{name}] "),
                    _ => String::new(),
                };
                let cache = PolicyCache::new(c.client, label, notices.clone());
                (c.cluster, cache)
            })
            .collect();
        Self { caches }
    }

    fn cache(&mut self, cluster: Option<&ClusterName>) -> Option<&mut PolicyCache> {
        self.caches
            .iter_mut()
            .find(|(name, _)| name.as_ref() == cluster)
            .map(|(_, cache)| cache)
    }

    /// Sets `matched_route` on every outbound request of `events` whose target has a policy,
    /// waiting first (at most [`FIRST_POLICY_WAIT`] from a target's first request) for targets
    /// seen for the first time.
    pub async fn attribute(&mut self, events: &mut [TapEvent]) {
        let now = Instant::now();
        let mut states: Vec<Option<watch::Receiver<PolicyState>>> =
            Vec::with_capacity(events.len());
        let mut waits = Vec::new();
        let mut until = now;
        for event in events.iter() {
            let found = PolicyTarget::of_event(event).and_then(|target| {
                let cache = self.cache(event.cluster.as_ref())?;
                Some(cache.touch(&target, now))
            });
            let pending = found
                .as_ref()
                .filter(|(state, deadline)| *deadline > now && state.borrow().is_pending());
            if let Some((state, deadline)) = pending {
                waits.push(state.clone());
                until = until.max(*deadline);
            }
            states.push(found.map(|(state, _)| state));
        }
        if !waits.is_empty() {
            // The guard `wait_for` returns is dropped at once: it must not live across a wait.
            let answered = futures::future::join_all(waits.iter_mut().map(|state| async move {
                let _ = state.wait_for(|s| !s.is_pending()).await.is_ok();
            }));
            let _ = tokio::time::timeout_at(until, answered).await;
        }
        for (event, state) in events.iter_mut().zip(states) {
            let ready = state.and_then(|s| match &*s.borrow() {
                PolicyState::Ready(policy) => Some(policy.clone()),
                _ => None,
            });
            if let Some(policy) = ready {
                attribute(event, &policy);
            }
        }
    }

    /// Drops targets idle too long.
    pub fn sweep(&mut self, now: Instant) {
        for (_, cache) in &mut self.caches {
            cache.sweep(now);
        }
    }
}

/// Sets what `policy` says `event` (an outbound request) was routed by, unless tap named a
/// `ServiceProfile` route, which the proxy prefers.
pub fn attribute(event: &mut TapEvent, policy: &OutboundPolicy) {
    if event.route.get("route").is_some_and(|r| !r.is_empty()) {
        return;
    }
    // The endpoint's Service, from discovery: the backend that served it.
    let served_by = event.destination.labels.get("service");
    let Some(HttpEvent::RequestInit(init)) = &mut event.http else {
        return;
    };
    let line = RequestLine {
        method: init.method.as_deref(),
        authority: &init.authority,
        path: &init.path,
        // No headers at all means the tap did not ask for them (a real request always has
        // some): header matches are then unknown, not false.
        headers: (!init.headers.is_empty()).then_some(&init.headers),
    };
    init.matched_route = policy.attribute(&line, served_by).map(Arc::new);
}

/// Puts the stage between `rx` and what reads the returned receiver; the task ends when `rx`
/// closes or the reader is gone.
pub fn attach(
    mut rx: mpsc::Receiver<SourceMsg>,
    controllers: Vec<Controller>,
) -> (mpsc::Receiver<SourceMsg>, JoinHandle<()>) {
    let (tx, out) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let task = tokio::spawn(async move {
        let (notices_tx, mut notices) = mpsc::channel(NOTICE_QUEUE);
        let mut stage = Attribution::new(controllers, &notices_tx);
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let message = tokio::select! {
                message = rx.recv() => match message {
                    Some(SourceMsg::Events(mut events)) => {
                        stage.attribute(&mut events).await;
                        SourceMsg::Events(events)
                    }
                    Some(other) => other,
                    None => return,
                },
                Some(notice) = notices.recv() => SourceMsg::Notice(notice),
                _ = sweep.tick() => {
                    stage.sweep(Instant::now());
                    continue;
                }
            };
            if tx.send(message).await.is_err() {
                return;
            }
        }
    });
    (out, task)
}

#[cfg(test)]
mod tests;
