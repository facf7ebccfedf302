//! The trace waterfall (`t`): the requests of one trace in time order, bars on a time axis.

use super::*;

const TRACE_A: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_B: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The events of `c` with a `traceparent` header added to its request.
fn traced(c: &Call, ms: i64, traceparent: Option<&str>) -> Vec<TapEvent> {
    let mut out = events(c, ms);
    for event in &mut out {
        if let (Some(HttpEvent::RequestInit(init)), Some(value)) = (&mut event.http, traceparent) {
            let headers: Headers = init
                .headers
                .iter()
                .chain([Header {
                    name: "traceparent",
                    value: HeaderValue::Str(value),
                }])
                .collect();
            init.headers = headers;
        }
    }
    out
}

fn traced_state(width: u16, height: u16) -> AppState {
    let mut state = state(width, height);
    let mut slow = call(1, "carts", "/carts/57a98d98e4b00679b4a830b2/items", 200);
    slow.latency_ms = 120;
    let calls = [
        (call(0, "catalogue", "/catalogue", 200), 0, Some(TRACE_A)),
        (slow, 15, Some(TRACE_A)),
        (call(2, "orders", "/orders", 503), 60, Some(TRACE_A)),
        (call(3, "user", "/customers/1", 200), 70, None),
        (
            call(4, "catalogue", "/catalogue/size", 200),
            80,
            Some(TRACE_B),
        ),
    ];
    for (c, ms, header) in &calls {
        state.ingest(SourceMsg::Events(traced(c, *ms, *header)), at(*ms));
    }
    state
}

#[test]
fn the_waterfall_shows_every_request_of_the_trace() {
    for (width, height) in SIZES {
        let mut state = traced_state(width, height);
        state.handle(Action::Top, at(500));
        state.handle(Action::Trace, at(500));
        let open = state.trace.as_ref().expect("trace open");
        assert_eq!(
            open.requests.len(),
            3,
            "the other trace and the untraced call stay out"
        );
        snapshot("trace_waterfall", &state);
        state.handle(Action::Back, at(500));
        assert!(state.trace.is_none(), "Esc closes it");
    }
}

#[test]
fn a_request_without_trace_headers_says_so() {
    let mut state = traced_state(80, 24);
    state.handle(Action::Top, at(500));
    for _ in 0..3 {
        state.handle(Action::Down, at(500));
    }
    state.handle(Action::Trace, at(500));
    assert!(state.trace.is_none());
    let text = render(&state, at(500));
    assert!(text.contains("no trace header"), "{text}");
}
