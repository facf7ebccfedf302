//! Reads, while a live session runs, the refusal counters of the proxies that matter to it —
//! every meshed pod of the tapped namespaces, and the workloads seen refusing the session's
//! clients ([`refused`]) — and sends each reading to the main loop as one
//! [`SourceMsg::Denials`], so explain can say what a destination's proxy counted for a bare
//! 403 tap alone cannot explain (PROTOCOL.md §9).
//!
//! Two ways, as `meshtap routes` decides: from a Prometheus (`--prometheus`, or linkerd-viz's
//! when it runs), `increase(…)` over the session's age; else each pod's admin `/metrics`
//! scraped through a port-forward every round and differenced against its first scrape
//! ([`SinceStart`]). An extra, like the metrics API: a failure is said once as a notice and the
//! session goes on.

pub mod refused;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::proxy_metrics::prometheus::{self, PrometheusAddr};
use super::proxy_metrics::scrape::{self, MAX_SCRAPED_PODS, MeshedPod};
use super::target::Resource;
use crate::routestats::since::DENIAL_FAMILIES;
use crate::routestats::{self, DenialsOrigin, DenialsReading, SinceStart, Watched, Window};
use crate::session::SourceMsg;

/// How often the counters are read: as often as the metrics API is polled.
pub const POLL_INTERVAL: Duration = super::metrics_poll::POLL_INTERVAL;
/// The shortest window asked of a Prometheus: `increase` needs two of its scrapes inside it.
const PROMETHEUS_MIN_WINDOW: Duration = Duration::from_secs(60);
/// How far behind a Prometheus may be: refusals younger than this may not be scraped yet.
const PROMETHEUS_LAG: Duration = Duration::from_secs(30);
/// A family every meshed pod's proxy serves for each request its policy admitted: a workload
/// with some is read by the Prometheus, even when it refused nothing.
const AUTHZ_ALLOW: &str = "inbound_http_authz_allow_total";

/// What to read and how.
#[derive(Clone)]
pub struct DenialsPoll {
    pub client: kube::Client,
    /// With several clusters, this one's name (readings carry it).
    pub cluster: Option<String>,
    /// The tapped namespaces: all their meshed pods are read.
    pub namespaces: BTreeSet<String>,
    /// `--prometheus`; without it linkerd-viz's is looked for, then the pods are read.
    pub prometheus: Option<PrometheusAddr>,
    /// Workloads seen refusing a client ([`refused::attach`]): read too, wherever they run.
    pub refusing: Option<tokio::sync::watch::Receiver<refused::RefusingSet>>,
    pub interval: Duration,
}

/// What the poller says once, whatever the round: a pod cap reached, a failing scrape.
#[derive(Default)]
struct Said {
    capped: bool,
    failed: bool,
}

/// Runs until the main loop's receiver is gone. Holds only a weak sender, like the metrics
/// poller, so the channel still closes when every tap stream has ended.
pub async fn poll_until_closed(poll: DenialsPoll, tx: mpsc::WeakSender<SourceMsg>) {
    let started = Utc::now();
    let prometheus = if let Some(addr) = poll.prometheus.clone() {
        Some(addr)
    } else {
        let namespace = super::metrics::portforward::VIZ_NAMESPACE;
        // A viz that cannot be asked leaves the pods to be read directly.
        prometheus::viz(&poll.client, namespace)
            .await
            .unwrap_or(None)
    };
    let mut since = SinceStart::default();
    let mut said = Said::default();
    loop {
        let (reading, notices) = match &prometheus {
            Some(addr) => from_prometheus(&poll, addr, &mut said, started).await,
            None => scraped(&poll, &mut since, &mut said, started).await,
        };
        let Some(strong) = tx.upgrade() else { return };
        for notice in notices {
            if strong.send(SourceMsg::Notice(notice)).await.is_err() {
                return;
            }
        }
        if let Some(reading) = reading
            && strong
                .send(SourceMsg::Denials(Box::new(reading)))
                .await
                .is_err()
        {
            return;
        }
        drop(strong);
        tokio::time::sleep(poll.interval).await;
    }
}

/// The resources whose pods are read: the tapped namespaces, then the workloads seen refusing
/// this cluster's clients outside them.
fn targets(poll: &DenialsPoll) -> Vec<Resource> {
    let mut out: Vec<Resource> = poll
        .namespaces
        .iter()
        .map(|namespace| Resource {
            namespace: namespace.clone(),
            kind: "namespace",
            name: namespace.clone(),
        })
        .collect();
    if let Some(refusing) = &poll.refusing {
        out.extend(
            refusing
                .borrow()
                .iter()
                .filter(|r| r.cluster == poll.cluster && !poll.namespaces.contains(&r.namespace))
                .map(|r| Resource {
                    namespace: r.namespace.clone(),
                    kind: "deployment",
                    name: r.deployment.clone(),
                }),
        );
    }
    out
}

/// The meshed pods of [`targets`].
async fn pods(poll: &DenialsPoll) -> (Vec<MeshedPod>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for target in targets(poll) {
        match scrape::list_pods(&poll.client, &target).await {
            Ok(found) => out.extend(found),
            Err(error) => errors.push(error.to_string()),
        }
    }
    (out, errors)
}

/// One round of direct scrapes, differenced against each pod's first.
async fn scraped(
    poll: &DenialsPoll,
    since: &mut SinceStart,
    said: &mut Said,
    started: DateTime<Utc>,
) -> (Option<DenialsReading>, Vec<String>) {
    let mut notices = Vec::new();
    let (mut pods, errors) = pods(poll).await;
    if pods.len() > MAX_SCRAPED_PODS {
        if !std::mem::replace(&mut said.capped, true) {
            notices.push(format!(
                "denials: {} meshed pods; only {MAX_SCRAPED_PODS} have their refusal counters \
                 read (give --prometheus to read them all)",
                pods.len()
            ));
        }
        pods.truncate(MAX_SCRAPED_PODS);
    }
    let until = Utc::now();
    since.next_round();
    let results = scrape::round(&poll.client, &pods, Some(&DENIAL_FAMILIES)).await;
    let read_at = Utc::now();
    let mut failures = errors;
    let mut read = 0;
    for (pod, result) in pods.iter().zip(results) {
        match result {
            Ok(exposition) => {
                read += 1;
                since.observe(&pod.labels, &exposition, read_at);
            }
            Err(error) => failures.push(error.to_string()),
        }
    }
    if let Some(first) = failures.first()
        && !std::mem::replace(&mut said.failed, true)
    {
        notices.push(format!(
            "denials: {} of the proxies' refusal counters could not be read: {first}",
            failures.len()
        ));
    }
    let seconds = (read_at - started).as_seconds_f64().max(0.0);
    let window = since.window(seconds);
    let reading = DenialsReading {
        cluster: poll.cluster.clone(),
        denials: routestats::denials(&window),
        watched: since.watched(),
        until,
        origin: DenialsOrigin::Scraped { pods: read },
    };
    (Some(reading), notices)
}

/// One query per family and target (see [`targets`]), over the session's age (at least a minute).
async fn from_prometheus(
    poll: &DenialsPoll,
    addr: &PrometheusAddr,
    said: &mut Said,
    started: DateTime<Utc>,
) -> (Option<DenialsReading>, Vec<String>) {
    // An outage is said once, not every round; a later one is said again.
    let mut failed = |error: &dyn std::fmt::Display| {
        let first = !std::mem::replace(&mut said.failed, true);
        (
            None,
            first
                .then(|| format!("denials: {error}"))
                .into_iter()
                .collect(),
        )
    };
    let now = Utc::now();
    let age = (now - started).to_std().unwrap_or_default();
    let span = age.max(PROMETHEUS_MIN_WINDOW);
    let mut window = Window::new(span.as_secs_f64());
    let mut watched: BTreeSet<(String, String)> = BTreeSet::new();
    let families: Vec<String> = DENIAL_FAMILIES.iter().map(|f| (*f).to_owned()).collect();
    for target in targets(poll) {
        let found = match prometheus::window(addr, &target, span, &families).await {
            Ok(found) => found,
            Err(error) => return failed(&error),
        };
        window.deltas.extend(found.window.deltas);
        // Which workloads the Prometheus reads: those whose proxies decided anything.
        let allow = prometheus::promql(AUTHZ_ALLOW, &target, span);
        match addr.query(&allow).await {
            Ok(samples) => {
                for (labels, _) in samples {
                    if let Some(workload) = workload_of(&labels) {
                        watched.insert(workload);
                    }
                }
            }
            Err(error) => return failed(&error),
        }
    }
    said.failed = false;
    let denials = routestats::denials(&window);
    watched.extend(
        denials
            .iter()
            .map(|d| (d.namespace.clone(), d.workload.clone())),
    );
    let from = now - chrono::Duration::from_std(span).unwrap_or_default();
    let reading = DenialsReading {
        cluster: poll.cluster.clone(),
        denials,
        watched: watched
            .into_iter()
            .map(|(namespace, workload)| Watched {
                namespace,
                workload,
                since: from,
            })
            .collect(),
        until: now - chrono::Duration::from_std(PROMETHEUS_LAG).unwrap_or_default(),
        origin: DenialsOrigin::Prometheus {
            addr: addr.describe(),
            seconds: span.as_secs(),
        },
    };
    (Some(reading), Vec::new())
}

/// A series' (namespace, workload), named as [`crate::routestats::Denial`] names them.
fn workload_of(labels: &[(String, String)]) -> Option<(String, String)> {
    let get = |key: &str| {
        labels
            .iter()
            .find(|(name, value)| name == key && !value.is_empty())
            .map(|(_, value)| value.clone())
    };
    Some((get("namespace")?, get("deployment").or_else(|| get("pod"))?))
}
