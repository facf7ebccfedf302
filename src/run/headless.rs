//! Headless runs: taps or a replay streamed to stdout in one of the output formats, with an
//! optional export when the run ends.

use std::io;
use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::cli::{ExportArgs, TapArgs};
use crate::export::Redactor;
use crate::export::file::{CaptureHeader, ExportOptions, Recorder};
use crate::headless::{self, Output};
use crate::source::SourceMsg;
use crate::source::cluster::Cluster;

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
    let rx = super::spawn_streams(cluster, specs, !args.no_reconnect);
    write_headless(
        rx,
        output,
        &names,
        &super::redactor(args.no_redact, &args.redact_header),
        &args.export,
        header,
    )
    .await
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
) -> anyhow::Result<ExitCode> {
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
        Ok(outcome) if outcome.failures.is_empty() => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        // A closed stdout (`meshtap tap … | head`) is a normal way to stop.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err.into()),
    }
}
