//! `meshtap routes ns/sock-shop ns/emojivoto --demo -o json` names issue 22's fixtures: catalogue-split
//! with both backends (about 90/10 on rule 1, only v2 on rule 0), carts-timeouts with its 2 s timeout
//! and the proxies' `REQUEST_TIMEOUT` count, voting-retries with its retry policy.

use std::process::Command;

use serde_json::Value;

fn report() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args([
            "routes",
            "ns/sock-shop",
            "ns/emojivoto",
            "--demo",
            "--window",
            "20s",
            "-o",
            "json",
        ])
        .output()
        .expect("meshtap runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn rule<'a>(target: &'a Value, route: &str, index: u64) -> &'a Value {
    target["rules"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r["route"]["name"] == route && r["rule"] == index)
        })
        .unwrap_or_else(|| panic!("no {route} rule {index}: {target}"))
}

fn backend<'a>(rule: &'a Value, name: &str) -> &'a Value {
    rule["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == name))
        .unwrap_or_else(|| panic!("no backend {name}: {rule}"))
}

#[test]
fn routes_name_the_rules_backends_timeouts_and_retries() {
    let report = report();
    let sock_shop = &report["targets"][0];
    let emojivoto = &report["targets"][1];
    // catalogue-split: rule 1 splits 90/10, rule 0 (the canary header) goes to v2 only.
    let split = rule(sock_shop, "catalogue-split", 1);
    assert_eq!(backend(split, "catalogue")["weight"], 90);
    assert_eq!(backend(split, "catalogue-v2")["weight"], 10);
    let stable = backend(split, "catalogue")["share"]
        .as_f64()
        .expect("share");
    assert!((0.8..=0.97).contains(&stable), "{split}");
    let canary = rule(sock_shop, "catalogue-split", 0);
    assert_eq!(
        canary["backends"].as_array().map(Vec::len),
        Some(1),
        "{canary}"
    );
    assert_eq!(backend(canary, "catalogue-v2")["share"], 1.0);
    // carts-timeouts: rule 0's 2 s request timeout, and the proxies counted timeouts.
    let carts = rule(sock_shop, "carts-timeouts", 0);
    assert_eq!(carts["timeout"], "request 2s", "{carts}");
    let timeouts = carts["route_metrics"]["errors"]["REQUEST_TIMEOUT"].as_f64();
    assert!(timeouts.is_some_and(|n| n > 0.0), "{carts}");
    // voting-retries: rule 0 retried twice on unavailable.
    let voting = rule(emojivoto, "voting-retries", 0);
    assert_eq!(voting["retry"]["label"], "2× on unavailable", "{voting}");
    assert_eq!(voting["retry"]["limit"], 2);
}
