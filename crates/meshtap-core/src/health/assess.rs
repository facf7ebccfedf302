//! The verdict for each pod of a target, its cause and fix in words, and the target's one-line
//! summary.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::facts::{PodFacts, ProxyStatus, annotations};
use super::observed::Observed;
use super::{SILENT_AFTER, TAP_WINDOW, per_pod_limit};

/// What Linkerd does with a pod when tapping its target, and why it may show nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Tapped, and either reporting or with nothing that explains silence.
    Tappable,
    /// Not Pending or Running, or being deleted: the tap server ignores it.
    NotRunning { phase: String },
    /// No Linkerd proxy: the tap server skips it without a word.
    NotInjected,
    /// Tap switched off by this annotation.
    TapDisabled { annotation: String },
    /// Meshed before Linkerd viz was installed: no `viz.linkerd.io/tap-enabled`, so skipped
    /// until restarted.
    InjectedBeforeViz,
    /// Counted in the split, but its proxy is not ready, so its stream fails.
    ProxyNotReady { reason: String },
    /// Every port it serves is opaque or skipped: its inbound traffic is TCP, never HTTP.
    OpaqueOnly { ports: Vec<u16>, annotation: String },
    /// A tapped request has been in flight longer than the window and nothing newer was
    /// reported: the proxy keeps the window open until it ends.
    Pinned {
        method: String,
        path: String,
        in_flight_secs: u64,
    },
    /// Tapped, but nothing from it for a while although its siblings report.
    Silent { silent_secs: u64 },
}

impl Verdict {
    /// Whether the pod's facts alone give it (no need to watch the stream first).
    pub fn is_static(&self) -> bool {
        matches!(
            self,
            Verdict::NotRunning { .. }
                | Verdict::NotInjected
                | Verdict::TapDisabled { .. }
                | Verdict::InjectedBeforeViz
                | Verdict::ProxyNotReady { .. }
        )
    }

    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Tappable => "tappable",
            Verdict::NotRunning { .. } => "not running",
            Verdict::NotInjected => "not injected",
            Verdict::TapDisabled { .. } => "tap disabled",
            Verdict::InjectedBeforeViz => "injected before viz",
            Verdict::ProxyNotReady { .. } => "proxy not ready",
            Verdict::OpaqueOnly { .. } => "opaque ports only",
            Verdict::Pinned { .. } => "pinned window",
            Verdict::Silent { .. } => "silent",
        }
    }
}

/// One pod's line of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PodHealth {
    pub pod: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Why, in a sentence; empty for a pod that reports.
    pub cause: String,
    /// What to do about it; empty when nothing needs doing.
    pub fix: String,
    /// Requests reported by this pod's proxy this session.
    pub requests: u64,
}

/// The target being explained.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetInfo {
    /// Empty with one cluster.
    pub cluster: String,
    /// As the user wrote it: `deploy/web`.
    pub target: String,
    /// Linkerd's canonical kind (`deployment`) and name, for matching pods.
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub max_rps: f32,
    /// When its stream last connected; `None` while it is not connected.
    pub connected_since: Option<DateTime<Utc>>,
}

/// Every pod of one target, and what it adds up to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetHealth {
    /// Empty with one cluster.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    pub target: String,
    pub namespace: String,
    pub max_rps: f32,
    /// Pods Linkerd's tap server opens a stream to, and so splits `maxRps` over.
    pub tapped_pods: usize,
    /// Requests each of them is asked for per second.
    pub per_pod_limit: u32,
    pub pods: Vec<PodHealth>,
    /// Why the pods could not be listed (RBAC, typically), with the hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One line for the status bar and the table's head.
    pub summary: String,
}

impl TargetHealth {
    /// Whether any pod needs explaining (or the pods could not be listed).
    pub fn needs_attention(&self) -> bool {
        self.error.is_some() || self.pods.iter().any(|p| p.verdict != Verdict::Tappable)
    }

    /// The pods with something to say, worst first as listed.
    pub fn troubled(&self) -> impl Iterator<Item = &PodHealth> {
        self.pods.iter().filter(|p| p.verdict != Verdict::Tappable)
    }

    /// The table as lines of text (the caller escapes them for its terminal): the summary,
    /// then each pod that needs explaining with its cause and fix; healthy pods are counted.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.summary.clone()];
        if let Some(error) = &self.error {
            lines.push(format!("  {error}"));
        }
        let width = self.troubled().map(|p| p.pod.len()).max().unwrap_or(0);
        for pod in self.troubled() {
            lines.push(format!(
                "  {:<width$}  {}: {}",
                pod.pod,
                pod.verdict.name(),
                pod.cause
            ));
            if !pod.fix.is_empty() {
                lines.push(format!("  {:<width$}  fix: {}", "", pod.fix));
            }
        }
        let healthy = self.pods.len() - self.troubled().count();
        if healthy > 0 && healthy < self.pods.len() {
            lines.push(format!("  {healthy} other pod(s) tappable and reporting"));
        }
        lines
    }
}

fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_seconds()).unwrap_or(0)
}

/// `deploy/NAME` for the restart command, falling back to the target itself.
fn restart(pod: &PodFacts, target: &TargetInfo) -> String {
    let workload = pod.workload().unwrap_or_else(|| target.target.clone());
    format!("kubectl rollout restart {workload} -n {}", pod.namespace)
}

/// What is known of `pod` before looking at the stream.
fn static_verdict(pod: &PodFacts, target: &TargetInfo) -> Option<(Verdict, String, String)> {
    if !pod.considered() {
        let phase = if pod.terminating {
            "Terminating".to_owned()
        } else {
            pod.phase.clone()
        };
        let cause = format!("the pod is {phase}; Linkerd taps only Pending or Running pods");
        return Some((Verdict::NotRunning { phase }, cause, String::new()));
    }
    if !pod.meshed() {
        let cause = "no Linkerd proxy (label linkerd.io/control-plane-ns missing): the tap server skips it silently".to_owned();
        let fix = format!(
            "mesh it: annotate the workload linkerd.io/inject=enabled, then {}",
            restart(pod, target)
        );
        return Some((Verdict::NotInjected, cause, fix));
    }
    if let Some(annotation) = pod.tap_disabled_by() {
        let cause = if annotation == annotations::VIZ_DISABLE_TAP {
            format!("annotation {annotation}=true: the tap server skips it")
        } else {
            format!(
                "annotation {annotation}=true: its proxy runs without a tap server, so its stream fails (only Linkerd's tap server logs it)"
            )
        };
        let fix = format!(
            "remove {annotation} from the pod template (and the namespace), then {}",
            restart(pod, target)
        );
        let verdict = Verdict::TapDisabled {
            annotation: annotation.to_owned(),
        };
        return Some((verdict, cause, fix));
    }
    if !pod.tap_enabled() {
        let cause = format!(
            "meshed before Linkerd viz was installed: no {} annotation, so the tap server skips it",
            annotations::TAP_ENABLED
        );
        return Some((Verdict::InjectedBeforeViz, cause, restart(pod, target)));
    }
    if let ProxyStatus::NotReady { reason } = &pod.proxy {
        let detail = if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        };
        let cause = format!(
            "its linkerd-proxy is not ready{detail}: the tap server still counts it in the split of maxRps, but its stream fails"
        );
        let fix = format!(
            "kubectl describe pod {} -n {} (and kubectl logs {} -c linkerd-proxy -n {})",
            pod.name, pod.namespace, pod.name, pod.namespace
        );
        let verdict = Verdict::ProxyNotReady {
            reason: reason.clone(),
        };
        return Some((verdict, cause, fix));
    }
    None
}

/// Classifies every pod of `target` among `pods` (the namespace's pods; those of other targets
/// are left out) against what `observed` saw, at `now`.
pub fn assess(
    target: &TargetInfo,
    pods: Result<&[PodFacts], &str>,
    observed: &Observed,
    now: DateTime<Utc>,
) -> TargetHealth {
    let mine: Vec<&PodFacts> = match pods {
        Ok(pods) => pods
            .iter()
            .filter(|p| p.belongs_to(&target.kind, &target.name))
            .collect(),
        Err(_) => Vec::new(),
    };
    let tapped = mine.iter().filter(|p| p.tapped_by_linkerd()).count();
    let limit = per_pod_limit(target.max_rps, tapped);
    let seen = |pod: &PodFacts| observed.pod(&target.cluster, &pod.namespace, &pod.name);
    let recent = |p: &PodFacts| {
        seen(p)
            .and_then(|s| s.last_event)
            .is_some_and(|at| now - at < chrono_duration(SILENT_AFTER))
    };
    let connected_for = target.connected_since.map(|since| secs(since, now));
    let mut health: Vec<PodHealth> = mine
        .iter()
        .map(|&pod| {
            let seen = seen(pod);
            let requests = seen.map_or(0, |s| s.requests);
            let siblings_report = mine.iter().any(|p| p.name != pod.name && recent(p));
            let (verdict, cause, fix) = static_verdict(pod, target)
                .or_else(|| dynamic_verdict(pod, seen, connected_for, siblings_report, limit, now))
                .unwrap_or((Verdict::Tappable, String::new(), String::new()));
            PodHealth {
                pod: pod.name.clone(),
                verdict,
                cause,
                fix,
                requests,
            }
        })
        .collect();
    // Trouble first, then by name, so the table reads the same every time.
    health.sort_by(|a, b| {
        (a.verdict == Verdict::Tappable, &a.pod).cmp(&(b.verdict == Verdict::Tappable, &b.pod))
    });
    let error = pods.err().map(ToOwned::to_owned);
    let summary = summary(target, &health, tapped, limit, error.is_some());
    TargetHealth {
        cluster: target.cluster.clone(),
        target: target.target.clone(),
        namespace: target.namespace.clone(),
        max_rps: effective_max_rps(target.max_rps),
        tapped_pods: tapped,
        per_pod_limit: limit,
        pods: health,
        error,
        summary,
    }
}

fn effective_max_rps(max_rps: f32) -> f32 {
    if max_rps == 0.0 {
        super::DEFAULT_MAX_RPS
    } else {
        max_rps
    }
}

fn chrono_duration(d: std::time::Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// What the stream says about a pod Linkerd taps: pinned, TCP only, or silent.
fn dynamic_verdict(
    pod: &PodFacts,
    seen: Option<&super::observed::PodSeen>,
    connected_for: Option<u64>,
    siblings_report: bool,
    limit: u32,
    now: DateTime<Utc>,
) -> Option<(Verdict, String, String)> {
    let window = chrono_duration(TAP_WINDOW);
    let quiet_since = seen.and_then(|s| s.last_request);
    if let Some(oldest) = seen.and_then(|s| s.oldest_in_flight())
        && now - oldest.since > window
        && quiet_since.is_none_or(|at| now - at > window)
    {
        let in_flight_secs = secs(oldest.since, now);
        let cause = format!(
            "{} {} has been in flight {in_flight_secs} s: the proxy holds this pod's tap window open until it ends, so no newer request is sampled",
            oldest.method, oldest.path
        );
        let fix = "long-lived requests (gRPC streams, websockets, SSE) starve tap: narrow the tap with --path or --method to leave them out, or tap the pod's clients".to_owned();
        let verdict = Verdict::Pinned {
            method: oldest.method.clone(),
            path: oldest.path.clone(),
            in_flight_secs,
        };
        return Some((verdict, cause, fix));
    }
    let silent_for = match quiet_since {
        Some(at) => secs(at, now),
        None => connected_for?,
    };
    if silent_for < SILENT_AFTER.as_secs() {
        return None;
    }
    let tcp = pod.only_tcp_ports();
    if !tcp.is_empty() && seen.is_none_or(|s| s.requests == 0) {
        let ports: Vec<u16> = tcp.iter().map(|(p, _)| *p).collect();
        let annotation = tcp[0].1.to_owned();
        let listed = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let cause = format!(
            "every port it serves ({listed}) is in {annotation}: the proxy carries that traffic as TCP, and tap shows only HTTP"
        );
        let fix = "nothing to tap here: `linkerd viz stat` and `linkerd viz edges` show its TCP traffic; remove the port from the annotation only if it speaks HTTP".to_owned();
        return Some((Verdict::OpaqueOnly { ports, annotation }, cause, fix));
    }
    if !siblings_report {
        // The whole target is quiet: without traffic there is nothing to blame on one pod.
        return None;
    }
    let cause = format!(
        "no request from it for {silent_for} s while its siblings report (its share: {limit} rps)"
    );
    let fix = format!(
        "kubectl logs {} -c linkerd-proxy -n {} (a failing tap stream is logged only by Linkerd's tap server: kubectl logs deploy/tap -n linkerd-viz)",
        pod.name, pod.namespace
    );
    Some((
        Verdict::Silent {
            silent_secs: silent_for,
        },
        cause,
        fix,
    ))
}

fn summary(
    target: &TargetInfo,
    pods: &[PodHealth],
    tapped: usize,
    limit: u32,
    unlisted: bool,
) -> String {
    let name = if target.cluster.is_empty() {
        target.target.clone()
    } else {
        format!("{} ({})", target.target, target.cluster)
    };
    if unlisted {
        return format!("{name}: cannot list its pods, so meshtap cannot say why tap is quiet");
    }
    if pods.is_empty() {
        return format!("{name}: no pods found in namespace {}", target.namespace);
    }
    let troubled = pods
        .iter()
        .filter(|p| p.verdict != Verdict::Tappable)
        .count();
    let split = format!(
        "max {} rps split over {tapped} pod(s): {limit} rps each",
        effective_max_rps(target.max_rps)
    );
    if tapped == 0 {
        return format!(
            "{name}: no pod can be tapped ({troubled} of {}): {}",
            pods.len(),
            first_cause(pods)
        );
    }
    if troubled == 0 {
        return format!("{name}: {} pod(s) tappable; {split}", pods.len());
    }
    format!(
        "{name}: {troubled} of {} pods need attention ({}); {split}",
        pods.len(),
        first_cause(pods)
    )
}

/// The first troubled pod's verdict, with what names it (annotation, path, port).
fn first_cause(pods: &[PodHealth]) -> String {
    let Some(pod) = pods.iter().find(|p| p.verdict != Verdict::Tappable) else {
        return String::new();
    };
    match &pod.verdict {
        Verdict::TapDisabled { annotation } => format!("tap disabled by {annotation}"),
        Verdict::InjectedBeforeViz => "injected before viz: restart needed".to_owned(),
        Verdict::OpaqueOnly { ports, .. } => format!(
            "opaque port {}",
            ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Verdict::Pinned {
            method,
            path,
            in_flight_secs,
        } => {
            format!("window pinned by {method} {path} for {in_flight_secs} s")
        }
        other => other.name().to_owned(),
    }
}
