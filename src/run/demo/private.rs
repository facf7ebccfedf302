//! The demo's private directory (its kubeconfig's bearer token, the tap client's key): fresh and
//! 0700 under the temporary directory, with a `pid` file naming the process it belongs to, and
//! removed when the demo ends — on Ctrl-C, SIGTERM or SIGHUP alike ([`Stop`]). A directory
//! whose process is gone (SIGKILL, a crash) is removed by the next demo that starts.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

const PREFIX: &str = "meshtap-demo-";
const PID_FILE: &str = "pid";
/// A directory without a pid file (written by a meshtap before there was one) is taken for
/// stale after this long.
const UNMARKED_STALE: Duration = Duration::from_secs(24 * 3600);

/// Removes this user's stale demo directories, then creates a fresh one naming this process.
pub fn create() -> anyhow::Result<tempfile::TempDir> {
    let parent = std::env::temp_dir();
    sweep(&parent);
    let dir = crate::files::private_dir(&parent, PREFIX)
        .context("creating the demo's private directory")?;
    let pid = std::process::id().to_string();
    crate::files::write_file(&dir.path().join(PID_FILE), pid.as_bytes(), false)
        .context("marking the demo's private directory")?;
    Ok(dir)
}

/// Removes the demo directories in `parent` that belong to this user and to no live process;
/// returns how many. Never follows a symlink, never touches another user's directory.
pub fn sweep(parent: &Path) -> usize {
    use std::os::unix::fs::MetadataExt as _;
    // The owner of /proc/self is this process's user.
    let Ok(me) = fs::metadata("/proc/self").map(|m| m.uid()) else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(PREFIX)
            && fs::symlink_metadata(&path)
                .is_ok_and(|m| m.is_dir() && m.uid() == me && is_stale(&path, &m));
        if ours && fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn is_stale(dir: &Path, meta: &fs::Metadata) -> bool {
    match fs::read_to_string(dir.join(PID_FILE)) {
        // A pid that is not running any more; one that runs (perhaps reused) is left alone.
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .is_ok_and(|pid| !Path::new("/proc").join(pid.to_string()).exists()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => meta
            .modified()
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > UNMARKED_STALE),
        Err(_) => false,
    }
}

/// Ctrl-C, SIGTERM (a pod's or a service manager's stop) and SIGHUP (the terminal went away),
/// listened for from [`Stop::listen`] on: each ends `demo --serve` the same way, its private
/// directory removed. Listening starts before the banner is printed, so a stop sent as soon as
/// the banner is read is never the default action (which would leave the directory).
pub struct Stop {
    signals: [tokio::signal::unix::Signal; 3],
}

impl Stop {
    pub fn listen() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind| signal(kind).context("listening for a stop signal");
        Ok(Self {
            signals: [
                listen(SignalKind::interrupt())?,
                listen(SignalKind::terminate())?,
                listen(SignalKind::hangup())?,
            ],
        })
    }

    /// Until one of them arrives.
    pub async fn wait(self) {
        let [mut int, mut term, mut hup] = self.signals;
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
}
