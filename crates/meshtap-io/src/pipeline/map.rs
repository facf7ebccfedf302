//! The gathering sinks (`meshtap map`, `meshtap advise authz`): join requests like the headless
//! sink, feed the finished ones to a [`Summary`] (the map's graph, the policy advice), keep the
//! metrics API's last snapshot, and print the summary when the source ends (`--for`, a replay's
//! end) or on Ctrl-C.

use std::future::Future;
use std::io::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::headless::{Outcome, TRIGGER_POLL, report_state, report_triggers};
use crate::advise::AuthzAdvice;
use crate::export::map::{MapFormat, render};
use crate::filter::Filter;
use crate::model::event::Direction;
use crate::model::figures::MetricsSnapshot;
use crate::model::identities::{IdentityTable, WorkloadId};
use crate::model::map::MapGraph;
use crate::model::metrics::metrics_only_edges;
use crate::model::request::Request;
use crate::model::routes::Window;
use crate::model::store::{Ingested, Store};
use crate::session::{Clock, SourceMsg};
use crate::terminal::escape;
use crate::trigger::run::Triggers;

/// What a gathering sink needs from the session besides the channel and the store.
pub struct Gather<'a> {
    /// Names each stream for messages on stderr.
    pub streams: &'a [String],
    pub clock: Clock,
    pub triggers: Option<&'a Triggers>,
    /// `--filter`: only matching requests are summed up.
    pub filter: Option<&'a Filter>,
}

/// What a gathering sink builds from the finished requests and prints at the end.
pub trait Summary {
    /// One finished request; `kept` says whether `--filter` keeps it.
    fn record(&mut self, request: &Request, kept: bool);
    /// The metrics API's latest snapshot (only the map uses it).
    fn metrics(&mut self, _snapshot: MetricsSnapshot) {}
    /// The text for stdout and the warnings for stderr; `span` is the first and last event
    /// times, `filtered` whether `--filter` was given.
    fn finish(&self, span: Option<(DateTime<Utc>, DateTime<Utc>)>, filtered: bool) -> Printed;
}

/// A summary's output.
#[derive(Debug, Default)]
pub struct Printed {
    pub stdout: String,
    /// Lines for stderr (escaped when written).
    pub warnings: Vec<String>,
}

/// The map: the graph of finished requests (those `--filter` keeps), who talked to whom (to
/// tell the metrics API's edges the sample has not seen) and the last metrics snapshot.
pub struct MapSummary {
    format: MapFormat,
    graph: MapGraph,
    identities: IdentityTable,
    metrics: Option<MetricsSnapshot>,
}

impl MapSummary {
    pub fn new(format: MapFormat) -> Self {
        Self {
            format,
            graph: MapGraph::default(),
            identities: IdentityTable::default(),
            metrics: None,
        }
    }
}

impl Summary for MapSummary {
    fn record(&mut self, request: &Request, kept: bool) {
        self.identities.record(request);
        if kept {
            self.graph.record(request);
        }
    }

    fn metrics(&mut self, snapshot: MetricsSnapshot) {
        self.metrics = Some(snapshot);
    }

    /// The map over the whole capture; `filtered` leaves out the metrics API's edges, which no
    /// filter can ask about.
    fn finish(&self, span: Option<(DateTime<Utc>, DateTime<Utc>)>, filtered: bool) -> Printed {
        let now = Utc::now();
        let (first, last) = span.unwrap_or((now, now));
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
        Printed {
            stdout: render(&self.graph, &figures, &metrics_only, seconds, self.format),
            warnings: Vec::new(),
        }
    }
}

/// `meshtap advise authz`: the Linkerd policy allowing the clients seen on each workload port.
#[derive(Default)]
pub struct AuthzSummary {
    advice: AuthzAdvice,
    /// The session's own note on its sampling, repeated in the YAML's header.
    sampling: String,
}

impl AuthzSummary {
    pub fn new(sampling: &str) -> Self {
        Self {
            advice: AuthzAdvice::new(),
            sampling: sampling.to_owned(),
        }
    }
}

impl Summary for AuthzSummary {
    fn record(&mut self, request: &Request, kept: bool) {
        if kept {
            self.advice.record(request);
        }
    }

    fn finish(&self, _span: Option<(DateTime<Utc>, DateTime<Utc>)>, _filtered: bool) -> Printed {
        let advice = crate::advise::render::render(&self.advice, &self.sampling);
        Printed {
            stdout: advice.yaml,
            warnings: advice.warnings,
        }
    }
}

/// Gathers until the channel closes or `stop`, then prints the map to stdout. A permanently
/// failed stream makes the exit code 1 (the map of what arrived is printed all the same).
pub async fn sink(
    mut rx: mpsc::Receiver<SourceMsg>,
    gather: Gather<'_>,
    summary: &mut dyn Summary,
    store: &mut Store,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
    let Gather {
        streams,
        mut clock,
        triggers,
        filter,
    } = gather;
    let mut err = std::io::stderr();
    let mut outcome = Outcome::default();
    let mut span: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
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
                    span = Some(span.map_or((at, at), |(a, b)| (a.min(at), b.max(at))));
                    if let Ingested::Finished(seq) = store.ingest(event)
                        && let Some(request) = store.get(seq)
                    {
                        finished.push(seq);
                        summary.record(request, filter.is_none_or(|f| f.matches(request, now)));
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
            SourceMsg::Metrics(snapshot) => summary.metrics(snapshot),
            // A summary sums traffic; why a tap is quiet is the other sinks' to say.
            SourceMsg::Pods(_) | SourceMsg::Denials(_) => {}
        }
    }
    let printed = summary.finish(span, filter.is_some());
    for warning in &printed.warnings {
        writeln!(err, "meshtap: {}", escape(warning))?;
    }
    match std::io::stdout()
        .lock()
        .write_all(printed.stdout.as_bytes())
    {
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
