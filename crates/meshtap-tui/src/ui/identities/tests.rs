use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::app::identities::IdentitySort;
use crate::model::routes::fixtures::sock_shop;

fn draw(
    table: &IdentityTable,
    state: &mut IdentitiesState,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let theme = Theme::monochrome();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    // The app's half: the tree built and scrolled (inside the border, under the summary line).
    state.refresh(table, None, 0, &crate::routestats::Readings::default());
    state.fit(usize::from(height.saturating_sub(3)));
    terminal
        .draw(|frame| frame.render_widget(IdentitiesPane::new(table, state, &theme), frame.area()))
        .expect("draw");
    terminal
}

#[test]
fn snapshot_identities_80x24() {
    let table = IdentityTable::rebuild(&sock_shop());
    let mut state = IdentitiesState::new();
    insta::assert_snapshot!(draw(&table, &mut state, 80, 24).backend());
}

#[test]
fn snapshot_identities_160x48_concerns_first_with_an_edge_open() {
    let table = IdentityTable::rebuild(&sock_shop());
    let mut state = IdentitiesState::new();
    state.sort = IdentitySort::Concerns;
    draw(&table, &mut state, 160, 48);
    // Down to the first edge of the first workload, and open it.
    state.key_down();
    state.key_down();
    state.toggle_selected();
    insta::assert_snapshot!(draw(&table, &mut state, 160, 48).backend());
}

#[test]
fn snapshot_empty() {
    let table = IdentityTable::new();
    let mut state = IdentitiesState::new();
    insta::assert_snapshot!(draw(&table, &mut state, 80, 24).backend());
}

#[test]
fn selection_is_a_stable_path_and_closed_nodes_stay_closed() {
    let table = IdentityTable::rebuild(&sock_shop());
    let mut state = IdentitiesState::new();
    draw(&table, &mut state, 80, 24);
    assert_eq!(state.selected(), ["ns:sock-shop"]);
    state.key_down();
    state.key_down();
    state.key_down();
    let path = state.selected().to_vec();
    assert_eq!(path.len(), 3, "{path:?}");
    // The user closes the namespace; a redraw with more data keeps it closed and the path kept.
    state.close(&path[..1]);
    let more = IdentityTable::rebuild(&sock_shop());
    state.invalidate();
    let screen = draw(&more, &mut state, 80, 24).backend().to_string();
    assert_eq!(state.selected(), path);
    assert!(!screen.contains("← from"), "{screen}");
}
