//! Headless runs: taps or a replay streamed to stdout in one of the output formats, with an
//! optional export when the run ends.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use tokio::sync::mpsc;

use crate::cli::{ExportArgs, TapArgs};
use crate::session::Redactor;
use crate::export::file::{CaptureHeader, ExportOptions, Recorder};
use crate::pipeline::headless::{self, Output};
use crate::model::store::StoreStats;
use crate::session::SourceMsg;
use crate::source::cluster::Cluster;
use crate::source::record;
use crate::stats::Stats;

pub async fn tap(cluster: &Cluster, args: &TapArgs, output: Output) -> anyhow::Result<ExitCode> {
    let exporting = args.export.export.is_some();
    let specs = super::specs(
        args,
        &cluster.default_namespace,
        output.wants_headers() || exporting,
    )?;
    let names: Vec<String> = specs.iter().map(|s| s.target.display()).collect();
    let header = CaptureHeader {
        targets: names.clone(),
        context: cluster.context.clone(),
        sampling: format!("max {} rps per target", args.max_rps),
        ..CaptureHeader::default()
    };
    let stats = Stats::start();
    // `--stats` alone still counts the bytes read, through a recorder that keeps nothing.
    let record_to = match (&args.record, args.stats) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(PathBuf::from("/dev/null")),
        (None, false) => None,
    };
    let recorder = match &record_to {
        Some(path) => Some(
            record::Recorder::create(path)
                .await
                .with_context(|| format!("cannot record to {}", path.display()))?,
        ),
        None => None,
    };
    let (rx, streams) = super::start_streams(cluster, specs, !args.no_reconnect, recorder.as_ref());
    let (code, store) = write_headless(
        rx,
        output,
        &names,
        &super::redactor(args.no_redact, &args.redact_header),
        &args.export,
        header,
        args.stats || args.record.is_some(),
    )
    .await?;
    // The streams hold the recorder's senders: stop them so it can finish the file.
    for stream in &streams {
        stream.abort();
    }
    for stream in streams {
        let _ = stream.await;
    }
    let bytes = match recorder {
        Some(recorder) => recorder.finish().await.context("finishing the recording")?,
        None => 0,
    };
    if args.stats {
        eprintln!("{}", stats.report(store, bytes));
    }
    Ok(code)
}

/// The headless writer; with `--export`, Ctrl-C ends the run cleanly and the capture is
/// exported when it ends.
pub async fn write_headless(
    rx: mpsc::Receiver<SourceMsg>,
    output: Output,
    names: &[String],
    redactor: &Redactor,
    export: &ExportArgs,
    header: CaptureHeader,
    stop_on_ctrl_c: bool,
) -> anyhow::Result<(ExitCode, StoreStats)> {
    let rx = if stop_on_ctrl_c { until_ctrl_c(rx) } else { rx };
    let (rx, recorder) = match export.export {
        Some(_) => {
            let (rx, recorder) =
                Recorder::spawn(rx, crate::model::store::DEFAULT_CAPACITY_REQUESTS, true);
            (rx, Some(recorder))
        }
        None => (rx, None),
    };
    let outcome = headless::run(
        rx,
        output,
        names,
        redactor,
        &mut io::BufWriter::new(io::stdout()),
        &mut io::stderr(),
    )
    .await;
    if let (Some(recorder), Some(path)) = (recorder, &export.export) {
        let options = ExportOptions {
            format: export.export_format,
            filtered: false,
            force: export.force,
            redactor: redactor.clone(),
        };
        let report = recorder.finish(path, header, &options).await?;
        eprintln!(
            "meshtap: exported {} requests to {} ({})",
            report.written,
            report.path.display(),
            report.format.name()
        );
    }
    match outcome {
        Ok(outcome) if outcome.failures.is_empty() => Ok((ExitCode::SUCCESS, outcome.store)),
        Ok(outcome) => Ok((ExitCode::FAILURE, outcome.store)),
        // A closed stdout (`meshtap tap … | head`) is a normal way to stop.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
            Ok((ExitCode::SUCCESS, StoreStats::default()))
        }
        Err(err) => Err(err.into()),
    }
}

/// Passes messages through until the source ends or Ctrl-C, so a run that records, counts or
/// exports ends cleanly (and writes what it promised) instead of being killed.
fn until_ctrl_c(mut rx: mpsc::Receiver<SourceMsg>) -> mpsc::Receiver<SourceMsg> {
    let (tx, out) = mpsc::channel(crate::session::SOURCE_CHANNEL_BATCHES);
    tokio::spawn(async move {
        let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { return };
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                }
                _ = &mut ctrl_c => return,
            }
        }
    });
    out
}
