//! The request detail follows its request in flight, as explain does: it says so in its title,
//! the sections that arrive late open by themselves unless the user closed them, and it says
//! when the request finished.

use super::{at, request, state};
use crate::app::AppState;
use crate::app::action::Action;
use crate::app::detail::DetailState;
use crate::app::progress::Progress;
use crate::model::event::{Header, HeaderValue, HttpEvent, TapEvent};
use crate::session::SourceMsg;

/// Request 7's events (503), its response carrying a header and its end a trailer, so both
/// grow a section when they arrive.
fn with_headers() -> Vec<TapEvent> {
    let mut events = request(7, 503);
    for event in &mut events {
        match &mut event.http {
            Some(HttpEvent::ResponseInit(init)) => {
                init.headers = vec![Header {
                    name: "content-type",
                    value: HeaderValue::Str("text/plain"),
                }]
                .into();
            }
            Some(HttpEvent::ResponseEnd(end)) => {
                end.trailers = vec![Header {
                    name: "grpc-message",
                    value: HeaderValue::Str("try later"),
                }]
                .into();
            }
            _ => {}
        }
    }
    events
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

fn detail(state: &AppState) -> &DetailState {
    state.overlays.detail().expect("detail open")
}

/// Opens the detail on request 7 (the only one) with only its `request_init` arrived.
fn opened_in_flight() -> (AppState, Vec<TapEvent>) {
    let mut state = state(100);
    let events = with_headers();
    state.ingest(SourceMsg::Events(events[..1].to_vec()), at(0));
    state.handle(Action::Open, at(0));
    assert_eq!(detail(&state).progress, Progress::InFlight);
    (state, events)
}

#[test]
fn late_sections_open_themselves_and_the_title_says_finished() {
    let (mut state, events) = opened_in_flight();
    let headers = path(&["response", "headers"]);
    let trailers = path(&["end", "trailers"]);
    assert!(!detail(&state).opened.contains(&headers));
    state.ingest(SourceMsg::Events(events[1..2].to_vec()), at(5));
    assert!(detail(&state).opened.contains(&headers), "response headers");
    assert_eq!(detail(&state).progress, Progress::InFlight);
    state.ingest(SourceMsg::Events(events[2..].to_vec()), at(10));
    assert!(detail(&state).opened.contains(&trailers), "trailers");
    assert_eq!(detail(&state).progress, Progress::FinishedWhileOpen);
    assert_eq!(detail(&state).progress.label(), " · finished");
}

#[test]
fn a_section_the_user_closed_stays_closed() {
    let (mut state, events) = opened_in_flight();
    // The user closes the response section while waiting.
    let response = path(&["response"]);
    state
        .overlays
        .detail_mut()
        .expect("detail")
        .opened
        .remove(&response);
    state.ingest(SourceMsg::Events(events[1..].to_vec()), at(10));
    let open = detail(&state);
    assert!(!open.opened.contains(&response), "closed by the user");
    // What grew beneath it is open for when the user opens it again; the end's own is open.
    assert!(open.opened.contains(&path(&["end", "trailers"])));
    assert_eq!(open.progress, Progress::FinishedWhileOpen);
}

#[test]
fn a_detail_opened_on_a_finished_request_follows_nothing() {
    let mut state = state(100);
    state.ingest(SourceMsg::Events(with_headers()), at(0));
    state.handle(Action::Open, at(0));
    let open = detail(&state);
    assert_eq!(open.progress, Progress::Done);
    assert_eq!(open.progress.label(), "");
    assert!(open.opened.contains(&path(&["response", "headers"])));
}

#[test]
fn a_request_that_never_ends_is_said_to_have_expired() {
    // A route timeout cancels the request below tap: only its `request_init` is ever seen.
    let (mut state, _) = opened_in_flight();
    state.tick(at(30_000));
    assert_eq!(detail(&state).progress, Progress::InFlight);
    state.tick(at(61_000));
    let open = detail(&state);
    assert_eq!(open.progress, Progress::ExpiredWhileOpen);
    assert_eq!(open.progress.label(), " · expired, no end arrived");
}
