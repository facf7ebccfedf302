//! The binary: replay and export flags end to end.

use super::*;

#[test]
fn the_cli_takes_replay_and_export_flags() {
    use clap::Parser;
    use meshtap::cli::{Cli, Command};
    let cli = Cli::try_parse_from([
        "meshtap",
        "replay",
        "cap.har",
        "--speed",
        "2",
        "-o",
        "json",
        "--export",
        "out.ndjson",
        "--export-format",
        "linkerd-json",
        "--force",
    ])
    .unwrap();
    let Some(Command::Replay(args)) = cli.command else {
        panic!("not replay")
    };
    assert_eq!(args.speed, Speed::Factor(2.0));
    assert_eq!(
        args.session.export.export_format,
        Some(ExportFormat::LinkerdJson)
    );
    assert!(args.session.export.force);
    let cli = Cli::try_parse_from([
        "meshtap",
        "tap",
        "deploy/web",
        "--export",
        "x.har",
        "--export-format",
        "har",
    ])
    .unwrap();
    let Some(Command::Tap(args)) = cli.command else {
        panic!("not tap")
    };
    assert_eq!(args.session.export.export_format, Some(ExportFormat::Har));
    assert!(Cli::try_parse_from(["meshtap", "replay", "f", "--speed", "0"]).is_err());
    let cli = Cli::try_parse_from(["meshtap", "replay", "-", "--speed", "max"]).unwrap();
    let Some(Command::Replay(args)) = cli.command else {
        panic!("not replay")
    };
    assert_eq!(args.speed, Speed::Max);
}

/// Linkerd's JSON is one name in `-o` and `--export-format`, `json`, with `linkerd-json` (the
/// export's former name) an alias in both; `--help` lists `json`.
#[test]
fn linkerd_json_has_one_name_and_an_alias_in_both_flags() {
    use clap::Parser;
    use meshtap::cli::{Cli, Command};
    use meshtap::pipeline::headless::Output;
    for name in ["json", "linkerd-json"] {
        let cli = Cli::try_parse_from([
            "meshtap",
            "tap",
            "deploy/web",
            "-o",
            name,
            "--export",
            "x.json",
            "--export-format",
            name,
        ])
        .expect(name);
        let Some(Command::Tap(args)) = cli.command else {
            panic!("not tap")
        };
        assert_eq!(args.output, Output::Json, "-o {name}");
        assert_eq!(
            args.session.export.export_format,
            Some(ExportFormat::LinkerdJson),
            "--export-format {name}"
        );
    }
    assert_eq!(ExportFormat::LinkerdJson.name(), Output::Json.name());
}

/// Headless `--filter` filters `--export` too (it wrote every request), the file name says the
/// format (`--export x.har` wrote NDJSON), and a name contradicting `--export-format` is
/// refused before anything is read.
#[test]
fn headless_exports_follow_the_filter_and_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tap.bin");
    std::fs::write(&frames, framed(&golden_events())).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meshtap"))
            .current_dir(dir.path())
            .arg("replay")
            .arg(&frames)
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[
        "-o",
        "ndjson",
        "--filter",
        "method=POST",
        "--export",
        "post.har",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("exported 1 requests to post.har (har)"),
        "{stderr}"
    );
    let har: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("post.har")).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["request"]["method"], "POST");
    assert_eq!(har["log"]["_meshtap"]["filter"], "method=POST");
    let output = run(&[
        "-o",
        "ndjson",
        "--export",
        "x.har",
        "--export-format",
        "ndjson",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--export: x.har names a har file but the format asked is ndjson"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "refused before reading");
    assert!(!dir.path().join("x.har").exists());
}

/// The real binary: `meshtap replay FILE -o text` prints Linkerd's golden lines for a recorded
/// tap stream, and `--export` converts it.
#[test]
fn the_binary_replays_headless_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("tap.bin");
    std::fs::write(&frames, framed(&golden_events())).unwrap();
    let exported = dir.path().join("out.har");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .arg("replay")
        .arg(&frames)
        .args(["-o", "text", "--export-format", "har", "--export"])
        .arg(&exported)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), GOLDEN_TEXT);
    assert!(stderr.contains("exported 2 requests"), "{stderr}");
    assert_eq!(
        ::har::from_path(&exported).map(|h| h.version()).unwrap(),
        ::har::HarVersion::V1_2
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .arg("replay")
        .arg(&empty)
        .args(["-o", "text"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is empty"));
}
