//! `meshtap demo --serve` as a child process, for tests that point kubectl, a second meshtap or
//! a kube client at it.

use std::io::{BufRead as _, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A served demo; killed when dropped, even if a test fails.
pub struct ServedDemo {
    child: Child,
    /// The kubeconfig the demo wrote (`--kubeconfig-out`).
    pub kubeconfig: PathBuf,
    /// Holds the kubeconfig; a test may keep caches here.
    pub dir: tempfile::TempDir,
    /// The first lines it printed: where it serves, then (with `--clusters`) one per cluster and
    /// the examples.
    pub printed: Vec<String>,
    /// Kept open: the demo prints more lines, and a closed pipe would make it fail.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl ServedDemo {
    /// Runs `bin demo --serve ARGS… --kubeconfig-out DIR/kubeconfig` and reads its first
    /// `lines` lines (the first is printed once the kubeconfig is written; at most `lines` are
    /// read, and fewer if it exits).
    ///
    /// # Panics
    /// When the demo cannot start, or stops before it has written its kubeconfig.
    pub fn start(bin: &Path, args: &[&str], lines: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(bin)
            .args(["demo", "--serve"])
            .args(args)
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("meshtap demo --serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let printed: Vec<String> = stdout
            .by_ref()
            .take(lines.max(1))
            .map_while(Result::ok)
            .collect();
        let served = Self {
            child,
            kubeconfig,
            dir,
            printed,
            _stdout: stdout,
        };
        // The first line comes once the kubeconfig is written: no line, no kubeconfig, no demo.
        assert!(
            served.kubeconfig.exists(),
            "meshtap demo --serve printed {:?} and wrote no kubeconfig",
            served.printed
        );
        served
    }

    /// Stops the demo now (dropping it does too).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServedDemo {
    fn drop(&mut self) {
        self.kill();
    }
}
