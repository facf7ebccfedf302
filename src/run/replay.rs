//! `meshtap replay FILE`: any export or recording, offline, into the UI or headless, on the
//! capture's own clock.

use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::cli::ReplayArgs;
use crate::pipeline::outputs::Outputs;
use crate::pipeline::{self, BytesRead, Source};
use crate::session::{ClockKind, SOURCE_CHANNEL_BATCHES, SessionInfo};
use crate::source::replay;

pub async fn session(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let sink = super::sink(args.output, &args.ui)?;
    let outputs = Outputs::open(&args.session)?;
    // An unusable file is an error before anything starts.
    let opened = replay::open(&args.file).await?;
    let name = opened.name.clone();
    let capture = opened.loaded.capture.clone();
    let info = SessionInfo {
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
    pipeline::run(source, sink, outputs).await
}
