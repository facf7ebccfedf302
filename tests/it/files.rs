//! Every file meshtap writes is private, never replaces what exists without `--force`, never
//! follows a symlink at its name, and only one of several concurrent creators can win.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Barrier;

use meshtap::demo::kubeconfig;
use meshtap::demo::proxy_tap::ProxyTaps;
use meshtap::export::file::{
    CaptureHeader, ExportError, ExportFormat, ExportOptions, ExportReport, export,
};
use meshtap::files::{self, FileError};
use meshtap::model::store::Store;

/// Concurrent creators of one name in the race test.
const RACERS: usize = 8;

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn store() -> Store {
    meshtap_testkit::store_of(100, meshtap_testkit::demo_events(3, 50, chrono::Utc::now()))
}

/// Exports `store` to `path` in `format`.
fn export_to(
    path: &Path,
    store: &Store,
    format: ExportFormat,
    force: bool,
) -> Result<ExportReport, ExportError> {
    let options = ExportOptions {
        format,
        force,
        ..ExportOptions::default()
    };
    export(path, store.requests(), &CaptureHeader::default(), &options)
}

#[test]
fn exports_are_private_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store();
    for format in [
        ExportFormat::Ndjson,
        ExportFormat::LinkerdJson,
        ExportFormat::Har,
    ] {
        let path = dir.path().join(format.name());
        export_to(&path, &store, format, false).expect("export");
        assert_eq!(mode(&path), 0o600, "{format:?}");
        // Replaced with --force: still private.
        export_to(&path, &store, format, true).expect("forced export");
        assert_eq!(mode(&path), 0o600, "{format:?} forced");
    }
}

#[test]
fn kubeconfig_and_client_key_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    let config = kubeconfig::build("https://127.0.0.1:1", None, "token", None).expect("build");
    kubeconfig::write(&path, &config, false).expect("write");
    assert_eq!(mode(&path), 0o600);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let taps = runtime
        .block_on(ProxyTaps::spawn(1, 1.0))
        .expect("proxy taps");
    let client = dir.path().join("client");
    let written = taps.write_client_files(&client).expect("client files");
    assert_eq!(mode(&client), 0o700, "the directory it made");
    for file in [&written.ca, &written.cert, &written.key] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // A second demo writing into the same place does not replace the first one's key.
    let key = fs::read(&written.key).expect("key");
    let err = taps.write_client_files(&client).expect_err("files exist");
    assert!(format!("{err:#}").contains("already exists"), "{err:#}");
    assert_eq!(fs::read(&written.key).expect("key"), key);
}

/// The demo's files go into a fresh private directory with an unguessable name, removed with
/// the demo; not into `meshtap-demo-{pid}`, which anyone could create first.
#[test]
fn the_demo_directory_is_fresh_and_private() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let args = match <meshtap::cli::Cli as clap::Parser>::try_parse_from(["meshtap", "demo"])
        .expect("args")
        .command
    {
        Some(meshtap::cli::Command::Demo(args)) => args,
        other => panic!("{other:?}"),
    };
    let (dir, kubeconfig) = runtime.block_on(async {
        let demo = meshtap::start_demo(&args).await.expect("demo starts");
        let dir = demo.dir.path().to_path_buf();
        assert_eq!(demo.kubeconfig_path.parent(), Some(dir.as_path()));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&demo.kubeconfig_path), 0o600);
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_ne!(name, format!("meshtap-demo-{}", std::process::id()));
        (dir, demo.kubeconfig_path.clone())
    });
    assert!(
        !kubeconfig.exists(),
        "the kubeconfig holds a token: removed with the demo"
    );
    assert!(!dir.exists());
}

/// A symlink planted at the name (pointing at a file the attacker wants overwritten, or at one
/// they want created) is never followed: the target stays as it was.
#[test]
fn a_symlink_at_the_name_is_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("victim");
    fs::write(&target, "victim's data").expect("write");
    let link = dir.path().join("capture.ndjson");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let dangling = dir.path().join("tap.bin");
    let not_yet = dir.path().join("not-yet");
    std::os::unix::fs::symlink(&not_yet, &dangling).expect("symlink");
    let store = store();

    let err =
        export_to(&link, &store, ExportFormat::Ndjson, false).expect_err("something is there");
    assert!(matches!(err, ExportError::Exists { .. }), "{err}");
    let err = files::create_new(&dangling).expect_err("a dangling link is something too");
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(!not_yet.exists(), "the link's target was not created");
    let err = files::write_file(&dangling, b"x", false).expect_err("exists");
    assert!(matches!(err, FileError::Exists { .. }), "{err}");
    assert!(!not_yet.exists());

    // --force replaces the link itself, never what it points at.
    export_to(&link, &store, ExportFormat::Ndjson, true).expect("forced");
    assert!(!fs::symlink_metadata(&link).expect("meta").is_symlink());
    assert_eq!(mode(&link), 0o600);
    assert_eq!(fs::read_to_string(&target).expect("read"), "victim's data");
}

/// Several writers racing for one name: exactly one wins, the others are told it exists, and
/// the file holds the winner's bytes whole.
#[test]
fn concurrent_creators_cannot_both_win() {
    let dir = tempfile::tempdir().expect("tempdir");
    let atomic = dir.path().join("export");
    let grown = dir.path().join("recording");
    let barrier = Barrier::new(RACERS);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let (barrier, atomic, grown) = (&barrier, &atomic, &grown);
                scope.spawn(move || {
                    let body = format!("writer {i}\n").repeat(1_000);
                    barrier.wait();
                    let wrote = files::write_file(atomic, body.as_bytes(), false).map(|()| body);
                    let created = files::create_new(grown).is_ok();
                    (wrote, created)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let winners: Vec<&String> = results
        .iter()
        .filter_map(|(w, _)| w.as_ref().ok())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    for (wrote, _) in &results {
        if let Err(err) = wrote {
            assert!(matches!(err, FileError::Exists { .. }), "{err}");
        }
    }
    assert_eq!(&fs::read_to_string(&atomic).expect("read"), winners[0]);
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let left: Vec<_> = fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left.len(), 2, "no temporaries left: {left:?}");
}
