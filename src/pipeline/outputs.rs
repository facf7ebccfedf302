//! What a session writes besides its sink — the recording, the export at the end, the stats —
//! checked before any source starts, so a refusal comes at once and names the fix instead of
//! after an hour of tapping.

use std::io;

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

use super::otlp::OtlpPlan;
use super::record::Recording;
use crate::cli::{SessionArgs, TriggerArgs};
use crate::export::file::{self, CaptureHeader, ExportError, ExportFormat, ExportOptions};
use crate::files;
use crate::model::store::Store;
use crate::session::{ClockKind, Redactor, SessionInfo};
use crate::stats::Stats;
use crate::trigger;

/// The outputs of one session, opened and checked.
#[derive(Debug)]
pub struct Outputs {
    pub redactor: Redactor,
    pub capacity: usize,
    /// `--max-memory`: the held requests' byte bound.
    pub max_memory: u64,
    /// Started with the session, so `--stats` times the whole run.
    pub stats: Option<Stats>,
    pub record: Option<Recording>,
    /// `--record-dir`: the rolling segment recording.
    pub record_dir: Option<Recording>,
    /// `--trigger`: started with the session (its files name the session).
    pub triggers: Option<trigger::run::Settings>,
    pub export: Option<ExportPlan>,
    /// `--filter`: which requests headless output writes.
    pub filter: Option<crate::filter::Filter>,
    /// `--otlp-endpoint`: checked here, connected when the session starts.
    pub otlp: Option<OtlpPlan>,
    /// `tap --for`: a headless session stops after this long, as on Ctrl-C.
    pub stop_after: Option<std::time::Duration>,
    /// `--log-file`: where the UI sends `--on-trigger`'s output.
    pub log_file: Option<PathBuf>,
    /// `--quiet`: no tap-health explanations on stderr.
    pub quiet: bool,
}

/// `--export`: where the capture goes when the session ends.
#[derive(Clone, Debug)]
pub struct ExportPlan {
    pub path: PathBuf,
    /// What the file is written as: `asked`, else what its name says.
    pub format: ExportFormat,
    /// `--export-format`, if given: also what `:export` writes a name without an ending as.
    pub asked: Option<ExportFormat>,
    pub force: bool,
    /// `--filter`: only the requests it lets through are exported, as everywhere else.
    pub filter: Option<crate::filter::Filter>,
}

impl Outputs {
    /// Checks the export path and creates the recording. Call before starting any source.
    pub fn open(args: &SessionArgs) -> anyhow::Result<Self> {
        let redactor = Redactor::new(!args.no_redact, args.redact_header.clone());
        let export = match &args.export.export {
            Some(path) => {
                files::check_writable(path, args.export.force)
                    .map_err(|e| anyhow::anyhow!("--export: {e}"))?;
                let format = ExportFormat::resolve(path, args.export.export_format)
                    .map_err(|e| anyhow::anyhow!("--export: {e}"))?;
                Some(ExportPlan {
                    path: path.clone(),
                    format,
                    asked: args.export.export_format,
                    force: args.export.force,
                    filter: args.filter.clone(),
                })
            }
            None => None,
        };
        let record = match &args.record {
            Some(path) => Some(
                Recording::create(path, args.export.force, redactor.clone())
                    .map_err(|e| anyhow::anyhow!("--record: {e:#}"))?,
            ),
            None => None,
        };
        let record_dir = match &args.record_dir {
            Some(dir) => Some(
                Recording::rolling(dir, args.record_max, redactor.clone())
                    .map_err(|e| anyhow::anyhow!("--record-dir: {e:#}"))?,
            ),
            None => None,
        };
        let triggers = trigger_settings(&args.triggers, &redactor)?;
        let otlp = args
            .otlp_endpoint
            .as_deref()
            .map(|url| OtlpPlan::parse(url, args.otlp_ca.as_deref()))
            .transpose()?;
        Ok(Self {
            otlp,
            triggers,
            redactor,
            capacity: args.capacity,
            max_memory: args.max_memory,
            stats: args.stats.then(Stats::start),
            record,
            record_dir,
            export,
            filter: args.filter.clone(),
            stop_after: None,
            log_file: args.log_file.clone(),
            quiet: args.quiet,
        })
    }

    /// Outputs that write nothing (tests, and sessions without flags).
    pub fn none() -> Self {
        Self {
            redactor: Redactor::default(),
            capacity: crate::model::store::DEFAULT_CAPACITY_REQUESTS,
            max_memory: crate::model::store::DEFAULT_MAX_MEMORY_BYTES,
            stats: None,
            record: None,
            record_dir: None,
            triggers: None,
            export: None,
            filter: None,
            otlp: None,
            stop_after: None,
            log_file: None,
            quiet: false,
        }
    }
}

/// The `--trigger` settings, their directory checked; `None` without triggers.
fn trigger_settings(
    args: &TriggerArgs,
    redactor: &Redactor,
) -> anyhow::Result<Option<trigger::run::Settings>> {
    if args.triggers.is_empty() {
        return Ok(None);
    }
    trigger::run::prepare_dir(&args.trigger_dir)?;
    // Headless until the sink says otherwise: the UI sends the output to the log file.
    let hook = args.on_trigger.clone().map(|command| trigger::hook::Hook {
        command,
        timeout: args.on_trigger_timeout,
        output: trigger::hook::HookOutput::Stderr,
    });
    Ok(Some(trigger::run::Settings {
        triggers: args.triggers.clone(),
        window: args.trigger_window,
        dir: args.trigger_dir.clone(),
        format: args.trigger_format,
        max_files: args.trigger_max_files,
        hook,
        redactor: redactor.clone(),
    }))
}

/// The session clock's reading when the session ends: the wall clock live; for a replay, the
/// latest time the capture holds (an event clock stops at its last event).
fn clock_at_end(clock: ClockKind, store: &Store) -> DateTime<Utc> {
    let latest = store
        .requests()
        .iter()
        .map(|r| r.ended_at.unwrap_or(r.started))
        .max();
    match (clock, latest) {
        (ClockKind::Event, Some(latest)) => latest,
        _ => Utc::now(),
    }
}

/// Writes the capture held in `store` to the `--export` file, on a blocking thread. If that
/// fails, the capture goes to a rescue file instead and both paths are printed: ending a session
/// never loses what it captured.
/// `clock` says what `--filter`'s relative times (`since=-5m`, `age<1m`) count back from.
pub async fn export_at_end(
    plan: ExportPlan,
    store: Store,
    info: &SessionInfo,
    redactor: Redactor,
    clock: ClockKind,
) -> anyhow::Result<()> {
    let now = clock_at_end(clock, &store);
    let mut header = CaptureHeader::from_session(info);
    header.evicted = store.stats().evicted;
    header.filter = plan.filter.as_ref().map(ToString::to_string);
    let options = ExportOptions {
        format: plan.format,
        filtered: plan.filter.is_some(),
        force: plan.force,
        redactor,
    };
    let wanted_path = plan.path.clone();
    let task = tokio::task::spawn_blocking(move || {
        let filter = plan.filter.as_ref();
        let held = || {
            store
                .requests()
                .iter()
                .filter(move |r| filter.is_none_or(|f| f.matches(r, now)))
        };
        let wanted = file::export(&plan.path, held(), &header, &options);
        match wanted {
            Ok(report) => Ok(report),
            Err(err) => {
                let kept = rescue_path(&plan.path)
                    .map_err(|source| ExportError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })
                    .and_then(|rescue| file::export(&rescue, held(), &header, &options));
                Err(Box::new((err, kept)))
            }
        }
    });
    match task.await? {
        Ok(report) => {
            eprintln!(
                "meshtap: exported {} requests to {} ({})",
                report.written,
                report.path.display(),
                report.format.name()
            );
            Ok(())
        }
        Err(failed) => {
            let (err, kept) = *failed;
            eprintln!("meshtap: export to {} failed: {err}", wanted_path.display());
            match kept {
                Ok(report) => eprintln!(
                    "meshtap: the capture was kept instead: {} requests in {}",
                    report.written,
                    report.path.display()
                ),
                Err(again) => {
                    eprintln!("meshtap: keeping the capture elsewhere failed too: {again}");
                }
            }
            anyhow::bail!("export to {} failed", wanted_path.display())
        }
    }
}

/// Where a capture goes when its export fails, so nothing captured is lost: the wanted file
/// name inside a fresh private directory in the temporary directory (kept), where no other user
/// can have put a file or a symlink first.
pub fn rescue_path(wanted: &Path) -> io::Result<PathBuf> {
    let name = wanted
        .file_name()
        .map_or_else(|| "capture".into(), |n| n.to_string_lossy().into_owned());
    let dir = files::private_dir(&std::env::temp_dir(), "meshtap-rescued-")?.keep();
    Ok(dir.join(name))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// Rescue files land in a fresh private directory each time, never at a name another user
    /// could have taken (or symlinked) first.
    #[test]
    fn rescue_paths_are_fresh_and_private() {
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
}
