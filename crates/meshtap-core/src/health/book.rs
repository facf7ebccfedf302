//! The session's tap health: each stream's target and pod list, what the stream showed of each
//! pod, and when a target's trouble is due to be told. The UI and the headless sink both keep
//! one and ask it the same questions.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::assess::{TargetHealth, TargetInfo, assess};
use super::facts::PodFacts;
use super::observed::Observed;
use super::{SILENT_AFTER, per_pod_limit};
use crate::model::event::TapEvent;
use crate::model::figures::MetricsSnapshot;
use crate::session::StreamState;

/// A stream's target and its pods, as a source listed them.
#[derive(Clone, Debug, PartialEq)]
pub struct PodList {
    pub stream: usize,
    /// `connected_since` is the book's to fill in.
    pub target: TargetInfo,
    /// The namespace's pods, or why they could not be listed (with the hint).
    pub pods: Result<Vec<PodFacts>, String>,
}

#[derive(Clone, Debug)]
struct Entry {
    target: TargetInfo,
    pods: Result<Vec<PodFacts>, String>,
    /// Already told on stderr (headless tells each target once).
    told: bool,
}

/// Tap health for every stream of a session.
#[derive(Clone, Debug, Default)]
pub struct HealthBook {
    pub observed: Observed,
    streams: Vec<Option<Entry>>,
    /// When each stream connected, known before its pod list arrives.
    connected: Vec<Option<DateTime<Utc>>>,
    failed: Vec<bool>,
    /// (namespace, kind, name, rps) of each workload in the metrics API's latest figures.
    real: Vec<(String, String, String, f64)>,
}

fn slot<T: Default + Clone>(list: &mut Vec<T>, i: usize) -> &mut T {
    if list.len() <= i {
        list.resize(i + 1, T::default());
    }
    &mut list[i]
}

impl HealthBook {
    pub fn observe(&mut self, events: &[TapEvent], now: DateTime<Utc>) {
        for event in events {
            self.observed.observe(event, now);
        }
    }

    /// A stream's pods, listed anew.
    pub fn pods(&mut self, list: PodList) {
        let told = self
            .streams
            .get(list.stream)
            .and_then(Option::as_ref)
            .is_some_and(|e| e.told && e.target.target == list.target.target);
        *slot(&mut self.streams, list.stream) = Some(Entry {
            target: list.target,
            pods: list.pods,
            told,
        });
    }

    /// A stream's connection changed.
    pub fn state(&mut self, stream: usize, state: &StreamState, now: DateTime<Utc>) {
        let connected = slot(&mut self.connected, stream);
        match state {
            StreamState::Connected => {
                if connected.is_none() {
                    *connected = Some(now);
                }
            }
            StreamState::Connecting => {}
            _ => *connected = None,
        }
        *slot(&mut self.failed, stream) = matches!(state, StreamState::Failed(_));
    }

    /// Forgets every stream (the UI restarted the tap with other targets).
    pub fn restart(&mut self) {
        self.streams.clear();
        self.connected.clear();
        self.failed.clear();
    }

    /// The health of `stream`'s target, once its pods are known.
    pub fn assess(&self, stream: usize, now: DateTime<Utc>) -> Option<TargetHealth> {
        let entry = self.streams.get(stream)?.as_ref()?;
        let mut target = entry.target.clone();
        target.connected_since = self.connected.get(stream).copied().flatten();
        let pods = match &entry.pods {
            Ok(pods) => Ok(pods.as_slice()),
            Err(e) => Err(e.as_str()),
        };
        Some(assess(&target, pods, &self.observed, now))
    }

    /// Every stream's health, in stream order.
    pub fn all(&self, now: DateTime<Utc>) -> Vec<TargetHealth> {
        (0..self.streams.len())
            .filter_map(|i| self.assess(i, now))
            .collect()
    }

    /// Whether `stream`'s trouble is worth telling now: it failed for good; or it is connected
    /// and a pod's facts already say why it cannot report; or it has been connected for
    /// [`SILENT_AFTER`], long enough for silence to mean something.
    fn due(&self, stream: usize, health: &TargetHealth, now: DateTime<Utc>) -> bool {
        if self.failed.get(stream).copied().unwrap_or(false) {
            return true;
        }
        let Some(since) = self.connected.get(stream).copied().flatten() else {
            return false;
        };
        health.pods.iter().any(|p| p.verdict.is_static())
            || (now - since).to_std().unwrap_or_default() >= SILENT_AFTER
    }

    /// Requests `stream`'s pods reported per second over the last [`super::RATE_WINDOW_SECS`].
    pub fn sampled_rps(&self, stream: usize, now: DateTime<Utc>) -> Option<f64> {
        let entry = self.streams.get(stream)?.as_ref()?;
        let pods = entry.pods.as_ref().ok()?;
        let total: u64 = pods
            .iter()
            .filter(|p| p.belongs_to(&entry.target.kind, &entry.target.name))
            .filter_map(|p| {
                self.observed
                    .pod(&entry.target.cluster, &p.namespace, &p.name)
            })
            .map(|seen| seen.recent_requests(now))
            .sum();
        Some(total as f64 / f64::from(super::RATE_WINDOW_SECS))
    }

    /// The targets whose trouble is due and not yet told, marked told: headless prints each
    /// once.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<TargetHealth> {
        let mut out = Vec::new();
        for stream in 0..self.streams.len() {
            let told = self.streams[stream].as_ref().is_none_or(|e| e.told);
            if told {
                continue;
            }
            let Some(health) = self.assess(stream, now) else {
                continue;
            };
            if !self.due(stream, &health, now) {
                continue;
            }
            let silent = self.sampled_rps(stream, now).is_some_and(|r| r == 0.0);
            if health.needs_attention() || silent {
                if let Some(entry) = self.streams[stream].as_mut() {
                    entry.told = true;
                }
                out.push(health);
            }
        }
        out
    }

    /// One line for the status bar: the first target with trouble that is due, with how many
    /// more there are.
    pub fn status_line(&self, now: DateTime<Utc>) -> Option<String> {
        let mut troubled = (0..self.streams.len()).filter_map(|s| {
            let health = self.assess(s, now)?;
            if !self.due(s, &health, now) {
                return None;
            }
            let silent = self.sampled_rps(s, now).is_some_and(|r| r == 0.0);
            (health.needs_attention() || silent).then_some((health, silent))
        });
        let (first, silent) = troubled.next()?;
        let more = troubled.count();
        let mut line = if silent && !first.needs_attention() {
            format!(
                "{}: nothing for {} s, all {} pod(s) tappable: no traffic matching the tap?",
                first.target,
                SILENT_AFTER.as_secs(),
                first.pods.len()
            )
        } else {
            first.summary.clone()
        };
        if more > 0 {
            let _ = write!(line, " (+{more} more)");
        }
        line.push_str(" — :why");
        Some(line)
    }

    /// What Linkerd's split gives `stream`: pods tapped × per-pod limit.
    pub fn split(&self, stream: usize) -> Option<(usize, u32)> {
        let entry = self.streams.get(stream)?.as_ref()?;
        let pods = entry.pods.as_ref().ok()?;
        let tapped = pods
            .iter()
            .filter(|p| {
                p.belongs_to(&entry.target.kind, &entry.target.name) && p.tapped_by_linkerd()
            })
            .count();
        Some((tapped, per_pod_limit(entry.target.max_rps, tapped)))
    }

    /// The metrics API's latest figures: the real request rate of each workload.
    pub fn metrics(&mut self, snapshot: &MetricsSnapshot) {
        self.real = snapshot
            .workloads
            .iter()
            .filter_map(|w| {
                let r = &w.resource;
                Some((
                    r.namespace.clone(),
                    r.kind.clone(),
                    r.name.clone(),
                    w.stats?.rps,
                ))
            })
            .collect();
    }

    /// The metrics API's request rate of `stream`'s target, when it has one.
    fn real_rps(&self, stream: usize) -> Option<f64> {
        let target = &self.streams.get(stream)?.as_ref()?.target;
        self.real
            .iter()
            .find(|(ns, kind, name, _)| {
                *kind == target.kind
                    && *name == target.name
                    && (*ns == target.namespace || target.kind == "namespace")
            })
            .map(|(_, _, _, rps)| *rps)
    }

    /// Effective sampling of `stream`'s target: what Linkerd's split allows, what arrives, and
    /// the real rate when the metrics API knows it ("deploy/web: seeing 95 of ~2,300 rps (20
    /// pods × 5 rps): raise --max-rps").
    pub fn sampling(&self, stream: usize, now: DateTime<Utc>) -> Option<String> {
        let target = &self.streams.get(stream)?.as_ref()?.target;
        let (pods, limit) = self.split(stream)?;
        let seen = self.sampled_rps(stream, now)?;
        let cap = pods as f64 * f64::from(limit);
        let split = format!("{pods} pod(s) × {limit} rps");
        let text = match self.real_rps(stream) {
            // Sampling bites: much more traffic than arrives, and the split is (nearly) used up.
            Some(real) if real > seen * 1.5 && real > cap => format!(
                "{}: seeing {} of ~{} rps ({split}): raise --max-rps",
                target.target,
                crate::units::group(seen.round() as u64),
                crate::units::group(real.round() as u64)
            ),
            Some(real) => format!(
                "{}: seeing {} of ~{} rps ({split})",
                target.target,
                crate::units::group(seen.round() as u64),
                crate::units::group(real.round() as u64)
            ),
            None => format!(
                "{}: seeing {} rps ({split})",
                target.target,
                crate::units::group(seen.round() as u64)
            ),
        };
        Some(text)
    }

    /// [`HealthBook::sampling`] for every stream with a pod list.
    pub fn sampling_lines(&self, now: DateTime<Utc>) -> Vec<String> {
        (0..self.streams.len())
            .filter_map(|s| self.sampling(s, now))
            .collect()
    }
}
