//! Which way copied text can reach the user, and what to tell them about it. Pure: the terminal
//! loop asks tmux for its options, writes the sequence or runs `tmux load-buffer`, and reports
//! with these words.
//!
//! Outside tmux, OSC 52 goes straight to the terminal (over SSH too). Inside tmux it arrives only
//! when tmux lets it: with `set-clipboard on` tmux takes an application's OSC 52 into a buffer and
//! on to the terminal; with `allow-passthrough on` (3.3+) the DCS-wrapped sequence passes through.
//! tmux 3.3's defaults are `external` and `off`: OSC 52 then vanishes silently, so meshtap puts
//! the text in a tmux buffer itself (`prefix ]` pastes it) and says how to reach the clipboard.

use std::fmt;
use std::path::PathBuf;

/// The tmux options that decide whether OSC 52 arrives, as `tmux display -p` reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TmuxOptions {
    /// `set-clipboard on`: tmux accepts an application's OSC 52 (not `external`, not `off`).
    pub set_clipboard_on: bool,
    /// `allow-passthrough on` (or `all`): DCS `tmux;` passthrough reaches the terminal.
    pub passthrough: bool,
}

/// The format meshtap asks `tmux display-message -p` for.
pub const TMUX_OPTIONS_FORMAT: &str = "#{set-clipboard} #{allow-passthrough}";

impl TmuxOptions {
    /// Reads the answer to [`TMUX_OPTIONS_FORMAT`]: `external 0`, `on 1`, `off all`. Flags print
    /// as `0`/`1` in formats, and `all` is 3.4's stronger passthrough.
    pub fn parse(answer: &str) -> TmuxOptions {
        let mut words = answer.split_whitespace();
        let set_clipboard_on = words.next() == Some("on");
        let passthrough = matches!(words.next(), Some("1" | "on" | "all"));
        TmuxOptions {
            set_clipboard_on,
            passthrough,
        }
    }
}

/// How to send the text, decided from where meshtap runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Not inside tmux: OSC 52 to the terminal.
    Osc52,
    /// Inside tmux with `set-clipboard on`: plain OSC 52, which tmux turns into a buffer and
    /// passes on to the terminal.
    TmuxSetClipboard,
    /// Inside tmux otherwise: `tmux load-buffer -`, plus the wrapped OSC 52 when passthrough is
    /// on.
    TmuxBuffer { passthrough: bool },
}

/// `tmux`: the options when inside tmux (`$TMUX` set), `None` outside. Options that could not be
/// read count as tmux's defaults, which let OSC 52 through neither way.
pub fn route(tmux: Option<TmuxOptions>) -> Route {
    match tmux {
        None => Route::Osc52,
        Some(options) if options.set_clipboard_on => Route::TmuxSetClipboard,
        Some(options) => Route::TmuxBuffer {
            passthrough: options.passthrough,
        },
    }
}

/// Where the text went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// OSC 52 written to the terminal (whether it honours it cannot be known from here).
    Terminal,
    /// Through tmux's `set-clipboard on`: a tmux buffer and the terminal's clipboard.
    TmuxSetClipboard,
    /// A tmux buffer; `passthrough` when OSC 52 also went through to the terminal.
    TmuxBuffer { passthrough: bool },
    /// A private file (0600), when no clipboard could be reached.
    File(PathBuf),
}

impl Delivered {
    /// How to reach the system clipboard from here, when the text did not go there.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Delivered::TmuxBuffer { passthrough: false } => Some(
                "for the system clipboard: tmux set -g set-clipboard on (or allow-passthrough on)",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Delivered {
    /// One status-bar line: where the text is now.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delivered::Terminal => f.write_str("copied to the clipboard (OSC 52)"),
            Delivered::TmuxSetClipboard => {
                f.write_str("copied to a tmux buffer and the clipboard (set-clipboard on)")
            }
            Delivered::TmuxBuffer { passthrough: true } => {
                f.write_str("copied to a tmux buffer (prefix ]) and the clipboard (passthrough)")
            }
            Delivered::TmuxBuffer { passthrough: false } => {
                f.write_str("copied to a tmux buffer (prefix ] pastes), not the system clipboard")
            }
            Delivered::File(path) => write!(
                f,
                "no clipboard reachable: copied to {}",
                crate::terminal::escape(&path.display().to_string())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmux_answers() {
        assert_eq!(TmuxOptions::parse("external 0\n"), TmuxOptions::default());
        assert_eq!(
            TmuxOptions::parse("on 0"),
            TmuxOptions {
                set_clipboard_on: true,
                passthrough: false
            }
        );
        assert!(TmuxOptions::parse("off all").passthrough);
        assert!(TmuxOptions::parse("external 1").passthrough);
        assert_eq!(TmuxOptions::parse(""), TmuxOptions::default());
    }

    #[test]
    fn routes() {
        assert_eq!(route(None), Route::Osc52);
        assert_eq!(
            route(Some(TmuxOptions::default())),
            Route::TmuxBuffer { passthrough: false },
            "tmux 3.3's defaults: OSC 52 would vanish"
        );
        assert_eq!(
            route(Some(TmuxOptions::parse("external 1"))),
            Route::TmuxBuffer { passthrough: true }
        );
        assert_eq!(
            route(Some(TmuxOptions::parse("on 1"))),
            Route::TmuxSetClipboard
        );
    }

    #[test]
    fn only_a_tmux_buffer_alone_says_how_to_reach_the_clipboard() {
        let alone = Delivered::TmuxBuffer { passthrough: false };
        assert!(alone.to_string().contains("not the system clipboard"));
        assert!(alone.hint().is_some_and(|h| h.contains("set-clipboard on")));
        for other in [
            Delivered::Terminal,
            Delivered::TmuxSetClipboard,
            Delivered::TmuxBuffer { passthrough: true },
            Delivered::File(PathBuf::from("/tmp/x")),
        ] {
            assert!(other.hint().is_none(), "{other}");
        }
        assert_eq!(
            Delivered::File(PathBuf::from("/tmp/a\u{1b}b")).to_string(),
            "no clipboard reachable: copied to /tmp/a\\x1bb"
        );
    }
}
