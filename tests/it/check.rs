//! `meshtap check` against the demo control plane: all √ when healthy, the right × (with its
//! hint, exit 1) for each `--break` mode, and the JSON in Linkerd's extension check shape.

use clap::Parser;
use meshtap::cli::{Cli, Command as Sub};

/// Starts the demo (broken as asked) and runs `check` against it in-process (the binary in a
/// shared target directory may be another build's). Returns the table, the JSON and success.
async fn check(broken: Option<&str>, extra: &[&str]) -> (String, String, bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_owned();
    let mut args = vec!["meshtap", "demo", "--kubeconfig-out", &kubeconfig];
    if let Some(what) = broken {
        args.extend(["--break", what]);
    }
    let Some(Sub::Demo(demo_args)) = Cli::parse_from(args).command else {
        panic!("demo args");
    };
    let _demo = meshtap::start_demo(&demo_args).await.expect("demo");
    let mut args = vec!["meshtap", "check", "--kubeconfig", &kubeconfig];
    args.extend(extra);
    let Some(Sub::Check(check_args)) = Cli::parse_from(args).command else {
        panic!("check args");
    };
    let report = meshtap::check_report(&check_args).await.expect("check");
    (report.to_table(), report.to_json(), report.success)
}

/// Every field Linkerd's `CheckOutput` reads, and nothing else.
fn assert_extension_schema(value: &serde_json::Value) {
    let object = value.as_object().expect("object");
    assert_eq!(object.len(), 2, "{value}");
    assert!(object["success"].is_boolean());
    for category in object["categories"].as_array().expect("categories") {
        let category = category.as_object().expect("category");
        assert_eq!(category.len(), 2);
        assert!(category["categoryName"].is_string());
        for check in category["checks"].as_array().expect("checks") {
            let check = check.as_object().expect("check");
            assert!(check["description"].is_string());
            let result = check["result"].as_str().expect("result");
            assert!(
                ["success", "warning", "error"].contains(&result),
                "{result}"
            );
            for key in check.keys() {
                assert!(
                    ["description", "hint", "error", "result"].contains(&key.as_str()),
                    "unexpected field {key}"
                );
            }
            if result != "success" {
                assert!(check["error"].is_string() && check["hint"].is_string());
            }
        }
    }
}

#[tokio::test]
async fn a_healthy_demo_passes_every_check_with_a_test_tap() {
    let (text, _, success) =
        check(None, &["-n", "sock-shop", "deploy/front-end", "--tap-test"]).await;
    assert!(success, "{text}");
    assert!(!text.contains('×') && !text.contains('‼'), "{text}");
    for line in [
        "√ can read the kubeconfig and context",
        "√ can query the Kubernetes API (server v1.34.0)",
        "√ the v1alpha1.tap.linkerd.io APIService is Available",
        "√ can watch deployments/tap in namespace sock-shop",
        "√ can create pods/portforward in namespace linkerd-viz",
        "√ the metrics API answers through a port-forward",
        "√ can create pods/portforward in namespace linkerd",
        "√ a linkerd-destination pod is Running in linkerd",
        "√ the policy controller answers OutboundPolicies through a port-forward",
        "√ a test tap of deploy/front-end receives events",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.ends_with("Status check results are √\n"), "{text}");
}

/// `check` agrees with what tapping then does (the ux walk's D15): the demo's `restricted`
/// namespace answers a tap with 403, so its RBAC check is ×, for a namespace target as for a
/// workload in it.
#[tokio::test]
async fn the_restricted_namespace_fails_its_rbac_check_as_its_tap_does() {
    for (args, line) in [
        (
            &["ns/restricted"][..],
            "× can watch namespaces/tap in namespace restricted",
        ),
        (
            &["-n", "restricted", "deploy/vault"][..],
            "× can watch deployments/tap in namespace restricted",
        ),
    ] {
        let (text, _, success) = check(None, args).await;
        assert!(!success, "{args:?}:\n{text}");
        assert!(text.contains(line), "{args:?}: no {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn each_break_mode_fails_its_own_check_with_a_hint() {
    let cases = [
        (
            "rbac",
            "× can watch deployments/tap in namespace",
            "tap.linkerd.io",
        ),
        (
            "viz",
            "× the v1alpha1.tap.linkerd.io APIService is Available",
            "linkerd viz check",
        ),
        (
            "metrics",
            "× a metrics-api pod is Running in linkerd-viz",
            "metrics-api",
        ),
    ];
    for (what, line, hint) in cases {
        let (text, _, success) = check(Some(what), &[]).await;
        assert!(!success, "--break {what}:\n{text}");
        let at = text
            .find(line)
            .unwrap_or_else(|| panic!("{what}: no {line:?} in\n{text}"));
        let failure: String = text[at..].lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(
            failure.contains("see: ") && failure.contains(hint),
            "{what}: {failure}"
        );
        assert_eq!(
            text.matches('×').count(),
            2,
            "one failure plus the summary: {text}"
        );
        assert!(text.ends_with("Status check results are ×\n"), "{text}");
    }
}

#[tokio::test]
async fn json_output_follows_linkerds_extension_schema() {
    for broken in [None, Some("rbac")] {
        let (_, json, success) = check(broken, &[]).await;
        let value: serde_json::Value = serde_json::from_str(&json).expect("check -o json is JSON");
        assert_extension_schema(&value);
        assert_eq!(value["success"], broken.is_none(), "{value}");
        assert_eq!(success, broken.is_none());
    }
}

#[tokio::test]
async fn every_context_of_a_list_is_checked_and_an_unknown_one_fails() {
    let (text, _, success) = check(None, &["--context", "meshtap-demo,nowhere"]).await;
    assert!(!success, "{text}");
    assert!(text.contains("kubernetes-api (meshtap-demo)\n"), "{text}");
    assert!(text.contains("meshtap RBAC (meshtap-demo)\n"), "{text}");
    assert!(
        text.contains("kubernetes-api (nowhere)\n------------------------\n× can read the kubeconfig and context nowhere\n"),
        "{text}"
    );
    assert!(text.contains("see: Pass one of the contexts"), "{text}");
    assert_eq!(text.matches('×').count(), 2, "{text}");
}

/// Input errors (a target that is not one, a namespace that cannot be, a malformed kubeconfig
/// with `--all-contexts`) still print Linkerd's JSON, with a failed check, and exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_errors_print_linkerds_json_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_owned();
    let args = ["meshtap", "demo", "--kubeconfig-out", &kubeconfig];
    let Some(Sub::Demo(demo_args)) = Cli::parse_from(args).command else {
        panic!("demo args");
    };
    let _demo = meshtap::start_demo(&demo_args).await.expect("demo");
    let malformed = dir.path().join("malformed.yaml");
    std::fs::write(&malformed, "apiVersion: v1\nclusters: [ {").expect("write");
    let malformed = malformed.to_str().expect("utf-8").to_owned();
    let runs: Vec<Vec<String>> = vec![
        vec![
            "--kubeconfig".into(),
            kubeconfig.clone(),
            "deploy/a/b/c".into(),
        ],
        vec![
            "--kubeconfig".into(),
            kubeconfig.clone(),
            "-n".into(),
            "bad ns/x".into(),
        ],
        vec!["--kubeconfig".into(), malformed, "--all-contexts".into()],
    ];
    for extra in runs {
        let out = tokio::task::spawn_blocking({
            let extra = extra.clone();
            move || {
                crate::support::process::meshtap()
                    .args(["check", "-o", "json"])
                    .args(&extra)
                    .output()
                    .expect("meshtap")
            }
        })
        .await
        .expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{extra:?}: not JSON ({e}): {stdout:?} {out:?}"));
        assert_extension_schema(&value);
        assert_eq!(value["success"], false, "{extra:?}");
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
    }
}
