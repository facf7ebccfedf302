//! The writing side of `--record-dir`: a ring of segment files under a byte budget. It is the
//! `Write` a [`crate::pipeline::writer::WriterThread`] writes to, so the disk is only ever
//! touched on that thread; the chunks it is given are whole timed frames (see the parent
//! module), which is what lets it cut segments between frames and index them.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{FRAME_HEADER_BYTES, Index, SEGMENT_MAGIC, SEGMENT_VERSION};
use crate::files;

/// Appends one timed frame (arrival, then the tap API's framing of `event`) to `out`.
pub fn timed_frame(arrived: DateTime<Utc>, frame: impl FnOnce(&mut Vec<u8>), out: &mut Vec<u8>) {
    out.extend_from_slice(&arrived.timestamp_micros().to_le_bytes());
    frame(out);
}

/// A directory of segments, the newest one open.
#[derive(Debug)]
pub struct Ring {
    dir: PathBuf,
    budget: u64,
    segment_limit: u64,
    next_seq: u64,
    /// Closed segments, oldest first, with the bytes each takes (segment and index).
    closed: VecDeque<(PathBuf, u64)>,
    closed_bytes: u64,
    open: Option<Open>,
}

#[derive(Debug)]
struct Open {
    path: PathBuf,
    file: BufWriter<File>,
    index: Index,
}

impl Ring {
    /// Opens `dir` (created 0700 if missing; never through a symlink), taking the segments a
    /// previous run left there into the budget so the ring carries on where it stopped.
    pub fn open(dir: &Path, budget: u64) -> io::Result<Self> {
        match fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::other(format!(
                    "{} is a symbolic link; give the directory itself",
                    dir.display()
                )));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(io::Error::other(format!(
                    "{} is not a directory",
                    dir.display()
                )));
            }
            Ok(meta) => refuse_shared(dir, &meta)?,
            Err(_) => files::create_dirs(dir)?,
        }
        let mut ring = Self {
            dir: dir.to_path_buf(),
            budget,
            segment_limit: super::segment_bytes(budget),
            next_seq: 1,
            closed: VecDeque::new(),
            closed_bytes: 0,
            open: None,
        };
        for (seq, path) in super::list(dir)? {
            let bytes = file_len(&path) + file_len(&super::index_path(&path));
            ring.closed.push_back((path, bytes));
            ring.closed_bytes += bytes;
            ring.next_seq = ring.next_seq.max(seq + 1);
        }
        // An index without its segment (left by a crash, or planted) must not be where the next
        // segment's index goes.
        for entry in fs::read_dir(dir)? {
            if let Some(seq) = super::index_seq(&entry?.path()) {
                ring.next_seq = ring.next_seq.max(seq + 1);
            }
        }
        if ring.next_seq > super::MAX_SEGMENT_SEQ {
            return Err(io::Error::other(format!(
                "{} has used every segment number; give a new --record-dir",
                dir.display()
            )));
        }
        ring.prune()?;
        Ok(ring)
    }

    /// Writes one frame, starting a new segment first when the open one is full.
    fn write_frame(&mut self, arrived: i64, frame: &[u8]) -> io::Result<()> {
        if self
            .open
            .as_ref()
            .is_none_or(|open| open.index.bytes >= self.segment_limit)
        {
            self.close()?;
            self.start()?;
        }
        let Some(open) = self.open.as_mut() else {
            return Err(io::Error::other("no segment open"));
        };
        open.file.write_all(&arrived.to_le_bytes())?;
        open.file.write_all(frame)?;
        let at = DateTime::from_timestamp_micros(arrived);
        let index = &mut open.index;
        index.first = index.first.or(at);
        index.last = at.max(index.last);
        index.count += 1;
        index.bytes += (8 + frame.len()) as u64;
        Ok(())
    }

    fn start(&mut self) -> io::Result<()> {
        if self.next_seq > super::MAX_SEGMENT_SEQ {
            return Err(io::Error::other("every segment number is used"));
        }
        let path = super::segment_path(&self.dir, self.next_seq);
        self.next_seq += 1;
        let mut file = BufWriter::new(files::create_new(&path)?);
        file.write_all(SEGMENT_MAGIC)?;
        file.write_all(&SEGMENT_VERSION.to_le_bytes())?;
        self.open = Some(Open {
            path,
            file,
            index: Index {
                version: SEGMENT_VERSION,
                first: None,
                last: None,
                count: 0,
                bytes: super::SEGMENT_HEADER_BYTES as u64,
            },
        });
        Ok(())
    }

    /// Closes the open segment: flushed, its index written beside it, then the oldest segments
    /// removed until the closed ones fit the budget.
    pub fn close(&mut self) -> io::Result<()> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        open.file.flush()?;
        let json = serde_json::to_vec(&open.index).map_err(io::Error::other)?;
        let index = super::index_path(&open.path);
        files::write_file(&index, &json, false).map_err(io::Error::other)?;
        let bytes = open.index.bytes + json.len() as u64;
        self.closed.push_back((open.path, bytes));
        self.closed_bytes += bytes;
        self.prune()
    }

    fn prune(&mut self) -> io::Result<()> {
        while self.closed_bytes > self.budget {
            let Some((path, bytes)) = self.closed.pop_front() else {
                break;
            };
            for file in [super::index_path(&path), path] {
                match fs::remove_file(&file) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                    _ => {}
                }
            }
            self.closed_bytes -= bytes;
        }
        Ok(())
    }
}

/// Refuses a directory other users may write into, as ssh refuses such a `~/.ssh`: they could
/// plant segments, links or indexes in the recording (or remove it).
#[cfg(unix)]
fn refuse_shared(dir: &Path, meta: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is writable by other users (mode {mode:04o}); record into a directory only \
                 you can write (chmod go-w {}), or let meshtap create one (0700)",
                dir.display(),
                dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_dir: &Path, _meta: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

fn file_len(path: &Path) -> u64 {
    fs::symlink_metadata(path).map_or(0, |m| m.len())
}

/// Takes whole timed frames only: every chunk comes from [`timed_frame`].
impl Write for Ring {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let total = buf.len();
        while !buf.is_empty() {
            let whole = buf
                .get(..FRAME_HEADER_BYTES)
                .and_then(|h| {
                    let arrived = i64::from_le_bytes(h[..8].try_into().ok()?);
                    let len = u32::from_le_bytes(h[8..].try_into().ok()?) as usize;
                    Some((arrived, 8 + 4 + len))
                })
                .filter(|(_, end)| *end <= buf.len());
            let Some((arrived, end)) = whole else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a segment takes whole timed frames",
                ));
            };
            self.write_frame(arrived, &buf[8..end])?;
            buf = &buf[end..];
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.open.as_mut().map_or(Ok(()), |open| open.file.flush())
    }
}

/// Closing the ring at the end of the session indexes the last segment.
impl Drop for Ring {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
