//! The routes pane's detail (Enter on a route) and the jump from one of its slow or failing
//! requests to the requests pane; the identities pane's quick filter on an edge.

use meshtap::app::action::QuickField;
use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::Eos;
use meshtap::model::request::Request;
use meshtap::session::SessionInfo;

use super::{Call, SIZES, at, call, feed, render, snapshot_at, state};

/// When the tests act and look: after the last call of [`busy`].
const NOW_MS: i64 = 10_500;

/// Ten seconds of front-end traffic to four services: mostly fast, some 404s and 503s, a few
/// slow calls, a reset and a gRPC Unavailable, so every route has slow and failing requests.
fn busy() -> Vec<Call> {
    let services = [
        ("catalogue", "/catalogue"),
        ("carts", "/carts/57a98d98e4b00679b4a830b2/items"),
        ("orders", "/orders"),
        ("user", "/customers/57a98d98e4b00679b4a830af"),
    ];
    (0..200)
        .map(|stream| {
            let (to, path) = services[usize::try_from(stream % 4).expect("small")];
            let mut c = call(stream, to, path, 200);
            c.latency_ms = 4 + stream * 37 % 90;
            if stream % 11 == 0 {
                c.status = Some(503);
            } else if stream % 23 == 5 {
                c.status = Some(404);
            }
            if stream % 19 == 7 {
                c.latency_ms = 900 + stream * 13 % 1_300;
            }
            match stream {
                42 => c.eos = Some(Eos::Reset(2)),
                87 => c.eos = Some(Eos::Grpc(14)),
                _ => {}
            }
            c
        })
        .collect()
}

fn busy_state(width: u16, height: u16) -> AppState {
    let mut state = state(width, height);
    feed(&mut state, &busy());
    state.handle(Action::ShowPane(Pane::Routes), at(NOW_MS));
    state
}

fn selected_sample(state: &AppState) -> Option<u64> {
    state
        .overlays
        .route_detail()
        .and_then(|open| open.state.selected_seq())
}

#[test]
fn route_detail_beside_or_over_the_list() {
    for (w, h) in SIZES {
        let mut state = busy_state(w, h);
        state.handle(Action::Open, at(NOW_MS));
        let key = state.overlays.route_detail().map(|o| o.key.label());
        assert_eq!(key.as_deref(), Some("carts GET /carts/{id}/items"));
        snapshot_at("route_detail", &state, at(NOW_MS));
        // Wide terminals keep the list beside the detail, narrow ones cover it.
        let text = render(&state, at(NOW_MS));
        assert_eq!(
            text.contains("Routes · both sides · by route"),
            w >= 140,
            "{text}"
        );
        state.handle(Action::Back, at(NOW_MS));
        assert!(state.overlays.route_detail().is_none());
        assert_eq!(state.pane, Pane::Routes);
    }
}

#[test]
fn enter_on_a_slow_request_selects_it_in_the_requests_pane() {
    let mut state = busy_state(160, 48);
    state.handle(Action::Open, at(NOW_MS));
    state.handle(Action::Down, at(NOW_MS));
    let seq = selected_sample(&state).expect("a slow request");
    let latency = state.store.get(seq).and_then(Request::latency);
    assert!(latency.is_some_and(|l| l.as_millis() >= 900), "{latency:?}");
    state.handle(Action::Open, at(NOW_MS));
    assert_eq!(state.pane, Pane::Requests);
    assert_eq!(state.view.selected, Some(seq));
    assert!(!state.view.following, "following would move off it");
    snapshot_at("route_jump", &state, at(NOW_MS));
    // More traffic does not move it; the route detail is still open on the routes pane.
    feed(&mut state, &[call(500, "catalogue", "/catalogue", 200)]);
    assert_eq!(state.view.selected, Some(seq));
    state.handle(Action::ShowPane(Pane::Routes), at(NOW_MS));
    assert_eq!(selected_sample(&state), Some(seq));
}

#[test]
fn a_request_that_cannot_be_shown_says_why() {
    // Held: the newest 60 only. Most of the route's slowest calls are older and were evicted.
    let mut state = meshtap_testkit::app(60, SessionInfo::default(), 80, 24, at(0));
    feed(&mut state, &busy());
    state.handle(Action::ShowPane(Pane::Routes), at(NOW_MS));
    state.handle(Action::Open, at(NOW_MS));
    // Down the slowest list to the first request no longer held.
    let mut seq = selected_sample(&state).expect("a slow request");
    for _ in 0..16 {
        if state.store.get(seq).is_none() {
            break;
        }
        state.handle(Action::Down, at(NOW_MS));
        seq = selected_sample(&state).expect("a slow request");
    }
    assert!(state.store.get(seq).is_none(), "#{seq} should be evicted");
    state.handle(Action::Open, at(NOW_MS));
    assert_eq!(state.pane, Pane::Routes);
    let message = state.message.as_ref().map(|m| m.text.clone());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains(&format!("#{seq} is no longer held"))),
        "{message:?}"
    );
}

#[test]
fn the_identities_pane_filters_requests_to_an_edge() {
    let mut state = busy_state(160, 48);
    state.handle(Action::ShowPane(Pane::Identities), at(NOW_MS));
    // Draw once so the tree has its rows; then namespace → workload → its first edge.
    render(&state, at(NOW_MS));
    state.handle(Action::Down, at(NOW_MS));
    state.handle(Action::Down, at(NOW_MS));
    state.handle(Action::Quick(QuickField::Edge), at(NOW_MS));
    assert_eq!(state.pane, Pane::Requests);
    let text = state.filter.as_ref().map(|f| f.text.clone());
    assert_eq!(
        text.as_deref(),
        Some("src=sock-shop/front-end and dst=sock-shop/carts and dir=out")
    );
    let shown = state.view.rows(&state.store).len();
    assert_eq!(shown, 50, "every call to carts, and nothing else");
}

#[test]
fn a_request_newer_than_the_paused_view_is_not_jumped_to() {
    let mut state = busy_state(80, 24);
    state.handle(Action::Pause, at(NOW_MS));
    // After the pause: the slowest carts call yet.
    let mut slow = call(300, "carts", "/carts/57a98d98e4b00679b4a830b2/items", 200);
    slow.latency_ms = 9_000;
    feed(&mut state, &[slow]);
    state.handle(Action::Open, at(NOW_MS));
    let seq = selected_sample(&state).expect("a slow request");
    assert!(
        state
            .store
            .get(seq)
            .and_then(Request::latency)
            .is_some_and(|l| l.as_secs() == 9)
    );
    state.handle(Action::Open, at(NOW_MS));
    assert_eq!(state.pane, Pane::Routes);
    let message = state.message.as_ref().map(|m| m.text.clone());
    assert_eq!(
        message,
        Some(format!("request #{seq} is newer than the paused view"))
    );
}

#[test]
fn the_requests_pane_filters_to_the_selected_edge() {
    let mut state = busy_state(80, 24);
    state.handle(Action::ShowPane(Pane::Requests), at(NOW_MS));
    state.handle(Action::Top, at(NOW_MS));
    state.handle(Action::Quick(QuickField::Edge), at(NOW_MS));
    let text = state.filter.as_ref().map(|f| f.text.clone());
    assert_eq!(
        text.as_deref(),
        Some("src=sock-shop/front-end and dst=sock-shop/catalogue and dir=out")
    );
    assert_eq!(state.view.rows(&state.store).len(), 50);
}

#[test]
fn help_lists_the_route_detail_keys() {
    let state = busy_state(80, 24);
    let help: Vec<String> = meshtap::ui::help::lines(&state)
        .iter()
        .map(ToString::to_string)
        .collect();
    let section = help
        .iter()
        .position(|l| l == "Route detail")
        .expect("section");
    assert!(
        help[section..]
            .iter()
            .any(|l| l.contains("Enter") && l.contains("Show this request in the requests pane")),
        "{help:#?}"
    );
}

#[test]
fn on_a_workload_the_filter_matches_what_the_tree_counts_under_it() {
    let mut state = busy_state(160, 48);
    state.handle(Action::ShowPane(Pane::Identities), at(NOW_MS));
    render(&state, at(NOW_MS));
    state.handle(Action::Down, at(NOW_MS));
    state.handle(Action::Quick(QuickField::Edge), at(NOW_MS));
    let text = state.filter.as_ref().map(|f| f.text.clone());
    assert_eq!(
        text.as_deref(),
        Some("src=sock-shop/front-end and dir=out or dst=sock-shop/front-end and dir=in")
    );
    assert_eq!(state.view.rows(&state.store).len(), 200);
}

/// Issue 24 item 4: the error-rate sparkline beside the RPS one, with its legend in the header;
/// at 80 columns it is the first to go and the numbers stay whole.
#[test]
fn the_error_rate_sparkline_sits_beside_rps() {
    for (w, h) in [(80, 24), (200, 50)] {
        let state = busy_state(w, h);
        let text = render(&state, at(NOW_MS));
        let header = text
            .lines()
            .find(|l| l.starts_with("│Route "))
            .expect("header row");
        assert_eq!(header.contains("RPS last 20 s"), w >= 200, "{header}");
        assert_eq!(header.contains("Error % last 20 s"), w >= 200, "{header}");
        if w >= 200 {
            // Every route has 503s: each row draws some error bars after its RPS bars.
            let carts = text
                .lines()
                .find(|l| l.contains("carts GET"))
                .expect("carts row");
            let bars = |column: usize| {
                let start = header.find(if column == 0 { "RPS last" } else { "Error %" });
                let start = header[..start.expect("column")].chars().count();
                carts.chars().skip(start).take(20).collect::<String>()
            };
            assert!(bars(0).trim().chars().count() >= 5, "RPS bars: {carts}");
            let errors = bars(1);
            assert!(errors.trim().chars().count() > 0, "error bars: {carts}");
            assert!(errors.chars().all(|c| " ▁▂▃▄▅▆▇█".contains(c)), "{errors}");
        } else {
            assert!(header.contains("P99"), "{header}");
        }
        snapshot_at("routes_error_sparkline", &state, at(NOW_MS));
    }
}
