//! The report `meshtap routes` prints: stat-outbound's columns (success, RPS, latency, timeouts,
//! retries; backends beneath their route) with the route histogram's quantiles told only as the
//! bucket holding them, tap's exact figures for the same parent beside them, stat-inbound's rows,
//! and the denials the destinations' proxies counted. As a table (`-o table|wide`) or JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::rules::{RuleKey, RuleTap, rule_json, rules_table};
use super::tap::{TapFigures, Tapped};
use crate::export::text::escape;
use crate::routestats::{self, Denial, InboundRow, Le, OutboundRow};
use crate::source::proxy_metrics::ProxyWindow;
use crate::source::target::Resource;

/// Everything gathered, for every target.
#[derive(Debug, Default)]
pub struct Report {
    sections: Vec<Section>,
}

#[derive(Debug)]
struct Section {
    target: String,
    origin: String,
    seconds: f64,
    unreachable: Vec<(String, String)>,
    outbound: Vec<(OutboundRow, Option<TapFigures>)>,
    /// Tap's rules of the requests the target sent.
    rules: Vec<(RuleKey, RuleTap)>,
    inbound: Vec<InboundRow>,
    denials: Vec<Denial>,
}

/// The label naming the target's resource in the proxies' series.
fn resource_label(target: &Resource) -> &'static str {
    target.kind
}

impl Report {
    /// Adds target `index` of the tap's targets.
    pub fn add(&mut self, target: &Resource, window: ProxyWindow, tapped: &Tapped, index: usize) {
        let label = resource_label(target);
        let outbound = routestats::outbound(&window.window, label)
            .into_iter()
            .map(|row| {
                let key = (row.parent_namespace.clone(), row.parent.clone());
                let tap = tapped.by_parent.get(&key).cloned();
                (row, tap)
            })
            .collect();
        self.sections.push(Section {
            target: target.display(),
            origin: window.origin.describe(),
            seconds: window.window.seconds,
            unreachable: window.unreachable,
            outbound,
            rules: tapped
                .rules
                .of(index)
                .map(|rules| rules.iter().map(|(k, r)| (k.clone(), r.clone())).collect())
                .unwrap_or_default(),
            inbound: routestats::inbound(&window.window, label),
            denials: routestats::denials(&window.window),
        });
    }

    pub fn json(&self) -> anyhow::Result<String> {
        let targets: Vec<Value> = self.sections.iter().map(Section::json).collect();
        let mut text = serde_json::to_string_pretty(&json!({ "targets": targets }))?;
        text.push('\n');
        Ok(text)
    }

    pub fn table(&self, wide: bool) -> String {
        let mut out = String::new();
        for section in &self.sections {
            section.table(wide, &mut out);
        }
        out
    }
}

fn rate(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

fn le_json(le: Option<Le>) -> Value {
    match le {
        Some(le) => {
            json!({ "text": le.to_string(), "le_ms": le.bound_ms(), "above": le.is_above() })
        }
        None => Value::Null,
    }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

impl Section {
    fn json(&self) -> Value {
        let rps = |n: f64| round(n / self.seconds.max(1e-9), 3);
        let outbound: Vec<Value> = self
            .outbound
            .iter()
            .map(|(row, tap)| {
                let f = &row.figures;
                let backends: Vec<Value> = row
                    .backends
                    .iter()
                    .map(|b| {
                        json!({
                            "name": b.name,
                            "port": b.port,
                            "requests": round(b.figures.requests(), 1),
                            "share": row.share(b).map(|s| round(s, 4)),
                            "success_rate": b.figures.success_rate().map(|s| round(s, 4)),
                            "latency_p99": le_json(b.figures.p99()),
                        })
                    })
                    .collect();
                json!({
                    "name": row.name,
                    "parent": { "namespace": row.parent_namespace, "name": row.parent, "port": row.port },
                    "route": row.route,
                    "route_kind": row.route_kind,
                    "protocol": if row.grpc { "grpc" } else { "http" },
                    "requests": round(f.requests(), 1),
                    "rps": rps(f.requests()),
                    "success_rate": f.success_rate().map(|s| round(s, 4)),
                    "latency_p50": le_json(f.p50()),
                    "latency_p99": le_json(f.p99()),
                    "timeouts": round(f.timeouts, 1),
                    "timeout_rate": rate(f.timeouts, f.requests()).map(|s| round(s, 4)),
                    "errors": f.errors.iter().map(|(k, v)| (k.clone(), json!(round(*v, 1)))).collect::<serde_json::Map<_, _>>(),
                    "retries": round(row.retries, 1),
                    "retry_rate": row.retry_rate().map(|s| round(s, 4)),
                    "backends": backends,
                    "tap": tap.as_ref().map(|t| json!({
                        "requests": t.requests,
                        "failures": t.failures,
                        "latency_p50_ms": t.quantile_ms(0.5).map(|v| round(v, 3)),
                        "latency_p99_ms": t.quantile_ms(0.99).map(|v| round(v, 3)),
                    })),
                })
            })
            .collect();
        let inbound: Vec<Value> = self
            .inbound
            .iter()
            .map(|r| {
                let n = r.successes + r.failures;
                json!({
                    "name": r.name,
                    "server": r.server,
                    "port": r.port,
                    "route": r.route,
                    "route_kind": r.route_kind,
                    "requests": round(n, 1),
                    "rps": rps(n),
                    "success_rate": rate(r.successes, n).map(|s| round(s, 4)),
                    "latency_p99": le_json(r.latency.quantile(0.99)),
                })
            })
            .collect();
        let denials: Vec<Value> = self.denials.iter().map(denial_json).collect();
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(key, rule)| rule_json(key, rule, self.route_metrics(key).as_ref()))
            .collect();
        json!({
            "target": self.target,
            "metrics": self.origin,
            "window_seconds": round(self.seconds, 3),
            "unreachable": self.unreachable.iter().map(|(p, e)| json!({ "pod": p, "error": e })).collect::<Vec<_>>(),
            "outbound": outbound,
            "rules": rules,
            "inbound": inbound,
            "denials": denials,
        })
    }

    fn table(&self, wide: bool, out: &mut String) {
        let _ = writeln!(
            out,
            "{} — {} over {:.0}s",
            escape(&self.target),
            escape(&self.origin),
            self.seconds
        );
        for (pod, error) in &self.unreachable {
            let _ = writeln!(out, "  not scraped: {}: {}", escape(pod), escape(error));
        }
        let mut header = vec![
            "NAME",
            "SERVICE",
            "ROUTE",
            "TYPE",
            "BACKEND",
            "SUCCESS",
            "RPS",
            "LATENCY_P50",
            "LATENCY_P99",
            "TIMEOUTS",
            "RETRIES",
            "TAP_REQS",
            "TAP_P50",
            "TAP_P99",
        ];
        if wide {
            header.push("ERRORS");
        }
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
        let pct =
            |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0));
        let le = |v: Option<Le>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}ms"));
        for (row, tap) in &self.outbound {
            let f = &row.figures;
            let mut cells = vec![
                row.name.clone(),
                format!("{}:{}", row.parent, row.port),
                row.route.clone(),
                row.route_kind.clone(),
                String::new(),
                pct(f.success_rate()),
                format!("{:.2}", f.requests() / self.seconds.max(1e-9)),
                le(f.p50()),
                le(f.p99()),
                pct(rate(f.timeouts, f.requests())),
                pct(row.retry_rate()),
                tap.as_ref()
                    .map_or_else(|| "-".to_owned(), |t| t.requests.to_string()),
                ms(tap.as_ref().and_then(|t| t.quantile_ms(0.5))),
                ms(tap.as_ref().and_then(|t| t.quantile_ms(0.99))),
            ];
            if wide {
                let errors: Vec<String> = f
                    .errors
                    .iter()
                    .map(|(k, v)| format!("{k}={v:.0}"))
                    .collect();
                cells.push(errors.join(","));
            }
            rows.push(cells);
            for (i, b) in row.backends.iter().enumerate() {
                let branch = if i + 1 == row.backends.len() {
                    "└"
                } else {
                    "├"
                };
                let mut cells = vec![
                    String::new(),
                    String::new(),
                    format!("{branch}─►"),
                    String::new(),
                    format!("{}:{} ({})", b.name, b.port, pct(row.share(b))),
                    pct(b.figures.success_rate()),
                    format!("{:.2}", b.figures.requests() / self.seconds.max(1e-9)),
                    le(b.figures.p50()),
                    le(b.figures.p99()),
                    pct(rate(b.figures.timeouts, b.figures.requests())),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
                if wide {
                    cells.push(String::new());
                }
                rows.push(cells);
            }
        }
        columns(&rows, out);
        rules_table(&self.rules, out);
        self.inbound_table(out);
        for d in &self.denials {
            let _ = writeln!(out, "denied: {}", escape(&denial_text(d)));
        }
        out.push('\n');
    }

    /// The proxies' figures for the route of `key`'s rule (they count routes, not rules): its
    /// requests, success, timeouts and errors by `error` label (`REQUEST_TIMEOUT`), retries.
    fn route_metrics(&self, key: &RuleKey) -> Option<Value> {
        let (namespace, parent, _, kind, name, _) = key;
        // The metrics name the parent's default route `[default]`, whatever the policy calls it.
        let route = if kind == "default" { "[default]" } else { name };
        let (row, _) = self.outbound.iter().find(|(row, _)| {
            &row.parent_namespace == namespace && &row.parent == parent && row.route == route
        })?;
        let f = &row.figures;
        Some(json!({
            "requests": round(f.requests(), 1),
            "success_rate": f.success_rate().map(|s| round(s, 4)),
            "timeouts": round(f.timeouts, 1),
            "errors": f.errors.iter().map(|(k, v)| (k.clone(), json!(round(*v, 1)))).collect::<serde_json::Map<_, _>>(),
            "retries": round(row.retries, 1),
        }))
    }

    /// stat-inbound's rows.
    fn inbound_table(&self, out: &mut String) {
        let pct =
            |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0));
        let le = |v: Option<Le>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        if self.inbound.is_empty() {
            return;
        }
        {
            out.push('\n');
            let mut rows = vec![
                [
                    "NAME",
                    "SERVER",
                    "ROUTE",
                    "TYPE",
                    "SUCCESS",
                    "RPS",
                    "LATENCY_P99",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            for r in &self.inbound {
                let n = r.successes + r.failures;
                rows.push(vec![
                    r.name.clone(),
                    format!("{}:{}", r.server, r.port),
                    r.route.clone(),
                    r.route_kind.clone(),
                    pct(rate(r.successes, n)),
                    format!("{:.2}", n / self.seconds.max(1e-9)),
                    le(r.latency.quantile(0.99)),
                ]);
            }
            columns(&rows, out);
        }
    }
}

/// One line about a denial, naming what the proxy's labels name (the `AuthorizationPolicy` that
/// would have admitted the client is not among them).
pub fn denial_text(d: &Denial) -> String {
    let who = if d.client_id.is_empty() {
        "clients without an mTLS identity".to_owned()
    } else {
        d.client_id.clone()
    };
    let what = match d.kind {
        routestats::DenialKind::Unauthorized => format!(
            "no authorization admitted {who} on route {} of Server {}",
            if d.route_name.is_empty() {
                "-"
            } else {
                &d.route_name
            },
            d.srv_name
        ),
        routestats::DenialKind::RouteNotFound => {
            format!(
                "no route of Server {} matched requests from {who}",
                d.srv_name
            )
        }
    };
    format!(
        "{:.0} requests refused by {}/{}'s proxy: {what}",
        d.count, d.namespace, d.workload
    )
}

fn denial_json(d: &Denial) -> Value {
    json!({
        "kind": d.kind.as_str(),
        "namespace": d.namespace,
        "workload": d.workload,
        "server": { "kind": d.srv_kind, "name": d.srv_name },
        "route": { "kind": d.route_kind, "name": d.route_name },
        "port": d.target_port,
        "client_id": d.client_id,
        "requests": round(d.count, 1),
    })
}

/// Left-aligned columns two spaces apart; every cell escaped for the terminal.
pub(super) fn columns(rows: &[Vec<String>], out: &mut String) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape(c).into_owned()).collect())
        .collect();
    let count = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &cells {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
