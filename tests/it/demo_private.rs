//! `demo --serve` keeps its bearer token and tap client key in a private directory: removed
//! when it is stopped by SIGTERM or SIGHUP as by Ctrl-C, and a directory left by a demo that was
//! killed outright is removed by the next one (a live demo's, and another's, are left alone).

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::process::{meshtap, wait_bounded};

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A demo directory as a demo of process `pid` (or of an older meshtap, without one) leaves it.
fn planted(tmp: &Path, name: &str, pid: Option<&str>) {
    let dir = tmp.join(name);
    std::fs::create_dir(&dir).expect("dir");
    std::fs::write(dir.join("tap-client-key.pem"), "KEY").expect("key");
    if let Some(pid) = pid {
        std::fs::write(dir.join("pid"), pid).expect("pid");
    }
}

#[test]
fn the_private_directory_goes_on_every_stop_and_stale_ones_at_the_next_start() {
    for signal in ["TERM", "HUP", "INT"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Gone (no such pid can run: above the kernel's pid limit), alive (this test), and an
        // old unmarked one from just now.
        planted(tmp.path(), "meshtap-demo-gone00", Some("999999999"));
        let me = std::process::id().to_string();
        planted(tmp.path(), "meshtap-demo-alive0", Some(&me));
        planted(tmp.path(), "meshtap-demo-old000", None);
        let mut child = meshtap()
            .args(["demo", "--serve"])
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("meshtap starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        // Bounded: the banner is a handful of lines.
        let kubeconfig = (0..20)
            .map_while(|_| lines.next().and_then(Result::ok))
            .find_map(|line| line.strip_prefix("kubeconfig: ").map(str::to_owned))
            .expect("the banner names the kubeconfig");
        let own = Path::new(&kubeconfig).parent().expect("dir").to_path_buf();
        assert!(own.starts_with(tmp.path()), "{}", own.display());
        let listed = names(tmp.path());
        assert!(
            !listed.contains(&"meshtap-demo-gone00".to_owned()),
            "{listed:?}"
        );
        assert_eq!(
            std::fs::read_to_string(own.join("pid"))
                .expect("pid")
                .trim(),
            child.id().to_string()
        );
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exited = wait_bounded(&mut child);
        assert!(exited.success(), "SIG{signal}: {exited:?}");
        assert!(!own.exists(), "SIG{signal}: {} left behind", own.display());
        assert_eq!(
            names(tmp.path()),
            ["meshtap-demo-alive0", "meshtap-demo-old000"],
            "SIG{signal}"
        );
    }
}
