//! The map sink (`meshtap map`): joins requests like the headless sink, feeds the finished ones
//! (those `--filter` keeps) to the map's graph, keeps the metrics API's last snapshot, and prints
//! the graph as DOT, Mermaid or JSON when the source ends (`--for`, a replay's end) or on Ctrl-C.

use std::future::Future;
use std::io::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::headless::{Outcome, TRIGGER_POLL, report_state, report_triggers};
use crate::export::map::{MapFormat, render};
use crate::filter::Filter;
use crate::model::event::Direction;
use crate::model::figures::MetricsSnapshot;
use crate::model::identities::{IdentityTable, WorkloadId};
use crate::model::map::MapGraph;
use crate::model::metrics::metrics_only_edges;
use crate::model::routes::Window;
use crate::model::store::{Ingested, Store};
use crate::session::{Clock, SourceMsg};
use crate::terminal::escape;
use crate::trigger::run::Triggers;

/// What the map sink needs from the session besides the channel and the store.
pub struct Gather<'a> {
    pub format: MapFormat,
    /// Names each stream for messages on stderr.
    pub streams: &'a [String],
    pub clock: Clock,
    pub triggers: Option<&'a Triggers>,
    /// `--filter`: only matching requests are drawn; the metrics API's edges, which no filter
    /// can ask about, are then left out.
    pub filter: Option<&'a Filter>,
}

/// What the run gathered: the graph of finished requests, who talked to whom (to tell the
/// metrics API's edges the sample has not seen), the last metrics snapshot, and the first and
/// last event times.
#[derive(Default)]
struct Collected {
    graph: MapGraph,
    identities: IdentityTable,
    metrics: Option<MetricsSnapshot>,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Gathers until the channel closes or `stop`, then prints the map to stdout. A permanently
/// failed stream makes the exit code 1 (the map of what arrived is printed all the same).
pub async fn sink(
    mut rx: mpsc::Receiver<SourceMsg>,
    gather: Gather<'_>,
    store: &mut Store,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
    let Gather {
        format,
        streams,
        mut clock,
        triggers,
        filter,
    } = gather;
    let mut err = std::io::stderr();
    let mut outcome = Outcome::default();
    let mut collected = Collected::default();
    let mut poll = tokio::time::interval(TRIGGER_POLL);
    let mut stop = std::pin::pin!(stop);
    let name = |stream: usize| streams.get(stream).map_or("tap", String::as_str);
    loop {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            () = &mut stop => break,
            _ = poll.tick(), if triggers.is_some() => {
                report_triggers(&mut err, triggers, store, &[], clock.now(Utc::now()))?;
                continue;
            }
        };
        let Some(msg) = msg else { break };
        match msg {
            SourceMsg::Events(events) => {
                clock.observe(&events);
                let now = clock.now(Utc::now());
                let mut finished = Vec::new();
                for event in events {
                    let at = event.arrived;
                    let span = collected
                        .span
                        .map_or((at, at), |(a, b)| (a.min(at), b.max(at)));
                    collected.span = Some(span);
                    if let Ingested::Finished(seq) = store.ingest(event)
                        && let Some(request) = store.get(seq)
                    {
                        finished.push(seq);
                        collected.identities.record(request);
                        if filter.is_none_or(|f| f.matches(request, now)) {
                            collected.graph.record(request);
                        }
                    }
                }
                report_triggers(&mut err, triggers, store, &finished, now)?;
                store.expire(now);
            }
            SourceMsg::State { stream, state } => {
                report_state(&mut err, name(stream), state, &mut outcome)?;
            }
            SourceMsg::Warning { stream, message } => {
                writeln!(
                    err,
                    "meshtap: {}: {} (skipped)",
                    escape(name(stream)),
                    escape(&message)
                )?;
            }
            SourceMsg::Notice(text) => writeln!(err, "meshtap: {}", escape(&text))?,
            SourceMsg::Metrics(snapshot) => collected.metrics = Some(snapshot),
            // The map draws traffic; why a tap is quiet is the other sinks' to say.
            SourceMsg::Pods(_) => {}
        }
    }
    let text = collected.render(format, filter.is_some());
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // A closed stdout (`meshtap map … | head`) is a normal way to stop.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            anyhow::bail!("writing to stdout: {e}")
        }
        _ => {}
    }
    Ok(if outcome.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

impl Collected {
    /// The map over the whole capture; `filtered` leaves out the metrics API's edges.
    fn render(&self, format: MapFormat, filtered: bool) -> String {
        let now = Utc::now();
        let (first, last) = self.span.unwrap_or((now, now));
        let figures = self.graph.all_figures(last, Window::Capture);
        let seconds = (last - first).num_milliseconds() as f64 / 1_000.0;
        let metrics_only: Vec<(WorkloadId, WorkloadId)> = match &self.metrics {
            Some(m) if !filtered => metrics_only_edges(&self.identities, &m.edges)
                .into_iter()
                .filter(|e| e.direction == Direction::Outbound)
                .map(|e| (e.local, e.peer))
                .collect(),
            _ => Vec::new(),
        };
        render(&self.graph, &figures, &metrics_only, seconds, format)
    }
}
