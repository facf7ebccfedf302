//! `meshtap map`: tap for a while (a cluster, the simulated demo mesh, or a replayed file to its
//! end), build the map's graph from the finished requests, and print it as DOT, Mermaid or JSON.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::cli::{DemoArgs, MapArgs};
use crate::export::map::render;
use crate::model::event::Direction;
use crate::model::figures::MetricsSnapshot;
use crate::model::identities::{IdentityTable, WorkloadId};
use crate::model::map::MapGraph;
use crate::model::metrics::metrics_only_edges;
use crate::model::routes::Window;
use crate::model::store::{Ingested, Store};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg, StreamState};
use crate::source::cluster::Cluster;
use crate::source::live;
use crate::source::metrics_poll::{self, MetricsPoll};
use crate::source::replay::{self, Speed};

pub async fn run(args: MapArgs) -> anyhow::Result<ExitCode> {
    let tap = &args.tap;
    // Whatever starts the source must live until the map is printed.
    let mut _demo = None;
    let mut tasks = Vec::new();
    let (rx, deadline) = if let Some(file) = &args.replay {
        let opened = replay::open(file).await?;
        let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
        // Read to its end: the replay task finishes on its own.
        tokio::spawn(replay::play(opened, Speed::Max, tx));
        (rx, None)
    } else {
        let mut tap = tap.clone();
        let cluster = if args.demo {
            let demo = super::start_demo(&demo_args(&tap)?).await?;
            let cluster = Cluster::from_kubeconfig(demo.kubeconfig.clone(), None).await?;
            _demo = Some(demo);
            if tap.targets.is_empty() {
                tap.targets = super::DEMO_TARGETS
                    .iter()
                    .map(ToString::to_string)
                    .collect();
            }
            cluster
        } else {
            anyhow::ensure!(
                !tap.targets.is_empty(),
                "nothing to tap: give a TARGET such as ns/emojivoto, or --demo, or --replay FILE"
            );
            super::connect(&tap).await?
        };
        let specs = super::specs(&tap, &cluster.default_namespace, false)?;
        let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
        // The metrics API adds the edges the sample has not seen, as in the map pane.
        if let Some(target) = super::metrics_target(&cluster, &tap) {
            let poll = MetricsPoll {
                target,
                window: tap.metrics_window,
                targets: specs.iter().map(|s| s.target.clone()).collect(),
            };
            tasks.push(tokio::spawn(metrics_poll::poll_until_closed(
                poll,
                tx.downgrade(),
            )));
        }
        tasks.extend(live::spawn(&cluster, &specs, !tap.no_reconnect, &tx, None));
        (rx, Some(tokio::time::Instant::now() + args.duration))
    };
    let collected = collect(rx, deadline).await;
    for task in &tasks {
        task.abort();
    }
    let (graph, span) = (&collected.graph, collected.span);
    let figures = graph.all_figures(span.1, Window::Capture);
    let seconds = (span.1 - span.0).num_milliseconds() as f64 / 1_000.0;
    let metrics_only: Vec<(WorkloadId, WorkloadId)> = collected
        .metrics
        .map(|m| metrics_only_edges(&collected.identities, &m.edges))
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.direction == Direction::Outbound)
        .map(|e| (e.local, e.peer))
        .collect();
    print!(
        "{}",
        render(graph, &figures, &metrics_only, seconds, args.output)
    );
    Ok(ExitCode::SUCCESS)
}

/// What a map run gathered: the graph of finished requests, who talked to whom (to tell the
/// metrics API's edges the sample has not seen), the last metrics snapshot, and the first and
/// last event times.
struct Collected {
    graph: MapGraph,
    identities: IdentityTable,
    metrics: Option<MetricsSnapshot>,
    span: (DateTime<Utc>, DateTime<Utc>),
}

/// Joins requests until the deadline, Ctrl-C, or the source's end; returns the graph of the
/// finished ones and the first and last event times.
async fn collect(
    mut rx: mpsc::Receiver<SourceMsg>,
    deadline: Option<tokio::time::Instant>,
) -> Collected {
    let mut store = Store::default();
    let mut graph = MapGraph::new();
    let mut identities = IdentityTable::new();
    let mut metrics = None;
    let mut span: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    let sleep = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    loop {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            () = &mut sleep => None,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(msg) = msg else { break };
        match msg {
            SourceMsg::Events(events) => {
                for event in events {
                    let at = event.arrived;
                    span = Some(span.map_or((at, at), |(a, b)| (a.min(at), b.max(at))));
                    if let Ingested::Finished(seq) = store.ingest(event)
                        && let Some(request) = store.get(seq)
                    {
                        graph.record(request);
                        identities.record(request);
                    }
                }
            }
            SourceMsg::State {
                state: StreamState::Failed(error),
                ..
            } => {
                eprintln!("meshtap: {error}");
                if let Some(hint) = error.kind.hint() {
                    eprintln!("  {hint}");
                }
            }
            SourceMsg::Warning { message, .. } => eprintln!("meshtap: {message} (skipped)"),
            SourceMsg::Metrics(snapshot) => metrics = Some(snapshot),
            SourceMsg::State { .. } => {}
        }
    }
    let now = Utc::now();
    Collected {
        graph,
        identities,
        metrics,
        span: span.unwrap_or((now, now)),
    }
}

/// The simulated mesh as `meshtap demo` starts it, with the tap flags given.
/// The demo as `meshtap demo` starts it with no flags, tapping `tap`.
fn demo_args(tap: &crate::cli::TapArgs) -> anyhow::Result<DemoArgs> {
    use clap::Parser as _;
    match crate::cli::Cli::try_parse_from(["meshtap", "demo"])?.command {
        Some(crate::cli::Command::Demo(mut args)) => {
            args.tap = tap.clone();
            Ok(args)
        }
        _ => anyhow::bail!("`meshtap demo` did not parse as the demo"),
    }
}
