//! Records the git commit for `meshtap --version`. Only the binary's package runs this, so a
//! commit re-runs it and recompiles this package alone: every other crate of the workspace is
//! untouched (the protobufs are compiled by meshtap-proto's own build script).

fn main() {
    git_commit();
}

/// `MESHTAP_GIT_COMMIT`: the short commit of the source tree, or `unknown` when it is not a git
/// checkout (a crate tarball) or git is missing: the build never fails for it.
fn git_commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MESHTAP_GIT_COMMIT={commit}");
    // A commit or checkout moves HEAD's reflog; in a worktree these live outside `.git/`.
    for path in ["HEAD", "logs/HEAD"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}
