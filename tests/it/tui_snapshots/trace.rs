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
        let open = state.overlays.trace().expect("trace open");
        assert_eq!(
            open.requests.len(),
            3,
            "the other trace and the untraced call stay out"
        );
        snapshot("trace_waterfall", &state);
        state.handle(Action::Back, at(500));
        assert!(state.overlays.trace().is_none(), "Esc closes it");
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
    assert!(state.overlays.trace().is_none());
    let text = render(&state, at(500));
    assert!(text.contains("no trace header"), "{text}");
}

#[test]
fn the_waterfall_has_its_own_keys() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let key = |state: &AppState, code| {
        state
            .action_for_key(&KeyEvent::new(code, KeyModifiers::NONE))
            .expect("bound")
    };
    let mut state = traced_state(160, 48);
    state.handle(Action::Top, at(500));
    let behind = state.view.selected;
    state.handle(Action::Trace, at(500));
    assert_eq!(state.overlays.trace().map(|t| t.selected), Some(0));
    // j moves the highlight in the waterfall, not the list behind it.
    for code in [KeyCode::Char('j'), KeyCode::Down, KeyCode::Char('j')] {
        let action = key(&state, code);
        state.handle(action, at(500));
    }
    assert_eq!(
        state.overlays.trace().map(|t| t.selected),
        Some(2),
        "stops at the last"
    );
    assert_eq!(state.view.selected, behind, "the list behind stays put");
    let action = key(&state, KeyCode::Char('k'));
    state.handle(action, at(500));
    assert_eq!(state.overlays.trace().map(|t| t.selected), Some(1));
    let text = render(&state, at(500));
    assert!(text.contains("Enter: detail"), "{text}");
    // Enter opens the highlighted request's detail: the slow carts call.
    let wanted = state.overlays.trace().map(|t| t.requests[1].seq);
    let action = key(&state, KeyCode::Enter);
    state.handle(action, at(500));
    assert!(
        state.overlays.trace().is_none(),
        "Enter closes the waterfall"
    );
    assert_eq!(state.overlays.detail().map(|d| d.seq), wanted);
    // q closes it rather than quitting.
    state.handle(Action::Back, at(500));
    state.handle(Action::Trace, at(500));
    assert!(state.overlays.trace().is_some());
    let action = key(&state, KeyCode::Char('q'));
    state.handle(action, at(500));
    assert!(
        state.overlays.trace().is_none() && !state.quit,
        "q closes, not quits"
    );
}

/// The demo's simulated apps propagate `traceparent`: a request made while serving another
/// joins its trace, and both proxies' events of a hop carry the same header.
#[test]
fn the_demo_mesh_yields_traces_that_span_several_requests() {
    use std::collections::HashMap;
    use std::sync::Arc;

    use meshtap::demo::mesh::Mesh;
    use meshtap::demo::sim::DEFAULT_RATE;
    use meshtap::demo::tapper::{Session, TICK_NS};
    use meshtap::model::request::workload;
    use meshtap::source::frames::{self, ModelFrame};
    use meshtap::source::wire::Interner;

    let mut session = Session::everything(Arc::new(Mesh::demo()), 7, DEFAULT_RATE);
    let mut interner = Interner::default();
    let mut buf = bytes::BytesMut::new();
    let mut state = state(160, 48);
    // Ten simulated seconds: a few hundred calls, well within the store's 1,000 requests.
    for _ in 0..10_000_000_000 / TICK_NS {
        session.advance(TICK_NS, &mut buf);
        let mut batch = Vec::new();
        while buf.len() >= 4 {
            let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            let frame = buf.split_to(4 + len);
            if let Ok(ModelFrame::Event(event)) =
                frames::decode_fast(&mut interner, &frame[4..], t0())
            {
                batch.push(event);
            }
        }
        state.ingest(SourceMsg::Events(batch), t0());
    }
    let mut traces: HashMap<_, Vec<u64>> = HashMap::new();
    let mut untraced = 0;
    for request in state.store.requests() {
        match meshtap::trace::trace_id(request) {
            Some(id) => traces.entry(id).or_default().push(request.seq),
            None => untraced += 1,
        }
    }
    assert!(
        !traces.is_empty() && untraced > 0,
        "a fraction of traces is traced"
    );
    // The widest trace: calls to several workloads (front-end → orders → payment …).
    let (_, seqs) = traces
        .iter()
        .max_by_key(|(id, seqs)| (seqs.len(), **id))
        .expect("a trace");
    let servers: std::collections::BTreeSet<String> = seqs
        .iter()
        .filter_map(|&seq| state.store.get(seq))
        .filter_map(|r| workload(&r.destination).map(|(_, _, name)| name.to_owned()))
        .collect();
    assert!(servers.len() >= 2, "one trace across {servers:?}");
    assert!(
        seqs.len() >= 4,
        "{} requests in the widest trace",
        seqs.len()
    );
    // Both proxies of a hop: the same traceparent, outbound and inbound.
    let header = |seq: u64| {
        let request = state.store.get(seq)?;
        let init = request.init.as_ref()?;
        let value = init.headers.iter().find(|h| h.name == "traceparent")?;
        Some((format!("{:?}", value.value), request.direction))
    };
    let mut by_header: HashMap<String, Vec<Direction>> = HashMap::new();
    for (value, direction) in seqs.iter().filter_map(|&seq| header(seq)) {
        by_header.entry(value).or_default().push(direction);
    }
    assert!(
        by_header
            .values()
            .any(|d| d.contains(&Direction::Outbound) && d.contains(&Direction::Inbound)),
        "{by_header:?}"
    );
    // And the waterfall opens on it.
    let first = seqs.iter().copied().min().expect("a request");
    state.handle(Action::ShowPane(Pane::Requests), t0());
    assert!(state.view.select_seq(&state.store, first));
    state.handle(Action::Trace, t0());
    let open = state.overlays.trace().expect("the waterfall opens");
    assert_eq!(open.requests.len(), seqs.len());
}
