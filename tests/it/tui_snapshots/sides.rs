//! Each meshed call counted once where the user counts calls: the `⇄` mark on a call both
//! proxies reported, the detail's `other side` line and its jump, and `D` cycling the panes
//! through both sides, the client's and the server's (issue 24, item 3).

use chrono::{DateTime, Utc};
use meshtap::app::sides::SideView;
use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::{
    Direction, Headers, HttpEvent, Labels, RequestInit, ResponseEnd, ResponseInit, StreamId,
    TapEvent,
};
use meshtap::model::routes::Window;
use meshtap::session::{SourceMsg, StreamState};

use super::{at, endpoint, render, snapshot_at, state, t0};

/// Sizes of this file's snapshots: the smallest supported and a large terminal.
const SIDES_SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

fn identity(sa: &str) -> String {
    format!("{sa}.sock-shop.serviceaccount.identity.linkerd.cluster.local")
}

/// The events of front-end calling `to` on `path`, as the client's proxy reports them (when
/// `client`) and as the server's does (when `server`), interleaved the way they happen.
fn call(
    stream: u64,
    to: &str,
    path: &str,
    (client, server): (bool, bool),
    ms: i64,
) -> Vec<TapEvent> {
    let front = |extra: &[(&str, &str)]| {
        let mut labels = vec![
            ("namespace", "sock-shop"),
            ("deployment", "front-end"),
            ("serviceaccount", "front-end"),
            ("pod", "front-end-6d8f9c7b5-x2x9q"),
        ];
        labels.extend_from_slice(extra);
        endpoint("10.42.0.7", 41_000, &labels)
    };
    let pod = format!("{to}-7c9d-abcde");
    let back = |extra: &[(&str, &str)]| {
        let mut labels = vec![
            ("namespace", "sock-shop"),
            ("deployment", to),
            ("serviceaccount", to),
            ("pod", pod.as_str()),
        ];
        labels.extend_from_slice(extra);
        endpoint("10.42.1.12", 8080, &labels)
    };
    let (client_id, server_id) = (identity("front-end"), identity(to));
    let side = |direction: Direction| {
        let (source, destination) = match direction {
            Direction::Outbound => (
                front(&[("tls", "loopback")]),
                back(&[("server_id", server_id.as_str()), ("tls", "true")]),
            ),
            _ => (
                front(&[("client_id", client_id.as_str()), ("tls", "true")]),
                back(&[]),
            ),
        };
        move |http: HttpEvent, offset: i64| TapEvent {
            cluster: None,
            arrived: at(ms + offset),
            source: source.clone(),
            destination: destination.clone(),
            direction,
            route: Labels::default(),
            http: Some(http),
        }
    };
    let id = StreamId { base: 1, stream };
    let init = || {
        HttpEvent::RequestInit(RequestInit {
            id,
            method: Some("GET".into()),
            scheme: Some("http".into()),
            authority: format!("{to}.sock-shop.svc.cluster.local:80").into(),
            path: path.into(),
            headers: Headers::default(),
            matched_route: None,
        })
    };
    let response = || {
        HttpEvent::ResponseInit(ResponseInit {
            id,
            since_request_init: Some(std::time::Duration::from_millis(4)),
            http_status: 200,
            headers: Headers::default(),
        })
    };
    let end = || {
        HttpEvent::ResponseEnd(ResponseEnd {
            id,
            since_request_init: Some(std::time::Duration::from_millis(5)),
            since_response_init: Some(std::time::Duration::from_millis(1)),
            response_bytes: 1_200,
            eos: None,
            trailers: Headers::default(),
        })
    };
    let (out, inb) = (side(Direction::Outbound), side(Direction::Inbound));
    let mut events = Vec::new();
    if client {
        events.push(out(init(), 0));
    }
    if server {
        events.extend([inb(init(), 1), inb(response(), 2), inb(end(), 3)]);
    }
    if client {
        events.extend([out(response(), 4), out(end(), 5)]);
    }
    events
}

/// Two calls both proxies reported, and one only the client's did (catalogue is not tapped).
fn sides_state(width: u16, height: u16) -> AppState {
    let mut state = state(width, height);
    state.ingest(
        SourceMsg::State {
            stream: 0,
            state: StreamState::Connected,
        },
        t0(),
    );
    let calls = [
        call(
            1,
            "carts",
            "/carts/57a98d98e4b00679b4a830b2/items",
            (true, true),
            0,
        ),
        call(2, "orders", "/orders", (true, true), 50),
        call(3, "catalogue", "/catalogue", (true, false), 100),
    ];
    for events in calls {
        state.ingest(SourceMsg::Events(events), at(200));
    }
    state.tick(at(1_200));
    state
}

fn now() -> DateTime<Utc> {
    at(1_500)
}

fn press(state: &mut AppState, action: Action) {
    state.handle(action, now());
}

#[test]
fn both_sides_are_marked_and_each_view_counts_its_side() {
    for (w, h) in SIDES_SIZES {
        let mut state = sides_state(w, h);
        assert_eq!(state.side, SideView::Both);
        let text = render(&state, now());
        assert!(
            text.contains("Requests 5/5 · both sides · ⇄ seen by both proxies"),
            "{text}"
        );
        // Both calls seen twice carry the mark on each side; catalogue's does not.
        assert_eq!(text.matches("out⇄").count(), 2, "{text}");
        assert_eq!(text.matches("in ⇄").count(), 2, "{text}");
        snapshot_at("sides_both", &state, now());

        press(&mut state, Action::CycleSide);
        assert_eq!(state.side, SideView::Client);
        let text = render(&state, now());
        assert!(text.contains("Requests 3/5 · client side"), "{text}");
        assert!(!text.contains("in ⇄"), "{text}");
        snapshot_at("sides_client", &state, now());

        press(&mut state, Action::CycleSide);
        assert_eq!(state.side, SideView::Server);
        let text = render(&state, now());
        assert!(text.contains("Requests 2/5 · server side"), "{text}");
        snapshot_at("sides_server", &state, now());

        press(&mut state, Action::CycleSide);
        assert_eq!(state.side, SideView::Both);
    }
}

#[test]
fn routes_and_identities_count_the_chosen_side_and_say_so() {
    let mut state = sides_state(80, 24);
    press(&mut state, Action::ShowPane(Pane::Identities));
    let both = state.identities.len();
    assert_eq!(both, 5, "two calls on both sides, one on the client's");
    press(&mut state, Action::CycleSide);
    let text = render(&state, now());
    assert!(
        text.contains("Identities · client side · 3 edges"),
        "{text}"
    );
    snapshot_at("sides_identities_client", &state, now());
    // The map draws each call once whatever the view: the client's view agrees with it.
    assert_eq!(state.identities.len(), state.map.edges().len());
    press(&mut state, Action::ShowPane(Pane::Routes));
    let text = render(&state, now());
    assert!(text.contains("Routes · client side"), "{text}");
    let requests: u64 = state
        .routes
        .rows(now(), Window::Capture)
        .iter()
        .map(|row| row.summary.requests)
        .sum();
    assert_eq!(requests, 3);
}

#[test]
fn the_detail_names_the_other_side_and_o_selects_it() {
    let mut state = sides_state(200, 50);
    // The first request is carts' outbound side; its inbound side is #1.
    press(&mut state, Action::Top);
    press(&mut state, Action::Open);
    let text = render(&state, now());
    assert!(
        text.contains("other side")
            && text.contains("#1: in sock-shop/front-end → sock-shop/carts"),
        "{text}"
    );
    snapshot_at("sides_detail", &state, now());
    press(&mut state, Action::OtherSide);
    assert_eq!(state.overlays.detail().map(|d| d.seq), Some(1));
    assert_eq!(state.view.selected, Some(1));
    // From the client's view the jump shows both sides again rather than a hidden row.
    press(&mut state, Action::Back);
    press(&mut state, Action::Top);
    press(&mut state, Action::CycleSide);
    press(&mut state, Action::OtherSide);
    assert_eq!(state.side, SideView::Both);
    assert_eq!(state.view.selected, Some(1));
}

#[test]
fn a_chosen_side_joins_the_users_filter() {
    let mut state = sides_state(80, 24);
    state.apply_filter("path~/orders", now());
    assert_eq!(state.view.rows(&state.store).len(), 2);
    press(&mut state, Action::CycleSide);
    assert_eq!(state.view.rows(&state.store).len(), 1);
    let text = render(&state, now());
    assert!(text.contains("Requests 1/5 · client side"), "{text}");
    // Clearing the filter keeps the side.
    press(&mut state, Action::ClearFilter);
    assert_eq!(state.view.rows(&state.store).len(), 3);
}

#[test]
fn in_the_demo_the_clients_view_has_the_maps_edges() {
    let mut state = state(160, 48);
    let events = meshtap_testkit::demo_events(1, 3_000, t0());
    state.ingest(SourceMsg::Events(events), t0());
    assert!(
        state.store.sides_stats().paired > 0,
        "the demo's meshed calls are paired: {:?}",
        state.store.sides_stats()
    );
    let both = state.identities.len();
    press(&mut state, Action::CycleSide);
    let client = state.identities.len();
    assert!(client < both, "{client} edges of {both}");
    assert_eq!(client, state.map.edges().len());
}
