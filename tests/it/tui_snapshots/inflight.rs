//! Issue 24 items 4 and 8: the request detail while its request is in flight (it says so, then
//! grows the response and end as they arrive and says it finished), and a refused filter's
//! error in the status bar at 80 columns, where the prompt covers the line it used to take.

use meshtap::app::Action;
use meshtap::session::SourceMsg;

use super::{at, call, events, feed, render, snapshot_at, state};

#[test]
fn the_detail_follows_its_request_in_flight() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut state = state(w, h);
        let mut slow = call(0, "carts", "/carts/57a98d98e4b00679b4a830b2", 504);
        slow.latency_ms = 2_000;
        let all = events(&slow, 0);
        // Only its request_init has arrived.
        let mut open = call(0, "carts", "/carts/57a98d98e4b00679b4a830b2", 504);
        open.status = None;
        open.ended = false;
        feed(&mut state, &[open]);
        state.handle(Action::Top, at(1_300));
        state.handle(Action::Open, at(1_300));
        let before = render(&state, at(1_500));
        assert!(before.contains("Request #0 · in flight"), "{before}");
        assert!(before.contains("no response yet (in flight)"), "{before}");
        snapshot_at("detail_in_flight", &state, at(1_500));
        // The response and its end arrive two seconds later: a 504, like carts' 2 s timeout.
        state.ingest(SourceMsg::Events(all[1..].to_vec()), at(2_100));
        let after = render(&state, at(2_200));
        assert!(after.contains("Request #0 · finished"), "{after}");
        assert!(after.contains("status: 504"), "{after}");
        // The response headers arrived after the detail opened, and are shown open.
        assert!(after.contains("content-type: application/json"), "{after}");
        snapshot_at("detail_finished", &state, at(2_200));
    }
}

#[test]
fn a_refused_filter_says_why_at_80_columns() {
    for (w, h) in [(80, 24), (100, 30)] {
        let mut state = state(w, h);
        feed(&mut state, &[call(0, "carts", "/carts/1", 200)]);
        state.handle(Action::FilterPrompt, at(1_300));
        for c in "path~carts and method=POST and latency>2s and statu=5xx".chars() {
            state.handle(Action::Input(c), at(1_300));
        }
        state.handle(Action::Submit, at(1_300));
        assert!(state.overlays.prompt().is_some(), "the prompt stays open");
        let text = render(&state, at(1_400));
        let status = text.lines().rev().nth(1).expect("status line 1");
        assert!(
            status.contains("filter: unknown field \"statu\""),
            "{status}"
        );
        assert!(status.chars().count() <= usize::from(w), "{status}");
        // Cut, it ends with … and never inside a number.
        if status.contains('…') {
            assert!(status.ends_with('…'), "{status}");
            assert!(
                !status
                    .trim_end_matches('…')
                    .ends_with(|c: char| c.is_ascii_digit()),
                "{status}"
            );
        }
        snapshot_at("filter_refused", &state, at(1_400));
    }
}
