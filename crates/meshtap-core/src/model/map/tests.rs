use std::collections::BTreeSet;
use std::time::Duration;

use super::project::{DisplayKind, Folding, Projection};
use super::*;
use crate::model::routes::fixtures::{Req, at, identity};

fn ok(req: Req, secs: i64) -> Request {
    req.at(at(secs))
        .respond(200, Duration::from_millis(3), 10)
        .build()
}

fn failed(req: Req, secs: i64) -> Request {
    req.at(at(secs))
        .respond(503, Duration::from_millis(40), 10)
        .build()
}

fn edge_named(graph: &MapGraph, from: &str, to: &str) -> usize {
    graph
        .edges()
        .iter()
        .position(|e| {
            graph.nodes()[e.from].id.name.as_ref() == from
                && graph.nodes()[e.to].id.name.as_ref() == to
        })
        .unwrap_or_else(|| panic!("no edge {from} → {to}"))
}

#[test]
fn both_proxies_reports_of_a_call_make_one_edge_counted_once() {
    let mut graph = MapGraph::new();
    for i in 0..4 {
        graph.record(&ok(Req::out(i, "front-end", "orders", "GET", "/"), 10));
        graph.record(&ok(Req::inbound(i, "front-end", "orders", "GET", "/"), 10));
    }
    graph.record(&failed(Req::out(9, "front-end", "orders", "GET", "/"), 10));
    assert_eq!(graph.nodes().len(), 2);
    assert_eq!(graph.edges().len(), 1);
    let figures = graph.all_figures(at(10), Window::Last1m);
    // The caller saw 5, the callee 4: the fuller view wins, never the sum.
    assert_eq!(figures[0].requests, 5);
    assert_eq!(figures[0].success_rate, Some(0.8));
    assert!(figures[0].p99_us.is_some_and(|p| p >= 39_000));
    assert_eq!(figures[0].tls_mix(), TlsMix::Mtls);
    let orders = &graph.nodes()[graph.edges()[0].to];
    assert!(orders.meshed);
    assert_eq!(orders.identities, vec![Text::from(identity("orders"))]);
    // Out of the window, nothing.
    assert_eq!(graph.all_figures(at(200), Window::Last1m)[0].requests, 0);
}

#[test]
fn an_unmeshed_caller_is_marked_and_plaintext_shows() {
    let mut graph = MapGraph::new();
    let plain = Req::inbound(1, "load-generator", "front-end", "GET", "/")
        .label(true, "tls", "no_tls_from_remote")
        .label(true, "client_id", "");
    graph.record(&ok(plain, 5));
    let edge = edge_named(&graph, "deploy/load-generator", "deploy/front-end");
    let from = graph.edges()[edge].from;
    assert!(!graph.nodes()[from].meshed);
    assert!(graph.nodes()[graph.edges()[edge].to].meshed);
    let figures = graph.all_figures(at(5), Window::Capture);
    assert_eq!(figures[edge].tls_mix(), TlsMix::Plaintext);
    // One mTLS request on the same edge makes it mixed.
    graph.record(&ok(
        Req::inbound(2, "load-generator", "front-end", "GET", "/"),
        6,
    ));
    assert_eq!(
        graph.all_figures(at(6), Window::Capture)[edge].tls_mix(),
        TlsMix::Mixed
    );
}

#[test]
fn the_shape_moves_only_when_nodes_or_edges_appear() {
    let mut graph = MapGraph::new();
    graph.record(&ok(Req::out(1, "front-end", "orders", "GET", "/"), 1));
    let shape = graph.shape();
    graph.record(&ok(Req::out(2, "front-end", "orders", "GET", "/"), 2));
    assert_eq!(
        graph.shape(),
        shape,
        "more traffic on a known edge keeps the layout"
    );
    graph.record(&ok(Req::out(3, "orders", "payment", "GET", "/"), 3));
    assert!(graph.shape() > shape);
}

#[test]
fn nodes_and_edges_are_bounded_and_what_is_dropped_is_counted() {
    let mut graph = MapGraph::new();
    for i in 0..(MAX_NODES as u64 / 2 + 10) {
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        graph.record(&ok(Req::out(i, &a, &b, "GET", "/"), 1));
    }
    assert_eq!(graph.nodes().len(), MAX_NODES);
    assert!(graph.edges().len() <= MAX_EDGES);
    assert_eq!(graph.stats().dropped, 10);
    assert_eq!(graph.stats().recorded, MAX_NODES as u64 / 2 + 10);
}

#[test]
fn collapsing_a_namespace_merges_its_workloads_and_their_edges() {
    let mut graph = MapGraph::new();
    graph.record(&ok(Req::out(1, "front-end", "orders", "GET", "/"), 1));
    graph.record(&failed(Req::out(2, "front-end", "carts", "GET", "/"), 1));
    let lg = Req::inbound(3, "load-generator", "front-end", "GET", "/")
        .label(true, "namespace", "loadtest")
        .label(true, "tls", "no_tls_from_remote");
    graph.record(&ok(lg, 1));
    let open = Projection::new(&graph, &Folding::default(), &[]);
    assert_eq!(open.nodes.len(), 4);
    assert_eq!(open.edges.len(), 3);
    let folding = Folding {
        namespaces_only: false,
        collapsed: BTreeSet::from([Text::from("sock-shop")]),
    };
    let folded = Projection::new(&graph, &folding, &[]);
    assert_eq!(folded.nodes.len(), 2);
    let shop = folded.find("sock-shop").expect("namespace node");
    assert_eq!(
        folded.nodes[shop].kind,
        DisplayKind::Namespace { workloads: 3 }
    );
    // front-end → orders and → carts are now one self-loop inside the namespace.
    let inside = folded
        .edges
        .iter()
        .position(|e| e.from == shop && e.to == shop)
        .expect("inner edge");
    let per_edge = graph.all_figures(at(1), Window::Capture);
    let merged = folded.figures(inside, &per_edge);
    assert_eq!(merged.requests, 2);
    assert_eq!(merged.success_rate, Some(0.5));
    let lg = folded
        .find("loadtest/deploy/load-generator")
        .expect("still a workload");
    assert_eq!(
        folded.nodes[lg].kind,
        DisplayKind::Workload { meshed: false }
    );
    // Zoomed out, every namespace is one node.
    let zoomed = Projection::new(
        &graph,
        &Folding {
            namespaces_only: true,
            collapsed: BTreeSet::new(),
        },
        &[],
    );
    assert_eq!(zoomed.nodes.len(), 2);
    assert!(zoomed.find("loadtest").is_some());
}

#[test]
fn metrics_only_edges_add_nodes_and_edges_without_members() {
    let mut graph = MapGraph::new();
    graph.record(&ok(Req::out(1, "front-end", "orders", "GET", "/"), 1));
    let id = |name: &str| WorkloadId {
        namespace: Text::from("sock-shop"),
        name: Text::from(format!("deploy/{name}")),
    };
    let extra = [(id("orders"), id("payment"))];
    let projection = Projection::new(&graph, &Folding::default(), &extra);
    assert_eq!(projection.nodes.len(), 3);
    let payment = projection
        .find("sock-shop/deploy/payment")
        .expect("payment");
    assert_eq!(projection.nodes[payment].kind, DisplayKind::MetricsOnly);
    let edge = projection
        .edges
        .iter()
        .find(|e| e.to == payment)
        .expect("edge");
    assert!(edge.metrics_only());
}
