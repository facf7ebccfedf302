//! Blocking writes (stdout, files) on their own thread, fed by a bounded channel: the async
//! workers and the UI never wait on a disk or a pipe, and Ctrl-C is heard whatever the reader of
//! stdout does.

use std::io::{self, Write};

use tokio::sync::{mpsc, oneshot};

/// Chunks queued for the writer before the producer waits.
pub const WRITER_CHANNEL_CHUNKS: usize = 64;

/// A writer thread. Send chunks with [`WriterThread::send`]; [`WriterThread::finish`] flushes and
/// returns the bytes written (or the first write error).
#[derive(Debug)]
pub struct WriterThread {
    tx: mpsc::Sender<Vec<u8>>,
    done: oneshot::Receiver<io::Result<u64>>,
}

/// The writer has stopped (its output failed or was closed); `finish` says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStopped;

impl WriterThread {
    /// Starts a thread that writes every chunk to `out`, flushing whenever it has caught up.
    pub fn spawn(name: &str, out: impl Write + Send + 'static) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel(WRITER_CHANNEL_CHUNKS);
        let (done_tx, done) = oneshot::channel();
        // A plain thread, not `spawn_blocking`: the runtime's shutdown never waits for it, so a
        // reader that never reads cannot keep meshtap from exiting.
        std::thread::Builder::new()
            .name(format!("meshtap-{name}"))
            .spawn(move || {
                let _ = done_tx.send(write_all(out, rx));
            })?;
        Ok(Self { tx, done })
    }

    /// Queues a chunk, waiting while the queue is full (backpressure).
    pub async fn send(&self, chunk: Vec<u8>) -> Result<(), WriterStopped> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.tx.send(chunk).await.map_err(|_| WriterStopped)
    }

    /// Closes the queue and waits for everything queued to be written and flushed.
    pub async fn finish(self) -> io::Result<u64> {
        drop(self.tx);
        self.done
            .await
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread died")))
    }
}

fn write_all(mut out: impl Write, mut rx: mpsc::Receiver<Vec<u8>>) -> io::Result<u64> {
    let mut total = 0u64;
    while let Some(chunk) = rx.blocking_recv() {
        out.write_all(&chunk)?;
        total = total.saturating_add(chunk.len() as u64);
        // Flush when caught up, so a slow stream still shows each batch at once.
        if rx.is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` that fails after `limit` bytes, like a closed pipe.
    struct Breaks {
        limit: usize,
        seen: usize,
    }

    impl Write for Breaks {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.seen + buf.len() > self.limit {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.seen += buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn writes_everything_in_order_and_counts_it() {
        let (file, path) = tempfile::NamedTempFile::new().expect("temp").into_parts();
        let writer = WriterThread::spawn("test", file).expect("spawn");
        for i in 0..100u32 {
            writer
                .send(format!("{i}\n").into_bytes())
                .await
                .expect("send");
        }
        let written = writer.finish().await.expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(written, text.len() as u64);
        assert_eq!(text.lines().count(), 100);
        assert_eq!(text.lines().last(), Some("99"));
    }

    #[tokio::test]
    async fn a_broken_output_stops_the_writer_and_says_why() {
        let writer = WriterThread::spawn("test", Breaks { limit: 10, seen: 0 }).expect("spawn");
        let mut stopped = false;
        // Bounded: the writer fails on the second chunk; the queue then closes.
        for _ in 0..(WRITER_CHANNEL_CHUNKS * 4) {
            if writer.send(vec![b'x'; 8]).await.is_err() {
                stopped = true;
                break;
            }
        }
        assert!(stopped, "sending must fail once the output broke");
        let err = writer.finish().await.expect_err("broken");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
