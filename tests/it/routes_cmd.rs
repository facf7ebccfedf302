//! `meshtap routes` end to end on the demo: the proxies' route figures scraped through the
//! simulated port-forwards, tap's exact latencies beside them, as JSON and as a table.

use std::process::{Command, Output};

use serde_json::Value;

fn meshtap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args(args)
        .output()
        .expect("meshtap runs")
}

#[test]
fn demo_routes_json_has_metrics_and_tap_side_by_side() {
    let out = meshtap(&[
        "routes",
        "ns/sock-shop",
        "--demo",
        "--window",
        "3s",
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let target = &report["targets"][0];
    assert_eq!(target["target"], "ns/sock-shop");
    assert!(
        target["metrics"]
            .as_str()
            .unwrap()
            .contains("scraped directly"),
        "no Prometheus in the demo: {target}"
    );
    let outbound = target["outbound"].as_array().expect("outbound rows");
    let catalogue = outbound
        .iter()
        .find(|r| r["parent"]["name"] == "catalogue")
        .expect("a catalogue row");
    assert!(catalogue["requests"].as_f64().unwrap() > 0.0, "{catalogue}");
    // The route histogram only says which bucket holds the p99.
    let p99 = &catalogue["latency_p99"];
    assert!(
        p99["text"].as_str().unwrap().starts_with(['≤', '>']),
        "{p99}"
    );
    assert!([50.0, 500.0, 1000.0, 10000.0].contains(&p99["le_ms"].as_f64().unwrap()));
    assert!(
        catalogue["tap"]["requests"].as_u64().unwrap() > 0,
        "{catalogue}"
    );
    assert!(catalogue["tap"]["latency_p99_ms"].as_f64().is_some());
    assert!(target["inbound"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn table_and_bad_flags() {
    let out = meshtap(&[
        "routes",
        "deploy/web",
        "-n",
        "emojivoto",
        "--demo",
        "--window",
        "2s",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("deploy/web — proxy /metrics of 2 pods"),
        "{text}"
    );
    assert!(
        text.contains("LATENCY_P99") && text.contains("TAP_P99"),
        "{text}"
    );
    assert!(text.contains("emoji-svc:8080"), "{text}");
    let out = meshtap(&[
        "routes",
        "ns/x",
        "--prometheus",
        "https://p:9090",
        "--window",
        "1s",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("https is not supported"), "{err}");
    let out = meshtap(&["routes"]);
    assert!(!out.status.success());
}

#[test]
fn every_cluster_of_a_multicluster_demo_serves_proxy_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_meshtap"))
        .args([
            "demo",
            "--serve",
            "--clusters",
            "east,west",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("demo --serve runs");
    // Bounded: 100 tries, 10 s.
    for _ in 0..100 {
        if std::fs::metadata(&kubeconfig).is_ok_and(|m| m.len() > 0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let path = kubeconfig.to_str().unwrap();
    let outputs: Vec<Output> = ["east", "west"]
        .iter()
        .map(|context| {
            meshtap(&[
                "routes",
                "ns/sock-shop",
                "--kubeconfig",
                path,
                "--context",
                context,
                "--window",
                "2s",
                "-o",
                "json",
            ])
        })
        .collect();
    let _ = serve.kill();
    let _ = serve.wait();
    for out in outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let rows = report["targets"][0]["outbound"].as_array().expect("rows");
        assert!(
            rows.iter().any(|r| r["parent"]["name"] == "catalogue"),
            "{report}"
        );
    }
}
