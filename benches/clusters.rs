//! Eight clusters × four targets merged into one session (`--context` ×8): the demo's traffic
//! split over 32 streams, each stamped with its cluster and joined by the whole UI state (store,
//! view, routes, identities, map), in the batches the merged channel delivers. What one
//! iteration ingests, divided by its time, is the rate the UI keeps up with; the demo's default
//! rate over eight clusters is far below it, so the "lag" indicator stays off.

use std::hint::black_box;

use chrono::{TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use meshtap::app::AppState;
use meshtap::app::config;
use meshtap::model::event::{ClusterName, TapEvent};
use meshtap::model::store::Store;
use meshtap::session::{SessionInfo, SourceMsg};
use meshtap::source::wire::{Interner, event};

const CLUSTERS: usize = 8;
const TARGETS: usize = 4;
const EVENTS_PER_STREAM: usize = 2_000;
/// Events one stream's read delivers at once at the demo's rate: small batches, as live.
const BATCH_EVENTS: usize = 16;

/// 32 streams' batches, interleaved the way their tasks would hand them to the channel.
fn merged_batches() -> Vec<Vec<TapEvent>> {
    let names: Vec<ClusterName> = (0..CLUSTERS)
        .map(|c| ClusterName::new(&format!("cluster-{c}")))
        .collect();
    let wire = meshtap::demo::sim::generate(7, EVENTS_PER_STREAM * CLUSTERS * TARGETS);
    let start = Utc::now();
    let mut interner = Interner::default();
    let mut streams: Vec<Vec<TapEvent>> = vec![Vec::new(); CLUSTERS * TARGETS];
    for (i, wire) in wire.into_iter().enumerate() {
        let arrived = start + TimeDelta::microseconds(i64::try_from(i).unwrap_or(0) * 50);
        let mut event = event(&mut interner, wire, arrived);
        // Each cluster sees its own copy of the mesh: the same traffic, stamped differently.
        let stream = (i / BATCH_EVENTS) % (CLUSTERS * TARGETS);
        event.cluster = Some(names[stream / TARGETS].clone());
        streams[stream].push(event);
    }
    let mut batches = Vec::new();
    let mut cursors = vec![0; streams.len()];
    // Round-robin over the streams, one batch each: bounded by the events there are.
    while cursors.iter().zip(&streams).any(|(c, s)| *c < s.len()) {
        for (cursor, stream) in cursors.iter_mut().zip(&streams) {
            let end = (*cursor + BATCH_EVENTS).min(stream.len());
            if *cursor < end {
                batches.push(stream[*cursor..end].to_vec());
                *cursor = end;
            }
        }
    }
    batches
}

fn info() -> SessionInfo {
    let clusters: Vec<String> = (0..CLUSTERS).map(|c| format!("cluster-{c}")).collect();
    SessionInfo {
        context: clusters.join(","),
        targets: (0..CLUSTERS * TARGETS)
            .map(|t| format!("deploy/target-{}", t % TARGETS))
            .collect(),
        sampling: String::new(),
        clusters,
    }
}

fn clusters(c: &mut Criterion) {
    let batches = merged_batches();
    let events: usize = batches.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("clusters");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events as u64));
    group.bench_function("ingest_8_clusters_x_4_targets", |b| {
        b.iter(|| {
            let mut state = AppState::new(
                Store::new(100_000),
                info(),
                config::from_text("", "", false),
            );
            let now = Utc::now();
            for batch in &batches {
                state.ingest(SourceMsg::Events(batch.clone()), now);
            }
            black_box(state.store.len())
        });
    });
    group.finish();
}

criterion_group!(benches, clusters);
criterion_main!(benches);
