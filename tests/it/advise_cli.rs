//! `meshtap advise authz --replay` on a demo capture: every identity the capture shows calling a
//! workload port is allowed on that port, the unmeshed load generator is warned about (YAML and
//! stderr), and the real `kubectl apply --dry-run=server` accepts the YAML from `demo --serve`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use meshtap_testkit::ServedDemo;
use serde_json::Value;

use crate::support::process::{interrupted_after, meshtap, which};

/// A few seconds of the demo as an NDJSON export.
fn demo_capture(dir: &Path) -> PathBuf {
    let export = dir.join("capture.ndjson");
    let mut command = meshtap();
    command
        .args(["demo", "-o", "ndjson", "--rate", "400"])
        .arg("--export")
        .arg(&export)
        .stdout(Stdio::null());
    let (status, stderr) = interrupted_after(command, Duration::from_secs(3));
    assert!(status.success(), "{stderr}");
    export
}

type PortKey = (String, String, u64);

/// From the capture itself: per (namespace, workload, port) the identities seen inbound, and
/// the workloads that called without one.
fn seen(capture: &Path) -> (BTreeMap<PortKey, BTreeSet<String>>, BTreeSet<String>) {
    let text = std::fs::read_to_string(capture).expect("capture");
    let mut identities: BTreeMap<PortKey, BTreeSet<String>> = BTreeMap::new();
    let mut plaintext = BTreeSet::new();
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).expect("NDJSON");
        if record["direction"] != "inbound" {
            continue;
        }
        let dst = &record["destination"];
        let key = (
            dst["namespace"].as_str().unwrap_or("").to_owned(),
            dst["workload"].as_str().unwrap_or("").to_owned(),
            dst["port"].as_u64().unwrap_or(0),
        );
        let identity = &record["identity"];
        match identity["client_id"].as_str() {
            Some(id) if identity["tls"] == "true" => {
                identities.entry(key).or_default().insert(id.to_owned());
            }
            _ => {
                plaintext.insert(
                    record["source"]["workload"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                );
            }
        }
    }
    (identities, plaintext)
}

/// The YAML's sections, one per workload port, keyed like [`seen`]: each starts with the
/// `# deploy/NAME (NS) port P:` comment.
fn sections(yaml: &str) -> BTreeMap<PortKey, &str> {
    yaml.split("\n---\n# ")
        .skip(1)
        .map(|section| {
            let head = section.lines().next().unwrap_or("");
            let (workload, rest) = head.split_once(" (").expect("workload");
            let (namespace, rest) = rest.split_once(") port ").expect("namespace");
            let port = rest
                .split(':')
                .next()
                .expect("port")
                .parse()
                .expect("number");
            let name = workload.split('/').nth(1).expect("kind/name").to_owned();
            ((namespace.to_owned(), name, port), section)
        })
        .collect()
}

#[test]
fn advice_from_a_demo_capture_allows_every_identity_and_kubectl_accepts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = demo_capture(dir.path());
    let output = meshtap()
        .args(["advise", "authz", "--replay"])
        .arg(&capture)
        .output()
        .expect("meshtap runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let yaml = String::from_utf8(output.stdout).expect("UTF-8");

    let (identities, plaintext) = seen(&capture);
    assert!(identities.len() >= 5, "a busy capture: {identities:?}");
    let sections = sections(&yaml);
    for (port, ids) in &identities {
        let section = sections
            .get(port)
            .unwrap_or_else(|| panic!("{port:?} in\n{yaml}"));
        assert!(section.contains("kind: MeshTLSAuthentication"), "{section}");
        for id in ids {
            assert!(
                section.contains(&format!("    - \"{id}\"\n")),
                "{id} allowed on {port:?}:\n{section}"
            );
        }
        let listed = section.matches("\n    - \"").count();
        assert_eq!(listed, ids.len(), "exactly the identities seen:\n{section}");
    }
    assert!(plaintext.contains("load-generator"), "{plaintext:?}");
    assert!(
        stderr.contains("deploy/load-generator (loadtest) sent")
            && stderr.contains("without a mesh identity (tls=no_tls_from_remote)")
            && stderr.contains("would deny it"),
        "{stderr}"
    );
    assert!(
        yaml.contains("# WARNING: deploy/front-end (sock-shop) port 8079: deploy/load-generator")
    );

    let Ok(kubectl) = which("kubectl") else {
        eprintln!("kubectl is not installed: skipping the dry-run apply");
        return;
    };
    let demo = ServedDemo::start(Path::new(env!("CARGO_BIN_EXE_meshtap")), &[], 1);
    let mut apply = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .args(["--request-timeout=10s", "--cache-dir"])
        .arg(demo.dir.path().join("cache"))
        .args(["apply", "--dry-run=server", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    apply
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("YAML to kubectl");
    let applied = apply.wait_with_output().expect("kubectl ends");
    let out = String::from_utf8_lossy(&applied.stdout);
    assert!(
        applied.status.success(),
        "kubectl refused:\n{}\n{out}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let documents = yaml.matches("\nkind: ").count();
    assert_eq!(
        out.matches("created (server dry run)").count(),
        documents,
        "{out}"
    );
    assert!(
        out.contains("server.policy.linkerd.io/front-end-8079 created"),
        "{out}"
    );
}

#[test]
fn a_live_run_needs_a_bound() {
    let output = meshtap()
        .args(["advise", "authz", "deploy/web", "-n", "emojivoto"])
        .output()
        .expect("meshtap runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--for DURATION"), "{stderr}");
}
