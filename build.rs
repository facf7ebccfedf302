//! Compiles the Linkerd viz protobufs in `proto/` with protox, so no system `protoc` is needed:
//! the tap API messages, and the metrics API (`linkerd2.viz.Api`) with its gRPC client and server.
//! Also records the git commit for `meshtap --version`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    git_commit();
    let files = ["proto/viz.proto", "proto/viz_api.proto", "proto/tap.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed=proto/net.proto");
    let descriptors = protox::compile(files, ["proto"])?;
    // One pass for every file: `viz.proto` and `viz_api.proto` share the package `linkerd2.viz`
    // and so the generated `linkerd2.viz.rs`, which a second pass would overwrite. Only
    // `viz_api.proto` declares a service, so the client/server switches affect nothing else.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
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
