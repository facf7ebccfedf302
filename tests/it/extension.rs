//! The ecosystem surfaces: `linkerd-meshtap` / `kubectl-meshtap` by argv[0], the install
//! manifest (parsed as YAML and accepted by the real kubectl against the demo), the bash
//! completion script and the man page.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::{Command, Stdio};

use clap::Parser;
use meshtap::cli::{CheckOutput, Cli, Command as Sub};
use meshtap::{INSTALL_MANIFEST, Invocation, UNINSTALL_MANIFEST, invocation};

fn invoke(args: &[&str]) -> Invocation {
    invocation(args.iter().map(OsString::from).collect())
}

#[test]
fn linkerd_meshtap_install_and_uninstall_print_the_manifests() {
    let Invocation::Manifest(text) = invoke(&["/usr/local/bin/linkerd-meshtap", "install"]) else {
        panic!("install prints a manifest");
    };
    assert_eq!(text, INSTALL_MANIFEST);
    let Invocation::Manifest(text) = invoke(&["linkerd-meshtap", "-L", "linkerd", "uninstall"])
    else {
        panic!("uninstall prints a manifest");
    };
    assert_eq!(text, UNINSTALL_MANIFEST);
}

#[test]
fn linkerd_meshtap_check_is_meshtap_check_with_linkerds_flags() {
    let args = [
        "linkerd-meshtap",
        "--context",
        "east",
        "--as",
        "alice",
        "--as-group",
        "sre",
        "--verbose",
        "--linkerd-namespace",
        "linkerd",
        "check",
        "-o",
        "json",
        "--wait",
        "5m",
    ];
    let Invocation::Meshtap(cli) = invoke(&args) else {
        panic!("check runs meshtap");
    };
    let Some(Sub::Check(check)) = cli.command else {
        panic!("meshtap check");
    };
    assert_eq!(check.output, CheckOutput::Json);
    assert_eq!(check.tap.context, ["east"]);
    assert_eq!(check.tap.impersonate.as_deref(), Some("alice"));
    assert_eq!(check.tap.impersonate_groups, ["sre"]);
}

#[test]
fn kubectl_meshtap_is_meshtap_itself() {
    let Invocation::Meshtap(cli) = invoke(&["kubectl-meshtap", "deploy/web", "-n", "emojivoto"])
    else {
        panic!("kubectl plugin runs meshtap");
    };
    assert!(cli.command.is_none());
    assert_eq!(cli.tap.targets, ["deploy/web"]);
    assert_eq!(cli.tap.namespace.as_deref(), Some("emojivoto"));
}

/// Whether one of `doc`'s rules grants `verb` on `resource` in API group `group`.
fn grants(doc: &serde_json::Value, group: &str, resource: &str, verb: &str) -> bool {
    doc["rules"].as_array().is_some_and(|rules| {
        rules.iter().any(|rule| {
            let has = |key: &str, value: &str| {
                rule[key]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|x| x == value || x == "*"))
            };
            has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
        })
    })
}

/// Item 20 (F22): the `ClusterRole` a team is bound to in the namespaces it taps grants the tap
/// only; port-forwarding (to reach the metrics API) is a Role in linkerd-viz alone, so binding
/// meshtap in a namespace never lets anyone port-forward to its databases.
#[test]
fn install_manifest_is_kubernetes_yaml_with_the_extension_label() {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(INSTALL_MANIFEST).expect("install is YAML");
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ClusterRole",
            "RoleBinding",
            "Role",
            "RoleBinding",
            "Role",
            "RoleBinding"
        ]
    );
    assert_eq!(
        docs[0]["metadata"]["labels"]["linkerd.io/extension"],
        "meshtap"
    );
    let cluster_role = &docs[1];
    assert!(grants(
        cluster_role,
        "tap.linkerd.io",
        "deployments/tap",
        "watch"
    ));
    for (resource, verb) in [
        ("pods/portforward", "create"),
        ("pods", "get"),
        ("pods", "list"),
    ] {
        assert!(
            !grants(cluster_role, "", resource, verb),
            "the ClusterRole must not grant {verb} {resource}"
        );
    }
    // Port-forwards in linkerd-viz (the metrics API) and linkerd (the policy controller) only.
    for (at, namespace) in [(3, "linkerd-viz"), (5, "linkerd")] {
        let role = &docs[at];
        assert_eq!(role["metadata"]["namespace"], namespace);
        assert!(grants(role, "", "pods/portforward", "create"));
        assert!(grants(role, "", "pods", "list"));
        let binding = &docs[at + 1];
        assert_eq!(binding["metadata"]["namespace"], namespace);
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        assert_eq!(
            binding["subjects"], docs[2]["subjects"],
            "the same group as the tap"
        );
    }
    // Uninstall removes every object install made, the namespaced ones outside meshtap too.
    let removed: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(UNINSTALL_MANIFEST).expect("uninstall is YAML");
    let key = |d: &serde_json::Value| {
        (
            d["kind"].as_str().unwrap_or_default().to_owned(),
            d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            d["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let mut made: Vec<_> = docs.iter().map(key).collect();
    let mut gone: Vec<_> = removed.iter().map(key).collect();
    made.sort();
    gone.sort();
    assert_eq!(made, gone);
}

/// The real kubectl, pointed at the demo control plane, accepts the install manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_accepts_the_install_manifest_against_the_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_owned();
    let cli = Cli::parse_from(["meshtap", "demo", "--kubeconfig-out", &kubeconfig]);
    let Some(Sub::Demo(args)) = cli.command else {
        panic!("demo args");
    };
    let _demo = meshtap::start_demo(&args).await.expect("demo");
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("kubectl")
            .args(["--kubeconfig", &kubeconfig, "create", "--dry-run=client"])
            .args(["--validate=false", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl is installed (CI installs it with the other tools)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(INSTALL_MANIFEST.as_bytes())
            .expect("write");
        child.wait_with_output().expect("kubectl")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for line in [
        "namespace/meshtap created (dry run)",
        "clusterrole.rbac.authorization.k8s.io/meshtap-user created (dry run)",
        "rolebinding.rbac.authorization.k8s.io/meshtap-users created (dry run)",
        "role.rbac.authorization.k8s.io/meshtap-metrics created (dry run)",
        "rolebinding.rbac.authorization.k8s.io/meshtap-metrics created (dry run)",
        "role.rbac.authorization.k8s.io/meshtap-policy created (dry run)",
        "rolebinding.rbac.authorization.k8s.io/meshtap-policy created (dry run)",
    ] {
        assert!(
            stdout.contains(line),
            "missing {line:?}: {stdout}\n{stderr}"
        );
    }
}

#[test]
fn bash_completion_script_parses_and_offers_subcommands() {
    let script = meshtap::completion_script(clap_complete::Shell::Bash);
    let text = String::from_utf8(script).expect("utf-8");
    for word in ["check", "completions", "man", "demo", "replay", "--context"] {
        assert!(text.contains(word), "no {word}");
    }
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), &text).expect("write");
    let status = Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .status()
        .expect("bash");
    assert!(status.success(), "bash -n rejected the completion script");
}

/// The page's structure; `.ci/run` renders it with the real `man -l` and fails on any warning
/// (man-db and groff are CI's to install, not `cargo test`'s to need).
#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let page = meshtap::man_page().expect("render");
    let text = String::from_utf8_lossy(&page);
    assert!(text.contains(".TH meshtap"), "{text}");
    for word in ["check", "demo", "replay", "proxy", "map", "completions"] {
        assert!(text.contains(word), "{word} missing from the man page");
    }
}

#[test]
fn krew_manifest_installs_the_binary_as_kubectl_meshtap() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/krew/meshtap.yaml"
    ))
    .expect("krew manifest");
    let plugin: serde_json::Value = serde_saphyr::from_str(&text).expect("krew manifest is YAML");
    assert_eq!(plugin["kind"], "Plugin");
    assert_eq!(plugin["metadata"]["name"], "meshtap");
    let platforms = plugin["spec"]["platforms"].as_array().expect("platforms");
    assert!(!platforms.is_empty());
    for platform in platforms {
        assert_eq!(platform["bin"], "kubectl-meshtap");
        assert_eq!(platform["files"][0]["to"], "kubectl-meshtap");
    }
}

/// `--as` / `--as-group` reach the API server as kubectl sends them (Impersonate-* headers).
#[tokio::test]
async fn impersonation_flags_become_impersonate_headers() {
    use meshtap::source::cluster::{Cluster, Environment, KubeOptions};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        // Bounded: one request head, at most 64 KiB.
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"major":"1","minor":"34","gitVersion":"v1.34.0","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":""}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(reply.as_bytes()).await.expect("write");
        String::from_utf8_lossy(&head).to_lowercase()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: abc\n"
    );
    std::fs::write(&path, kubeconfig).expect("write");
    let options = KubeOptions {
        kubeconfig: Some(path),
        impersonate: Some("alice".into()),
        impersonate_groups: vec!["sre".into(), "oncall".into()],
        ..KubeOptions::default()
    };
    let env = Environment {
        kubeconfig: None,
        home: Some(dir.path().to_path_buf()),
        service_account_dir: dir.path().join("none"),
        service_host: None,
        service_port: None,
    };
    let cluster = Cluster::connect_in(&options, &env).await.expect("connect");
    let version = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        cluster.client.apiserver_version(),
    )
    .await
    .expect("in time")
    .expect("version");
    assert_eq!(version.git_version, "v1.34.0");
    let head = server.await.expect("server");
    for header in [
        "impersonate-user: alice",
        "impersonate-group: sre",
        "impersonate-group: oncall",
    ] {
        assert!(head.contains(header), "no {header:?} in\n{head}");
    }
}

/// The argv `linkerd check` builds for an extension (linkerd2 cli/cmd/check.go,
/// `getExtensionCheckFlags`): each flag of its list that has a value, as `--NAME=VALUE` in Go
/// pflag's rendering (booleans `false`, a duration `5m0s`, the string array `--as-group` as `[…]`,
/// so always present), then `--output=json` last.
fn linkerd_check_argv(kubeconfig: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "check".to_owned(),
        "--as-group=[]".to_owned(),
        format!("--kubeconfig={kubeconfig}"),
        "--linkerd-namespace=linkerd".to_owned(),
        "--verbose=false".to_owned(),
        "--proxy=false".to_owned(),
        "--wait=5m0s".to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args.push("--output=json".to_owned());
    args
}

/// Item 1: Linkerd's argv, its Go spellings read as Go means them, and flags from a newer
/// Linkerd ignored in `check` (EXTENSIONS.md).
#[test]
fn linkerd_meshtap_check_reads_the_argv_linkerd_check_builds() {
    let mut args = vec!["/usr/local/bin/linkerd-meshtap".to_owned()];
    args.extend(linkerd_check_argv(
        "/k/config",
        &[
            "--context=east",
            "--as=alice",
            "--namespace=shop",
            "--some-future-flag=1",
            "--another-one",
        ],
    ));
    let Invocation::Meshtap(cli) = invocation(args.iter().map(OsString::from).collect()) else {
        panic!("check runs meshtap");
    };
    let Some(Sub::Check(check)) = cli.command else {
        panic!("meshtap check");
    };
    assert_eq!(check.output, CheckOutput::Json);
    assert_eq!(check.tap.context, ["east"]);
    assert_eq!(check.tap.impersonate.as_deref(), Some("alice"));
    assert!(check.tap.impersonate_groups.is_empty(), "`[]` is no group");
    assert_eq!(check.tap.namespace.as_deref(), Some("shop"));
    assert_eq!(
        check.tap.kubeconfig.as_deref(),
        Some(std::path::Path::new("/k/config"))
    );
    // Groups as pflag prints a string array: one CSV record in brackets.
    let Invocation::Meshtap(cli) = invoke(&[
        "linkerd-meshtap",
        "check",
        r#"--as-group=[sre,"a,b"]"#,
        "--verbose=true",
        "--output=json",
    ]) else {
        panic!("check runs meshtap");
    };
    let Some(Sub::Check(check)) = cli.command else {
        panic!("meshtap check");
    };
    assert_eq!(check.tap.impersonate_groups, ["sre", "a,b"]);
}

/// Item 1, end to end: the real binary, run as `linkerd-meshtap` with exactly that argv against
/// the demo control plane, answers the JSON Linkerd parses, and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_check_runs_the_extension_with_its_own_argv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_owned();
    let cli = Cli::parse_from(["meshtap", "demo", "--kubeconfig-out", &kubeconfig]);
    let Some(Sub::Demo(args)) = cli.command else {
        panic!("demo args");
    };
    let _demo = meshtap::start_demo(&args).await.expect("demo");
    let extension = dir.path().join("linkerd-meshtap");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_meshtap"), &extension).expect("symlink");
    let argv = linkerd_check_argv(&kubeconfig, &["--future-flag=x"]);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&extension)
            .args(&argv)
            .output()
            .expect("linkerd-meshtap runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("Linkerd's JSON");
    assert_eq!(report["success"], true, "{stdout}");
    assert!(
        stderr.contains("--future-flag=x"),
        "the ignored flag is named: {stderr}"
    );
}
