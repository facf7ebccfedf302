//! What a session writes besides its sink — the recording, the export at the end, the stats —
//! checked before any source starts, so a refusal comes at once and names the fix instead of
//! after an hour of tapping.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::record::Recording;
use crate::cli::SessionArgs;
use crate::export::file::{self, CaptureHeader, ExportError, ExportFormat, ExportOptions};
use crate::model::store::Store;
use crate::session::{Redactor, SessionInfo};
use crate::stats::Stats;

/// The outputs of one session, opened and checked.
#[derive(Debug)]
pub struct Outputs {
    pub redactor: Redactor,
    pub capacity: usize,
    /// Started with the session, so `--stats` times the whole run.
    pub stats: Option<Stats>,
    pub record: Option<Recording>,
    pub export: Option<ExportPlan>,
}

/// `--export`: where the capture goes when the session ends.
#[derive(Clone, Debug)]
pub struct ExportPlan {
    pub path: PathBuf,
    pub format: ExportFormat,
    pub force: bool,
}

impl Outputs {
    /// Checks the export path and creates the recording. Call before starting any source.
    pub fn open(args: &SessionArgs) -> anyhow::Result<Self> {
        let redactor = Redactor::new(!args.no_redact, args.redact_header.clone());
        let export = match &args.export.export {
            Some(path) => {
                check_target(path, args.export.force)
                    .map_err(|e| anyhow::anyhow!("--export: {e}"))?;
                Some(ExportPlan {
                    path: path.clone(),
                    format: args.export.export_format,
                    force: args.export.force,
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
        Ok(Self {
            redactor,
            capacity: args.capacity,
            stats: args.stats.then(Stats::start),
            record,
            export,
        })
    }

    /// Outputs that write nothing (tests, and sessions without flags).
    pub fn none() -> Self {
        Self {
            redactor: Redactor::default(),
            capacity: crate::model::store::DEFAULT_CAPACITY_REQUESTS,
            stats: None,
            record: None,
            export: None,
        }
    }
}

/// Whether a file could be created at `path` later: refuses what will certainly fail, naming the
/// fix. Creates nothing.
pub fn check_target(path: &Path, force: bool) -> Result<(), ExportError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let owned = || path.to_path_buf();
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(ExportError::IsDirectory { path: owned() }),
        Ok(_) if !force => return Err(ExportError::Exists { path: owned() }),
        _ => {}
    }
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(ExportError::NotADirectory {
            path: owned(),
            dir: dir.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(ExportError::NoDirectory {
            path: owned(),
            dir: dir.to_path_buf(),
        }),
        Err(_) => Err(ExportError::PermissionDenied { path: owned() }),
    }
}

/// Creates a private file (0600) at `path`, never through a symlink and never replacing a file
/// unless `force` (which removes the old file first rather than writing through it).
pub fn create_private(path: &Path, force: bool) -> anyhow::Result<File> {
    check_target(path, force)?;
    if force && fs::symlink_metadata(path).is_ok() {
        fs::remove_file(path)
            .map_err(|e| anyhow::anyhow!("cannot replace {}: {e}", path.display()))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))
}

/// Writes the capture held in `store` to the `--export` file, on a blocking thread. If that
/// fails, the capture goes to a rescue file instead and both paths are printed: ending a session
/// never loses what it captured.
pub async fn export_at_end(
    plan: ExportPlan,
    store: Store,
    info: &SessionInfo,
    redactor: Redactor,
) -> anyhow::Result<()> {
    let mut header = CaptureHeader::from_session(info);
    header.evicted = store.stats().evicted;
    let options = ExportOptions {
        format: plan.format,
        filtered: false,
        force: plan.force,
        redactor,
    };
    let wanted_path = plan.path.clone();
    let task = tokio::task::spawn_blocking(move || {
        let wanted = file::export(&plan.path, store.requests(), &header, &options);
        match wanted {
            Ok(report) => Ok(report),
            Err(err) => {
                let rescue = rescue_path(&plan.path);
                let kept = file::export(&rescue, store.requests(), &header, &options);
                Err(Box::new((err, rescue, kept)))
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
            let (err, rescue, kept) = *failed;
            eprintln!("meshtap: export to {} failed: {err}", wanted_path.display());
            match kept {
                Ok(report) => eprintln!(
                    "meshtap: the capture was kept instead: {} requests in {}",
                    report.written,
                    rescue.display()
                ),
                Err(again) => eprintln!(
                    "meshtap: the rescue file {} failed too: {again}",
                    rescue.display()
                ),
            }
            anyhow::bail!("export to {} failed", wanted_path.display())
        }
    }
}

/// Where a capture goes when its export fails: nothing captured is lost.
pub fn rescue_path(wanted: &Path) -> PathBuf {
    let name = wanted
        .file_name()
        .map_or_else(|| "capture".into(), |n| n.to_string_lossy().into_owned());
    std::env::temp_dir().join(format!("meshtap-rescued-{}-{name}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn targets_are_checked_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let free = dir.path().join("new.ndjson");
        assert!(check_target(&free, false).is_ok());
        std::fs::write(&free, "x").expect("write");
        let exists = check_target(&free, false).expect_err("exists");
        assert!(exists.to_string().contains("--force"), "{exists}");
        assert!(check_target(&free, true).is_ok());
        let missing = dir.path().join("nope").join("x.ndjson");
        let err = check_target(&missing, false).expect_err("no dir");
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(matches!(
            check_target(dir.path(), true),
            Err(ExportError::IsDirectory { .. })
        ));
        let under_file = free.join("x");
        assert!(matches!(
            check_target(&under_file, false),
            Err(ExportError::NotADirectory { .. })
        ));
    }

    #[test]
    fn private_files_are_0600_and_never_follow_a_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rec.bin");
        drop(create_private(&path, false).expect("create"));
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(create_private(&path, false).is_err(), "no clobber");
        // A link planted at the path: even with force, the link's target is left untouched.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").expect("write");
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        assert!(create_private(&link, false).is_err());
        drop(create_private(&link, true).expect("replace the link itself"));
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me");
    }
}
