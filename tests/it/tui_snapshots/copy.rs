//! The copy-as menu and popup (`y`, Enter, `r`) and the explain view (`?`) on a request.

use meshtap::app::Action;

use super::{SIZES, snapshot, streaming, t0};

#[test]
fn copy_menu_and_popup() {
    for (width, height) in SIZES {
        let mut state = streaming(width, height);
        state.handle(Action::Copy, t0());
        snapshot("copy_menu", &state);
        state.handle(Action::Open, t0());
        snapshot("copy_curl_masked", &state);
        state.handle(Action::Reveal, t0());
        snapshot("copy_curl_revealed", &state);
        state.handle(Action::Back, t0());
        state.handle(Action::Copy, t0());
        for _ in 0..3 {
            state.handle(Action::Down, t0());
        }
        state.handle(Action::Open, t0());
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
