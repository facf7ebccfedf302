//! Every file meshtap writes: private to the user (files 0600, directories 0700), created without
//! following a symlink at the final name, never replacing what exists unless forced, and written
//! whole or not at all. Capture files and kubeconfigs hold credentials and traffic, and `/tmp` is
//! shared, so nothing here trusts a name it did not create itself.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};

/// Mode of every file meshtap creates (before the umask, which can only narrow it).
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of every directory meshtap creates.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Why a file could not be written. Whatever the cause, nothing was left at the path.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{} already exists; use --force to overwrite it, or choose another name", path.display())]
    Exists { path: PathBuf },
    #[error("{} is a directory; give a file name", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{} is a device, pipe or socket, not a file; choose a file name", path.display())]
    NotAFile { path: PathBuf },
    #[error("cannot write {}: the directory {} does not exist; create it or choose another path", path.display(), dir.display())]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot write {}: {} is not a directory", path.display(), dir.display())]
    NotADirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot write {}: permission denied in {}; choose another directory", path.display(), dir.display())]
    PermissionDenied { path: PathBuf, dir: PathBuf },
    #[error("cannot write {}: the disk is full (nothing was written)", path.display())]
    DiskFull { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl FileError {
    /// Names what failed from the OS error met writing `path` in `dir`.
    pub fn from_io(err: io::Error, path: &Path, dir: &Path) -> Self {
        let path = path.to_path_buf();
        let dir = dir.to_path_buf();
        match err.kind() {
            io::ErrorKind::AlreadyExists => Self::Exists { path },
            io::ErrorKind::IsADirectory => Self::IsDirectory { path },
            io::ErrorKind::NotFound => Self::NoDirectory { path, dir },
            io::ErrorKind::NotADirectory => Self::NotADirectory { path, dir },
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Self::PermissionDenied { path, dir }
            }
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::DiskFull { path },
            _ => Self::Io { path, source: err },
        }
    }

    /// The same failure as an `io::Error` of the matching kind, for callers that speak `io`.
    fn into_io(self) -> io::Error {
        let kind = match &self {
            Self::Exists { .. } => io::ErrorKind::AlreadyExists,
            Self::IsDirectory { .. } => io::ErrorKind::IsADirectory,
            Self::NotAFile { .. } => io::ErrorKind::InvalidInput,
            Self::NoDirectory { .. } => io::ErrorKind::NotFound,
            Self::NotADirectory { .. } => io::ErrorKind::NotADirectory,
            Self::PermissionDenied { .. } => io::ErrorKind::PermissionDenied,
            Self::DiskFull { .. } => io::ErrorKind::StorageFull,
            Self::Io { source, .. } => source.kind(),
        };
        io::Error::new(kind, self)
    }
}

/// The directory a file at `path` is created in.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Creates `path` for writing, 0600, failing if anything is there already, a symlink included
/// (`O_CREAT|O_EXCL` never follows one), so two creators can never both get the file. For files
/// written as they grow (recordings); finished files go through [`write_atomic`].
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(PRIVATE_FILE_MODE);
    }
    options
        .open(path)
        .map_err(|err| FileError::from_io(err, path, parent_dir(path)).into_io())
}

/// Opens `path` for appending (log files), creating it 0600 if missing. A symlink at the name is
/// refused (`O_NOFOLLOW`) rather than followed to a file someone else chose.
pub fn open_append(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // The flag's value differs between architectures; rustix knows each one.
        let no_follow = rustix::fs::OFlags::NOFOLLOW.bits().cast_signed();
        options.mode(PRIVATE_FILE_MODE).custom_flags(no_follow);
    }
    options.open(path).map_err(|err| {
        let kind = err.kind();
        io::Error::new(kind, format!("cannot open {}: {err}", path.display()))
    })
}

/// Opens `path` for reading only if it is a regular file (a symlink to one is followed): never
/// a device (`/dev/zero` never ends), a FIFO (its open would wait for a writer forever: the open
/// is non-blocking, and a FIFO is refused before any read) or a directory. For files meshtap
/// trusts to end, such as recorded segments and their indexes.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NONBLOCK changes nothing for the regular files that pass the check below.
        let non_block = rustix::fs::OFlags::NONBLOCK.bits().cast_signed();
        options.custom_flags(non_block);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        // The caller names the path.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a device, a FIFO or a directory)",
        ));
    }
    Ok(file)
}

/// Says, without creating anything, whether writing `path` would fail: something is there
/// already (and `force` is off), it is a directory, its directory is missing or is not one, or
/// the user may not create files in it. Meant to run before a capture starts, so a bad output
/// path is reported at once rather than when the capture ends.
pub fn check_writable(path: &Path, force: bool) -> Result<(), FileError> {
    let dir = parent_dir(path);
    // Not following a symlink: a forced write replaces the link itself, never its target.
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(FileError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        // Even forced, a device (`/dev/null`), pipe or socket is never replaced by a file.
        Ok(meta) if !meta.is_file() && !meta.is_symlink() => {
            return Err(FileError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        Ok(_) if !force => {
            return Err(FileError::Exists {
                path: path.to_path_buf(),
            });
        }
        Ok(_) => {}
        // Missing, or a parent is not a directory: the directory checks below say which.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) => {}
        Err(err) => return Err(FileError::from_io(err, path, dir)),
    }
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(FileError::NotADirectory {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
            });
        }
        Err(err) => return Err(FileError::from_io(err, path, dir)),
    }
    may_create_in(dir).map_err(|err| FileError::from_io(err, path, dir))
}

/// Says whether the user may create files in the directory `dir` (write and search permission,
/// on a writable file system), without creating anything.
pub fn check_dir_writable(dir: &Path) -> Result<(), FileError> {
    may_create_in(dir).map_err(|err| FileError::from_io(err, dir, dir))
}

/// Whether the effective user may create entries in `dir` (write and search permission, on a
/// writable file system), as the kernel would decide at `open`.
#[cfg(unix)]
fn may_create_in(dir: &Path) -> io::Result<()> {
    use rustix::fs::{Access, AtFlags, CWD, accessat};
    accessat(
        CWD,
        dir,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .map_err(io::Error::from)
}

#[cfg(not(unix))]
fn may_create_in(dir: &Path) -> io::Result<()> {
    if fs::metadata(dir)?.permissions().readonly() {
        return Err(io::ErrorKind::PermissionDenied.into());
    }
    Ok(())
}

/// Writes a whole file at `path`: `write` fills a private temporary file in the same directory,
/// which is flushed to disk and only then given the name (see [`Pending::place`]). A crash, a
/// full disk or a failed `write` leaves no file and no temporary.
pub fn write_atomic<T>(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> Result<T, FileError> {
    let (file, pending) = create_pending(path, force)?;
    let fail = |err: io::Error| FileError::from_io(err, path, parent_dir(path));
    let mut out = BufWriter::new(file);
    let value = write(&mut out).map_err(fail)?;
    let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
    // On disk before it gets the real name: a crash then leaves the old state, never a torn file.
    file.sync_all().map_err(fail)?;
    drop(file);
    pending.place()?;
    Ok(value)
}

/// A private file (0600) under a temporary name beside the path it is meant for: nothing is at
/// that path until [`Pending::place`], and dropping it unplaced removes it. For files that are
/// written before it is known they should exist (a recording, until its session starts).
#[derive(Debug)]
pub struct Pending {
    temp: tempfile::TempPath,
    path: PathBuf,
    force: bool,
}

/// Checks that `path` may be written (see [`check_writable`]), then creates the private
/// temporary file for it in the same directory; returns it open for writing.
pub fn create_pending(path: &Path, force: bool) -> Result<(File, Pending), FileError> {
    // Refuse before any work when the answer is already known.
    check_writable(path, force)?;
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map_or_else(|| "meshtap".into(), |n| n.to_string_lossy());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".meshtap-tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE));
    }
    let (file, temp) = builder
        .tempfile_in(dir)
        .map_err(|err| FileError::from_io(err, path, dir))?
        .into_parts();
    let pending = Pending {
        temp,
        path: path.to_path_buf(),
        force,
    };
    Ok((file, pending))
}

impl Pending {
    /// The path the file is meant for.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the file its name: by a link that fails if the name was taken meanwhile, or, with
    /// `force`, by a rename that replaces what is there at once (a symlink itself, never its
    /// target). A file still being written keeps being written under the new name.
    pub fn place(self) -> Result<(), FileError> {
        let Self { temp, path, force } = self;
        let dir = parent_dir(&path);
        let placed = if force {
            temp.persist(&path)
        } else {
            temp.persist_noclobber(&path)
        };
        placed.map_err(|e| FileError::from_io(e.error, &path, dir))?;
        // Makes the new name durable; not every platform can open a directory, so best effort.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Writes `contents` as the whole file at `path` (see [`write_atomic`]).
pub fn write_file(path: &Path, contents: &[u8], force: bool) -> Result<(), FileError> {
    write_atomic(path, force, |out| out.write_all(contents))
}

/// Creates `dir` and any missing parents, each 0700; directories already there are left as they
/// are.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir)
}

/// Creates a fresh directory in `parent`, 0700, with an unguessable name starting with
/// `prefix`, so no other user can have prepared it (or a symlink in its place). It is removed
/// with its contents when the returned guard is dropped, unless the caller `keep`s it.
pub fn private_dir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(PRIVATE_DIR_MODE));
    }
    builder.tempdir_in(parent)
}

#[cfg(test)]
mod tests;
