//! The trigger runner: sinks hand it each finished request and poll it with the session clock;
//! due windows are gathered from the store and written as exports on a thread of their own
//! (never on an async worker or the UI task), and `--on-trigger` runs there too. Each firing
//! comes back as a [`Fired`] report, for a line on stderr (headless) or the status bar (UI).
//! Skipped firings (the file limit, a writer that is behind) are reported the same way.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use chrono::{DateTime, SecondsFormat, Utc};

use super::hook::{Hook, Running};
use super::{Engine, Trigger, Window};
use crate::export::file::{
    self, CaptureHeader, ExportError, ExportFormat, ExportOptions, TriggerRecord,
};
use crate::model::request::Request;
use crate::model::store::Store;
use crate::session::{Redactor, SessionInfo};

/// Windows queued for the writer thread before further firings are reported as dropped.
pub const TRIGGER_QUEUE_WINDOWS: usize = 16;
/// `--trigger-max-files`' default: a storm of distinct windows cannot fill the disk.
pub const DEFAULT_MAX_FILES: usize = 100;
/// Numbered names tried after a trigger file's own name is taken (a rerun, or a second trigger
/// on the same request): `…-2.ndjson` up to this.
const NAME_TRIES: usize = 1000;

/// How triggers write (`--trigger-*`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub triggers: Vec<Trigger>,
    pub window: std::time::Duration,
    pub dir: PathBuf,
    pub format: ExportFormat,
    pub max_files: usize,
    /// `--on-trigger`.
    pub hook: Option<Hook>,
    pub redactor: Redactor,
}

/// One firing, as reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    pub window: Window,
    /// The file and how many requests it holds, or why none was written.
    pub written: Result<(PathBuf, usize), String>,
    /// What `--on-trigger` did, if given.
    pub command: Option<String>,
}

impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.window;
        write!(
            f,
            "trigger `{}` fired on request {} ({} more in the window): ",
            w.trigger, w.request, w.further
        )?;
        match &self.written {
            Ok((path, n)) => write!(f, "wrote {n} requests to {}", path.display())?,
            Err(why) => write!(f, "nothing written: {why}")?,
        }
        match &self.command {
            Some(command) => write!(f, "; --on-trigger {command}"),
            None => Ok(()),
        }
    }
}

/// A window with its requests, for the writer thread.
struct Job {
    window: Window,
    requests: Vec<Request>,
}

/// The triggers of a session. Shared by reference with the sink (`&self` methods).
#[derive(Debug)]
pub struct Triggers {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    jobs: Option<SyncSender<Job>>,
    reports: Receiver<Fired>,
    files_left: usize,
    /// Windows that fired (written, being written, or skipped).
    windows: usize,
    fired: Vec<Fired>,
    thread: Option<JoinHandle<()>>,
    /// `--on-trigger` commands still running.
    running: Running,
}

impl Triggers {
    /// Starts the writer thread. The directory must exist (see [`prepare_dir`]).
    pub fn start(settings: Settings, info: &SessionInfo) -> anyhow::Result<Self> {
        if !settings.dir.is_dir() {
            anyhow::bail!(
                "--trigger-dir {} is not a directory",
                settings.dir.display()
            );
        }
        let running = Running::default();
        let hooks = running.clone();
        let (jobs, job_rx) = mpsc::sync_channel(TRIGGER_QUEUE_WINDOWS);
        let (report_tx, reports) = mpsc::channel();
        let engine = Engine::new(settings.triggers.clone(), settings.window);
        let files_left = settings.max_files;
        let header = CaptureHeader::from_session(info);
        let thread = std::thread::Builder::new()
            .name("meshtap-triggers".into())
            .spawn(move || {
                while let Ok(job) = job_rx.recv() {
                    let fired = write(&settings, &header, job, &hooks);
                    if report_tx.send(fired).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            inner: Mutex::new(Inner {
                engine,
                jobs: Some(jobs),
                reports,
                files_left,
                windows: 0,
                fired: Vec::new(),
                thread: Some(thread),
                running,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain data behind; carry on with it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request finished at `now` (the session clock).
    pub fn finished(&self, request: &Request, now: DateTime<Utc>) {
        self.lock().engine.finished(request, now);
    }

    /// Adds a trigger while the session runs.
    pub fn add(&self, trigger: Trigger) {
        self.lock().engine.add(trigger);
    }

    /// Sends the windows due at `now` to the writer and returns the firings it finished since
    /// the last call.
    pub fn poll(&self, store: &Store, now: DateTime<Utc>) -> Vec<Fired> {
        let mut inner = self.lock();
        let before = inner.fired.len();
        let due = inner.engine.due(now);
        inner.submit(due, store);
        inner.collect(before)
    }

    /// The source has ended: nothing more can arrive, so every open window is written now with
    /// what the store holds (a replay in the UI must not wait for `q`). Returns the firings
    /// finished since the last call, like [`Triggers::poll`].
    pub fn close_all(&self, store: &Store) -> Vec<Fired> {
        let mut inner = self.lock();
        let before = inner.fired.len();
        let open = inner.engine.flush();
        inner.submit(open, store);
        inner.collect(before)
    }

    /// Writes every window still open with what the store holds, waits for the writer (not for
    /// `--on-trigger` commands, which run on) and returns the last firings. Blocking: call at
    /// the end of the session, off the runtime.
    pub fn finish(&self, store: &Store) -> Vec<Fired> {
        let mut inner = self.lock();
        let before = inner.fired.len();
        let open = inner.engine.flush();
        inner.submit(open, store);
        inner.jobs = None;
        if let Some(thread) = inner.thread.take() {
            let _ = thread.join();
        }
        inner.collect(before)
    }

    /// `--on-trigger` commands still running (the session does not wait for them).
    pub fn hooks_running(&self) -> usize {
        self.lock().running.count()
    }

    /// At the session's end: hands the commands still running to timers that stop them at their
    /// `--on-trigger-timeout`; returns how many.
    pub fn hand_over_hooks(&self) -> usize {
        self.lock().running.hand_over()
    }

    /// How many windows have fired so far, their files written or not yet.
    pub fn firings(&self) -> usize {
        self.lock().windows
    }

    /// Every firing so far, oldest first.
    pub fn fired(&self) -> Vec<Fired> {
        self.lock().fired.clone()
    }

    pub fn triggers(&self) -> Vec<String> {
        self.lock().engine.triggers().map(str::to_string).collect()
    }
}

impl Inner {
    fn submit(&mut self, windows: Vec<Window>, store: &Store) {
        self.windows += windows.len();
        for window in windows {
            let skipped = |why: String| Fired {
                window: window.clone(),
                written: Err(why),
                command: None,
            };
            if self.files_left == 0 {
                self.fired
                    .push(skipped("--trigger-max-files reached".into()));
                continue;
            }
            let requests = store
                .requests()
                .iter()
                .filter(|r| window.holds(r))
                .cloned()
                .collect();
            let Some(jobs) = &self.jobs else { continue };
            let job = Job {
                window: window.clone(),
                requests,
            };
            match jobs.try_send(job) {
                Ok(()) => self.files_left -= 1,
                Err(TrySendError::Full(_)) => {
                    self.fired
                        .push(skipped("the trigger writer is behind".into()));
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.fired
                        .push(skipped("the trigger writer stopped".into()));
                }
            }
        }
    }

    /// The firings logged from `before` on (skipped ones included) plus those the writer
    /// finished since the last call, which join the log.
    fn collect(&mut self, before: usize) -> Vec<Fired> {
        self.fired.extend(self.reports.try_iter());
        self.fired[before..].to_vec()
    }
}

/// On the writer thread: the window's export, then `--on-trigger` (started, not waited for).
fn write(settings: &Settings, header: &CaptureHeader, job: Job, running: &Running) -> Fired {
    let Job { window, requests } = job;
    let matching = requests.iter().find(|r| r.seq == window.request);
    let mut header = header.clone();
    header.started = Some(window.from);
    header.ended = Some(window.to);
    header.trigger = Some(TriggerRecord {
        trigger: window.trigger.clone(),
        request_seq: window.request,
        request: matching.map(describe).unwrap_or_default(),
        at: window.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        further_matches: window.further,
    });
    let ext = match settings.format {
        ExportFormat::Ndjson => "ndjson",
        ExportFormat::Har => "har",
        ExportFormat::LinkerdJson => "json",
        ExportFormat::OtlpJson => "otlp.json",
        ExportFormat::Pcapng => "pcapng",
    };
    let stem = format!(
        "meshtap-trigger-{}-{}",
        window.at.format("%Y%m%dT%H%M%S%.3fZ"),
        window.request
    );
    let options = ExportOptions {
        format: settings.format,
        filtered: false,
        force: false,
        redactor: settings.redactor.clone(),
    };
    let written = export_unique(&settings.dir, &stem, ext, &requests, &header, &options);
    let command = match (&settings.hook, &written) {
        (Some(hook), Ok((path, n))) => Some(hook.start(&window, path, *n, running)),
        _ => None,
    };
    Fired {
        window,
        written,
        command,
    }
}

fn describe(request: &Request) -> String {
    let status = request
        .http_status()
        .map_or_else(|| "-".to_string(), |s| s.to_string());
    format!(
        "{} {}{} -> {status}",
        request.method(),
        request.authority(),
        request.path()
    )
}

/// Writes the window as `DIR/STEM.EXT`, or `STEM-2.EXT`, `STEM-3.EXT`… when the name is
/// taken (a rerun of the same capture, a second trigger on the same request): a trigger file
/// never replaces one, and a firing never fails only because its name was used.
fn export_unique(
    dir: &Path,
    stem: &str,
    ext: &str,
    requests: &[Request],
    header: &CaptureHeader,
    options: &ExportOptions,
) -> Result<(PathBuf, usize), String> {
    for n in 1..=NAME_TRIES {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{n}.{ext}")
        };
        match file::export(&dir.join(name), requests, header, options) {
            Ok(report) => return Ok((report.path, report.written)),
            Err(ExportError::Exists { .. }) => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    Err(format!(
        "{}/{stem}.{ext} and {} numbered names after it already exist in the trigger directory",
        dir.display(),
        NAME_TRIES - 1
    ))
}

/// Creates `--trigger-dir` (0700, like `--record-dir`) when it is missing, and checks that files
/// can be created in it, so a directory that cannot take a trigger file is refused before the
/// session starts rather than at the first firing.
pub fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        crate::files::create_dirs(dir).map_err(|e| {
            anyhow::anyhow!("--trigger-dir {}: cannot create it: {e}", dir.display())
        })?;
    }
    if !dir.is_dir() {
        anyhow::bail!("--trigger-dir {} is not a directory", dir.display());
    }
    crate::files::check_dir_writable(dir).map_err(|e| anyhow::anyhow!("--trigger-dir: {e}"))
}

#[cfg(test)]
pub(super) mod tests;
