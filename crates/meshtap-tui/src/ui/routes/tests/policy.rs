//! The pane for policy routes: parent → route → rule as a tree, split by backend with the
//! configured weight beside the observed share, and the rules' Timeout and Retry columns.

use super::super::tree::Place;
use super::*;
use crate::app::routes::columns::{ConfigColumn, Extras, layout};
use crate::model::event::Direction;
use crate::model::routes::RouteKey;
use crate::model::routes::fixtures::policy_routed;

/// Sock Shop's older rows (a `ServiceProfile`, templates) beside catalogue-split, carts-timeouts
/// and voting-retries, split by backend.
fn split_table() -> RouteTable {
    let mut requests = sock_shop();
    requests.extend(policy_routed(100_000));
    RouteTable::new(Grouping::Route)
        .by_backend(true)
        .refill(&requests)
}

#[test]
fn snapshot_by_backend_200x50() {
    let table = split_table();
    let mut state = RoutesState::new();
    insta::assert_snapshot!(draw(&table, &mut state, 200, 50).backend());
}

#[test]
fn snapshot_by_backend_80x24() {
    let table = split_table();
    let mut state = RoutesState::new();
    insta::assert_snapshot!(draw(&table, &mut state, 80, 24).backend());
}

/// A route's rows sit together, in rule and backend order, whatever the sort.
#[test]
fn a_routes_rows_stay_together_under_any_sort() {
    let table = split_table();
    let mut state = RoutesState::new();
    for column in SortColumn::ALL {
        state.sort_by(column);
        state.refresh(&table, at(59));
        let rows = state.rows();
        for (i, row) in rows.iter().enumerate() {
            let later = rows[i + 1..]
                .iter()
                .position(|r| r.key.same_route(&row.key));
            if let Some(gap) = later {
                assert_eq!(
                    gap,
                    0,
                    "{column:?}: {} is split from its route",
                    row.key.label()
                );
                assert!(row.key < rows[i + 1].key, "{column:?}: rules out of order");
            }
        }
    }
}

#[test]
fn timeout_and_retry_are_the_first_columns_dropped() {
    let both = Extras {
        backends: true,
        config: true,
        rules: false,
    };
    let (wide, _) = layout(200, false, both);
    assert!(wide.contains(&Column::Config(ConfigColumn::Timeout)));
    assert!(wide.contains(&Column::Config(ConfigColumn::Retry)));
    // Every live column still fits at 130, but the rule's columns do not.
    let (narrower, _) = layout(130, false, both);
    assert!(narrower.contains(&Column::Live(SortColumn::Spark)));
    assert!(!narrower.contains(&Column::Config(ConfigColumn::Timeout)));
    // The split's columns stay at 80, right after the direction.
    let (narrow, _) = layout(78, false, both);
    let at = narrow
        .iter()
        .position(|c| *c == Column::Live(SortColumn::Direction))
        .expect("direction");
    assert_eq!(
        narrow[at + 1..at + 3],
        [
            Column::Config(ConfigColumn::Weight),
            Column::Config(ConfigColumn::Share)
        ]
    );
    // Without a split or any rule configuration, the pane is what it was.
    assert_eq!(
        layout(200, false, Extras::default()).0,
        fitting_columns(200, false)
            .into_iter()
            .map(Column::Live)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_routes_first_row_is_its_head() {
    let mut key = RouteKey::new(
        Direction::Outbound,
        "sock-shop",
        "catalogue:80",
        "HTTPRoute x",
    );
    key.rule = Some(0);
    let mut second = key.clone();
    second.rule = Some(1);
    let other = RouteKey::new(Direction::Outbound, "sock-shop", "carts:80", "HTTPRoute y");
    assert_eq!(Place::of(None, &key, Some(&second)), Place::Head);
    assert_eq!(Place::of(Some(&other), &key, Some(&second)), Place::Head);
    assert_eq!(Place::of(Some(&key), &second, Some(&other)), Place::Last);
    assert_eq!(Place::of(Some(&key), &second, Some(&second)), Place::Middle);
}
