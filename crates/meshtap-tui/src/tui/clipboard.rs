//! Puts copied text where it can arrive, and says where it went (`copy::clipboard` decides and
//! words it): OSC 52 outside tmux; inside tmux, what tmux's options let through, else a tmux
//! buffer (`tmux load-buffer -`); a private file when nothing else works.

use std::io::{self, Read as _, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meshtap_io::files;

use crate::copy::clipboard::{Delivered, Route, TMUX_OPTIONS_FORMAT, TmuxOptions, route};
use crate::copy::osc52;

/// tmux answers a local command in milliseconds; one that hangs must not freeze the UI.
const TMUX_DEADLINE_MS: u64 = 2000;
/// How often a running tmux command is checked on.
const TMUX_POLL_MS: u64 = 5;

/// Sends `text` on its way; `out` is the terminal. `Err` only when not even a file could be
/// written.
pub fn deliver(text: &str, out: &mut impl Write) -> Result<Delivered, String> {
    let tmux = std::env::var_os("TMUX").is_some().then(tmux_options);
    match route(tmux) {
        Route::Osc52 => match osc52::sequence(text, false) {
            Some(sequence) if send(out, &sequence).is_ok() => Ok(Delivered::Terminal),
            _ => to_file(text, &std::env::temp_dir()),
        },
        Route::TmuxSetClipboard => match osc52::sequence(text, false) {
            Some(sequence) if send(out, &sequence).is_ok() => Ok(Delivered::TmuxSetClipboard),
            // Too long for one sequence: tmux takes a buffer of any size.
            _ => tmux_buffer(text, false, out),
        },
        Route::TmuxBuffer { passthrough } => tmux_buffer(text, passthrough, out),
    }
}

fn send(out: &mut impl Write, sequence: &str) -> io::Result<()> {
    out.write_all(sequence.as_bytes())?;
    out.flush()
}

/// The options of this pane (`$TMUX_PANE`), inherited ones included; tmux's defaults when they
/// cannot be read.
fn tmux_options() -> TmuxOptions {
    let mut args = vec!["display-message", "-p"];
    let pane = std::env::var("TMUX_PANE").ok();
    if let Some(pane) = pane.as_deref() {
        args.extend(["-t", pane]);
    }
    args.push(TMUX_OPTIONS_FORMAT);
    tmux(&args, None).map_or_else(
        |_| TmuxOptions::default(),
        |answer| TmuxOptions::parse(&answer),
    )
}

/// `tmux load-buffer -` (so `prefix ]` pastes it), plus the wrapped OSC 52 when passthrough is
/// on; a file when tmux refuses.
fn tmux_buffer(text: &str, passthrough: bool, out: &mut impl Write) -> Result<Delivered, String> {
    if tmux(&["load-buffer", "-"], Some(text)).is_err() {
        return to_file(text, &std::env::temp_dir());
    }
    let through = passthrough
        && osc52::sequence(text, true).is_some_and(|sequence| send(out, &sequence).is_ok());
    Ok(Delivered::TmuxBuffer {
        passthrough: through,
    })
}

/// Runs tmux with `args`, `input` on its stdin; its stdout, or why it failed.
fn tmux(args: &[&str], input: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("tmux")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("tmux: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // Dropping stdin closes it, which is what ends `load-buffer -`'s read.
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("tmux: {e}"))?;
    }
    let deadline = Instant::now() + Duration::from_millis(TMUX_DEADLINE_MS);
    loop {
        match child.try_wait().map_err(|e| format!("tmux: {e}"))? {
            Some(status) if status.success() => break,
            Some(status) => return Err(format!("tmux {}: {status}", args[0])),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("tmux {} did not answer", args[0]));
            }
            None => std::thread::sleep(Duration::from_millis(TMUX_POLL_MS)),
        }
    }
    let mut answer = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_string(&mut answer)
            .map_err(|e| format!("tmux: {e}"))?;
    }
    Ok(answer)
}

/// Writes `text` to `copied.txt` in a fresh private directory under `parent` (0700 directory,
/// 0600 file, nothing replaced).
fn to_file(text: &str, parent: &Path) -> Result<Delivered, String> {
    let dir = files::private_dir(parent, "meshtap-copy-")
        .map_err(|e| format!("clipboard: no file either: {e}"))?
        .keep();
    let path = dir.join("copied.txt");
    files::write_file(&path, text.as_bytes(), false)
        .map_err(|e| format!("clipboard: no file either: {e}"))?;
    Ok(Delivered::File(path))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn the_file_fallback_is_private_and_fresh() {
        let parent = tempfile::tempdir().expect("tempdir");
        let first = to_file("curl 'http://x/'", parent.path()).expect("written");
        let second = to_file("again", parent.path()).expect("written");
        let (Delivered::File(first), Delivered::File(second)) = (first, second) else {
            panic!("files expected");
        };
        assert_ne!(first, second, "never the same file twice");
        assert_eq!(
            std::fs::read_to_string(&first).expect("read"),
            "curl 'http://x/'"
        );
        let mode = std::fs::metadata(&first)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_tmux_that_is_not_there_is_an_error_not_a_hang() {
        let err = Command::new("tmux").arg("-V").output();
        // With or without tmux on the machine, a command it refuses comes back as an error.
        if err.is_ok() {
            assert!(tmux(&["no-such-command-of-tmux"], None).is_err());
        } else {
            assert!(tmux(&["display-message", "-p", "x"], None).is_err());
        }
    }
}
