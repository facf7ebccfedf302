//! `meshtap routes` on the demo, tap's side: each target's outbound requests matched to the
//! outbound policy (the session's attribution stage) and counted by parent → route → rule, with
//! backends, the rule's configuration, and the route's metrics beside them.

use std::process::Command;

use serde_json::Value;

fn routes_json(target: &str, window: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(["routes", target, "--demo", "--window", window, "-o", "json"])
        .output()
        .expect("meshtap runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn demo_routes_count_tap_by_rule_with_backends_and_metrics() {
    let report = routes_json("ns/emojivoto", "8s");
    let target = &report["targets"][0];
    let rules = target["rules"].as_array().expect("rules");
    // voting-svc is routed by the GRPCRoute voting-retries; the other Services by their
    // default route.
    let voting: Vec<&Value> = rules
        .iter()
        .filter(|r| r["route"]["name"] == "voting-retries")
        .collect();
    assert!(!voting.is_empty(), "no voting-retries rule: {target}");
    for rule in &voting {
        assert_eq!(rule["route"]["kind"], "GRPCRoute", "{rule}");
        assert_eq!(rule["parent"]["name"], "voting-svc", "{rule}");
        let retry = &rule["retry"];
        if rule["rule"] == 0 {
            assert_eq!(retry["label"], "2× on unavailable", "{rule}");
        } else {
            assert!(retry.is_null(), "{rule}");
        }
    }
    for rule in rules {
        let requests = rule["requests"].as_u64().expect("requests");
        assert!(requests > 0, "{rule}");
        let backends = rule["backends"].as_array().expect("backends");
        let served: u64 = backends.iter().filter_map(|b| b["requests"].as_u64()).sum();
        assert_eq!(served, requests, "every request names its backend: {rule}");
        let shares: f64 = backends.iter().filter_map(|b| b["share"].as_f64()).sum();
        assert!((shares - 1.0).abs() < 1e-3, "{rule}");
    }
    // A default route's rule finds the metrics' `[default]` row of its parent.
    let web = rules
        .iter()
        .find(|r| r["parent"]["name"] == "web-svc")
        .expect("web-svc's rule");
    assert_eq!(web["route"]["kind"], "default", "{web}");
    assert!(web["route_metrics"]["requests"].as_f64().is_some(), "{web}");
}
