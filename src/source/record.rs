//! `--record FILE`: writes the tap response bodies to a file as they arrive, in the tap API's own
//! framing (4-byte little-endian length, then a `TapEvent`), so `meshtap replay FILE` can read it
//! and a bug report can carry exactly what the server sent.
//!
//! Each stream gets its own sender ([`Recorder::stream`]). With one stream the file is the
//! response body byte for byte. With several, each stream's chunks are cut at frame boundaries
//! before they reach the file, so frames from different streams interleave whole and the file
//! stays a valid framed stream. Writes go through a bounded channel: a slow disk applies
//! backpressure to the tap rather than growing memory.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::frames::MAX_FRAME_BYTES;

/// Chunks in flight to the writer before a stream waits for the disk.
pub const RECORD_CHANNEL_CHUNKS: usize = 256;

/// A running recording. Dropping every stream sender and calling [`Recorder::finish`] flushes it.
#[derive(Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Bytes>,
    writer: JoinHandle<std::io::Result<u64>>,
    bytes: Arc<AtomicU64>,
}

impl Recorder {
    /// Creates (truncates) `path` and starts the writer task. Must be called inside a tokio runtime.
    pub async fn create(path: &Path) -> std::io::Result<Self> {
        let file = tokio::fs::File::create(path).await?;
        let (tx, rx) = mpsc::channel(RECORD_CHANNEL_CHUNKS);
        let bytes = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn(write_all(file, rx, bytes.clone()));
        Ok(Self { tx, writer, bytes })
    }

    /// A raw-chunk sender for one stream, to hand to `Cluster::tap`. Its chunks are forwarded
    /// whole frames at a time, so streams sharing the file cannot cut into each other's frames.
    pub fn stream(&self) -> mpsc::Sender<Bytes> {
        let (tx, rx) = mpsc::channel(RECORD_CHANNEL_CHUNKS);
        tokio::spawn(reframe(rx, self.tx.clone()));
        tx
    }

    /// Bytes written so far (for `--stats`).
    pub fn bytes(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// Waits for every stream sender to be dropped and the file to be flushed; the bytes written.
    pub async fn finish(self) -> std::io::Result<u64> {
        drop(self.tx);
        self.writer
            .await
            .map_err(|e| std::io::Error::other(format!("the recorder task failed: {e}")))?
    }
}

async fn write_all(
    file: tokio::fs::File,
    mut rx: mpsc::Receiver<Bytes>,
    bytes: Arc<AtomicU64>,
) -> std::io::Result<u64> {
    let mut out = tokio::io::BufWriter::new(file);
    let mut total = 0u64;
    while let Some(chunk) = rx.recv().await {
        out.write_all(&chunk).await?;
        total += chunk.len() as u64;
        bytes.store(total, Ordering::Relaxed);
    }
    out.flush().await?;
    Ok(total)
}

/// Forwards one stream's chunks as whole frames. What is left at the end (a frame cut short by
/// the stream ending) is forwarded as it is: the file then ends as the stream did.
async fn reframe(mut rx: mpsc::Receiver<Bytes>, tx: mpsc::Sender<Bytes>) {
    let mut splitter = Splitter::default();
    while let Some(chunk) = rx.recv().await {
        splitter.push(&chunk);
        while let Some(frame) = splitter.next() {
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    }
    if let Some(rest) = splitter.rest() {
        let _ = tx.send(rest).await;
    }
}

/// Cuts a byte stream at frame boundaries, keeping each frame's length prefix.
#[derive(Debug, Default)]
struct Splitter {
    buf: BytesMut,
    /// Set after a length over the frame limit: the stream cannot be cut any more, so the rest
    /// is passed through as it comes (replay will report the bad frame, as the live tap did).
    raw: bool,
}

impl Splitter {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    fn next(&mut self) -> Option<Bytes> {
        if self.raw {
            return (!self.buf.is_empty()).then(|| self.buf.split().freeze());
        }
        let header = self.buf.get(..4)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > MAX_FRAME_BYTES {
            self.raw = true;
            return self.next();
        }
        (self.buf.len() >= 4 + len).then(|| self.buf.split_to(4 + len).freeze())
    }

    fn rest(self) -> Option<Bytes> {
        (!self.buf.is_empty()).then(|| self.buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[tokio::test]
    async fn one_stream_is_recorded_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tap.bin");
        let recorder = Recorder::create(&path).await.expect("create");
        let tx = recorder.stream();
        let body = [frame(b"abc"), frame(b""), frame(b"defgh"), vec![9, 0]].concat();
        // Chunks that cut frames and headers anywhere.
        for chunk in body.chunks(3) {
            tx.send(Bytes::copy_from_slice(chunk)).await.expect("send");
        }
        drop(tx);
        assert_eq!(recorder.finish().await.expect("finish"), body.len() as u64);
        assert_eq!(std::fs::read(&path).expect("read"), body);
    }

    #[tokio::test]
    async fn streams_interleave_only_at_frame_boundaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tap.bin");
        let recorder = Recorder::create(&path).await.expect("create");
        let (a, b) = (recorder.stream(), recorder.stream());
        let (fa, fb) = (frame(b"from-a"), frame(b"from-b!"));
        // Half a frame from each, then the other halves.
        a.send(Bytes::copy_from_slice(&fa[..5]))
            .await
            .expect("send");
        b.send(Bytes::copy_from_slice(&fb[..6]))
            .await
            .expect("send");
        a.send(Bytes::copy_from_slice(&fa[5..]))
            .await
            .expect("send");
        b.send(Bytes::copy_from_slice(&fb[6..]))
            .await
            .expect("send");
        drop((a, b));
        recorder.finish().await.expect("finish");
        let written = std::fs::read(&path).expect("read");
        assert_eq!(written.len(), fa.len() + fb.len());
        let ok = written == [fa.clone(), fb.clone()].concat() || written == [fb, fa].concat();
        assert!(ok, "frames were cut: {written:?}");
    }

    #[test]
    fn an_oversized_length_passes_the_rest_through() {
        let mut s = Splitter::default();
        s.push(&u32::MAX.to_le_bytes());
        s.push(b"xy");
        assert_eq!(
            s.next().as_deref(),
            Some(&[0xff, 0xff, 0xff, 0xff, b'x', b'y'][..])
        );
        assert_eq!(s.next(), None);
    }
}
