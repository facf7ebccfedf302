//! Tap's side of `meshtap routes`: the target's outbound requests over the window, with their
//! exact latencies, by the parent Service they were sent to.

use std::collections::BTreeMap;
use std::time::Duration;

use super::rules::Rules;
use crate::cli::{SessionArgs, TapArgs};
use crate::model::event::Direction;
use crate::model::request::Request;
use crate::model::store::{Ingested, Store};
use crate::pipeline::Sink;
use crate::session::SourceMsg;
use crate::source::cluster::Cluster;
use crate::source::target::Resource;

/// Requests joined at once while tapping; only their figures are kept.
const JOIN_CAPACITY_REQUESTS: usize = 10_000;
/// Latencies kept per parent for the exact percentiles; further requests are counted only.
pub const LATENCIES_PER_PARENT_CAP: usize = 100_000;

/// (namespace, Service) a request was sent to.
pub type ParentKey = (String, String);

/// What tap saw for one parent.
#[derive(Debug, Clone, Default)]
pub struct TapFigures {
    pub requests: u64,
    pub failures: u64,
    latencies_ms: Vec<f64>,
}

impl TapFigures {
    /// The exact `q` quantile of the latencies seen, in ms.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        quantile(&self.latencies_ms, q)
    }
}

/// The exact `q` quantile of `values` (nearest rank).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = sorted.len().checked_sub(1)?;
    let at = ((q * sorted.len() as f64).ceil() as usize)
        .saturating_sub(1)
        .min(last);
    sorted.get(at).copied()
}

/// Tap's figures by parent, and by rule for each target.
#[derive(Debug, Clone, Default)]
pub struct Tapped {
    pub by_parent: BTreeMap<ParentKey, TapFigures>,
    pub rules: Rules,
}

/// The Service a request was sent to, from the destination labels the client's proxy got from
/// service discovery (the authority may be a short name, or carry no port).
fn parent(request: &Request) -> Option<ParentKey> {
    let labels = &request.destination.labels;
    let service = labels.get("service").filter(|s| !s.is_empty())?;
    let namespace = labels.get("namespace").map_or("", |n| n);
    Some((namespace.to_owned(), service.to_string()))
}

/// A session's default flags (nothing recorded or exported).
pub fn default_session() -> anyhow::Result<SessionArgs> {
    use clap::Parser as _;
    match crate::cli::Cli::try_parse_from(["meshtap", "tap"])?.command {
        Some(crate::cli::Command::Tap(args)) => Ok(args.session),
        _ => anyhow::bail!("`meshtap tap` did not parse as the tap"),
    }
}

/// Taps `tap`'s targets for `window` and gathers the outbound requests that finished, their
/// rules counted for each of `targets` that sent them.
pub async fn gather(
    cluster: &Cluster,
    tap: &TapArgs,
    session: &SessionArgs,
    targets: &[Resource],
    window: Duration,
) -> anyhow::Result<Tapped> {
    let sink = Sink::Map(crate::export::map::MapFormat::Json);
    // The source matches requests to the outbound policy (`clusters::source` attaches the
    // stage): the rules come from there.
    let source =
        super::super::clusters::source(std::slice::from_ref(cluster), tap, session, &sink)?;
    let mut rx = source.rx;
    let mut store = Store::new(JOIN_CAPACITY_REQUESTS);
    let mut tapped = Tapped {
        rules: Rules::new(targets),
        ..Tapped::default()
    };
    let deadline = tokio::time::Instant::now() + window;
    loop {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            () = tokio::time::sleep_until(deadline) => break,
        };
        let Some(SourceMsg::Events(events)) = msg else {
            if msg.is_none() {
                break;
            }
            continue;
        };
        for event in events {
            if let Ingested::Finished(seq) = store.ingest(event)
                && let Some(request) = store.get(seq)
            {
                record(&mut tapped, request);
            }
        }
    }
    for task in &source.tasks {
        task.abort();
    }
    Ok(tapped)
}

fn record(tapped: &mut Tapped, request: &Request) {
    if request.direction() != Direction::Outbound {
        return;
    }
    tapped.rules.record(request);
    let Some(key) = parent(request) else {
        return;
    };
    let figures = tapped.by_parent.entry(key).or_default();
    figures.requests += 1;
    if request.success() == Some(false) {
        figures.failures += 1;
    }
    if let Some(latency) = request.duration()
        && figures.latencies_ms.len() < LATENCIES_PER_PARENT_CAP
    {
        figures.latencies_ms.push(latency.as_secs_f64() * 1000.0);
    }
}
