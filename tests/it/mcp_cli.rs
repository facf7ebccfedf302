//! `meshtap mcp` refuses, before it serves anything, the session flags that mean nothing for it;
//! the protocol itself is driven by the official Python SDK in `tests/mcp_client.py` (CI).

use std::process::Stdio;

use crate::support::process::meshtap;

#[test]
fn flags_without_a_meaning_for_mcp_are_refused_with_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("capture.ndjson");
    std::fs::copy("tests/fixtures/map_hostile_names.ndjson", &file).expect("copy");
    let file = file.to_str().expect("utf8");
    for (args, says) in [
        (
            vec!["mcp", "--replay", file, "--filter", "status>=500"],
            "give the filter to its list_requests tool",
        ),
        (
            vec!["mcp", "--replay", file, "--trigger", "status>=500"],
            "--trigger",
        ),
        (vec!["mcp", "--replay", file, "ns/shop"], "TARGET chooses"),
        (vec!["mcp"], "nothing to tap"),
    ] {
        let out = meshtap()
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("meshtap runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "stdout is the protocol's: {args:?}");
    }
}
