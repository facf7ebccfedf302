//! `--record FILE`: a tee of the session pipeline that writes every event to a file as it passes,
//! in the tap API's own framing (4-byte little-endian length, then a `TapEvent`), so
//! `meshtap replay FILE` reads it back. The frames are re-encoded from the decoded events through
//! the session's one redactor: a recording never holds what stdout would redact, and it works the
//! same for every source (cluster, proxy, replay, demo). `--record-dir DIR` is the same tee
//! writing timed frames to a ring of segments (`super::segments`).

use std::path::Path;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::segments::write::timed_frame;
use super::writer::WriterThread;
use crate::files::Pending;
use crate::session::{REDACTED, Redactor};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};
use crate::source::wire;

/// A recording being written.
#[derive(Debug)]
pub struct Recording {
    writer: WriterThread,
    redactor: Redactor,
    /// Each frame carries its arrival time (segments), not only the tap API's framing.
    timed: bool,
    /// What messages call it: `--record FILE`'s path, `--record-dir`'s directory.
    name: String,
    /// `--record FILE` before its session starts: written under a temporary name, given its own
    /// by [`Recording::start`].
    pending: Option<Pending>,
}

impl Recording {
    /// Checks `path` (private, never replacing a file unless `force`) and starts its writer on a
    /// temporary file beside it: nothing is at `path`, and an old recording there is untouched,
    /// until the session starts ([`Recording::start`]); a run refused before that leaves nothing.
    pub fn create(path: &Path, force: bool, redactor: Redactor) -> anyhow::Result<Self> {
        let (file, pending) = crate::files::create_pending(path, force)?;
        let writer = WriterThread::spawn("record", std::io::BufWriter::new(file))
            .map_err(|e| anyhow::anyhow!("cannot start the recorder: {e}"))?;
        Ok(Self {
            writer,
            redactor,
            timed: false,
            name: path.display().to_string(),
            pending: Some(pending),
        })
    }

    /// The session starts: the recording takes its name (replacing an old one at once with
    /// `--force`).
    pub fn start(&mut self) -> anyhow::Result<()> {
        match self.pending.take() {
            Some(pending) => pending
                .place()
                .map_err(|e| anyhow::anyhow!("--record: {e}")),
            None => Ok(()),
        }
    }

    /// Opens the segment directory `dir` (`--record-dir`), kept within `budget` bytes plus one
    /// segment, and starts its writer.
    pub fn rolling(dir: &Path, budget: u64, redactor: Redactor) -> anyhow::Result<Self> {
        let ring = super::segments::write::Ring::open(dir, budget)
            .map_err(|e| anyhow::anyhow!("cannot use {}: {e}", dir.display()))?;
        let writer = WriterThread::spawn("record-dir", ring)
            .map_err(|e| anyhow::anyhow!("cannot start the recorder: {e}"))?;
        Ok(Self {
            writer,
            redactor,
            timed: true,
            name: dir.display().to_string(),
            pending: None,
        })
    }

    /// Forwards everything from `rx`, writing each batch of events to the recording on its way.
    /// The task ends with the source; it returns the bytes written, or why the recording failed.
    /// A failure stops the recording, never the session, and is said at once downstream
    /// ([`SourceMsg::Notice`]), not only when the session ends.
    pub fn tee(
        self,
        mut rx: mpsc::Receiver<SourceMsg>,
    ) -> (mpsc::Receiver<SourceMsg>, JoinHandle<std::io::Result<u64>>) {
        let (tx, out) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
        let task = tokio::spawn(async move {
            let Recording {
                writer,
                redactor,
                timed,
                name,
                pending: _,
            } = self;
            let keep = |name: &str| !redactor.is_sensitive(name);
            let mut writer = Some(writer);
            let mut failed = None;
            while let Some(msg) = rx.recv().await {
                if let (SourceMsg::Events(events), Some(live)) = (&msg, &writer) {
                    let mut chunk = Vec::new();
                    for event in events {
                        let frame = |out: &mut Vec<u8>| wire::frame(event, &keep, REDACTED, out);
                        if timed {
                            timed_frame(event.arrived, frame, &mut chunk);
                        } else {
                            frame(&mut chunk);
                        }
                    }
                    if live.send(chunk).await.is_err()
                        && let Some(stopped) = writer.take()
                    {
                        // The writer thread has ended; its result says why.
                        let err = match stopped.finish().await {
                            Err(err) => err,
                            Ok(_) => std::io::Error::other("the recorder stopped"),
                        };
                        let notice = SourceMsg::Notice(format!(
                            "the recording {name} failed: {err}; nothing more is recorded"
                        ));
                        failed = Some(err);
                        if tx.send(notice).await.is_err() {
                            break;
                        }
                    }
                }
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
            match (writer, failed) {
                (Some(writer), _) => writer.finish().await,
                (None, Some(err)) => Err(err),
                (None, None) => Ok(0),
            }
        });
        (out, task)
    }
}
