//! `meshtap replay FILE`: any export or recording, offline, into the UI or headless, on the
//! capture's own clock.

use std::process::ExitCode;

use futures::FutureExt as _;
use tokio::sync::mpsc;

use crate::cli::ReplayArgs;
use crate::pipeline::outputs::Outputs;
use crate::pipeline::segments::{self, read};
use crate::pipeline::{self, BytesRead, Sink, Source};
use crate::session::{ClockKind, SOURCE_CHANNEL_BATCHES, SessionInfo};
use crate::source::replay;

pub async fn session(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let sink = super::sink(args.output, &args.ui)?;
    into(&args, sink).await
}

/// The replay of `args.file` into `sink` (the UI, headless output, or the map).
pub async fn into(args: &ReplayArgs, sink: Sink<'_>) -> anyhow::Result<ExitCode> {
    if args.to.is_some() {
        // A constant text: nothing captured reaches the terminal here.
        eprintln!(
            "meshtap: replay --to is deprecated: use --until (--to names a destination in tap)"
        );
    }
    let outputs = Outputs::open(&args.session)?;
    if args.file.is_dir() || segments::is_segment_file(&args.file) {
        let source = segments_source(args)?;
        return pipeline::run_session(source, sink, outputs).await;
    }
    if args.from.is_some() || until(args).is_some() {
        anyhow::bail!(
            "--from and --until apply to segments (a --record-dir directory), not to exports"
        );
    }
    // An unusable file is an error before anything starts.
    let opened = replay::open(&args.file).await?;
    let name = opened.name.clone();
    let capture = opened.loaded.capture.clone();
    let info = SessionInfo {
        clusters: Vec::new(),
        context: replay::context(&args.file),
        targets: capture
            .as_ref()
            .map_or_else(|| vec![name.clone()], |c| c.targets.clone()),
        sampling: capture.map(|c| c.sampling).unwrap_or_default(),
    };
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let mut source = Source::new(rx, info);
    source.streams = vec![name];
    source.clock = ClockKind::Event;
    // The bytes read are the file's (stdin's are not known).
    source.bytes =
        std::fs::metadata(&args.file).map_or(BytesRead::Unknown, |m| BytesRead::Known(m.len()));
    let speed = args.speed;
    source.tasks.push(tokio::spawn(async move {
        replay::play(opened, speed, tx).await;
    }));
    pipeline::run_session(source, sink, outputs).await
}

/// `--until`, or its deprecated former name `--to`.
fn until(args: &ReplayArgs) -> Option<chrono::DateTime<chrono::Utc>> {
    args.until.or(args.to)
}

/// A `--record-dir` directory, or one segment, as the source: the segments overlapping the
/// range, read on a thread of their own and paced at `--speed`.
fn segments_source(args: &ReplayArgs) -> anyhow::Result<Source> {
    let range = read::Range {
        from: args.from,
        until: until(args),
    };
    let plan = read::plan(&args.file, range)?;
    let info = SessionInfo {
        clusters: Vec::new(),
        context: replay::context(&args.file),
        targets: vec![args.file.display().to_string()],
        sampling: String::new(),
    };
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let mut source = Source::new(rx, info);
    source.clock = ClockKind::Event;
    source.bytes = BytesRead::Known(
        plan.iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum(),
    );
    let ready = read::spawn_reader(plan, range)?;
    source
        .tasks
        .push(tokio::spawn(read::play(ready, args.speed, tx).map(drop)));
    Ok(source)
}
