//! Route attribution end to end: `meshtap demo -o ndjson` asks the simulated policy controller
//! (`OutboundPolicies`, through the simulated port-forward to `linkerd-destination:8090`) and each
//! outbound record carries the route the client proxy applied; `--no-policy` asks nothing.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

/// Records read from the demo: enough for a few dozen calls to each routed Service.
const RECORDS: usize = 600;

/// The first `RECORDS` records of `meshtap demo -o ndjson` with `extra` flags.
fn demo_records(extra: &[&str]) -> Vec<serde_json::Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(["demo", "--seed", "3", "--rate", "300", "-o", "ndjson"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("meshtap demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let records: Vec<serde_json::Value> = BufReader::new(stdout)
        .lines()
        .take(RECORDS)
        .map(|line| serde_json::from_str(&line.expect("line")).expect("json"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(records.len(), RECORDS);
    records
}

/// The Service an outbound record's authority names (`voting-svc.emojivoto:8080` → `voting-svc`).
fn service(record: &serde_json::Value) -> &str {
    let authority = record["authority"].as_str().unwrap_or("");
    authority.split([':', '.']).next().unwrap_or("")
}

fn outbound_to<'a>(
    records: &'a [serde_json::Value],
    services: &'a [&str],
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    records
        .iter()
        .filter(|r| r["direction"] == "outbound" && services.contains(&service(r)))
}

fn source(record: &serde_json::Value) -> &str {
    record["matched_route"]["source"].as_str().unwrap_or("")
}

#[test]
fn outbound_requests_carry_the_route_the_policy_controller_gave() {
    let records = demo_records(&[]);
    let voting: Vec<_> = outbound_to(&records, &["voting-svc"]).collect();
    assert!(
        voting.len() >= 5,
        "only {} calls to voting-svc",
        voting.len()
    );
    let by_policy = voting
        .iter()
        .filter(|r| source(r) == "policy" && r["matched_route"]["name"] == "voting-retries")
        .count();
    // ≥ 95%: only requests seen before the first policy could arrive may lack it.
    assert!(
        by_policy * 100 >= voting.len() * 95,
        "{by_policy} of {}",
        voting.len()
    );

    // Every Service's outbound requests: the controller's route (its default route where no
    // HTTPRoute attaches), or a ServiceProfile route tap named; never a template.
    let services = [
        "catalogue",
        "carts",
        "voting-svc",
        "user",
        "orders",
        "payment",
        "shipping",
        "emoji-svc",
    ];
    let routed: Vec<_> = outbound_to(&records, &services).collect();
    let known = routed
        .iter()
        .filter(|r| matches!(source(r), "policy" | "profile"))
        .count();
    assert!(
        known * 100 >= routed.len() * 95,
        "{known} of {}",
        routed.len()
    );
    assert!(
        routed
            .iter()
            .any(|r| source(r) == "policy" && r["matched_route"]["rule"].is_u64())
    );
}

#[test]
fn no_policy_asks_no_controller() {
    let records = demo_records(&["--no-policy"]);
    assert!(records.iter().any(|r| r["direction"] == "outbound"));
    assert!(
        records.iter().all(|r| source(r) != "policy"),
        "a policy route without a policy controller"
    );
}
