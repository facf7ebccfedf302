use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::model::routes::fixtures::sock_shop;

fn draw(
    table: &IdentityTable,
    state: &mut IdentitiesState,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let theme = Theme::monochrome();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| {
            frame.render_stateful_widget(IdentitiesPane::new(table, &theme), frame.area(), state);
        })
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
    state.tree.key_down();
    state.tree.key_down();
    state.tree.toggle_selected();
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
    state.tree.key_down();
    state.tree.key_down();
    state.tree.key_down();
    let path = state.selected().to_vec();
    assert_eq!(path.len(), 3, "{path:?}");
    // The user closes the namespace; a redraw with more data keeps it closed and the path kept.
    state.tree.close(&path[..1]);
    let more = IdentityTable::rebuild(&sock_shop());
    let screen = draw(&more, &mut state, 80, 24).backend().to_string();
    assert_eq!(state.selected(), path);
    assert!(!screen.contains("← from"), "{screen}");
}
