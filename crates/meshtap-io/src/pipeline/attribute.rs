//! Route attribution, a stage of the session pipeline before every tee and sink: each tapped
//! OUTBOUND request is matched against its target's outbound policy (from the cluster's policy
//! controller, `source::policy`) the way the client proxy matched it, and carries the result in
//! `RequestInit.matched_route` to every view and file.
//!
//! A `ServiceProfile` route named by tap (`route_meta`) wins, as it does in the proxy; inbound
//! requests keep the server's own labels. A new target's first requests wait at most
//! [`FIRST_POLICY_WAIT`] for its first policy: the batch is held (the source's bounded channel
//! pushes back meanwhile, nothing is dropped), then passed on attributed or not.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::model::event::{ClusterName, Direction, HttpEvent, TapEvent};
use crate::model::policy::{MatchedRoute, OutboundPolicy, RequestLine};
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
        // Each distinct target of the batch is looked up once: a batch holds up to a thousand
        // requests, to a handful of targets.
        let mut targets: Vec<watch::Receiver<PolicyState>> = Vec::new();
        let mut seen: HashMap<BatchKey<'_>, Option<usize>> = HashMap::new();
        let mut of_event: Vec<Option<usize>> = Vec::with_capacity(events.len());
        let mut waits = Vec::new();
        let mut until = now;
        for event in events.iter() {
            let Some(key) = batch_key(event) else {
                of_event.push(None);
                continue;
            };
            let index = *seen.entry(key).or_insert_with(|| {
                let target = PolicyTarget::of_event(event)?;
                let cache = self.cache(event.cluster.as_ref())?;
                let (state, deadline) = cache.touch(&target, now);
                if deadline > now && state.borrow().is_pending() {
                    waits.push(state.clone());
                    until = until.max(deadline);
                }
                targets.push(state);
                Some(targets.len() - 1)
            });
            of_event.push(index);
        }
        if !waits.is_empty() {
            // The guard `wait_for` returns is dropped at once: it must not live across a wait.
            let answered = futures::future::join_all(waits.iter_mut().map(|state| async move {
                let _ = state.wait_for(|s| !s.is_pending()).await.is_ok();
            }));
            let _ = tokio::time::timeout_at(until, answered).await;
        }
        let ready: Vec<Option<Arc<OutboundPolicy>>> = targets
            .iter()
            .map(|state| match &*state.borrow() {
                PolicyState::Ready(policy) => Some(policy.clone()),
                _ => None,
            })
            .collect();
        let mut shared = Vec::new();
        for (event, index) in events.iter_mut().zip(of_event) {
            if let Some(policy) = index.and_then(|i| ready.get(i)).and_then(Option::as_ref) {
                attribute(event, policy, &mut shared);
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

/// What tells a batch's targets apart without building a lookup: the cluster, the client's
/// namespace and the authority of an outbound request.
type BatchKey<'a> = (Option<u32>, &'a str, &'a str);

fn batch_key(event: &TapEvent) -> Option<BatchKey<'_>> {
    if event.direction != Direction::Outbound {
        return None;
    }
    let Some(HttpEvent::RequestInit(init)) = &event.http else {
        return None;
    };
    Some((
        event.cluster.as_ref().map(ClusterName::key),
        event.source.labels.get("namespace").unwrap_or(""),
        &init.authority,
    ))
}

/// Most distinct routes one batch shares values among; past it each request gets its own.
const SHARED_ROUTES_MAX: usize = 64;

/// Sets what `policy` says `event` (an outbound request) was routed by, unless tap named a
/// `ServiceProfile` route, which the proxy prefers. Requests matched alike share one value
/// (`shared` holds the batch's so far).
fn attribute(event: &mut TapEvent, policy: &OutboundPolicy, shared: &mut Vec<Arc<MatchedRoute>>) {
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
    init.matched_route = policy.attribute(&line, served_by).map(|matched| {
        if let Some(same) = shared.iter().find(|s| ***s == matched) {
            return same.clone();
        }
        let matched = Arc::new(matched);
        if shared.len() < SHARED_ROUTES_MAX {
            shared.push(matched.clone());
        }
        matched
    });
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
