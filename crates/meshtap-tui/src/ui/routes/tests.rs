use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::app::routes::columns::{fitting_columns, table_rows};
use crate::model::routes::RouteKey;
use crate::model::routes::fixtures::{at, sock_shop};
use crate::model::routes::{Grouping, Window};

pub(super) fn draw(
    table: &RouteTable,
    state: &mut RoutesState,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let theme = Theme::monochrome();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    // The app's half: rows and scroll brought up to date before drawing.
    state.refresh(table, at(59));
    let extras = Extras::of(table, state.rows());
    state.fit(table_rows(Rect::new(0, 0, width, height), false, extras));
    terminal
        .draw(|frame| frame.render_widget(RoutesPane::new(table, state, &theme), frame.area()))
        .expect("draw");
    terminal
}

fn sock_shop_table(grouping: Grouping) -> RouteTable {
    RouteTable::rebuild(grouping, &sock_shop())
}

#[test]
fn snapshot_routes_80x24() {
    let table = sock_shop_table(Grouping::Route);
    let mut state = RoutesState::new();
    insta::assert_snapshot!(draw(&table, &mut state, 80, 24).backend());
}

#[test]
fn snapshot_routes_160x48() {
    let table = sock_shop_table(Grouping::Route);
    let mut state = RoutesState::new();
    state.sort_by(SortColumn::P95);
    insta::assert_snapshot!(draw(&table, &mut state, 160, 48).backend());
}

#[test]
fn snapshot_by_source_destination_last_10s_80x24() {
    let table = sock_shop_table(Grouping::SourceDestination);
    let mut state = RoutesState::new();
    state.set_window(Window::Last10s);
    insta::assert_snapshot!(draw(&table, &mut state, 80, 24).backend());
}

#[test]
fn snapshot_empty() {
    let table = RouteTable::new(Grouping::Route);
    let mut state = RoutesState::new();
    insta::assert_snapshot!(draw(&table, &mut state, 80, 24).backend());
}

#[test]
fn columns_drop_from_the_right() {
    let all = fitting_columns(200, false);
    assert_eq!(all, SortColumn::ALL);
    // The error-rate sparkline goes before the RPS one, and both before any number.
    let wide = fitting_columns(130, false);
    assert_eq!(wide, SortColumn::ALL[..SortColumn::ALL.len() - 1]);
    let narrow = fitting_columns(78, false);
    assert!(!narrow.contains(&SortColumn::Spark));
    assert_eq!(narrow[..narrow.len()], SortColumn::ALL[..narrow.len()]);
    assert!(narrow.contains(&SortColumn::P99));
    assert!(fitting_columns(10, false).len() == 2);
}

#[test]
fn a_rule_number_outranks_a_percentile() {
    let with_rules = fitting_columns(78, true);
    // P95 gives its place to the rule; P50 and P99 stay.
    assert!(!with_rules.contains(&SortColumn::P95));
    assert!(with_rules.contains(&SortColumn::P99) && with_rules.contains(&SortColumn::P50));
    // Narrower, the rule costs no more: P50 and P99 stay as they would without rules.
    for width in 60..78 {
        let without = fitting_columns(width, false);
        let with = fitting_columns(width, true);
        for column in [SortColumn::P50, SortColumn::P99] {
            assert_eq!(with.contains(&column), without.contains(&column), "{width}");
        }
    }
    let key = |rule: Option<u32>| {
        let mut key = RouteKey::new(
            crate::model::event::Direction::Outbound,
            "sock-shop",
            "catalogue:80",
            "HTTPRoute catalogue-split",
        );
        key.rule = rule;
        key
    };
    let fixed: u16 = with_rules.iter().map(|c| c.width() + 1).sum();
    let name_width = usize::from(78 - fixed);
    let text = |line: Line| -> String { line.spans.iter().map(|s| s.content.as_ref()).collect() };
    let theme = Theme::monochrome();
    let head = text(tree::name(
        &key(Some(0)),
        tree::Place::Head,
        name_width,
        &theme,
    ));
    assert!(head.ends_with(" rule 0"), "{head}");
    assert!(head.starts_with("catalogue:80 HTTPRoute"), "{head}");
    assert!(head.chars().count() <= name_width, "{head}");
    // Even squeezed to the narrowest Route column, the rule stays and the name is cut.
    let squeezed = text(tree::name(
        &key(Some(12)),
        tree::Place::Head,
        usize::from(MIN_NAME_WIDTH),
        &theme,
    ));
    assert!(squeezed.ends_with("… rule 12"), "{squeezed}");
    assert_eq!(squeezed.chars().count(), usize::from(MIN_NAME_WIDTH));
    let whole = text(tree::name(&key(None), tree::Place::Head, 60, &theme));
    assert_eq!(whole, "catalogue:80 HTTPRoute catalogue-split");
}

#[test]
fn selection_follows_the_key_through_resorts_and_new_rows() {
    let table = sock_shop_table(Grouping::Route);
    let mut state = RoutesState::new();
    draw(&table, &mut state, 160, 48);
    state.move_by(3);
    let chosen = state.selected().cloned().expect("selection");
    state.sort_by(SortColumn::Name);
    assert_eq!(state.selected(), Some(&chosen));
    // New routes arrive: the cursor stays on the same route, wherever it moves.
    let mut bigger = sock_shop_table(Grouping::Route);
    for request in sock_shop().iter_mut().take(40) {
        if let Some(init) = request.init.as_mut() {
            init.path = format!("/new/path-{}", request.seq).into();
        }
        bigger.record(request);
    }
    draw(&bigger, &mut state, 160, 48);
    assert_eq!(state.selected(), Some(&chosen));
    let index = state
        .rows()
        .iter()
        .position(|r| r.key == chosen)
        .expect("row");
    assert!(index > 0);
}

#[test]
fn every_column_sorts_both_ways() {
    let table = sock_shop_table(Grouping::Route);
    let mut state = RoutesState::new();
    state.refresh(&table, at(59));
    for column in SortColumn::ALL {
        state.sort_by(column);
        let (_, descending) = state.sort();
        let rows = state.rows().to_vec();
        for pair in rows.windows(2) {
            let order = column.compare(&pair[0], &pair[1]);
            let order = if descending { order.reverse() } else { order };
            assert_ne!(order, std::cmp::Ordering::Greater, "{column:?}");
        }
        state.sort_by(column);
        assert_ne!(state.sort().1, descending, "{column:?} flips");
    }
    state.sort_by(SortColumn::P95);
    if state.sort().1 {
        state.sort_by(SortColumn::P95);
        state.sort_by(SortColumn::P95);
    }
    let top = &state.rows()[0].summary;
    assert!(state.rows().iter().all(|r| r.summary.p95_us <= top.p95_us));
}

#[test]
fn navigation_is_clamped() {
    let table = sock_shop_table(Grouping::Destination);
    let mut state = RoutesState::new();
    draw(&table, &mut state, 80, 24);
    state.move_by(-5);
    assert_eq!(state.selected(), state.rows().first().map(|r| &r.key));
    state.page_down();
    state.page_down();
    state.select_last();
    state.move_by(1);
    assert_eq!(state.selected(), state.rows().last().map(|r| &r.key));
}

/// A sorted header keeps its first letter: the arrow takes the header's last column when the
/// two do not fit (the pane showed `uccess▼`).
#[test]
fn a_sorted_header_keeps_its_first_letter() {
    let table = sock_shop_table(Grouping::Route);
    let mut state = RoutesState::new();
    state.sort_by(SortColumn::Success);
    let terminal = draw(&table, &mut state, 120, 12);
    let header: String = (0..120)
        .map(|x| terminal.backend().buffer()[(x, 1)].symbol().to_owned())
        .collect();
    assert!(
        header.contains("Succes▼") || header.contains("Succes▲"),
        "{header}"
    );
    assert!(!header.contains(" uccess"), "{header}");
    assert_eq!(sorted_header("Dir", false, 3), "Di▲");
    assert_eq!(sorted_header("RPS", true, 6), "RPS▼");
}

mod policy;
