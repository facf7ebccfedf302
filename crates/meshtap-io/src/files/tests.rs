//! `check_writable` says in advance what a write would meet, and creates nothing doing so.

use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn entries(dir: &Path) -> usize {
    fs::read_dir(dir).expect("read dir").count()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn check_names_each_problem_and_its_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let existing = dir.path().join("capture.ndjson");
    fs::write(&existing, "precious").expect("write");
    let blocker = dir.path().join("plain-file");
    fs::write(&blocker, "").expect("write");
    let before = entries(dir.path());

    let err = check_writable(&existing, false).expect_err("exists");
    assert!(matches!(err, FileError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    check_writable(&existing, true).expect("--force allows it");

    let missing = dir.path().join("no-such-dir").join("out");
    let err = check_writable(&missing, false).expect_err("missing dir");
    assert!(matches!(err, FileError::NoDirectory { .. }), "{err}");
    assert!(
        err.to_string().contains("no-such-dir") && err.to_string().contains("does not exist"),
        "{err}"
    );

    let under_file = blocker.join("out");
    let err = check_writable(&under_file, true).expect_err("parent is a file");
    assert!(matches!(err, FileError::NotADirectory { .. }), "{err}");
    assert!(err.to_string().contains("plain-file"), "{err}");

    let err = check_writable(dir.path(), true).expect_err("a directory");
    assert!(matches!(err, FileError::IsDirectory { .. }), "{err}");

    check_writable(&dir.path().join("new.ndjson"), false).expect("a new name is fine");
    assert_eq!(entries(dir.path()), before, "checking created nothing");
    assert_eq!(fs::read_to_string(&existing).expect("read"), "precious");
}

/// The verdict agrees with what a real write then does, in every case above and in a directory
/// without write permission (which root may still write, so only the agreement is asserted).
#[test]
fn check_agrees_with_the_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("taken"), "x").expect("write");
    fs::write(dir.path().join("file"), "").expect("write");
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).expect("mkdir");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).expect("chmod");
    let cases = [
        ("taken", false),
        ("taken", true),
        ("missing/out", false),
        ("file/out", true),
        ("locked/out", false),
        ("fresh", false),
    ];
    for (name, force) in cases {
        let path = dir.path().join(name);
        let checked = check_writable(&path, force);
        let written = write_file(&path, b"data", force);
        assert_eq!(
            checked.is_ok(),
            written.is_ok(),
            "{name} force={force}: check {checked:?}, write {written:?}"
        );
        if let (Err(a), Err(b)) = (&checked, &written) {
            assert_eq!(
                std::mem::discriminant(a),
                std::mem::discriminant(b),
                "{name}: {a} / {b}"
            );
        }
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).expect("chmod");
}

#[test]
fn everything_created_is_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("written");
    write_file(&file, b"secret", false).expect("write");
    assert_eq!(mode(&file), PRIVATE_FILE_MODE);
    let grown = dir.path().join("grown");
    drop(create_new(&grown).expect("create"));
    assert_eq!(mode(&grown), PRIVATE_FILE_MODE);
    let nested = dir.path().join("a").join("b");
    create_dirs(&nested).expect("mkdir -p");
    assert_eq!(mode(&nested), PRIVATE_DIR_MODE);
    assert_eq!(mode(&dir.path().join("a")), PRIVATE_DIR_MODE);
    let private = private_dir(dir.path(), "meshtap-test-").expect("private dir");
    assert_eq!(mode(private.path()), PRIVATE_DIR_MODE);
    let name = private.path().file_name().expect("name").to_string_lossy();
    assert!(name.len() > "meshtap-test-".len(), "{name}");
}

#[test]
fn create_new_refuses_what_exists_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tap.bin");
    fs::write(&path, "precious").expect("write");
    let err = create_new(&path).expect_err("exists");
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("tap.bin"), "{err}");
    assert_eq!(fs::read_to_string(&path).expect("read"), "precious");
    let err = create_new(&dir.path().join("missing").join("tap.bin")).expect_err("no dir");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_failed_write_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("half");
    let err = write_atomic(&path, false, |out| {
        out.write_all(b"partial")?;
        Err::<(), _>(io::Error::other("disk on fire"))
    })
    .expect_err("the writer failed");
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert_eq!(
        entries(dir.path()),
        0,
        "neither the file nor a temporary is left"
    );
}

#[test]
fn log_files_append_privately_and_refuse_symlinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("meshtap.log");
    open_append(&log)
        .expect("create")
        .write_all(b"one\n")
        .expect("write");
    open_append(&log)
        .expect("reopen")
        .write_all(b"two\n")
        .expect("write");
    assert_eq!(fs::read_to_string(&log).expect("read"), "one\ntwo\n");
    assert_eq!(mode(&log), PRIVATE_FILE_MODE);
    let target = dir.path().join("victim");
    fs::write(&target, "untouched").expect("write");
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let err = open_append(&link).expect_err("a symlink is refused");
    assert!(err.to_string().contains("link.log"), "{err}");
    assert_eq!(fs::read_to_string(&target).expect("read"), "untouched");
}

/// A pending file is nowhere until placed, is removed if dropped, and once placed is 0600 at
/// its name; placing never writes through a link and never clobbers without force.
#[test]
fn pending_files_appear_only_when_placed() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let names = || fs::read_dir(dir.path()).expect("dir").count();
    let path = dir.path().join("rec.bin");
    let (file, pending) = create_pending(&path, false).expect("create");
    assert!(!path.exists());
    drop((file, pending));
    assert_eq!(names(), 0, "dropped unplaced: nothing left");
    let (mut file, pending) = create_pending(&path, false).expect("create");
    file.write_all(b"early").expect("write");
    pending.place().expect("place");
    file.write_all(b" late").expect("write after placing");
    assert_eq!(fs::read_to_string(&path).expect("read"), "early late");
    let mode = fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(create_pending(&path, false).is_err(), "no clobber");
    // With force the old file stays whole until the new one is placed over it.
    let (mut file, pending) = create_pending(&path, true).expect("force");
    assert_eq!(fs::read_to_string(&path).expect("read"), "early late");
    file.write_all(b"new").expect("write");
    pending.place().expect("replace");
    assert_eq!(fs::read_to_string(&path).expect("read"), "new");
    // A link planted at the path: even with force, the link's target is left untouched.
    let victim = dir.path().join("victim");
    fs::write(&victim, "keep me").expect("write");
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    assert!(create_pending(&link, false).is_err());
    let (_, pending) = create_pending(&link, true).expect("force");
    pending.place().expect("replace the link itself");
    assert_eq!(fs::read_to_string(&victim).expect("read"), "keep me");
    assert_eq!(names(), 3, "no temporary left");
}

#[test]
fn a_device_is_never_replaced_even_forced() {
    for force in [false, true] {
        let err = check_writable(Path::new("/dev/null"), force).expect_err("a device");
        assert!(matches!(err, FileError::NotAFile { .. }), "{err}");
        assert!(write_file(Path::new("/dev/null"), b"x", force).is_err());
    }
    let meta = fs::symlink_metadata("/dev/null").expect("/dev/null");
    assert!(!meta.is_file(), "/dev/null is still a device");
}
