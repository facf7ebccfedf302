//! The panes' view caches belong to the app: refreshed by actions and ticks, never by drawing,
//! and scrolled so the selection stays in view.

use super::{at, feed, state};
use crate::app::action::{Action, Pane};
use crate::app::identities::IdentitiesState;
use crate::app::identities::tree::Row;
use crate::app::routes::scroll_to_show;
use crate::model::identities::IdentityTable;
use crate::model::routes::fixtures::sock_shop;

#[test]
fn views_are_refreshed_by_the_app_without_drawing() {
    let mut state = state(100);
    feed(&mut state, 0..5, 200);
    state.handle(Action::ShowPane(Pane::Routes), at(1_000));
    assert_eq!(state.routes_view.rows().len(), 1);
    assert_eq!(state.routes_view.rows()[0].summary.requests, 5);
    state.handle(Action::ShowPane(Pane::Identities), at(1_000));
    assert_eq!(state.identities_view.selected(), ["ns:shop"]);
    state.handle(Action::Down, at(1_000));
    assert_eq!(state.identities_view.selected(), ["ns:shop", "deploy/web"]);
    // New traffic reaches the pane on screen at the next tick.
    feed(&mut state, 5..12, 500);
    state.tick(at(1_500));
    let Some(Row::Namespace { totals, .. }) = state.identities_view.nodes().first().map(|n| &n.row)
    else {
        panic!("a namespace first: {:?}", state.identities_view.nodes());
    };
    assert_eq!(totals.requests, 12);
}

#[test]
fn the_identities_scroll_keeps_the_selection_in_view() {
    let table = IdentityTable::rebuild(&sock_shop());
    let mut view = IdentitiesState::new();
    view.refresh(&table, None, 0, &crate::routestats::Readings::default());
    let page = 5;
    let shown = |view: &IdentitiesState| {
        let index = view
            .visible()
            .iter()
            .position(|(path, _)| path == view.selected())
            .expect("the selection is a visible line");
        (index, view.offset())
    };
    for _ in 0..12 {
        view.key_down();
        view.fit(page);
        let (index, offset) = shown(&view);
        assert!((offset..offset + page).contains(&index), "{index} {offset}");
    }
    let (index, offset) = shown(&view);
    assert_eq!((index, offset), (12, 8), "scrolled just enough");
    // Back up inside the window: it stays put until the selection passes its top.
    view.key_up();
    view.fit(page);
    assert_eq!(shown(&view), (11, 8));
    for _ in 0..4 {
        view.key_up();
        view.fit(page);
    }
    assert_eq!(shown(&view), (7, 7));
}

/// The identities tree pages and jumps with the keys every other list uses.
#[test]
fn the_identities_tree_pages_and_jumps_like_every_list() {
    use crate::app::action::Action;
    let table = IdentityTable::rebuild(&sock_shop());
    let mut view = IdentitiesState::new();
    view.refresh(&table, None, 0, &crate::routestats::Readings::default());
    view.fit(5);
    let index = |view: &IdentitiesState| {
        view.visible()
            .iter()
            .position(|(path, _)| path == view.selected())
            .expect("the selection is a visible line")
    };
    let last = view.visible().len() - 1;
    assert!(last > 10, "enough lines to page: {last}");
    view.on_key(&Action::PageDown);
    assert_eq!(index(&view), 5);
    view.on_key(&Action::PageDown);
    assert_eq!(index(&view), 10);
    view.on_key(&Action::PageUp);
    assert_eq!(index(&view), 5);
    view.on_key(&Action::Bottom);
    assert_eq!(index(&view), last);
    view.on_key(&Action::PageDown);
    assert_eq!(index(&view), last, "clamped at the end");
    view.on_key(&Action::Top);
    assert_eq!(index(&view), 0);
    view.on_key(&Action::PageUp);
    assert_eq!(index(&view), 0, "clamped at the start");
}

#[test]
fn the_routes_scroll_moves_as_little_as_it_can() {
    // In view: unchanged.
    assert_eq!(scroll_to_show(3, Some(5), 20, 6), 3);
    // Below: the selection becomes the last row; above: the first.
    assert_eq!(scroll_to_show(3, Some(12), 20, 6), 7);
    assert_eq!(scroll_to_show(3, Some(1), 20, 6), 1);
    // An offset past the end is pulled back; no selection keeps the offset.
    assert_eq!(scroll_to_show(30, None, 20, 6), 19);
    assert_eq!(scroll_to_show(4, None, 20, 6), 4);
}

/// The map's figures (p99 included) are the app's, computed when its views refresh: a frame
/// only reads them, and new requests reach them at the next tick.
#[test]
fn the_map_figures_are_computed_by_the_app_not_the_frame() {
    let mut state = state(100);
    feed(&mut state, 0..5, 200);
    state.handle(Action::ShowPane(Pane::Map), at(1_000));
    let requests = |state: &crate::app::AppState| -> u64 {
        state
            .map_view
            .figures
            .edges
            .iter()
            .map(|f| f.requests)
            .sum()
    };
    let map = &state.map_view;
    assert_eq!(map.figures.edges.len(), map.projection.edges.len());
    assert!(map.selected_node().is_some());
    assert_eq!(requests(&state), 5);
    assert!(
        map.figures.edges.iter().any(|f| f.p99_us.is_some()),
        "the selected node's edges carry p99: {:?}",
        map.figures.edges
    );
    feed(&mut state, 5..12, 500);
    assert_eq!(requests(&state), 5, "not before the tick");
    state.tick(at(1_500));
    assert_eq!(requests(&state), 12);
}

/// `v` splits the routes by backend and back; regrouping keeps the split.
#[test]
fn v_splits_routes_by_backend_and_regrouping_keeps_it() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut state = state(100);
    feed(&mut state, 0..5, 200);
    state.handle(Action::ShowPane(Pane::Routes), at(1_000));
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        state.action_for_key(&key('v')),
        Some(Action::ToggleBackends)
    );
    assert_eq!(state.action_for_key(&key('r')), Some(Action::CycleGrouping));
    assert!(!state.routes.backends());
    state.handle(Action::ToggleBackends, at(1_000));
    assert!(state.routes.backends());
    // The table was refilled from the store, not emptied.
    assert_eq!(state.routes.stats().recorded, 5);
    state.handle(Action::CycleGrouping, at(1_000));
    assert!(state.routes.backends(), "regrouping keeps the split");
    state.handle(Action::ToggleBackends, at(1_000));
    assert!(!state.routes.backends());
}

/// The request detail names the route, rule, backend and where they came from.
#[test]
fn the_request_detail_names_the_matched_route() {
    use crate::model::routes::fixtures::policy_routed;
    use crate::session::Redactor;
    let requests = policy_routed(0);
    let redactor = Redactor::default();
    let voting = requests
        .iter()
        .find(|r| r.path().ends_with("/VoteDoughnut"))
        .expect("a VoteDoughnut call");
    let nodes = crate::app::detail::nodes(voting, &redactor, false);
    let node = nodes
        .iter()
        .find(|n| n.key == "matched route")
        .expect("a matched route node");
    assert_eq!(
        node.value,
        "GRPCRoute voting-retries rule 0 → voting-svc (policy)"
    );
    let leaf = |key: &str| {
        node.children
            .iter()
            .find(|c| c.key == key)
            .map_or_else(|| panic!("no {key} in {node:?}"), |c| c.value.clone())
    };
    assert!(leaf("source").starts_with("policy: "));
    assert_eq!(leaf("rule"), "0");
    assert_eq!(leaf("parent"), "Service voting-svc:8080");
    assert_eq!(leaf("retry"), "2× on unavailable");
    assert!(leaf("attempts").contains("tapped as a request of its own"));
    // A request no policy routed says it is a template.
    let plain = &sock_shop()[0];
    let nodes = crate::app::detail::nodes(plain, &redactor, false);
    let node = nodes
        .iter()
        .find(|n| n.key == "matched route")
        .expect("node");
    assert!(node.value.ends_with("(template)"), "{}", node.value);
}

#[test]
fn enter_opens_only_a_request_the_list_shows() {
    let mut state = state(100);
    feed(&mut state, 0..5, 200);
    state.handle(Action::Up, at(1_000));
    assert!(state.view.selected.is_some());
    // The selection outlives its row when a filter drops every request.
    state.apply_filter("status=404", at(1_000));
    state.handle(Action::Open, at(1_000));
    assert!(state.overlays.detail().is_none(), "opened a hidden request");
    state.apply_filter("status=200", at(1_000));
    state.handle(Action::Up, at(1_000));
    state.handle(Action::Open, at(1_000));
    assert!(state.overlays.detail().is_some(), "a listed request opens");
}
