//! The terminal UI's state as tests and benches start it.

use chrono::{DateTime, Utc};
use meshtap_core::model::store::Store;
use meshtap_core::session::SessionInfo;
use meshtap_tui::app::{Action, AppState, config};

/// The UI's state as the terminal loop starts it (the default keymap and theme, in colour) for
/// a session described by `info` holding at most `capacity` requests, sized `width`×`height` at
/// `now`.
pub fn app(
    capacity: usize,
    info: SessionInfo,
    width: u16,
    height: u16,
    now: DateTime<Utc>,
) -> AppState {
    let mut state = AppState::new(Store::new(capacity), info, config::from_text("", "", false));
    state.handle(Action::Resize { width, height }, now);
    state
}
