//! Filters on time (`age<`, `since=-2m`) follow the session clock: rows leave the list and the
//! stats as they age, with nothing else happening; a replay counts back from its own last event.

use chrono::TimeDelta;

use super::{at, request, state};
use crate::app::AppState;
use crate::app::action::{Action, Pane};
use crate::session::{Clock, ClockKind, SourceMsg};

/// Request `stream` (status 200), its events arriving at `ms`.
fn arrive(state: &mut AppState, stream: u64, ms: i64) {
    let mut events = request(stream, 200);
    for event in &mut events {
        event.arrived = at(ms);
    }
    state.ingest(SourceMsg::Events(events), at(ms));
}

fn listed(state: &AppState) -> usize {
    state.view.rows(&state.store).len()
}

#[test]
fn an_age_filter_lets_rows_go_as_the_wall_clock_moves() {
    let mut state = state(100);
    arrive(&mut state, 1, 0);
    arrive(&mut state, 2, 20_000);
    state.apply_filter("age<30s", at(25_000));
    assert_eq!(listed(&state), 2, "both started less than 30 s ago");
    // Ten seconds on, request 1 is 35 s old; nothing arrived meanwhile.
    assert!(state.tick(at(35_000)));
    assert_eq!(listed(&state), 1);
    state.handle(Action::ShowPane(Pane::Routes), at(35_000));
    assert_eq!(
        state.routes_view.rows()[0].summary.requests,
        1,
        "the stats count what the list shows"
    );
    state.tick(at(60_000));
    assert_eq!(listed(&state), 0);
}

#[test]
fn an_absolute_moment_stays_put_and_a_time_of_day_is_read_on_the_nearest_day() {
    let mut state = state(100);
    arrive(&mut state, 1, 0);
    arrive(&mut state, 2, 20_000);
    state.apply_filter("since=1970-01-01T00:00:10Z", at(25_000));
    assert_eq!(listed(&state), 1);
    state.tick(at(0) + TimeDelta::days(2));
    assert_eq!(listed(&state), 1, "an RFC 3339 moment never moves");

    state.apply_filter("since=00:00:10", at(25_000));
    assert_eq!(listed(&state), 1);
    state.tick(at(0) + TimeDelta::hours(11));
    assert_eq!(listed(&state), 1, "00:00:10 is still this morning's");
    // Thirteen hours on, the nearest 00:00:10 is the coming night's: nothing started since.
    state.tick(at(0) + TimeDelta::hours(13));
    assert_eq!(listed(&state), 0);
}

#[test]
fn a_replay_counts_back_from_its_last_event_not_the_wall_clock() {
    let mut state = state(100);
    state.clock = Clock::new(ClockKind::Event);
    arrive(&mut state, 1, 0);
    arrive(&mut state, 2, 50_000);
    arrive(&mut state, 3, 60_000);
    // A year later by the wall clock, the capture's clock reads 00:01:00.
    let wall = at(0) + TimeDelta::days(365);
    state.apply_filter("since=-30s", wall);
    assert_eq!(
        listed(&state),
        2,
        "requests 2 and 3 started in the capture's last 30 s"
    );
    state.tick(wall + TimeDelta::seconds(5));
    assert_eq!(listed(&state), 2, "the capture's clock has not moved");
    // `:export --filtered` writes what the list shows, as of the same clock reading.
    assert_eq!(state.view.as_of(), at(60_000));
}

/// D12: explain opened on a request in flight follows it: its events arriving later make it say
/// the outcome, and the view says it finished.
#[test]
fn explain_follows_its_request_until_it_finishes() {
    use crate::app::progress::Progress;

    let mut state = state(100);
    let events = request(7, 503);
    let (first, rest) = events.split_at(1);
    state.ingest(SourceMsg::Events(first.to_vec()), at(0));
    state.handle(Action::Explain, at(0));
    let text = |state: &AppState| {
        let open = state.overlays.explain().expect("explain open");
        (format!("{:?}", open.statements), open.progress)
    };
    let (before, progress) = text(&state);
    assert!(before.contains("Not finished"), "{before}");
    assert_eq!(progress, Progress::InFlight);
    state.ingest(SourceMsg::Events(rest.to_vec()), at(10));
    let (after, progress) = text(&state);
    assert!(!after.contains("Not finished"), "{after}");
    assert!(after.contains("503"), "{after}");
    assert_eq!(progress, Progress::FinishedWhileOpen);
}
