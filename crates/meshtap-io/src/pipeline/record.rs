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
}

impl Recording {
    /// Creates `path` (private, never replacing a file unless `force`) and starts its writer.
    pub fn create(path: &Path, force: bool, redactor: Redactor) -> anyhow::Result<Self> {
        let file = crate::files::create_private(path, force)?;
        let writer = WriterThread::spawn("record", std::io::BufWriter::new(file))
            .map_err(|e| anyhow::anyhow!("cannot start the recorder: {e}"))?;
        Ok(Self {
            writer,
            redactor,
            timed: false,
        })
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
        })
    }

    /// Forwards everything from `rx`, writing each batch of events to the recording on its way.
    /// The task ends with the source; it returns the bytes written.
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
            } = self;
            let keep = |name: &str| !redactor.is_sensitive(name);
            let mut writing = true;
            while let Some(msg) = rx.recv().await {
                if let (SourceMsg::Events(events), true) = (&msg, writing) {
                    let mut chunk = Vec::new();
                    for event in events {
                        let frame = |out: &mut Vec<u8>| wire::frame(event, &keep, REDACTED, out);
                        if timed {
                            timed_frame(event.arrived, frame, &mut chunk);
                        } else {
                            frame(&mut chunk);
                        }
                    }
                    // A failed recording stops recording, never the session; `finish` says why.
                    writing = writer.send(chunk).await.is_ok();
                }
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
            writer.finish().await
        });
        (out, task)
    }
}
