//! Writing a capture to a file safely: the whole export goes to a temporary file in the target's
//! directory, is flushed to disk, and only then takes the target's name, so a crash, a full disk
//! or a bad path never leaves a half-written export behind, and an existing file is never
//! replaced unless the user forces it.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{Redactor, events, har, linkerd_json, ndjson};
use crate::capture::ndjson::NDJSON_VERSION;
use crate::capture::{CaptureRecord, HeaderLine, rfc3339};

use crate::model::request::Request;
use crate::model::store::Store;
use crate::session::{SessionInfo, SourceMsg};

/// The `format` of an NDJSON export's header line.
pub const NDJSON_FORMAT: &str = "meshtap-ndjson";
/// The `format` of the capture description inside a HAR export (`log._meshtap`).
pub const HAR_FORMAT: &str = "meshtap-har";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// meshtap's schema: a header line, then one joined request per line.
    #[default]
    Ndjson,
    /// `linkerd viz tap -o json`'s event objects, byte for byte.
    LinkerdJson,
    /// HAR 1.2, with meshtap's fields under `_meshtap`.
    Har,
}

impl ExportFormat {
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::LinkerdJson => "linkerd-json",
            ExportFormat::Har => "har",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// The requests given are the filtered view (the header then records the filter).
    pub filtered: bool,
    /// Replace an existing file.
    pub force: bool,
    pub redactor: Redactor,
}

/// What the caller knows about the capture as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureHeader {
    pub targets: Vec<String>,
    pub context: String,
    pub sampling: String,
    /// The active client-side filter expression; recorded only for a filtered export.
    pub filter: Option<String>,
    /// When capturing began and ended; taken from the requests when `None`.
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// Requests pushed out of memory before the export (they are not in the file).
    pub evicted: u64,
}

impl CaptureHeader {
    pub fn from_session(session: &SessionInfo) -> Self {
        Self {
            targets: session.targets.clone(),
            context: session.context.clone(),
            sampling: session.sampling.clone(),
            ..Self::default()
        }
    }
}

impl CaptureRecord {
    pub fn new(
        format: &str,
        header: &CaptureHeader,
        requests: &[&Request],
        options: &ExportOptions,
    ) -> Self {
        let started = header
            .started
            .or_else(|| requests.iter().map(|r| r.started).min());
        let ended = header.ended.or_else(|| {
            requests
                .iter()
                .map(|r| r.ended_at.unwrap_or(r.started))
                .max()
        });
        Self {
            format: format.to_string(),
            version: NDJSON_VERSION,
            meshtap_version: env!("CARGO_PKG_VERSION").to_string(),
            targets: header.targets.clone(),
            context: header.context.clone(),
            filter: header.filter.clone().filter(|_| options.filtered),
            sampling: header.sampling.clone(),
            started: started.map(rfc3339),
            ended: ended.map(rfc3339),
            requests: requests.len() as u64,
            evicted: header.evicted,
            never_ended: requests.iter().filter(|r| r.end.is_none()).count() as u64,
            // `authorization` is always sensitive when redaction is on.
            redacted: options.redactor.is_sensitive("authorization"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    /// Requests written.
    pub written: usize,
    pub path: PathBuf,
    pub format: ExportFormat,
}

/// Why an export failed. In every case nothing was left at the target path and the capture in
/// memory is untouched, so the user can retry elsewhere.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{} already exists; use --force to overwrite it, or choose another name", path.display())]
    Exists { path: PathBuf },
    #[error("{} is a directory; give a file name", path.display())]
    IsDirectory { path: PathBuf },
    #[error("cannot write {}: the directory {} does not exist", path.display(), dir.display())]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot write {}: {} is not a directory", path.display(), dir.display())]
    NotADirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot write {}: permission denied", path.display())]
    PermissionDenied { path: PathBuf },
    #[error("cannot write {}: the disk is full (nothing was written)", path.display())]
    DiskFull { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl ExportError {
    fn from_io(err: io::Error, path: &Path, dir: &Path) -> Self {
        let path = path.to_path_buf();
        let dir = dir.to_path_buf();
        match err.kind() {
            io::ErrorKind::AlreadyExists => Self::Exists { path },
            io::ErrorKind::IsADirectory => Self::IsDirectory { path },
            io::ErrorKind::NotFound => Self::NoDirectory { path, dir },
            io::ErrorKind::NotADirectory => Self::NotADirectory { path, dir },
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Self::PermissionDenied { path }
            }
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::DiskFull { path },
            _ => Self::Io { path, source: err },
        }
    }
}

/// Removes the temporary file however the export ends; after a rename there is nothing left to
/// remove and the error is ignored.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Writes `requests` to `path` in the chosen format, atomically.
pub fn export<'a>(
    path: &Path,
    requests: impl IntoIterator<Item = &'a Request>,
    header: &CaptureHeader,
    options: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let fail = |err: io::Error| ExportError::from_io(err, path, dir);
    // Refuse early, before any work, when the answer is already known.
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(ExportError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        Ok(_) if !options.force => {
            return Err(ExportError::Exists {
                path: path.to_path_buf(),
            });
        }
        _ => {}
    }
    let requests: Vec<&Request> = requests.into_iter().collect();
    let (temp, file) = create_temp(dir, path).map_err(fail)?;
    let mut out = BufWriter::new(file);
    let written = write_body(&mut out, &requests, header, options).map_err(fail)?;
    let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
    // On disk before it gets the real name: a crash then leaves the old state, never a torn file.
    file.sync_all().map_err(fail)?;
    drop(file);
    place(&temp.0, path, options.force).map_err(fail)?;
    drop(temp);
    // Makes the new name durable; not every platform can open a directory, so best effort.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(ExportReport {
        written,
        path: path.to_path_buf(),
        format: options.format,
    })
}

fn create_temp(dir: &Path, path: &Path) -> io::Result<(TempFile, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}-{n}.meshtap-tmp", std::process::id()));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    Ok((TempFile(temp), file))
}

/// Gives the finished temporary file the target's name. Without `force` a hard link is made,
/// which fails if the target appeared meanwhile, so a file created during the export is never
/// replaced; file systems without hard links fall back to check-then-rename.
fn place(temp: &Path, path: &Path, force: bool) -> io::Result<()> {
    if force {
        return fs::rename(temp, path);
    }
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(err),
        Err(_) if fs::symlink_metadata(path).is_ok() => Err(io::ErrorKind::AlreadyExists.into()),
        Err(_) => fs::rename(temp, path),
    }
}

fn write_body(
    out: &mut impl io::Write,
    requests: &[&Request],
    header: &CaptureHeader,
    options: &ExportOptions,
) -> io::Result<usize> {
    let redactor = &options.redactor;
    match options.format {
        ExportFormat::Ndjson => {
            let line = HeaderLine {
                meshtap_capture: CaptureRecord::new(NDJSON_FORMAT, header, requests, options),
            };
            serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
            out.write_all(b"\n")?;
            for request in requests {
                ndjson::write_request(out, request, redactor)?;
            }
            Ok(requests.len())
        }
        ExportFormat::LinkerdJson => {
            let redact = |name: &str| redactor.is_sensitive(name);
            for event in events::stream_of(requests.iter().copied()) {
                linkerd_json::write_event(out, &event, &redact)?;
            }
            Ok(requests.len())
        }
        ExportFormat::Har => {
            let capture = CaptureRecord::new(HAR_FORMAT, header, requests, options);
            har::write(out, requests.iter().copied(), redactor, Some(&capture))
        }
    }
}

/// Keeps a copy of every request a headless run sees, so `--export` can write them when the run
/// ends. With `stop_on_ctrl_c`, Ctrl-C ends the run cleanly (the output is flushed and the export
/// written) instead of killing the process.
pub struct Recorder {
    handle: tokio::task::JoinHandle<Store>,
}

impl Recorder {
    /// Forwards everything from `rx` to the returned receiver, recording events on the way.
    pub fn spawn(
        mut rx: mpsc::Receiver<SourceMsg>,
        capacity: usize,
        stop_on_ctrl_c: bool,
    ) -> (mpsc::Receiver<SourceMsg>, Self) {
        let (tx, forwarded) = mpsc::channel(crate::session::SOURCE_CHANNEL_BATCHES);
        let handle = tokio::spawn(async move {
            let mut store = Store::new(capacity);
            let ctrl_c = async {
                if stop_on_ctrl_c {
                    let _ = tokio::signal::ctrl_c().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::pin!(ctrl_c);
            loop {
                let msg = tokio::select! {
                    msg = rx.recv() => msg,
                    () = &mut ctrl_c => None,
                };
                let Some(msg) = msg else { break };
                if let SourceMsg::Events(events) = &msg {
                    for event in events {
                        store.ingest(event.clone());
                    }
                }
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
            store
        });
        (forwarded, Self { handle })
    }

    /// Waits for the run to end and writes the export. `header.evicted` is filled in from the
    /// recorder's own store.
    pub async fn finish(
        self,
        path: &Path,
        mut header: CaptureHeader,
        options: &ExportOptions,
    ) -> anyhow::Result<ExportReport> {
        let store = self
            .handle
            .await
            .map_err(|e| anyhow::anyhow!("the export recorder stopped: {e}"))?;
        header.evicted = store.stats().evicted;
        Ok(export(path, store.requests(), &header, options)?)
    }
}
