//! `--on-trigger CMD`: run after a trigger file is written. The command runs through `sh -c` in
//! a process group of its own, and nothing waits for it: the trigger writer goes on to the next
//! window, and the end of the session (Ctrl-C, `q`, the end of a replay) does not wait either. A
//! watcher thread stops the whole group after `--on-trigger-timeout` while meshtap runs; at the
//! end, a command still running is handed to a small detached timer (`sh -c 'sleep …; kill …'`)
//! that stops its group at the same deadline, so the timeout holds after meshtap has gone.
//!
//! What the capture holds (the file path, the trigger text) reaches the command only as
//! environment variables, never in its text, so nothing in a request can be run by the shell.
//! Its output never reaches meshtap's stdout (the capture in headless mode, the screen in the UI):
//! it goes to stderr in headless mode, else to the log file or nowhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Window;

/// `--on-trigger-timeout`'s default.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the watcher looks at a running command.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// Where a command's stdout and stderr go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookOutput {
    /// Headless: meshtap's stderr, so `-o ndjson` on stdout stays a capture.
    Stderr,
    /// The UI with `--log-file`: appended to it.
    Log(PathBuf),
    /// The UI without a log file: nowhere (the screen belongs to the UI).
    Null,
}

/// How `--on-trigger` runs.
#[derive(Clone, Debug)]
pub struct Hook {
    pub command: String,
    pub timeout: Duration,
    pub output: HookOutput,
}

/// The commands still running (process group → deadline), shared with their watchers.
#[derive(Clone, Debug, Default)]
pub struct Running(Arc<Mutex<BTreeMap<u32, Instant>>>);

impl Running {
    pub fn count(&self) -> usize {
        self.groups().len()
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, Instant>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// At meshtap's exit: each command still running gets a detached timer that stops its group
    /// at its deadline. Returns how many were handed over.
    pub fn hand_over(&self) -> usize {
        let groups = std::mem::take(&mut *self.groups());
        let now = Instant::now();
        for (&group, &deadline) in &groups {
            let left = deadline.saturating_duration_since(now);
            if let Err(err) = stop_later(group, left) {
                tracing::warn!("--on-trigger: no timer for process group {group}: {err}");
            }
        }
        groups.len()
    }
}

/// Starts `sh -c 'sleep SECONDS; kill -KILL -GROUP'` in a group of its own, detached from
/// meshtap (not waited for, no output). A group id is only reused once that group is gone, and
/// a new process must ask for it, so the kill reaches the command's group or nothing.
fn stop_later(group: u32, after: Duration) -> std::io::Result<()> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "sleep {:.3}; kill -KILL -{group} 2>/dev/null",
            after.as_secs_f64()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        command.process_group(0);
    }
    // Dropping the handle neither waits for nor kills the timer.
    command.spawn().map(drop)
}

impl Hook {
    /// Starts the command for a written trigger file and returns what to report at once.
    pub fn start(
        &self,
        window: &Window,
        file: &Path,
        requests: usize,
        running: &Running,
    ) -> String {
        let (stdout, stderr) = match self.stdio() {
            Ok(stdio) => stdio,
            Err(err) => return format!("could not run: its output has nowhere to go: {err}"),
        };
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.command)
            .env("MESHTAP_TRIGGER_FILE", file)
            .env("MESHTAP_TRIGGER", &window.trigger)
            .env("MESHTAP_TRIGGER_MATCHES", (window.further + 1).to_string())
            .env("MESHTAP_TRIGGER_REQUESTS", requests.to_string())
            .env("MESHTAP_TRIGGER_REQUEST_SEQ", window.request.to_string())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        #[cfg(unix)]
        {
            // Its own group: the terminal's Ctrl-C is meshtap's to handle, and the timeout can
            // stop everything the command started.
            use std::os::unix::process::CommandExt as _;
            command.process_group(0);
        }
        let child = match command.spawn() {
            Ok(child) => child,
            Err(err) => return format!("could not run: {err}"),
        };
        let pid = child.id();
        let deadline = Instant::now() + self.timeout;
        running.groups().insert(pid, deadline);
        let watcher = Watcher {
            child,
            deadline,
            timeout: self.timeout,
            file: file.to_path_buf(),
            output: self.output.clone(),
            running: running.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("meshtap-on-trigger".into())
            .spawn(move || watcher.watch());
        if let Err(err) = spawned {
            // Without a watcher nobody would stop it: better not to leave it running.
            tracing::warn!("--on-trigger: cannot watch pid {pid}: {err}");
        }
        format!("started (pid {pid})")
    }

    fn stdio(&self) -> std::io::Result<(Stdio, Stdio)> {
        match &self.output {
            HookOutput::Null => Ok((Stdio::null(), Stdio::null())),
            HookOutput::Stderr => {
                let err = dup_stderr()?;
                Ok((Stdio::from(err.try_clone()?), Stdio::from(err)))
            }
            HookOutput::Log(path) => {
                let file = crate::files::open_append(path)?;
                Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
            }
        }
    }
}

#[cfg(unix)]
fn dup_stderr() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd as _;
    std::io::stderr().as_fd().try_clone_to_owned()
}

/// Waits for one command on its own thread and stops its group at the deadline.
struct Watcher {
    child: Child,
    deadline: Instant,
    timeout: Duration,
    file: PathBuf,
    output: HookOutput,
    running: Running,
}

impl Watcher {
    fn watch(mut self) {
        let outcome = loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => break None,
                Ok(Some(status)) => break Some(format!("failed ({status})")),
                Ok(None) if Instant::now() >= self.deadline => {
                    self.stop();
                    break Some(format!(
                        "stopped after --on-trigger-timeout {}s",
                        self.timeout.as_secs_f64()
                    ));
                }
                Ok(None) => std::thread::sleep(WATCH_EVERY),
                Err(err) => break Some(format!("cannot be waited for: {err}")),
            }
        };
        self.running.groups().remove(&self.child.id());
        let Some(outcome) = outcome else { return };
        let line = format!("--on-trigger for {}: {outcome}", self.file.display());
        match self.output {
            HookOutput::Stderr => eprintln!("meshtap: {line}"),
            HookOutput::Log(_) | HookOutput::Null => tracing::warn!("{line}"),
        }
    }

    /// Kills the command's whole process group, then reaps the shell.
    fn stop(&mut self) {
        #[cfg(unix)]
        {
            use rustix::process::{Pid, Signal, kill_process_group};
            // The group's id is the shell's pid (`process_group(0)`).
            let _ = kill_process_group(Pid::from_child(&self.child), Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
