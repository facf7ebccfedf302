use super::*;
use crate::model::routes::fixtures::policy_routed;

fn sock_shop_rules() -> (Vec<Request>, Rules) {
    let requests = policy_routed(0);
    let targets = [
        Resource::parse_target("ns/sock-shop", "default").expect("target"),
        Resource::parse_target("deploy/web", "emojivoto").expect("target"),
    ];
    let mut rules = Rules::new(&targets);
    for request in &requests {
        rules.record(request);
    }
    (requests, rules)
}

fn json_of(rules: &BTreeMap<RuleKey, RuleTap>, name: &str, index: u32) -> Value {
    let (key, rule) = rules
        .iter()
        .find(|(k, _)| k.4 == name && k.5 == Some(index))
        .unwrap_or_else(|| panic!("no rule {name} {index}"));
    rule_json(key, rule, None)
}

#[test]
fn each_target_gets_the_rules_of_the_requests_it_sent() {
    let (_, rules) = sock_shop_rules();
    let names = |i| {
        let mut names: Vec<String> = rules
            .of(i)
            .expect("target")
            .keys()
            .map(|k| format!("{} {}", k.4, k.5.unwrap_or(99)))
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(0),
        [
            "carts-timeouts 0",
            "carts-timeouts 1",
            "catalogue-split 0",
            "catalogue-split 1"
        ]
    );
    assert_eq!(names(1), ["voting-retries 0", "voting-retries 1"]);
}

#[test]
fn backends_show_weight_and_observed_share() {
    let (requests, rules) = sock_shop_rules();
    let rules = rules.of(0).expect("sock-shop");
    // Counted from the requests themselves.
    let served = |rule: u32, backend: &str| {
        requests
            .iter()
            .filter_map(|r| r.init.as_ref()?.matched_route.clone())
            .filter(|m| m.name() == "catalogue-split" && m.rule == Some(rule))
            .filter(|m| m.backend_name() == backend)
            .count() as f64
    };
    let split = json_of(rules, "catalogue-split", 1);
    let total = served(1, "catalogue") + served(1, "catalogue-v2");
    let backend = |name: &str| {
        split["backends"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no backend {name}: {split}"))
    };
    assert_eq!(backend("catalogue")["weight"], 90);
    assert_eq!(backend("catalogue-v2")["weight"], 10);
    assert_eq!(
        backend("catalogue")["share"],
        round(served(1, "catalogue") / total, 4)
    );
    let canary = json_of(rules, "catalogue-split", 0);
    assert_eq!(canary["backends"].as_array().map(Vec::len), Some(1));
    assert_eq!(canary["backends"][0]["name"], "catalogue-v2");
    assert_eq!(canary["backends"][0]["share"], 1.0);
    assert_eq!(
        split["parent"],
        json!({"namespace": "sock-shop", "name": "catalogue", "port": 80})
    );
    assert_eq!(split["route"]["kind"], "HTTPRoute");
}

#[test]
fn rules_carry_their_timeout_and_retry_policy() {
    let (_, rules) = sock_shop_rules();
    let carts = json_of(rules.of(0).expect("sock-shop"), "carts-timeouts", 0);
    assert_eq!(carts["timeout"], "request 2s");
    assert_eq!(carts["timeouts_ms"]["request"], 2000);
    assert_eq!(carts["retry"], Value::Null);
    let plain = json_of(rules.of(0).expect("sock-shop"), "carts-timeouts", 1);
    assert_eq!(plain["timeout"], Value::Null);
    let voting = json_of(rules.of(1).expect("web"), "voting-retries", 0);
    assert_eq!(
        voting["retry"],
        json!({"label": "2× on unavailable", "limit": 2, "on": ["unavailable"], "timeout_ms": null})
    );
    assert_eq!(voting["route"]["kind"], "GRPCRoute");
}

#[test]
fn the_table_lists_rules_with_their_backends_beneath() {
    let (_, rules) = sock_shop_rules();
    let rules: Vec<(RuleKey, RuleTap)> = rules
        .of(0)
        .expect("sock-shop")
        .iter()
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect();
    let mut out = String::new();
    rules_table(&rules, &mut out);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("PARENT"), "{out}");
    let split = lines
        .iter()
        .position(|l| l.contains("HTTPRoute catalogue-split") && l.contains(" 1 "))
        .expect("rule 1 line");
    assert!(
        lines[split + 1].contains("├─►  catalogue ") || lines[split + 1].contains("├─►"),
        "{out}"
    );
    assert!(
        lines[split + 1].contains("catalogue") && lines[split + 1].contains(" 90 "),
        "{out}"
    );
    assert!(
        lines[split + 2].contains("└─►") && lines[split + 2].contains(" 10 "),
        "{out}"
    );
    assert!(out.contains("request 2s"), "{out}");
}
