//! `meshtap replay FILE`: any export, offline, in the UI or headless.

use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::cli::ReplayArgs;
use crate::export::file::CaptureHeader;
use crate::session::{SOURCE_CHANNEL_BATCHES, SessionInfo};
use crate::source::replay;
use crate::stats::Stats;

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
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
    let player = tokio::spawn(replay::play(opened, args.speed, tx));
    let redactor = super::redactor(args.no_redact, &args.redact_header);
    let code = match args.output {
        Some(output) => {
            let header = CaptureHeader::from_session(&info);
            let stats = Stats::start();
            let (code, store) = super::headless::write_headless(
                rx,
                output,
                &[name],
                &redactor,
                &args.export,
                header,
                args.stats,
            )
            .await?;
            if args.stats {
                // The bytes read are the file's (stdin's are not known).
                let bytes = std::fs::metadata(&args.file).map_or(0, |m| m.len());
                eprintln!("{}", stats.report(store, bytes));
            }
            Ok(code)
        }
        None => super::ui::open(rx, None, info, &args.ui, &args.export, redactor).await,
    };
    player.abort();
    code
}
