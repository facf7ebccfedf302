//! The UI sink: opens the terminal UI on the session's channel, with the export hook behind
//! `:export` (written on a thread, so a big export never freezes the screen).

use clap::ValueEnum as _;
use tokio::sync::mpsc;

use super::outputs::ExportPlan;
use crate::app::state::ExportRequest;
use crate::cli::UiArgs;
use crate::export::file::{self, CaptureHeader, ExportFormat, ExportOptions};
use crate::filter::Filter;
use crate::model::request::Request;
use crate::model::store::Store;
use crate::session::{ClockKind, Redactor, SessionInfo, SourceMsg, TapCommand};
use crate::tui::{DiffDone, DiffHook, ExportDone, ExportHook, RunParams};

/// Exports running at once before `:export` has to wait for one to finish.
const EXPORTS_IN_FLIGHT: usize = 4;

/// What the UI sink needs from the session.
pub struct Params {
    pub commands: Option<mpsc::Sender<TapCommand>>,
    pub info: SessionInfo,
    pub clock: ClockKind,
    pub redactor: Redactor,
    /// `--export`: its format and `--force` are the defaults of `:export`.
    pub export: Option<ExportPlan>,
    pub triggers: Option<std::sync::Arc<crate::trigger::run::Triggers>>,
    /// `--filter`, as text in the filter language: the UI's starting filter.
    pub filter: Option<String>,
}

/// Runs the UI until the user quits and hands back the store.
pub async fn open(
    events: mpsc::Receiver<SourceMsg>,
    params: Params,
    ui: &UiArgs,
    store: Store,
) -> anyhow::Result<Store> {
    let (format, force) = params
        .export
        .as_ref()
        .map_or((None, false), |plan| (plan.asked, plan.force));
    let (done_tx, done_rx) = mpsc::channel(EXPORTS_IN_FLIGHT);
    let mut run = RunParams::new(events, params.info.clone());
    run.commands = params.commands;
    run.store = store;
    run.clock = params.clock;
    run.redactor = params.redactor.clone();
    run.config.clone_from(&ui.config);
    run.no_color = ui.no_color;
    run.export = Some(hook(params.info, params.redactor, format, force, done_tx));
    run.exports = Some(done_rx);
    let (diff_tx, diff_rx) = mpsc::channel(EXPORTS_IN_FLIGHT);
    run.diff = Some(diff_hook(diff_tx));
    run.diffs = Some(diff_rx);
    run.triggers = params.triggers;
    run.filter = params.filter;
    crate::tui::run_terminal(run).await
}

/// The export hook: `:export FILE [--format FORMAT] [--filtered] [--force]`, the format
/// following FILE's name unless asked (`--format`, else the session's `--export-format`), a
/// name saying another format refused. Takes a copy of the requests to write (cheap next to
/// serialising and syncing them) and writes them on a thread; the result arrives on `done`.
pub fn hook(
    info: SessionInfo,
    redactor: Redactor,
    default_format: Option<ExportFormat>,
    default_force: bool,
    done: mpsc::Sender<ExportDone>,
) -> ExportHook {
    Box::new(
        move |request: &ExportRequest, store: &Store, filter: Option<&Filter>, now| {
            let args = ExportCommand::parse(&request.args, default_format, default_force)?;
            let format = ExportFormat::resolve(&request.path, args.format)?;
            let filter = filter.filter(|f| args.filtered && !f.is_empty());
            let mut header = CaptureHeader::from_session(&info);
            header.evicted = store.stats().evicted;
            header.filter = filter.map(ToString::to_string);
            let options = ExportOptions {
                format,
                filtered: filter.is_some(),
                force: args.force,
                redactor: redactor.clone(),
            };
            let requests: Vec<Request> = store
                .requests()
                .iter()
                .filter(|r| filter.is_none_or(|f| f.matches(r, now)))
                .cloned()
                .collect();
            let (path, done, count) = (request.path.clone(), done.clone(), requests.len());
            std::thread::Builder::new()
                .name("meshtap-export".into())
                .spawn(move || {
                    let result = file::export(&path, &requests, &header, &options)
                        .map(|report| {
                            format!(
                                "exported {} requests to {} ({})",
                                report.written,
                                report.path.display(),
                                report.format.name()
                            )
                        })
                        .map_err(|e| e.to_string());
                    let _ = done.blocking_send(result);
                })
                .map_err(|e| anyhow::anyhow!("cannot start the export: {e}"))?;
            Ok(format!(
                "exporting {count} requests to {}…",
                request.path.display()
            ))
        },
    )
}

/// The `:diff FILE` hook: reads the saved capture on the runtime (never on the UI thread) into a
/// side of the diff, quietly (stderr belongs to the screen); the side arrives on `done`.
fn diff_hook(done: mpsc::Sender<DiffDone>) -> DiffHook {
    Box::new(move |path: &std::path::Path| {
        let (path, done) = (path.to_path_buf(), done.clone());
        let message = format!(
            "reading {} to compare with the live capture…",
            path.display()
        );
        tokio::spawn(async move {
            let side = crate::run::diff_side_quietly(&path).await;
            let _ = done.send(side.map_err(|e| format!("{e:#}"))).await;
        });
        Ok(message)
    })
}

/// The options after `:export FILE`.
#[derive(Debug, PartialEq, Eq)]
struct ExportCommand {
    /// Asked for; `None` lets the file name say.
    format: Option<ExportFormat>,
    filtered: bool,
    force: bool,
}

/// The names `--format` takes: the ones `--export-format` takes, from the same list.
fn format_names(separator: &str) -> String {
    let names: Vec<&str> = ExportFormat::value_variants()
        .iter()
        .map(|f| f.name())
        .collect();
    names.join(separator)
}

impl ExportCommand {
    fn parse(args: &[String], format: Option<ExportFormat>, force: bool) -> anyhow::Result<Self> {
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
                        anyhow::anyhow!("--format needs one of {}", format_names(", "))
                    })?;
                    parsed.format = Some(ExportFormat::from_str(name, true).map_err(|_| {
                        anyhow::anyhow!(
                            "unknown export format {name:?}: use {}",
                            format_names(", ")
                        )
                    })?);
                }
                other => anyhow::bail!(
                    "unexpected {other:?}: use :export FILE [--format {}] [--filtered] [--force]",
                    format_names("|")
                ),
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn export_command_options() {
        let parsed =
            ExportCommand::parse(&args("--format har --filtered"), None, false).expect("parse");
        assert_eq!(
            parsed,
            ExportCommand {
                format: Some(ExportFormat::Har),
                filtered: true,
                force: false
            }
        );
        let parsed = ExportCommand::parse(&args("--force"), Some(ExportFormat::LinkerdJson), false)
            .expect("parse");
        assert_eq!(parsed.format, Some(ExportFormat::LinkerdJson));
        assert!(parsed.force);
        assert!(ExportCommand::parse(&args("--format otlp-json"), None, false).is_ok());
        // Linkerd's JSON has one name, `json`, with its former name as an alias.
        for name in ["json", "linkerd-json"] {
            let text = format!("--format {name}");
            let parsed = ExportCommand::parse(&args(&text), None, false);
            assert_eq!(
                parsed.expect("parse").format,
                Some(ExportFormat::LinkerdJson)
            );
        }
        let error =
            ExportCommand::parse(&args("--format yaml"), None, false).expect_err("unknown format");
        assert!(
            error
                .to_string()
                .ends_with("use ndjson, json, har, otlp-json, pcapng"),
            "{error}"
        );
        assert!(ExportCommand::parse(&args("--format"), None, false).is_err());
        assert!(ExportCommand::parse(&args("--bogus"), None, false).is_err());
    }

    /// Runs the hook and waits for its thread's result.
    fn export_now(
        hook: &mut ExportHook,
        done: &mut mpsc::Receiver<ExportDone>,
        request: &ExportRequest,
        store: &Store,
        filter: Option<&Filter>,
    ) -> Result<String, String> {
        hook(request, store, filter, chrono::Utc::now()).map_err(|e| format!("{e:#}"))?;
        done.blocking_recv().expect("the export thread reports")
    }

    #[test]
    fn hook_exports_the_whole_or_filtered_capture_off_the_ui_task() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::new(100);
        let mut interner = crate::source::wire::Interner::default();
        for event in crate::demo::sim::generate(3, 300) {
            store.ingest(crate::source::wire::event(
                &mut interner,
                event,
                chrono::Utc::now(),
            ));
        }
        let (tx, mut done) = mpsc::channel(4);
        let mut hook = hook(SessionInfo::default(), Redactor::default(), None, false, tx);
        let all = ExportRequest {
            path: dir.path().join("all.ndjson"),
            args: Vec::new(),
        };
        let message = export_now(&mut hook, &mut done, &all, &store, None).expect("export");
        assert!(
            message.starts_with(&format!("exported {} requests", store.len())),
            "{message}"
        );
        let filter = Filter::parse("dir=in").expect("filter");
        let filtered = ExportRequest {
            path: dir.path().join("in.ndjson"),
            args: args("--filtered"),
        };
        export_now(&mut hook, &mut done, &filtered, &store, Some(&filter)).expect("export");
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
        let err = export_now(&mut hook, &mut done, &all, &store, None).expect_err("exists");
        assert!(err.contains("--force"), "{err}");
        // The name says the format (`:export all.pcapng` wrote NDJSON): a pcapng block opens
        // the file; a name saying another format than the one asked is refused, nothing written.
        let pcapng = ExportRequest {
            path: dir.path().join("all.pcapng"),
            args: Vec::new(),
        };
        let message = export_now(&mut hook, &mut done, &pcapng, &store, None).expect("export");
        assert!(message.ends_with("(pcapng)"), "{message}");
        let bytes = std::fs::read(&pcapng.path).expect("read");
        assert_eq!(
            bytes[..4],
            [0x0a, 0x0d, 0x0d, 0x0a],
            "a section header block"
        );
        let mismatch = ExportRequest {
            path: dir.path().join("x.har"),
            args: args("--format ndjson"),
        };
        let err = export_now(&mut hook, &mut done, &mismatch, &store, None).expect_err("refused");
        assert!(err.contains("names a har file"), "{err}");
        assert!(!mismatch.path.exists());
    }
}
