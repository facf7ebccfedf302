//! `meshtap map`: a session (a cluster, the simulated demo mesh, or a replayed file) whose sink
//! is the map (`pipeline::map`). A live tap ends after `--for`, a replay at the file's end; the
//! session flags (record, export, stats, triggers, filter, …) mean what they mean for `tap`.
//! `advise authz` runs the same gathering session with its own summary.

use std::process::ExitCode;
use std::time::Duration;

use std::path::PathBuf;

use crate::cli::{DemoArgs, MapArgs, ReplayArgs, SessionArgs, TapArgs};
use crate::pipeline::outputs::Outputs;
use crate::pipeline::{self, Sink, Source};
use crate::source::cluster::Cluster;

/// How long a live map taps without `--for`.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

pub async fn run(args: MapArgs) -> anyhow::Result<ExitCode> {
    let sink = Sink::Map(args.output);
    let spec = Gathered {
        tap: args.tap,
        session: args.session,
        demo: args.demo,
        replay: args.replay,
        duration: Some(args.duration.unwrap_or(DEFAULT_DURATION)),
        timed: args.duration.is_some(),
    };
    Box::pin(gather(spec, sink)).await
}

/// A session that ends by itself and prints what it gathered: `map` and `advise authz`.
pub(super) struct Gathered {
    pub tap: TapArgs,
    pub session: SessionArgs,
    pub demo: bool,
    pub replay: Option<PathBuf>,
    /// How long a live tap runs; `None` refuses a live run (it needs a bound).
    pub duration: Option<Duration>,
    /// Whether the user gave `--for` (refused with `--replay`).
    pub timed: bool,
}

/// Runs the session: a replay to its end, else the demo or a cluster for the duration.
pub(super) async fn gather(spec: Gathered, sink: Sink<'_>) -> anyhow::Result<ExitCode> {
    if let Some(file) = &spec.replay {
        refuse_live_flags(&spec)?;
        let replay = replay_args(file, spec.session)?;
        return super::replay::into(&replay, sink).await;
    }
    let Some(duration) = spec.duration else {
        anyhow::bail!(
            "a live tap needs a bound: give --for DURATION (e.g. --for 5m), or --replay FILE"
        );
    };
    let outputs = Outputs::open(&spec.session)?;
    let mut tap = spec.tap.clone();
    // Whatever starts the source must live until the summary is printed.
    let mut _demo = None;
    let cluster = if spec.demo {
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
    let source =
        super::clusters::source(std::slice::from_ref(&cluster), &tap, &spec.session, &sink)?;
    pipeline::run_session(ends_after(source, duration), sink, outputs).await
}

/// Stops the source's tasks after `duration`: the channel closes, the tees (recordings, OTLP)
/// and the map see the same requests, and the map is printed.
fn ends_after(mut source: Source, duration: Duration) -> Source {
    let tasks: Vec<_> = source
        .tasks
        .iter()
        .map(tokio::task::JoinHandle::abort_handle)
        .collect();
    source.tasks.push(tokio::spawn(async move {
        tokio::time::sleep(duration).await;
        for task in tasks {
            task.abort();
        }
    }));
    source
}

/// A replay is read to its end: the flags that choose or shape a live tap cannot apply.
fn refuse_live_flags(spec: &Gathered) -> anyhow::Result<()> {
    if !spec.tap.targets.is_empty() {
        anyhow::bail!(
            "TARGET chooses what a live tap taps; --replay reads every request of the file \
             (use --filter to keep some)"
        );
    }
    anyhow::ensure!(
        !spec.timed,
        "--for times a live tap; --replay reads the file to its end"
    );
    Ok(())
}

fn parse(words: &[&str]) -> anyhow::Result<crate::cli::Command> {
    use clap::Parser as _;
    crate::cli::Cli::try_parse_from(words)?
        .command
        .ok_or_else(|| anyhow::anyhow!("{words:?} did not parse as a command"))
}

/// `meshtap replay FILE` with the map's session flags, into the map.
pub(super) fn replay_args(
    file: &std::path::Path,
    session: crate::cli::SessionArgs,
) -> anyhow::Result<ReplayArgs> {
    let name = file.to_string_lossy();
    match parse(&["meshtap", "replay", &name, "--speed", "max"])? {
        crate::cli::Command::Replay(mut args) => {
            args.session = session;
            Ok(args)
        }
        _ => anyhow::bail!("`meshtap replay` did not parse as the replay"),
    }
}

/// The demo as `meshtap demo` starts it with no flags, tapping `tap`.
pub(super) fn demo_args(tap: &crate::cli::TapArgs) -> anyhow::Result<DemoArgs> {
    match parse(&["meshtap", "demo"])? {
        crate::cli::Command::Demo(mut args) => {
            args.tap = tap.clone();
            Ok(args)
        }
        _ => anyhow::bail!("`meshtap demo` did not parse as the demo"),
    }
}
