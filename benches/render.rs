//! Frame render time: the whole screen at 200×50 with 1,000 and 100,000 stored requests from the
//! demo simulation. The target: ≤ 4 ms, and independent of how many requests are held.

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meshtap::app::state::AppState;
use meshtap::session::{SessionInfo, SourceMsg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

fn state(requests: usize) -> AppState {
    let info = SessionInfo {
        clusters: Vec::new(),
        context: "bench".into(),
        targets: vec!["ns/sock-shop".into()],
        sampling: String::new(),
    };
    let now = Utc::now();
    // Sized like the terminal it is drawn on, so the list fills the whole 200×50 frame.
    let mut state = meshtap_testkit::app(requests, info, WIDTH, HEIGHT, now);
    // Each simulated request is a trio of events (some never end): 3.2 events per request is
    // enough to fill the store.
    let events = meshtap_testkit::demo_events(1, requests * 16 / 5, now);
    for chunk in events.chunks(4096) {
        state.ingest(SourceMsg::Events(chunk.to_vec()), now);
    }
    state
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render_200x50");
    for requests in [1_000, 100_000] {
        let state = state(requests);
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
        let now = Utc::now();
        group.bench_with_input(BenchmarkId::from_parameter(requests), &requests, |b, _| {
            b.iter(|| {
                terminal
                    .draw(|frame| meshtap::ui::draw(frame, &state, now))
                    .expect("draw");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
