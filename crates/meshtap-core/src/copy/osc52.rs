//! The clipboard through the terminal: OSC 52 (`ESC ] 52 ; c ; BASE64 BEL`), which terminals
//! honour over SSH, and wrapped in tmux's DCS passthrough when inside tmux. No X11, no daemon.

use base64::Engine as _;

/// Most base64 bytes one sequence carries: xterm and several terminals drop longer ones, and a
/// bigger paste is better copied from the popup by hand.
pub const OSC52_MAX_BYTES: usize = 100_000;

/// Whether `text` fits in one sequence.
pub fn fits(text: &str) -> bool {
    text.len().div_ceil(3) * 4 <= OSC52_MAX_BYTES
}

/// The escape sequence that puts `text` on the clipboard, `None` when it is too long. Inside
/// tmux (`$TMUX` set) the sequence goes through `ESC P tmux; … ESC \` with every ESC doubled, so
/// that tmux passes it to the outer terminal (tmux needs `allow-passthrough on` from 3.3).
pub fn sequence(text: &str, tmux: bool) -> Option<String> {
    if !fits(text) {
        return None;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let osc = format!("\x1b]52;c;{encoded}\x07");
    Some(if tmux {
        format!("\x1bPtmux;{}\x1b\\", osc.replace('\x1b', "\x1b\x1b"))
    } else {
        osc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_tmux_sequences() {
        assert_eq!(sequence("hi", false).as_deref(), Some("\x1b]52;c;aGk=\x07"));
        assert_eq!(
            sequence("hi", true).as_deref(),
            Some("\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\")
        );
        assert_eq!(sequence(&"x".repeat(OSC52_MAX_BYTES), false), None);
        let longest = "x".repeat(OSC52_MAX_BYTES / 4 * 3);
        assert!(fits(&longest) && !fits(&format!("{longest}x")));
        assert!(sequence(&longest, false).is_some());
    }
}
