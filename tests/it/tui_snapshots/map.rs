//! The map pane on the demo's simulated traffic (the Sock Shop, emojivoto and the unmeshed load
//! generator): the whole map when it fits, namespaces folded when it does not, moving along
//! edges, and Enter narrowing the requests pane to the selected node.

use meshtap::app::{Action, AppState, Pane};
use meshtap::model::figures::EdgeMetric;
use meshtap::session::SourceMsg;

use super::{Call, SIZES, call, events, render, snapshot_at, state, t0};

/// A few seconds of the simulated mesh, all arriving at `t0` (the conversion stamps them).
fn demo_state(width: u16, height: u16) -> AppState {
    let mut state = state(width, height);
    let events = meshtap_testkit::demo_events(1, 3_000, t0());
    state.ingest(SourceMsg::Events(events), t0());
    state.handle(Action::ShowPane(Pane::Map), t0());
    state
}

fn press(state: &mut AppState, actions: &[Action]) {
    for action in actions {
        state.handle(action.clone(), t0());
    }
}

fn selected_label(state: &AppState) -> String {
    let map = &state.map_view;
    map.selected_node()
        .map(|n| map.projection.nodes[n].label.to_string())
        .unwrap_or_default()
}

#[test]
fn the_demo_mesh_as_a_map() {
    for (width, height) in SIZES {
        let state = demo_state(width, height);
        snapshot_at("map_demo", &state, t0());
    }
}

#[test]
fn moving_along_edges_to_orders_and_enter_shows_its_requests() {
    let mut state = demo_state(160, 48);
    press(&mut state, &[Action::FindPrompt]);
    for c in "front".chars() {
        press(&mut state, &[Action::Input(c)]);
    }
    press(&mut state, &[Action::Submit]);
    assert_eq!(selected_label(&state), "front-end");
    // Right follows an edge to a callee; Up/Down move within its layer until orders.
    press(&mut state, &[Action::Right]);
    for _ in 0..8 {
        if selected_label(&state) == "orders" {
            break;
        }
        press(&mut state, &[Action::Down]);
    }
    assert_eq!(selected_label(&state), "orders");
    snapshot_at("map_orders_selected", &state, t0());
    press(&mut state, &[Action::Open]);
    assert_eq!(state.pane, Pane::Requests);
    let filter = state.filter.as_ref().expect("filter").text.clone();
    assert!(filter.contains("sock-shop/orders"), "{filter}");
    let screen = render(&state, t0());
    let rows: Vec<&str> = screen
        .lines()
        // Request rows start with their time; the header and borders do not.
        .filter(|l| l.starts_with("│12:"))
        .collect();
    assert!(!rows.is_empty(), "{screen}");
    assert!(
        rows.iter().all(|l| l.contains("sock-shop/orders ")),
        "{screen}"
    );
}

#[test]
fn tab_selects_an_edge_and_enter_filters_to_it() {
    let mut state = demo_state(160, 48);
    press(
        &mut state,
        &[
            Action::FindPrompt,
            Action::Input('w'),
            Action::Input('e'),
            Action::Input('b'),
            Action::Submit,
        ],
    );
    assert_eq!(selected_label(&state), "web");
    press(&mut state, &[Action::NextEdge, Action::NextEdge]);
    assert!(state.map_view.selected_edge().is_some());
    snapshot_at("map_edge_selected", &state, t0());
    press(&mut state, &[Action::Open]);
    let filter = state.filter.as_ref().expect("filter").text.clone();
    assert!(
        filter.contains("src=") && filter.contains("dst="),
        "{filter}"
    );
}

#[test]
fn folding_and_zooming() {
    let mut state = demo_state(160, 48);
    let nodes = state.map_view.projection.nodes.len();
    press(&mut state, &[Action::ToggleNamespace]);
    let folded = state.map_view.projection.nodes.len();
    assert!(folded < nodes, "{folded} < {nodes}");
    press(&mut state, &[Action::ToggleNamespace]);
    assert_eq!(state.map_view.projection.nodes.len(), nodes);
    press(&mut state, &[Action::ZoomOut]);
    snapshot_at("map_namespaces", &state, t0());
    let namespaces = state.map_view.projection.nodes.len();
    assert!(namespaces < folded);
    press(&mut state, &[Action::ZoomIn]);
    assert_eq!(state.map_view.projection.nodes.len(), nodes);
}

#[test]
fn a_new_edge_leaves_the_drawn_nodes_where_they_were() {
    let mut state = demo_state(160, 48);
    let places = |state: &AppState| {
        let map = &state.map_view;
        let mut out: Vec<(String, usize, usize)> = map
            .projection
            .nodes
            .iter()
            .zip(&map.layout.nodes)
            .map(|(n, p)| (n.key.to_string(), p.layer, p.row))
            .collect();
        out.sort();
        out
    };
    let before = places(&state);
    let edges = state.map_view.projection.edges.len();
    // catalogue → payment: both drawn already, payment one layer right of catalogue.
    let new = Call {
        from: "catalogue",
        ..call(9_000_000, "payment", "/paymentAuth", 200)
    };
    state.ingest(SourceMsg::Events(events(&new, 0)), t0());
    assert_eq!(state.map_view.projection.edges.len(), edges + 1);
    assert_eq!(places(&state), before);
}

/// Item 9 (the ux walk's D11): edges only the metrics API knows are drawn with the legend's `┈`;
/// under a filter the map says so in its title and leaves them out, as `meshtap map --filter`
/// does, since no filter can ask about them.
#[test]
fn metrics_only_edges_are_dotted_and_a_filtered_map_says_so_and_leaves_them_out() {
    for (width, height) in SIZES {
        let mut state = demo_state(width, height);
        let mut metrics = super::metrics::snapshot();
        // A pair the simulated mesh never calls: only the metrics API knows it.
        metrics.edges.push(EdgeMetric {
            src: super::metrics::deploy("payment"),
            dst: super::metrics::deploy("catalogue-db"),
            client_id: None,
            server_id: None,
            no_identity_msg: None,
        });
        state.ingest(SourceMsg::Metrics(metrics), t0());
        let metrics_only = |state: &AppState| {
            let map = &state.map_view;
            map.projection
                .edges
                .iter()
                .filter(|e| e.metrics_only())
                .count()
        };
        assert!(metrics_only(&state) > 0, "the snapshot names unseen edges");
        let screen = render(&state, t0());
        // The legend holds one `┈`; the metrics-only edges draw more of them.
        assert!(screen.matches('┈').count() > 1, "{screen}");
        snapshot_at("map_metrics_only", &state, t0());

        state.handle(Action::FilterPrompt, t0());
        for c in "ns=emojivoto".chars() {
            state.handle(Action::Input(c), t0());
        }
        state.handle(Action::Submit, t0());
        assert_eq!(state.pane, Pane::Map, "filtering keeps the map in view");
        assert_eq!(metrics_only(&state), 0);
        let map = &state.map_view;
        assert!(
            map.projection
                .nodes
                .iter()
                .all(|n| n.namespace.as_ref() != "sock-shop"),
            "{:?}",
            map.projection.nodes
        );
        let screen = render(&state, t0());
        let title = screen
            .lines()
            .find(|l| l.contains(" Map ·"))
            .expect("title");
        assert!(title.contains("filter ns=emojivoto"), "{title}");
        assert_eq!(
            screen.matches('┈').count(),
            1,
            "only the legend's: {screen}"
        );
        snapshot_at("map_filtered", &state, t0());
    }
}
