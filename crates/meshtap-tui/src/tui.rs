//! The terminal front-end: the main loop ([`event_loop`]) that feeds `app` and draws with `ui`,
//! and the terminal guard: raw mode, alternate screen and mouse capture on entry, all undone on
//! drop and by a panic hook chained in front of the previous one, so a crash never leaves the
//! user's shell unusable.

mod clipboard;
pub mod event_loop;

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use self::event_loop::{DiffDone, DiffHook, ExportDone, ExportHook, RunParams, run_terminal};

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal while the UI runs.
pub struct TerminalGuard {
    terminal: Tui,
}

static PANIC_HOOK: Once = Once::new();

impl TerminalGuard {
    /// Switches the terminal into UI mode. On failure whatever was switched is switched back.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let entered = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match entered {
            Ok(mut terminal) => match terminal.hide_cursor().and_then(|()| terminal.clear()) {
                Ok(()) => Ok(Self { terminal }),
                Err(e) => {
                    restore();
                    Err(e)
                }
            },
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Tui {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back: cooked mode, main screen, no mouse reporting, visible cursor. Safe to
/// call more than once; errors are ignored because there is nowhere left to report them.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal before the previous hook prints the panic, so the message lands on the
/// main screen where the user can read it.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
