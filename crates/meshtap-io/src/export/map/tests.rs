use std::time::Duration;

use super::*;
use crate::model::request::Request;
use crate::model::routes::Window;
use crate::model::routes::fixtures::{Req, at};

fn graph() -> (MapGraph, Vec<EdgeFigures>) {
    let mut graph = MapGraph::new();
    let ok = |req: Req| -> Request {
        req.at(at(1))
            .respond(200, Duration::from_millis(4), 10)
            .build()
    };
    for i in 0..3 {
        graph.record(&ok(Req::out(i, "front-end", "orders", "GET", "/")));
    }
    graph.record(
        &Req::out(7, "front-end", "orders", "GET", "/")
            .at(at(1))
            .respond(503, Duration::from_millis(40), 10)
            .build(),
    );
    let plain = Req::inbound(9, "load-generator", "front-end", "GET", "/")
        .label(true, "namespace", "load\"test")
        .label(true, "tls", "no_tls_from_remote");
    graph.record(&ok(plain));
    let figures = graph.all_figures(at(1), Window::Capture);
    (graph, figures)
}

#[test]
fn dot_groups_namespaces_and_labels_every_edge() {
    let (graph, figures) = graph();
    let text = render(&graph, &figures, &[], 2.0, MapFormat::Dot);
    assert!(
        text.starts_with("digraph meshtap {\n  rankdir=LR;"),
        "{text}"
    );
    assert!(text.ends_with("}\n"));
    assert_eq!(text.matches('{').count(), text.matches('}').count());
    assert!(text.contains("label=\"sock-shop\";"), "{text}");
    // A quote in a name is escaped, never closes the string.
    assert!(text.contains("label=\"load\\\"test\";"), "{text}");
    assert!(text.contains(
        "\"sock-shop/deploy/front-end\" -> \"sock-shop/deploy/orders\" [label=\"4 req · 2 rps · 75.0% · p99 40ms · mTLS\", style=solid"
    ), "{text}");
    // The unmeshed caller and its plaintext edge are dashed.
    assert!(text.contains("(unmeshed)\", style=dashed]"), "{text}");
    assert!(
        text.contains("plaintext\", style=dashed, color=red]"),
        "{text}"
    );
}

#[test]
fn mermaid_is_a_flowchart_with_subgraphs() {
    let (graph, figures) = graph();
    let text = render(&graph, &figures, &[], 2.0, MapFormat::Mermaid);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "flowchart LR");
    assert_eq!(
        text.matches("subgraph ").count(),
        text.matches("  end").count()
    );
    assert!(text.contains("[\"load#quot;test\"]"), "{text}");
    assert!(
        text.contains("-.->|\"1 req · 0.5 rps · 100.0% · p99 4.0ms · plaintext\"|"),
        "{text}"
    );
    assert!(text.contains("(\"load-generator (unmeshed)\")"), "{text}");
}

#[test]
fn json_carries_the_figures() {
    let (graph, figures) = graph();
    let text = render(&graph, &figures, &[], 2.0, MapFormat::Json);
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let edges = value["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 2);
    let orders = edges
        .iter()
        .find(|e| e["to"] == "sock-shop/deploy/orders")
        .expect("edge");
    assert_eq!(orders["requests"], 4);
    assert_eq!(orders["success_rate"], 0.75);
    assert_eq!(orders["tls"], "mTLS");
    assert_eq!(value["nodes"].as_array().map(Vec::len), Some(3));
}

fn workload(namespace: &str, name: &str) -> WorkloadId {
    WorkloadId {
        namespace: namespace.into(),
        name: name.into(),
    }
}

#[test]
fn metrics_only_edges_are_drawn_dotted_with_their_ends() {
    let (graph, figures) = graph();
    // One between workloads the sample knows, one to a workload it never saw.
    let pairs = [
        (
            workload("sock-shop", "deploy/orders"),
            workload("sock-shop", "deploy/front-end"),
        ),
        (
            workload("sock-shop", "deploy/orders"),
            workload("sock-shop", "deploy/payment"),
        ),
    ];
    let dot = render(&graph, &figures, &pairs, 2.0, MapFormat::Dot);
    assert!(
        dot.contains(
            "\"sock-shop/deploy/orders\" -> \"sock-shop/deploy/payment\" [label=\"metrics API only\", style=dotted, color=gray50];"
        ),
        "{dot}"
    );
    assert!(
        dot.contains("\"sock-shop/deploy/payment\" [label=\"payment\", style=solid];"),
        "{dot}"
    );
    let mermaid = render(&graph, &figures, &pairs, 2.0, MapFormat::Mermaid);
    assert_eq!(
        mermaid.matches("-.->|\"metrics API only\"|").count(),
        2,
        "{mermaid}"
    );
    // The two metrics-only edges come after the sample's two: link indices 2 and 3.
    assert!(
        mermaid.ends_with("  linkStyle 2,3 stroke:gray,stroke-dasharray:2 4\n"),
        "{mermaid}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render(&graph, &figures, &pairs, 2.0, MapFormat::Json))
            .expect("json");
    let edges = json["edges"].as_array().expect("edges");
    assert_eq!(
        edges.iter().filter(|e| e["metrics_only"] == true).count(),
        2
    );
    assert_eq!(json["nodes"].as_array().map(Vec::len), Some(4));
}

#[test]
fn mermaid_names_print_as_themselves() {
    let mut graph = MapGraph::new();
    graph.record(
        &Req::out(1, "a#quot;b<i>", "c", "GET", "/")
            .at(at(1))
            .respond(200, Duration::from_millis(4), 10)
            .build(),
    );
    let figures = graph.all_figures(at(1), Window::Capture);
    let text = render(&graph, &figures, &[], 2.0, MapFormat::Mermaid);
    // `#` and `<` become entity codes: no entity or tag in a name is ever interpreted.
    assert!(text.contains("[\"a#35;quot;b#lt;i#gt;\"]"), "{text}");
}
