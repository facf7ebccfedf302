//! `:diff FILE` driven by keys: the command asks the session to read the file, the side that comes
//! back is compared with the live capture and shown in its own view, which the keymap's `diff`
//! keys scroll and Esc closes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{at, feed, state};
use crate::app::action::Action;
use crate::app::overlay::Layer;
use crate::app::state::{AppState, Effect};
use crate::diff::Side;

fn press(state: &mut AppState, code: KeyCode) {
    let action = state
        .action_for_key(&KeyEvent::new(code, KeyModifiers::NONE))
        .expect("a bound key");
    state.handle(action, at(1_000));
}

/// The saved capture: the requests the live one holds so far.
fn saved(live: &AppState) -> Side {
    let mut side = Side::new("saved.ndjson");
    for request in live.store.requests() {
        side.record(request);
    }
    side
}

#[test]
fn diff_command_reads_the_file_then_the_view_opens_scrolls_and_closes() {
    let mut state = state(100);
    press(&mut state, KeyCode::Char(':'));
    for c in "diff saved.ndjson".chars() {
        press(&mut state, KeyCode::Char(c));
    }
    press(&mut state, KeyCode::Enter);
    assert!(matches!(
        state.take_effects().as_slice(),
        [Effect::Diff(path)] if path.as_os_str() == "saved.ndjson"
    ));

    // Nothing live yet: nothing to compare, said rather than shown.
    state.show_diff(&Side::new("saved.ndjson"), at(1_000));
    assert_eq!(state.overlays.top(state.pane), None);
    assert!(
        state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("nothing to compare"))
    );

    feed(&mut state, 0..20, 500);
    let before = saved(&state);
    feed(&mut state, 20..40, 200);
    state.show_diff(&before, at(1_000));
    assert_eq!(state.overlays.top(state.pane), Some(Layer::Diff));
    let open = state.overlays.diff().expect("the diff view");
    assert_eq!(open.saved, "saved.ndjson");
    assert!(
        open.lines.iter().any(|(_, l)| l.contains("saved.ndjson")),
        "{:?}",
        open.lines
    );
    assert!(open.lines.len() > 2, "{:?}", open.lines);

    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.overlays.diff().map(|o| o.scroll), Some(1));
    press(&mut state, KeyCode::Char('k'));
    assert_eq!(state.overlays.diff().map(|o| o.scroll), Some(0));
    press(&mut state, KeyCode::Esc);
    assert!(!state.overlays.is_open(Layer::Diff));
    assert!(!state.quit, "Esc closed the view, nothing else");
}

#[test]
fn diff_without_a_file_says_its_usage() {
    let mut state = state(10);
    state.handle(Action::CommandPrompt, at(0));
    for c in "diff".chars() {
        state.handle(Action::Input(c), at(0));
    }
    state.handle(Action::Submit, at(0));
    assert!(state.take_effects().is_empty());
    assert!(
        state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("usage: :diff FILE"))
    );
}
