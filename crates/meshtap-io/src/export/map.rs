//! The service map as text for other tools: Graphviz DOT, a Mermaid flowchart, or JSON. Every
//! edge carries the figures the map pane shows (requests, RPS, success rate, p99, TLS);
//! workloads are grouped by namespace, unmeshed ones drawn dashed, plaintext edges dashed, edges
//! only the metrics API knows dotted.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::identities::WorkloadId;
use crate::model::map::{EdgeFigures, MapGraph, TlsMix};
use crate::terminal::escape;

/// `meshtap map -o FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MapFormat {
    Dot,
    Mermaid,
    Json,
}

/// One edge's figures, ready to print. `rps` is over the whole capture (`span_secs`).
#[derive(Clone, Debug, Serialize)]
struct EdgeOut<'a> {
    from: String,
    to: String,
    requests: u64,
    rps: f64,
    success_rate: Option<f64>,
    p99_ms: Option<f64>,
    tls: &'a str,
    /// Only the metrics API knows this edge: the sample saw no request on it.
    metrics_only: bool,
}

#[derive(Clone, Debug, Serialize)]
struct NodeOut<'a> {
    id: String,
    namespace: &'a str,
    workload: &'a str,
    meshed: bool,
    identities: Vec<&'a str>,
}

#[derive(Clone, Debug, Serialize)]
struct MapOut<'a> {
    /// Seconds of traffic the figures cover.
    span_secs: f64,
    nodes: Vec<NodeOut<'a>>,
    edges: Vec<EdgeOut<'a>>,
    /// Requests past `MAX_NODES` / `MAX_EDGES`, not drawn.
    dropped_requests: u64,
}

fn node_id(graph: &MapGraph, node: usize) -> String {
    let id = &graph.nodes()[node].id;
    format!("{}/{}", id.namespace, id.name)
}

/// The workload's name without its kind (`deploy/orders` → `orders`).
fn short_name(name: &str) -> &str {
    name.split_once('/').map_or(name, |(_, n)| n)
}

fn build<'a>(
    graph: &'a MapGraph,
    figures: &[EdgeFigures],
    metrics_only: &'a [(WorkloadId, WorkloadId)],
    span_secs: f64,
) -> MapOut<'a> {
    let mut nodes: Vec<NodeOut> = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| NodeOut {
            id: node_id(graph, i),
            namespace: &n.id.namespace,
            workload: &n.id.name,
            meshed: n.meshed,
            identities: n.identities.iter().map(AsRef::as_ref).collect(),
        })
        .collect();
    let mut edges: Vec<EdgeOut> = graph
        .edges()
        .iter()
        .zip(figures)
        .map(|(e, f)| EdgeOut {
            from: node_id(graph, e.from),
            to: node_id(graph, e.to),
            requests: f.requests,
            rps: (f.requests as f64 / span_secs.max(1.0) * 100.0).round() / 100.0,
            success_rate: f.success_rate.map(|r| (r * 10_000.0).round() / 10_000.0),
            p99_ms: f.p99_us.map(|us| us as f64 / 1_000.0),
            tls: f.tls_mix().word(),
            metrics_only: false,
        })
        .collect();
    add_metrics_only(&mut nodes, &mut edges, metrics_only);
    MapOut {
        span_secs,
        nodes,
        edges,
        dropped_requests: graph.stats().dropped,
    }
}

/// Edges the metrics API reports between workloads the sample never saw talk, with their ends
/// where the sample has not seen them at all (the metrics API counts only meshed workloads).
fn add_metrics_only<'a>(
    nodes: &mut Vec<NodeOut<'a>>,
    edges: &mut Vec<EdgeOut<'a>>,
    pairs: &'a [(WorkloadId, WorkloadId)],
) {
    for (from, to) in pairs {
        for end in [from, to] {
            let id = format!("{}/{}", end.namespace, end.name);
            if !nodes.iter().any(|n| n.id == id) {
                nodes.push(NodeOut {
                    id,
                    namespace: &end.namespace,
                    workload: &end.name,
                    meshed: true,
                    identities: Vec::new(),
                });
            }
        }
        edges.push(EdgeOut {
            from: format!("{}/{}", from.namespace, from.name),
            to: format!("{}/{}", to.namespace, to.name),
            requests: 0,
            rps: 0.0,
            success_rate: None,
            p99_ms: None,
            tls: TlsMix::Unknown.word(),
            metrics_only: true,
        });
    }
}

/// `12 req · 1.2 rps · 99.5% · p99 45ms · mTLS`, or `metrics API only`.
fn edge_label(e: &EdgeOut) -> String {
    if e.metrics_only {
        return "metrics API only".to_owned();
    }
    let mut label = format!("{} req · {} rps", e.requests, e.rps);
    if let Some(sr) = e.success_rate {
        let _ = write!(label, " · {:.1}%", sr * 100.0);
    }
    if let Some(p99) = e.p99_ms {
        if p99 < 10.0 {
            let _ = write!(label, " · p99 {p99:.1}ms");
        } else {
            let _ = write!(label, " · p99 {p99:.0}ms");
        }
    }
    let _ = write!(label, " · {}", e.tls);
    label
}

/// The map in `format`; `figures` indexed like the graph's edges, `metrics_only` the caller →
/// callee pairs only the metrics API knows (drawn dotted), `span_secs` the capture's length
/// (RPS is over it).
pub fn render(
    graph: &MapGraph,
    figures: &[EdgeFigures],
    metrics_only: &[(WorkloadId, WorkloadId)],
    span_secs: f64,
    format: MapFormat,
) -> String {
    let out = build(graph, figures, metrics_only, span_secs);
    match format {
        MapFormat::Json => {
            // Terminal-safe (the one escaping rule), indented as before.
            let mut bytes = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut bytes,
                super::gojson::GoFormatter::terminal_safe(),
            );
            let _ = out.serialize(&mut ser);
            bytes.push(b'\n');
            String::from_utf8(bytes).unwrap_or_default()
        }
        MapFormat::Dot => dot(&out),
        MapFormat::Mermaid => mermaid(&out),
    }
}

/// Namespaces in first-seen order, each with its nodes' indices.
fn by_namespace<'a>(out: &MapOut<'a>) -> Vec<(&'a str, Vec<usize>)> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, node) in out.nodes.iter().enumerate() {
        match groups.iter_mut().find(|(ns, _)| *ns == node.namespace) {
            Some((_, members)) => members.push(i),
            None => groups.push((node.namespace, vec![i])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(b.0));
    for (_, members) in &mut groups {
        members.sort_by(|a, b| out.nodes[*a].workload.cmp(out.nodes[*b].workload));
    }
    groups
}

/// A DOT double-quoted string, terminal-safe (the one escaping rule: `-o dot` is often read on a
/// terminal, and Graphviz shows the escape as text).
fn dot_quote(text: &str) -> String {
    let text = escape(text);
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dot(out: &MapOut) -> String {
    let mut text = String::from(
        "digraph meshtap {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n  edge [fontname=\"monospace\", fontsize=10];\n",
    );
    for (i, (namespace, members)) in by_namespace(out).iter().enumerate() {
        let _ = writeln!(
            text,
            "  subgraph cluster_{i} {{\n    label={};",
            dot_quote(namespace)
        );
        for &n in members {
            let node = &out.nodes[n];
            let style = if node.meshed { "solid" } else { "dashed" };
            let mut label = short_name(node.workload).to_owned();
            if !node.meshed {
                label.push_str(" (unmeshed)");
            }
            let _ = writeln!(
                text,
                "    {} [label={}, style={style}];",
                dot_quote(&node.id),
                dot_quote(&label)
            );
        }
        text.push_str("  }\n");
    }
    for e in &out.edges {
        let (style, color) = match e.tls {
            _ if e.metrics_only => ("dotted", "gray50"),
            t if t == TlsMix::Plaintext.word() => ("dashed", "red"),
            t if t == TlsMix::Mixed.word() => ("bold", "orange"),
            _ => ("solid", "black"),
        };
        let _ = writeln!(
            text,
            "  {} -> {} [label={}, style={style}, color={color}];",
            dot_quote(&e.from),
            dot_quote(&e.to),
            dot_quote(&edge_label(e))
        );
    }
    text.push_str("}\n");
    text
}

/// Mermaid text in double quotes. Inside quotes only `"` would end the string, but `#` starts
/// Mermaid's entity codes (a name holding `#quot;` would print `"`) and `<`/`>` would be read
/// as HTML by the renderer: all four become entity codes, so a name prints as itself. Terminal-
/// unsafe characters are escaped first (the one rule for text a terminal may show).
fn mermaid_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in escape(text).chars() {
        match ch {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            ch => out.push(ch),
        }
    }
    out.push('"');
    out
}

fn mermaid(out: &MapOut) -> String {
    let mut text = String::from("flowchart LR\n");
    for (i, (namespace, members)) in by_namespace(out).iter().enumerate() {
        let _ = writeln!(text, "  subgraph ns{i}[{}]", mermaid_quote(namespace));
        for &n in members {
            let node = &out.nodes[n];
            let name = short_name(node.workload);
            // Rounded for a workload without a proxy, a box for a meshed one.
            let shape = if node.meshed {
                format!("[{}]", mermaid_quote(name))
            } else {
                format!("({})", mermaid_quote(&format!("{name} (unmeshed)")))
            };
            let _ = writeln!(text, "    n{n}{shape}");
        }
        text.push_str("  end\n");
    }
    let index = |id: &str| out.nodes.iter().position(|n| n.id == id).unwrap_or(0);
    let mut dotted = Vec::new();
    for (i, e) in out.edges.iter().enumerate() {
        let arrow = if e.tls == TlsMix::Plaintext.word() || e.metrics_only {
            "-.->"
        } else {
            "-->"
        };
        if e.metrics_only {
            dotted.push(i.to_string());
        }
        let _ = writeln!(
            text,
            "  n{} {arrow}|{}| n{}",
            index(&e.from),
            mermaid_quote(&edge_label(e)),
            index(&e.to)
        );
    }
    // Mermaid has one dashed stroke: metrics-only edges are also grey and finely dotted (and
    // labelled so), to stay apart from plaintext ones.
    if !dotted.is_empty() {
        let _ = writeln!(
            text,
            "  linkStyle {} stroke:gray,stroke-dasharray:2 4",
            dotted.join(",")
        );
    }
    text
}

#[cfg(test)]
mod tests;
