//! The service map as text for other tools: Graphviz DOT, a Mermaid flowchart, or JSON. Every
//! edge carries the figures the map pane shows (requests, RPS, success rate, p99, TLS);
//! workloads are grouped by namespace, unmeshed ones drawn dashed, plaintext edges dashed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::map::{EdgeFigures, MapGraph, TlsMix};

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

fn build<'a>(graph: &'a MapGraph, figures: &[EdgeFigures], span_secs: f64) -> MapOut<'a> {
    let nodes = graph
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
    let edges = graph
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
        })
        .collect();
    MapOut {
        span_secs,
        nodes,
        edges,
        dropped_requests: graph.stats().dropped,
    }
}

/// `12 req · 1.2 rps · 99.5% · p99 45ms · mTLS`.
fn edge_label(e: &EdgeOut) -> String {
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

/// The map in `format`; `figures` indexed like the graph's edges, `span_secs` the capture's
/// length (RPS is over it).
pub fn render(
    graph: &MapGraph,
    figures: &[EdgeFigures],
    span_secs: f64,
    format: MapFormat,
) -> String {
    let out = build(graph, figures, span_secs);
    match format {
        MapFormat::Json => {
            let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
            text.push('\n');
            text
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

/// A DOT double-quoted string.
fn dot_quote(text: &str) -> String {
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

/// Mermaid text in double quotes: its own entity for `"`, nothing else to escape.
fn mermaid_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
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
    for e in &out.edges {
        let arrow = if e.tls == TlsMix::Plaintext.word() {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(
            text,
            "  n{} {arrow}|{}| n{}",
            index(&e.from),
            mermaid_quote(&edge_label(e)),
            index(&e.to)
        );
    }
    text
}

#[cfg(test)]
mod tests;
