//! The copy-as menu and popup (`y`, Enter, `r`) and the explain view (`?`) on a request.

use meshtap::app::Action;
use meshtap::copy::clipboard::Delivered;

use super::{SIZES, snapshot, streaming, t0};

#[test]
fn copy_menu_and_popup() {
    for (width, height) in SIZES {
        let mut state = streaming(width, height);
        state.handle(Action::Copy, t0());
        snapshot("copy_menu", &state);
        state.handle(Action::Open, t0());
        // The terminal loop sends the text, then says where it went.
        state.clipboard_sent(Ok(Delivered::Terminal), t0());
        snapshot("copy_curl_masked", &state);
        // Not sent yet: the popup does not claim it was.
        state.handle(Action::Reveal, t0());
        snapshot("copy_curl_revealed", &state);
        state.handle(Action::Back, t0());
        state.handle(Action::Copy, t0());
        for _ in 0..3 {
            state.handle(Action::Down, t0());
        }
        state.handle(Action::Open, t0());
        // Inside tmux with its default options: a tmux buffer, and how to reach the clipboard.
        state.clipboard_sent(Ok(Delivered::TmuxBuffer { passthrough: false }), t0());
        snapshot("copy_tap_command", &state);
    }
}

#[test]
fn explain_view() {
    for (width, height) in SIZES {
        let mut state = streaming(width, height);
        state.handle(Action::Open, t0());
        state.handle(Action::Explain, t0());
        snapshot("explain_from_detail", &state);
    }
}
