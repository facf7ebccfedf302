//! The reader thread: reads the file in large chunks, recognises its format from the head, and
//! hands each format's reader the rest. Blocking reads run here, off the async workers; the
//! thread is a plain one (not `spawn_blocking`) so a reader blocked on stdin never holds up
//! process exit, and it stops as soon as the player is gone.

use std::io::{self, Read};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::detect::{BOM, HEAD_BYTES, detect};
use super::sink::{Batch, Ready, Sink};
use super::{ReplayError, ReplayFormat, har, records, timeless};
use crate::capture::HeaderLine;
use crate::capture::ndjson::RequestRecord;
use crate::source::frames;

/// A file or stdin.
pub type Input = Box<dyn Read + Send>;

/// Bytes asked of the file at a time: few system calls, one copy.
pub const READ_CHUNK_BYTES: usize = 1024 * 1024;
/// Longest line read (an NDJSON record, a line of a Linkerd object); a longer one is skipped.
pub const MAX_LINE_BYTES: usize = frames::MAX_FRAME_BYTES;

/// Starts reading `input` on its own thread. `ready` answers once the file is known to be
/// usable (or not); batches follow on `out`.
pub fn spawn(
    input: Input,
    name: String,
    start: DateTime<Utc>,
    ready: Ready,
    out: mpsc::Sender<Batch>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("replay-reader".to_string())
        .spawn(move || run(input, name, start, ready, out))
        .map(drop)
}

fn run(
    mut input: Input,
    name: String,
    start: DateTime<Utc>,
    ready: Ready,
    out: mpsc::Sender<Batch>,
) {
    let mut head = match read_head(&mut input) {
        Ok(head) => head,
        Err(source) => {
            let _ = ready.send(Err(ReplayError::Read { name, source }));
            return;
        }
    };
    let whole = head.len() < HEAD_BYTES;
    if whole && head.iter().all(u8::is_ascii_whitespace) {
        let _ = ready.send(Err(ReplayError::Empty { name }));
        return;
    }
    let Some(format) = detect(&head) else {
        let _ = ready.send(Err(ReplayError::UnknownFormat { name }));
        return;
    };
    if format != ReplayFormat::Framed && head.starts_with(BOM) {
        head.drain(..BOM.len());
    }
    let mut sink = Sink::new(name.clone(), format, ready, out);
    let mut input = io::Cursor::new(head).chain(input);
    let result = match format {
        ReplayFormat::Ndjson => ndjson(&mut input, &mut sink),
        ReplayFormat::LinkerdJson => timeless::linkerd_json(&mut input, &mut sink, start),
        ReplayFormat::Har => har::read(&mut input, &mut sink),
        ReplayFormat::Framed => timeless::framed(&mut input, &mut sink, start),
    };
    if let Err(source) = result {
        sink.fail(ReplayError::Read { name, source });
    }
    sink.finish();
}

fn read_head(input: &mut Input) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    input.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Fills `buf` with what one read gives (0 at end of file), retrying interrupted reads.
pub fn read_some(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// One line of a text format.
pub enum Line<'a> {
    Text(&'a [u8]),
    /// Longer than `MAX_LINE_BYTES`: dropped unread.
    TooLong,
}

/// Calls `each` with every line of `input` and its number (from 1), reading in chunks, until it
/// returns `false`. Memory: one chunk plus the longest line.
pub fn lines(
    input: &mut impl Read,
    mut each: impl FnMut(usize, Line<'_>) -> bool,
) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * READ_CHUNK_BYTES);
    let mut number = 0;
    // Dropping the rest of an overlong line until its newline.
    let mut overlong = false;
    loop {
        let old = buf.len();
        buf.resize(old + READ_CHUNK_BYTES, 0);
        let n = read_some(input, &mut buf[old..])?;
        buf.truncate(old + n);
        // Bytes before `old` hold no newline: they were scanned already.
        let (mut from, mut scan) = (0, old);
        while let Some(i) = buf[scan..].iter().position(|b| *b == b'\n') {
            let end = scan + i;
            number += 1;
            let line = if overlong {
                Line::TooLong
            } else {
                Line::Text(&buf[from..end])
            };
            overlong = false;
            if !each(number, line) {
                return Ok(());
            }
            from = end + 1;
            scan = from;
        }
        if n == 0 {
            if from < buf.len() || overlong {
                let line = if overlong {
                    Line::TooLong
                } else {
                    Line::Text(&buf[from..])
                };
                each(number + 1, line);
            }
            return Ok(());
        }
        buf.drain(..from);
        if buf.len() > MAX_LINE_BYTES {
            overlong = true;
            buf.clear();
        }
    }
}

/// The message for a line too long to read.
pub fn too_long(number: usize) -> String {
    format!("line {number}: longer than {MAX_LINE_BYTES} bytes")
}

/// meshtap NDJSON: a header line (optional; the first one describes the capture) and one
/// request per line.
fn ndjson(input: &mut impl Read, sink: &mut Sink) -> io::Result<()> {
    lines(input, |number, line| {
        let Line::Text(line) = line else {
            sink.skip(too_long(number));
            return !sink.closed;
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        match serde_json::from_slice::<RequestRecord>(line) {
            Ok(record) => match records::record_events(&record, &mut sink.interner) {
                Ok(events) => sink.request(events),
                Err(message) => sink.skip(format!("line {number}: {message}")),
            },
            // Header lines are rare: tried only when a line is not a record.
            Err(err) => match serde_json::from_slice::<HeaderLine>(line) {
                // `cat a.ndjson b.ndjson` holds two headers: the first describes the capture.
                Ok(header) => {
                    sink.capture.get_or_insert(header.meshtap_capture);
                }
                Err(_) => sink.skip(format!("line {number}: {err}")),
            },
        }
        !sink.closed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &[u8]) -> Vec<(usize, Option<String>)> {
        let mut out = Vec::new();
        lines(&mut io::Cursor::new(text.to_vec()), |n, line| {
            let text = match line {
                Line::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                Line::TooLong => None,
            };
            out.push((n, text));
            true
        })
        .expect("lines");
        out
    }

    #[test]
    fn lines_are_numbered_across_chunks_and_the_last_needs_no_newline() {
        let long = "x".repeat(READ_CHUNK_BYTES + 10);
        let text = format!("a\n\n{long}\nlast");
        let got = collect(text.as_bytes());
        assert_eq!(
            got,
            [
                (1, Some("a".into())),
                (2, Some(String::new())),
                (3, Some(long)),
                (4, Some("last".into()))
            ]
        );
    }

    #[test]
    fn an_overlong_line_is_dropped_and_the_next_one_read() {
        let mut text = vec![b'y'; MAX_LINE_BYTES + READ_CHUNK_BYTES + 5];
        text.extend_from_slice(b"\nnext\n");
        assert_eq!(collect(&text), [(1, None), (2, Some("next".into()))]);
    }
}
