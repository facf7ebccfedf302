//! Tap's per-rule rows of `meshtap routes`: the target's outbound requests the client's outbound
//! policy routed (`matched_route` with source `policy`), by parent → route → rule, with each
//! backend's configured weight beside its observed share, and the rule's configured timeouts and
//! retry policy. The proxies' route metrics know routes and backends but not rules; tap's
//! attribution adds the rule.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::event::Direction;
use crate::model::policy::{MatchedRoute, RetryOn, RouteSource, RuleConfig, matched_route};
use crate::model::request::Request;
use crate::source::target::Resource;

/// Latencies kept per rule for the exact percentiles; further requests are counted only.
pub const LATENCIES_PER_RULE_CAP: usize = 100_000;

/// parent namespace, parent name, port, route kind, route name, rule index.
pub type RuleKey = (String, String, Option<u16>, String, String, Option<u32>);

/// What tap saw of one backend of a rule.
#[derive(Debug, Clone, Default)]
pub struct BackendTap {
    pub requests: u64,
    pub failures: u64,
    /// The weight the rule gives it (`None`: unweighted, or a backend the rule does not name).
    pub weight: Option<u32>,
}

/// What tap saw of one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleTap {
    pub group: String,
    pub requests: u64,
    pub failures: u64,
    latencies_ms: Vec<f64>,
    pub backends: BTreeMap<String, BackendTap>,
    /// The rule's configuration as last attributed.
    pub config: RuleConfig,
}

impl RuleTap {
    /// The exact `q` quantile of the latencies seen, in ms.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        super::tap::quantile(&self.latencies_ms, q)
    }

    /// A backend's observed share of the rule's requests.
    pub fn share(&self, backend: &BackendTap) -> Option<f64> {
        (self.requests > 0).then(|| backend.requests as f64 / self.requests as f64)
    }
}

/// Rules by target: the rules of the requests each target's pods sent.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    targets: Vec<Resource>,
    by_target: Vec<BTreeMap<RuleKey, RuleTap>>,
}

impl Rules {
    pub fn new(targets: &[Resource]) -> Self {
        Self {
            targets: targets.to_vec(),
            by_target: vec![BTreeMap::new(); targets.len()],
        }
    }

    /// The rules of target `index`.
    pub fn of(&self, index: usize) -> Option<&BTreeMap<RuleKey, RuleTap>> {
        self.by_target.get(index)
    }

    /// Counts `request` under its rule for every target whose pods sent it.
    pub fn record(&mut self, request: &Request) {
        if request.direction() != Direction::Outbound {
            return;
        }
        let matched = matched_route(request);
        if matched.source != RouteSource::Policy {
            return;
        }
        let Some(key) = rule_key(&matched) else {
            return;
        };
        for (target, rules) in self.targets.iter().zip(&mut self.by_target) {
            if sent_by(request, target) {
                add(rules.entry(key.clone()).or_default(), request, &matched);
            }
        }
    }
}

fn rule_key(m: &MatchedRoute) -> Option<RuleKey> {
    let route = m.route.as_ref()?;
    let (namespace, name, port) = m.parent.as_ref().map_or_else(
        || (route.namespace.to_string(), String::new(), None),
        |p| (p.namespace.to_string(), p.name.to_string(), p.port),
    );
    Some((
        namespace,
        name,
        port,
        route.kind.to_string(),
        route.name.to_string(),
        m.rule,
    ))
}

/// Whether `target`'s pods sent `request` (the outbound side reports from the source).
fn sent_by(request: &Request, target: &Resource) -> bool {
    let labels = &request.source.labels;
    let namespace = labels.get("namespace").unwrap_or("");
    if target.kind == "namespace" {
        return target.name.is_empty() || namespace == target.name;
    }
    let label = if target.kind == "job" {
        "k8s_job"
    } else {
        target.kind
    };
    namespace == target.namespace
        && (target.name.is_empty() || labels.get(label) == Some(target.name.as_str()))
}

fn add(rule: &mut RuleTap, request: &Request, matched: &MatchedRoute) {
    let failed = request.success() == Some(false);
    rule.requests += 1;
    rule.failures += u64::from(failed);
    if let Some(route) = &matched.route {
        rule.group = route.group.to_string();
    }
    rule.config.clone_from(&matched.config);
    if let Some(latency) = request.duration()
        && rule.latencies_ms.len() < LATENCIES_PER_RULE_CAP
    {
        rule.latencies_ms.push(latency.as_secs_f64() * 1000.0);
    }
    let name = matched.backend_name();
    if !name.is_empty() {
        let backend = rule.backends.entry(name.to_owned()).or_default();
        backend.requests += 1;
        backend.failures += u64::from(failed);
        backend.weight = matched.backend.as_ref().and_then(|b| b.weight);
    }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// The rule's retry policy as JSON: its label, limit, what it retries on, each try's timeout.
fn retry_json(config: &RuleConfig) -> Value {
    let Some(retry) = &config.retry else {
        return Value::Null;
    };
    let on: Vec<String> = match &retry.on {
        RetryOn::Grpc(on) => on.names().into_iter().map(str::to_owned).collect(),
        RetryOn::Statuses(ranges) => ranges
            .iter()
            .map(|(start, end)| {
                if start == end {
                    start.to_string()
                } else {
                    format!("{start}-{end}")
                }
            })
            .collect(),
    };
    json!({
        "label": retry.label(),
        "limit": retry.max_retries,
        "on": on,
        "timeout_ms": retry.timeout.map(|t| t.as_millis()),
    })
}

/// One rule as JSON; `metrics` is the proxies' figures for its route, when they have a row.
pub fn rule_json(key: &RuleKey, rule: &RuleTap, metrics: Option<&Value>) -> Value {
    let (namespace, parent, port, kind, name, index) = key;
    let t = &rule.config.timeouts;
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_millis());
    let backends: Vec<Value> = rule
        .backends
        .iter()
        .map(|(name, b)| {
            json!({
                "name": name,
                "weight": b.weight,
                "requests": b.requests,
                "failures": b.failures,
                "share": rule.share(b).map(|s| round(s, 4)),
            })
        })
        .collect();
    let timeout = rule.config.timeout_label();
    json!({
        "parent": { "namespace": namespace, "name": parent, "port": port },
        "route": { "group": rule.group, "kind": kind, "name": name },
        "rule": index,
        "timeout": (!timeout.is_empty()).then_some(timeout),
        "timeouts_ms": { "request": ms(t.request), "response": ms(t.response), "idle": ms(t.idle) },
        "retry": retry_json(&rule.config),
        "requests": rule.requests,
        "failures": rule.failures,
        "success_rate": (rule.requests > 0)
            .then(|| round(1.0 - rule.failures as f64 / rule.requests as f64, 4)),
        "latency_p50_ms": rule.quantile_ms(0.5).map(|v| round(v, 3)),
        "latency_p99_ms": rule.quantile_ms(0.99).map(|v| round(v, 3)),
        "backends": backends,
        "route_metrics": metrics,
    })
}

/// The rules as a table (`-o table|wide`): one line per rule, its backends beneath it.
pub fn rules_table(rules: &[(RuleKey, RuleTap)], out: &mut String) {
    if rules.is_empty() {
        return;
    }
    out.push('\n');
    let header = [
        "PARENT", "ROUTE", "RULE", "BACKEND", "WEIGHT", "SHARE", "TAP_REQS", "SUCCESS", "TAP_P50",
        "TAP_P99", "TIMEOUT", "RETRY",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0));
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}ms"));
    let dash = |text: String| {
        if text.is_empty() {
            "-".to_owned()
        } else {
            text
        }
    };
    for ((namespace, parent, port, kind, name, index), rule) in rules {
        let success =
            (rule.requests > 0).then(|| 1.0 - rule.failures as f64 / rule.requests as f64);
        rows.push(vec![
            format!(
                "{namespace}/{parent}{}",
                port.map_or_else(String::new, |p| format!(":{p}"))
            ),
            format!("{kind} {name}"),
            index.map_or_else(|| "-".to_owned(), |i| i.to_string()),
            String::new(),
            String::new(),
            String::new(),
            rule.requests.to_string(),
            pct(success),
            ms(rule.quantile_ms(0.5)),
            ms(rule.quantile_ms(0.99)),
            dash(rule.config.timeout_label()),
            dash(rule.config.retry_label()),
        ]);
        for (i, (backend, b)) in rule.backends.iter().enumerate() {
            let branch = if i + 1 == rule.backends.len() {
                "└"
            } else {
                "├"
            };
            let success = (b.requests > 0).then(|| 1.0 - b.failures as f64 / b.requests as f64);
            let mut cells = vec![String::new(); header.len()];
            cells[2] = format!("{branch}─►");
            cells[3].clone_from(backend);
            cells[4] = b.weight.map_or_else(|| "-".to_owned(), |w| w.to_string());
            cells[5] = pct(rule.share(b));
            cells[6] = b.requests.to_string();
            cells[7] = pct(success);
            rows.push(cells);
        }
    }
    super::render::columns(&rows, out);
}

#[cfg(test)]
mod tests;
