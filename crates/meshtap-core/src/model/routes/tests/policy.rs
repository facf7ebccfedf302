//! Rows of policy-routed requests: parent → route → rule, split by backend on demand, with the
//! rule's configuration carried to the row.

use std::time::Duration;

use super::super::fixtures::{Req, at, policy_routed, routed_as};
use super::*;
use crate::model::policy::RuleConfig;

fn labels(table: &RouteTable) -> Vec<String> {
    let mut labels: Vec<String> = table
        .rows(at(59), Window::Capture)
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.key.direction.short(),
                r.key.namespace,
                r.key.label()
            )
        })
        .collect();
    labels.sort();
    labels
}

fn row<'a>(rows: &'a [RouteRow], label: &str) -> &'a RouteRow {
    rows.iter()
        .find(|r| r.key.label() == label)
        .unwrap_or_else(|| panic!("no row {label}"))
}

#[test]
fn policy_rows_are_keyed_by_parent_route_and_rule() {
    let table = RouteTable::rebuild(Grouping::Route, &policy_routed(0));
    assert_eq!(
        labels(&table),
        [
            "out emojivoto voting-svc:8080 GRPCRoute voting-retries rule 0",
            "out emojivoto voting-svc:8080 GRPCRoute voting-retries rule 1",
            "out sock-shop carts:80 HTTPRoute carts-timeouts rule 0",
            "out sock-shop carts:80 HTTPRoute carts-timeouts rule 1",
            "out sock-shop catalogue:80 HTTPRoute catalogue-split rule 0",
            "out sock-shop catalogue:80 HTTPRoute catalogue-split rule 1",
        ]
    );
}

#[test]
fn rows_carry_the_rules_timeout_and_retry() {
    let table = RouteTable::rebuild(Grouping::Route, &policy_routed(0));
    let rows = table.rows(at(59), Window::Capture);
    let config = |label: &str| {
        let matched = row(&rows, label).matched.clone().expect("a policy row");
        (matched.config.timeout_label(), matched.config.retry_label())
    };
    assert_eq!(
        config("carts:80 HTTPRoute carts-timeouts rule 0"),
        ("request 2s".to_owned(), String::new())
    );
    assert_eq!(
        config("carts:80 HTTPRoute carts-timeouts rule 1"),
        (String::new(), String::new())
    );
    assert_eq!(
        config("voting-svc:8080 GRPCRoute voting-retries rule 0"),
        (String::new(), "2× on unavailable".to_owned())
    );
}

#[test]
fn backends_show_their_observed_share_of_the_rule() {
    let requests = policy_routed(0);
    let table = RouteTable::rebuild(Grouping::Route, &requests).refill(&requests);
    assert!(!table.backends(), "refill keeps the grouping it had");
    let table = RouteTable::new(Grouping::Route)
        .by_backend(true)
        .refill(&requests);
    let rows = table.rows(at(59), Window::Capture);
    // Counted here from the requests themselves, not from the table.
    let served = |rule: u32, backend: &str| {
        requests
            .iter()
            .filter_map(|r| r.init.as_ref()?.matched_route.clone())
            .filter(|m| m.name() == "catalogue-split")
            .filter(|m| m.rule == Some(rule) && m.backend_name() == backend)
            .count() as f64
    };
    let (stable, canary) = (served(1, "catalogue"), served(1, "catalogue-v2"));
    let split = "catalogue:80 HTTPRoute catalogue-split rule 1 → ";
    let share = |backend: &str| row(&rows, &format!("{split}{backend}")).share;
    assert_eq!(share("catalogue"), Some(stable / (stable + canary)));
    assert_eq!(share("catalogue-v2"), Some(canary / (stable + canary)));
    let weight = |backend: &str| {
        let matched = row(&rows, &format!("{split}{backend}")).matched.clone();
        matched.and_then(|m| m.backend.clone()?.weight)
    };
    assert_eq!(
        (weight("catalogue"), weight("catalogue-v2")),
        (Some(90), Some(10))
    );
    let canaries = row(
        &rows,
        "catalogue:80 HTTPRoute catalogue-split rule 0 → catalogue-v2",
    );
    assert_eq!(canaries.share, Some(1.0));
    assert!(
        !rows
            .iter()
            .any(|r| r.key.label() == "catalogue:80 HTTPRoute catalogue-split rule 0 → catalogue"),
        "no canary went to the stable backend"
    );
}

#[test]
fn a_profile_route_wins_over_the_policy_and_keeps_its_old_row() {
    let matched = routed_as(
        "sock-shop",
        "HTTPRoute",
        "catalogue-split",
        1,
        ("catalogue", 80),
        ("catalogue", Some(90)),
        RuleConfig::default(),
    );
    let both = Req::out(1, "front-end", "catalogue", "GET", "/catalogue")
        .route("GET /catalogue")
        .matched(matched)
        .respond(200, Duration::from_millis(1), 1)
        .build();
    let table = RouteTable::rebuild(Grouping::Route, [&both]);
    assert_eq!(labels(&table), ["out sock-shop catalogue GET /catalogue"]);
    let rows = table.rows(at(59), Window::Capture);
    assert!(rows[0].matched.is_none() && rows[0].key.rule.is_none());
}

#[test]
fn other_groupings_ignore_the_policy_route() {
    let table = RouteTable::rebuild(Grouping::Destination, &policy_routed(0));
    assert_eq!(
        labels(&table),
        [
            "out emojivoto voting",
            "out sock-shop carts",
            "out sock-shop catalogue",
            "out sock-shop catalogue-v2",
        ]
    );
}
