use hdrhistogram::Histogram;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::model::event::Direction;
use crate::model::routes::Grouping;
use crate::model::routes::fixtures::{at, sock_shop};

fn orders_key(table: &RouteTable) -> RouteKey {
    table
        .rows(at(59), Window::Capture)
        .into_iter()
        .map(|r| r.key)
        .find(|k| k.label() == "orders POST /orders" && k.direction == Direction::Outbound)
        .expect("orders route")
}

fn draw(
    table: &RouteTable,
    key: &RouteKey,
    state: &mut RouteDetailState,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let theme = Theme::monochrome();
    // The app's half: the selection brought up to date with the route's samples.
    state.sync(table.get(key));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| {
            frame.render_widget(
                RouteDetail::new(table, key, state, at(59), &theme),
                frame.area(),
            );
        })
        .expect("draw");
    terminal
}

#[test]
fn snapshot_detail_80x24() {
    let table = RouteTable::rebuild(Grouping::Route, &sock_shop());
    let key = orders_key(&table);
    let mut state = RouteDetailState::default();
    insta::assert_snapshot!(draw(&table, &key, &mut state, 80, 24).backend());
}

#[test]
fn snapshot_detail_160x48() {
    let table = RouteTable::rebuild(Grouping::Route, &sock_shop());
    let key = orders_key(&table);
    let mut state = RouteDetailState::default();
    // Past the eight slowest: the second recent failure.
    state.sync(table.get(&key));
    state.move_by(9);
    insta::assert_snapshot!(draw(&table, &key, &mut state, 160, 48).backend());
}

#[test]
fn a_vanished_route_says_so() {
    let table = RouteTable::rebuild(Grouping::Route, &sock_shop());
    let key = orders_key(&table);
    let empty = RouteTable::new(Grouping::Route);
    let mut state = RouteDetailState::default();
    let terminal = draw(&empty, &key, &mut state, 80, 6);
    assert!(
        terminal
            .backend()
            .to_string()
            .contains("no longer in the table")
    );
    assert_eq!(state.selected_seq(), None);
}

#[test]
fn samples_are_selectable_by_seq() {
    let table = RouteTable::rebuild(Grouping::Route, &sock_shop());
    let key = orders_key(&table);
    let stats = table.get(&key).expect("stats");
    let mut state = RouteDetailState::default();
    draw(&table, &key, &mut state, 80, 24);
    assert_eq!(state.selected_seq(), stats.slowest.first().map(|s| s.seq));
    state.move_by(stats.slowest.len().cast_signed());
    assert_eq!(
        state.selected_seq(),
        stats.recent_failures().next().map(|s| s.seq)
    );
    state.move_by(1_000);
    assert_eq!(
        state.selected_seq(),
        stats.recent_failures().last().map(|s| s.seq)
    );
}

#[test]
fn the_cursor_stays_on_its_request_when_samples_reorder() {
    let requests = sock_shop();
    let mut table = RouteTable::rebuild(Grouping::Route, &requests);
    let key = orders_key(&table);
    let mut state = RouteDetailState::default();
    state.sync(table.get(&key));
    state.move_by(2);
    let picked = state.selected_seq();
    // A new slowest request goes in front of the one under the cursor.
    let slowest = table.get(&key).expect("stats").slowest[0].seq;
    let mut slower = requests
        .iter()
        .find(|r| r.seq == slowest)
        .expect("request")
        .clone();
    slower.seq = 1_000_000;
    if let Some(response) = &mut slower.response {
        response.since_request_init = Some(std::time::Duration::from_secs(60));
    }
    table.record(&slower);
    assert_eq!(table.get(&key).expect("stats").slowest[0].seq, 1_000_000);
    state.sync(table.get(&key));
    assert_eq!(state.selected_seq(), picked);
    state.sync(None);
    assert_eq!(state.selected_seq(), None);
}

#[test]
fn latency_bins_follow_a_1_2_5_series_and_keep_every_count() {
    let mut hist = Histogram::<u64>::new(2).expect("hist");
    for us in [150, 900, 1_000, 4_000, 4_500, 19_000, 90_000] {
        hist.record(us).expect("record");
    }
    let bins = latency_bins(&hist, 20);
    let edges: Vec<u64> = bins.iter().map(|b| b.0).collect();
    assert_eq!(
        edges,
        [
            200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000
        ]
    );
    let counts: Vec<u64> = bins.iter().map(|b| b.1).collect();
    assert_eq!(counts, [1, 0, 2, 0, 2, 0, 1, 0, 1]);
    let merged = latency_bins(&hist, 4);
    assert!(merged.len() <= 4);
    assert_eq!(merged.iter().map(|b| b.1).sum::<u64>(), 7);
    assert_eq!(merged.last().map(|b| b.0), Some(100_000));
}

/// A policy route's detail names its route, parent, rule and backend, what the rule configures,
/// and that retries are separate requests.
#[test]
fn a_policy_routes_detail_names_what_it_is() {
    use crate::model::routes::fixtures::policy_routed;
    let table = RouteTable::new(Grouping::Route)
        .by_backend(true)
        .refill(&policy_routed(0));
    let rows = table.rows(at(59), Window::Capture);
    let find = |label: &str| {
        rows.iter()
            .map(|r| r.key.clone())
            .find(|k| k.label() == label)
            .unwrap_or_else(|| panic!("no row {label}"))
    };
    let mut state = RouteDetailState::default();
    let screen = |key: &RouteKey, state: &mut RouteDetailState| {
        let terminal = draw(&table, key, state, 160, 30);
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    };
    let carts = screen(
        &find("carts:80 HTTPRoute carts-timeouts rule 0 → carts"),
        &mut state,
    );
    assert!(
        carts.contains(
            "HTTPRoute carts-timeouts (gateway.networking.k8s.io) on Service sock-shop/carts:80 · rule 0 · backend carts"
        ),
        "{carts}"
    );
    assert!(carts.contains("timeout request 2s · retry none"), "{carts}");
    assert!(
        carts.contains("each retry is tapped as a request of its own"),
        "{carts}"
    );
    let split = screen(
        &find("catalogue:80 HTTPRoute catalogue-split rule 1 → catalogue-v2"),
        &mut state,
    );
    assert!(
        split.contains("· rule 1 · backend catalogue-v2, weight 10 of 100"),
        "{split}"
    );
    let voting = screen(
        &find("voting-svc:8080 GRPCRoute voting-retries rule 0 → voting-svc"),
        &mut state,
    );
    assert!(voting.contains("retry 2× on unavailable"), "{voting}");
    // The older rows have no such lines.
    let table = RouteTable::rebuild(Grouping::Route, &sock_shop());
    assert!(table.matched(&orders_key(&table)).is_none());
}
