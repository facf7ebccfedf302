//! What commands print on stdout outside a session (check, completions, man, the extension's
//! manifests, `demo --serve`'s banner). A reader that goes away (`meshtap check -o json | head
//! -c 20`) ends the command quietly: Rust ignores SIGPIPE, so the write fails with EPIPE, where
//! `print!` would panic.

use std::io::Write as _;

/// Writes `text` to stdout and flushes it. `Ok(false)` when the reader has gone: the caller
/// stops quietly, as `head` expects of it.
pub fn print(text: impl AsRef<[u8]>) -> std::io::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_ref())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err),
    }
}
