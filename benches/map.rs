//! The map at scale: 300 workloads in 10 namespaces and 1,500 caller → callee edges (cycles
//! included). The layout must take under 50 ms (it runs only when the graph's shape changes);
//! a whole frame of the map pane at 200×50 must stay within the frame budget; the figures it
//! shows are computed by the app per tick (`figures_per_tick`), not per frame.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use meshtap::app::{Action, AppState, Pane};
use meshtap::model::event::{
    Direction, Endpoint, HttpEvent, Labels, ResponseEnd, StreamId, TapEvent,
};
use meshtap::model::map::layout::layout;
use meshtap::model::map::project::{Folding, Projection};
use meshtap::session::{SessionInfo, SourceMsg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WORKLOADS: u64 = 300;
const EDGES: u64 = 1_500;

fn endpoint(workload: u64) -> Endpoint {
    let labels: Labels = [
        ("namespace", format!("ns-{}", workload % 10)),
        ("deployment", format!("svc-{workload}")),
        ("tls", "true".to_owned()),
    ]
    .into_iter()
    .collect();
    Endpoint {
        addr: Some(SocketAddr::from(([10, 0, 0, 1], 8080))),
        labels,
    }
}

/// One finished request per edge (an end without its start is a finished orphan), on pairs
/// picked by a fixed linear congruential sequence: the same graph every run.
fn events() -> Vec<TapEvent> {
    let now = Utc::now();
    let mut x: u64 = 12_345;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % WORKLOADS
    };
    (0..EDGES * 2)
        .map(|i| {
            let (from, to) = (next(), next());
            TapEvent {
                cluster: None,
                arrived: now,
                source: endpoint(from),
                destination: endpoint(if to == from { (to + 1) % WORKLOADS } else { to }),
                direction: Direction::Outbound,
                route: Labels::default(),
                http: Some(HttpEvent::ResponseEnd(ResponseEnd {
                    id: StreamId { base: 1, stream: i },
                    since_request_init: Some(Duration::from_millis(3)),
                    since_response_init: None,
                    response_bytes: 100,
                    eos: None,
                    trailers: meshtap::model::event::Headers::default(),
                })),
            }
        })
        .collect()
}

fn state(width: u16, height: u16) -> AppState {
    let info = SessionInfo {
        clusters: Vec::new(),
        context: "bench".into(),
        targets: vec!["ns/all".into()],
        sampling: String::new(),
    };
    let now = Utc::now();
    let mut state = meshtap_testkit::app(10_000, info, width, height, now);
    state.ingest(SourceMsg::Events(events()), now);
    state.handle(Action::ShowPane(Pane::Map), now);
    state
}

fn map(c: &mut Criterion) {
    let state = state(200, 50);
    let graph = &state.map;
    assert_eq!(graph.nodes().len(), WORKLOADS as usize);
    assert!(
        graph.edges().len() >= 1_400,
        "{} edges",
        graph.edges().len()
    );
    let input = Projection::new(graph, &Folding::default(), &[]).layout_input();
    let mut group = c.benchmark_group("map");
    group.bench_function("layout_300_workloads_1500_edges", |b| {
        b.iter(|| layout(&input, None));
    });
    let first = layout(&input, None);
    group.bench_function("relayout_keeping_places", |b| {
        b.iter(|| layout(&input, Some(&first)));
    });
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    let now = Utc::now();
    group.bench_function("frame_200x50", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| meshtap::ui::draw(frame, &state, now))
                .expect("draw");
        });
    });
    // What moved off the draw path: the figures the app computes at most once per tick. The
    // second flips each iteration, so each one recomputes, over the same requests (a clock that
    // ran on would empty the rolling window and measure nothing).
    let mut ticking = self::state(200, 50);
    let window = ticking.routes_view.window;
    let mut second = 0;
    group.bench_function("figures_per_tick", |b| {
        b.iter(|| {
            second = 1 - second;
            let at = now + chrono::TimeDelta::seconds(second);
            ticking.map_view.refresh_figures(&ticking.map, window, at);
        });
    });
    group.finish();
}

criterion_group!(benches, map);
criterion_main!(benches);
