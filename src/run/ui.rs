//! Opening the terminal UI for any source: the export hook behind `:export` and `--export`, and
//! the UI options from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum as _;
use tokio::sync::mpsc;

use crate::app::run::{ExportHook, RunParams};
use crate::app::state::ExportRequest;
use crate::cli::{ExportArgs, UiArgs};
use crate::export::Redactor;
use crate::export::file::{self, CaptureHeader, ExportFormat, ExportOptions};
use crate::filter::Filter;
use crate::model::store::Store;
use crate::session::{SessionInfo, SourceMsg, TapCommand};

/// Runs the UI until the user quits; with `--export`, writes the capture when it ends.
pub async fn open(
    events: mpsc::Receiver<SourceMsg>,
    commands: Option<mpsc::Sender<TapCommand>>,
    info: SessionInfo,
    ui: &UiArgs,
    export: &ExportArgs,
    redactor: Redactor,
) -> anyhow::Result<ExitCode> {
    let mut params = RunParams::new(events, info.clone());
    params.commands = commands;
    params.capacity = ui.capacity;
    params.config.clone_from(&ui.config);
    params.no_color = ui.no_color;
    params.export = Some(hook(info, redactor, export.export_format, export.force));
    params.export_on_quit = export.export.as_ref().map(|path| ExportRequest {
        path: path.clone(),
        args: Vec::new(),
    });
    crate::app::run::run(params).await?;
    Ok(ExitCode::SUCCESS)
}

/// The export hook: `:export FILE [--format ndjson|linkerd-json|har] [--filtered] [--force]`.
pub fn hook(
    info: SessionInfo,
    redactor: Redactor,
    default_format: ExportFormat,
    default_force: bool,
) -> ExportHook {
    Box::new(
        move |request: &ExportRequest, store: &Store, filter: Option<&Filter>| {
            let args = ExportCommand::parse(&request.args, default_format, default_force)?;
            let filter = filter.filter(|f| args.filtered && !f.is_empty());
            let mut header = CaptureHeader::from_session(&info);
            header.evicted = store.stats().evicted;
            header.filter = filter.map(ToString::to_string);
            let options = ExportOptions {
                format: args.format,
                filtered: filter.is_some(),
                force: args.force,
                redactor: redactor.clone(),
            };
            let requests = store
                .requests()
                .iter()
                .filter(|r| filter.is_none_or(|f| f.matches(r)));
            let report = file::export(&request.path, requests, &header, &options)?;
            Ok(format!(
                "exported {} requests to {} ({})",
                report.written,
                report.path.display(),
                report.format.name()
            ))
        },
    )
}

/// The options after `:export FILE`.
#[derive(Debug, PartialEq, Eq)]
struct ExportCommand {
    format: ExportFormat,
    filtered: bool,
    force: bool,
}

impl ExportCommand {
    fn parse(args: &[String], format: ExportFormat, force: bool) -> anyhow::Result<Self> {
        let mut parsed = Self {
            format,
            filtered: false,
            force,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--filtered" => parsed.filtered = true,
                "--force" => parsed.force = true,
                "--format" => {
                    let name = args.next().ok_or_else(|| {
                        anyhow::anyhow!("--format needs ndjson, linkerd-json or har")
                    })?;
                    parsed.format = ExportFormat::from_str(name, true).map_err(|_| {
                        anyhow::anyhow!(
                            "unknown export format {name:?}: use ndjson, linkerd-json or har"
                        )
                    })?;
                }
                other => anyhow::bail!(
                    "unexpected {other:?}: use :export FILE [--format ndjson|linkerd-json|har] [--filtered] [--force]"
                ),
            }
        }
        Ok(parsed)
    }
}

/// Where a capture goes when the export asked for at quit fails, so nothing captured is lost: the
/// wanted file name inside a fresh private directory in the temporary directory (kept), where no
/// other user can have put a file or a symlink first.
pub fn rescue_path(wanted: &Path) -> std::io::Result<PathBuf> {
    let name = wanted
        .file_name()
        .map_or_else(|| "capture".into(), |n| n.to_string_lossy().into_owned());
    let dir = crate::files::private_dir(&std::env::temp_dir(), "meshtap-rescued-")?.keep();
    Ok(dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    /// Rescue files land in a fresh private directory each time, never at a name another user
    /// could have taken (or symlinked) first.
    #[test]
    fn rescue_paths_are_fresh_and_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let first = rescue_path(Path::new("/nowhere/capture.har")).expect("rescue path");
        let second = rescue_path(Path::new("/nowhere/capture.har")).expect("rescue path");
        assert_ne!(first, second);
        for path in [&first, &second] {
            assert_eq!(path.file_name(), Some("capture.har".as_ref()));
            assert!(!path.exists());
            let dir = path.parent().expect("dir");
            let mode = std::fs::metadata(dir).expect("dir").permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
            std::fs::remove_dir(dir).expect("clean up");
        }
    }

    #[test]
    fn export_command_options() {
        let parsed = ExportCommand::parse(
            &args("--format har --filtered"),
            ExportFormat::Ndjson,
            false,
        )
        .expect("parse");
        assert_eq!(
            parsed,
            ExportCommand {
                format: ExportFormat::Har,
                filtered: true,
                force: false
            }
        );
        let parsed = ExportCommand::parse(&args("--force"), ExportFormat::LinkerdJson, false)
            .expect("parse");
        assert_eq!(parsed.format, ExportFormat::LinkerdJson);
        assert!(parsed.force);
        assert!(ExportCommand::parse(&args("--format yaml"), ExportFormat::Ndjson, false).is_err());
        assert!(ExportCommand::parse(&args("--format"), ExportFormat::Ndjson, false).is_err());
        assert!(ExportCommand::parse(&args("--bogus"), ExportFormat::Ndjson, false).is_err());
    }

    #[test]
    fn hook_exports_the_whole_or_filtered_capture() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::new(100);
        for event in crate::demo::sim::generate(3, 300) {
            let mut interner = crate::source::wire::Interner::default();
            store.ingest(crate::source::wire::event(
                &mut interner,
                event,
                chrono::Utc::now(),
            ));
        }
        let mut hook = hook(
            SessionInfo::default(),
            Redactor::default(),
            ExportFormat::Ndjson,
            false,
        );
        let all = ExportRequest {
            path: dir.path().join("all.ndjson"),
            args: Vec::new(),
        };
        let message = hook(&all, &store, None).expect("export");
        assert!(
            message.starts_with(&format!("exported {} requests", store.len())),
            "{message}"
        );
        let filter = Filter::parse("dir=in").expect("filter");
        let filtered = ExportRequest {
            path: dir.path().join("in.ndjson"),
            args: args("--filtered"),
        };
        hook(&filtered, &store, Some(&filter)).expect("export");
        let text = std::fs::read_to_string(dir.path().join("in.ndjson")).expect("read");
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.contains("\"direction\":\"inbound\""))
        );
        assert!(
            text.lines().next().is_some_and(|l| l.contains("dir=in")),
            "the header names the filter"
        );
        // Refuses to overwrite without --force, and says so.
        let err = hook(&all, &store, None).expect_err("exists");
        assert!(format!("{err:#}").contains("--force"), "{err:#}");
    }
}
