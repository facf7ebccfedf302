//! The real binary as a child process: start it, interrupt it as Ctrl-C does, wait for it with a
//! bound, and read file modes.

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Longest a stopped meshtap may take to exit before a test calls it hung.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(20);

pub fn meshtap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meshtap"))
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
pub fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits for `child` to exit, polling, at most `EXIT_DEADLINE`; kills it and fails if it hangs.
pub fn wait_bounded(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    // Bounded: at most EXIT_DEADLINE / 50 ms polls.
    while started.elapsed() < EXIT_DEADLINE {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("meshtap did not exit within {EXIT_DEADLINE:?} of Ctrl-C");
}

/// The permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).expect("meta").permissions())
        & 0o777
}

/// Runs `command` for `run_for`, then interrupts it as Ctrl-C does; its exit status and stderr.
pub fn interrupted_after(mut command: Command, run_for: Duration) -> (ExitStatus, String) {
    let mut child = command
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("meshtap starts");
    std::thread::sleep(run_for);
    interrupt(&child);
    let status = wait_bounded(&mut child);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    (status, stderr)
}

/// A program on `PATH` (kubectl), if installed.
pub fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}
