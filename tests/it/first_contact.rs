//! First contact with a cluster: each way it fails is recognised by kind and explained, naming
//! the file, context, server, command or user — against files in a temporary directory, closed
//! ports, the real loopback server and a purpose-made HTTP stand-in for API server answers.

use crate::support;

use std::convert::Infallible;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use kube::config::Kubeconfig;
use meshtap::session::{ErrorKind, StreamError};
use meshtap::source::cluster::{
    ClientOptions, Cluster, Environment, KubeOptions, Resolver, TapError,
};
use support::{Script, TEST_TIMEOUT, cluster};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// A kubeconfig with one context `NAME` for `server`, whose user entry is `user` (YAML).
fn kubeconfig_text(name: &str, server: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {name}\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}-user\n    namespace: ns-{name}\nusers:\n- name: {name}-user\n  user:\n{user}\n"
    )
}

fn token_user() -> &'static str {
    "    token: abc"
}

fn env_with(kubeconfig: Option<OsString>, home: &Path) -> Environment {
    Environment {
        kubeconfig,
        home: Some(home.to_path_buf()),
        service_account_dir: home.join("no-service-account"),
        service_host: None,
        service_port: None,
    }
}

async fn connect_err(options: &KubeOptions, env: &Environment) -> StreamError {
    match Cluster::connect_in(options, env).await {
        Ok(_) => panic!("connected"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn kubeconfig_lists_merge_like_kubectl_and_an_empty_one_counts_as_unset() {
    let dir = tempfile::tempdir().expect("dir");
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(
        &a,
        kubeconfig_text("east", "https://127.0.0.1:1", token_user()),
    )
    .expect("a");
    std::fs::write(
        &b,
        kubeconfig_text("west", "https://127.0.0.1:2", token_user()),
    )
    .expect("b");
    let list = std::env::join_paths([&a, &b]).expect("join");
    let env = env_with(Some(list), dir.path());
    // The first file's current-context wins; the second file's context is there too.
    let east = Cluster::connect_in(&KubeOptions::default(), &env)
        .await
        .expect("merged");
    assert_eq!(east.context, "east");
    assert_eq!(east.default_namespace, "ns-east");
    let options = KubeOptions {
        context: Some("west".into()),
        ..KubeOptions::default()
    };
    let west = Cluster::connect_in(&options, &env).await.expect("west");
    assert_eq!(west.resolved.server, "https://127.0.0.1:2");

    // KUBECONFIG= (set but empty) falls back to ~/.kube/config, as if unset.
    let empty = env_with(Some(OsString::new()), dir.path());
    let err = connect_err(&KubeOptions::default(), &empty).await;
    assert_eq!(err.kind, ErrorKind::NoKubeconfig, "{err}");
    std::fs::create_dir(dir.path().join(".kube")).expect("mkdir");
    std::fs::copy(&b, dir.path().join(".kube").join("config")).expect("copy");
    let home = Cluster::connect_in(&KubeOptions::default(), &empty)
        .await
        .expect("home kubeconfig");
    assert_eq!(home.context, "west");
}

#[tokio::test]
async fn no_kubeconfig_at_all_points_to_the_flag_and_the_demo() {
    let dir = tempfile::tempdir().expect("dir");
    let err = connect_err(&KubeOptions::default(), &env_with(None, dir.path())).await;
    assert_eq!(err.kind, ErrorKind::NoKubeconfig);
    assert!(err.message.contains(".kube/config does not exist"), "{err}");
    let hint = err.kind.hint().expect("hint");
    assert!(
        hint.contains("--kubeconfig") && hint.contains("meshtap demo"),
        "{hint}"
    );
}

#[tokio::test]
async fn a_kubeconfig_that_does_not_parse_names_the_file_and_line() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nclusters:\n- name: x\n  cluster: [unclosed\n",
    )
    .expect("write");
    let options = KubeOptions {
        kubeconfig: Some(path.clone()),
        ..KubeOptions::default()
    };
    let err = connect_err(&options, &env_with(None, dir.path())).await;
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(err.message.contains(&path.display().to_string()), "{err}");
    assert!(err.message.contains("line"), "{err}");
}

#[tokio::test]
async fn an_unknown_context_lists_the_ones_that_exist() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        kubeconfig_text("prod", "https://127.0.0.1:1", token_user()),
    )
    .expect("write");
    let options = KubeOptions {
        kubeconfig: Some(path),
        context: Some("staging".into()),
        ..KubeOptions::default()
    };
    let err = connect_err(&options, &env_with(None, dir.path())).await;
    assert_eq!(err.kind, ErrorKind::UnknownContext);
    assert_eq!(
        err.message,
        "--context \"staging\" is not in the kubeconfig (contexts: prod)"
    );
}

#[tokio::test]
async fn a_mounted_service_account_is_used_when_no_kubeconfig_is_found() {
    let dir = tempfile::tempdir().expect("dir");
    let sa = dir.path().join("sa");
    std::fs::create_dir(&sa).expect("mkdir");
    let ca =
        rcgen::generate_simple_self_signed(vec!["kubernetes.default.svc".into()]).expect("cert");
    std::fs::write(sa.join("ca.crt"), ca.cert.pem()).expect("ca");
    std::fs::write(sa.join("token"), "sa-token").expect("token");
    std::fs::write(sa.join("namespace"), "linkerd-viz\n").expect("ns");
    let mut env = env_with(None, dir.path());
    env.service_account_dir = sa;
    let err = connect_err(&KubeOptions::default(), &env).await;
    assert_eq!(err.kind, ErrorKind::NoKubeconfig);
    assert!(err.message.contains("KUBERNETES_SERVICE_HOST"), "{err}");
    env.service_host = Some("10.96.0.1".into());
    env.service_port = Some("443".into());
    let cluster = Cluster::connect_in(&KubeOptions::default(), &env)
        .await
        .expect("in-cluster");
    assert_eq!(cluster.context, "in-cluster");
    assert_eq!(cluster.default_namespace, "linkerd-viz");
    assert_eq!(cluster.resolved.server, "https://10.96.0.1:443");
}

/// One tap attempt through `kubeconfig`; its error.
async fn tap_error(kubeconfig: Kubeconfig) -> TapError {
    tap_error_with(kubeconfig, ClientOptions::default()).await
}

fn yaml(text: &str) -> Kubeconfig {
    Kubeconfig::from_yaml(text).expect("kubeconfig")
}

#[tokio::test]
async fn connection_refused_names_the_server_and_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let server = format!("http://127.0.0.1:{port}");
    let err = tap_error(yaml(&kubeconfig_text("kind-dev", &server, token_user()))).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.is_permanent());
    assert_eq!(
        err.to_string(),
        format!(
            "the connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port? (context \"kind-dev\")"
        )
    );
}

#[tokio::test]
async fn a_failing_proxy_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let text = kubeconfig_text("dev", "https://10.0.0.1:6443", token_user()).replace(
        "    server: https://10.0.0.1:6443",
        &format!("    server: https://10.0.0.1:6443\n    proxy-url: http://127.0.0.1:{port}"),
    );
    let err = tap_error(yaml(&text)).await;
    // A proxy that refuses connections is down or restarting: retried, and named.
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.is_permanent());
    assert!(
        err.to_string()
            .contains(&format!("through the proxy http://127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_proxy_that_wants_credentials_is_permanent_and_named() {
    // A stand-in proxy on loopback that answers every CONNECT with 407: the tunnel never
    // opens, so nothing leaves this machine.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let proxy = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        // Bounded: a handful of connections is all one tap attempt makes.
        for _ in 0..8 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let text = kubeconfig_text("corp", "https://10.0.0.1:6443", token_user()).replace(
        "    server: https://10.0.0.1:6443",
        &format!("    server: https://10.0.0.1:6443\n    proxy-url: http://127.0.0.1:{port}"),
    );
    let err = tap_error(yaml(&text)).await;
    proxy.abort();
    assert_eq!(err.kind(), ErrorKind::Proxy, "{err}");
    assert!(err.is_permanent());
    assert!(
        err.to_string().starts_with(&format!(
            "could not reach the server https://10.0.0.1:6443 through the proxy http://127.0.0.1:{port}/ (HTTPS_PROXY or the kubeconfig's proxy-url; context \"corp\")"
        )),
        "{err}"
    );
    assert!(
        ErrorKind::Proxy
            .hint()
            .is_some_and(|h| h.contains("HTTPS_PROXY"))
    );
}

/// One tap attempt through `kubeconfig` with the client options given; its error.
async fn tap_error_with(kubeconfig: Kubeconfig, options: ClientOptions) -> TapError {
    let cluster = Cluster::from_kubeconfig_with(kubeconfig, None, options)
        .await
        .expect("client");
    let (tx, _rx) = mpsc::channel(16);
    match timeout(
        TEST_TIMEOUT,
        cluster.tap_once(&support::deploy_web(), 0, &tx, None),
    )
    .await
    .expect("in time")
    {
        Ok(()) => panic!("tapped"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_server_name_that_does_not_resolve_is_named_and_retried() {
    // The resolver is a stand-in: no query leaves the machine. It answers as a resolver does
    // for NXDOMAIN, and records what it was asked.
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = asked.clone();
    let resolver = Resolver::new(move |host| {
        log.lock().expect("log").push(host.to_owned());
        Box::pin(async {
            Err(std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            ))
        })
    });
    let text = kubeconfig_text("typo", "https://meshtap-nowhere.invalid:6443", token_user());
    let options = ClientOptions {
        resolver,
        ..ClientOptions::default()
    };
    let err = tap_error_with(yaml(&text), options).await;
    assert_eq!(
        asked.lock().expect("log").as_slice(),
        ["meshtap-nowhere.invalid"]
    );
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.is_permanent());
    assert_eq!(
        err.to_string(),
        "cannot resolve the server https://meshtap-nowhere.invalid:6443 (context \"typo\"): failed to lookup address information: Name or service not known"
    );
}

#[tokio::test]
async fn a_connect_that_never_completes_ends_at_the_connect_timeout() {
    // A resolver that never answers stands for any connect that hangs (a blackholed address,
    // a dead DNS server): the whole connect is bounded, the lookup included.
    let resolver = Resolver::new(|_| Box::pin(std::future::pending()));
    let text = kubeconfig_text("far", "https://api.far.example:6443", token_user());
    let options = ClientOptions {
        resolver,
        connect_timeout: Some(Duration::from_millis(200)),
        ..ClientOptions::default()
    };
    let err = tap_error_with(yaml(&text), options).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.is_permanent());
    assert_eq!(
        err.to_string(),
        "no answer from the server api.far.example:6443 within the connect timeout (context \"far\")"
    );
}

fn exec_user(command: &str, args: &[&str]) -> String {
    let args = args
        .iter()
        .map(|a| format!("      - {a:?}"))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {command}\n      interactiveMode: Never\n      args:\n{args}"
    )
}

/// Credential plugins run when the client is built (or, once their token expires, at a request:
/// both paths classify the same error).
async fn plugin_error(kubeconfig: Kubeconfig) -> StreamError {
    match Cluster::from_kubeconfig(kubeconfig, None).await {
        Ok(cluster) => {
            let (tx, _rx) = mpsc::channel(16);
            let result = timeout(
                TEST_TIMEOUT,
                cluster.tap_once(&support::deploy_web(), 0, &tx, None),
            )
            .await
            .expect("in time");
            result.expect_err("tapped").into_stream_error()
        }
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_credential_plugin_not_on_path_is_named() {
    let text = kubeconfig_text(
        "eks",
        "http://127.0.0.1:1",
        &exec_user("meshtap-test-no-such-plugin", &["token"]),
    );
    let err = plugin_error(yaml(&text)).await;
    assert_eq!(err.kind, ErrorKind::CredentialPluginMissing, "{err}");
    assert!(err.is_permanent());
    assert!(
        err.message
            .contains("\"meshtap-test-no-such-plugin\" of user \"eks-user\" is not on PATH"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_credential_plugin_shows_its_stderr() {
    let text = kubeconfig_text(
        "gke",
        "http://127.0.0.1:1",
        &exec_user(
            "sh",
            &[
                "-c",
                "echo 'session expired: run gcloud auth login' >&2; exit 3",
            ],
        ),
    );
    let err = plugin_error(yaml(&text)).await;
    assert_eq!(err.kind, ErrorKind::CredentialPluginFailed, "{err}");
    assert!(
        err.message
            .ends_with("of user \"gke-user\" failed: session expired: run gcloud auth login"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_authority_is_explained() {
    let (server, _, _) = cluster(vec![Script::Chunks(vec![])], true).await;
    let mut kubeconfig = meshtap::demo::kubeconfig::for_server(&server, None).expect("kubeconfig");
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    for named in &mut kubeconfig.clusters {
        let cluster = named.cluster.as_mut().expect("cluster");
        cluster.certificate_authority_data = Some(base64_pem(&other.cert.pem()));
    }
    let err = tap_error(kubeconfig).await;
    assert_eq!(err.kind(), ErrorKind::ApiServerCertificate, "{err}");
    assert!(err.is_permanent());
    assert!(
        err.to_string().contains("is signed by an authority"),
        "{err}"
    );
    assert!(err.to_string().contains(server.base_url()), "{err}");
}

fn base64_pem(pem: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// What the stand-in answers a request path with: status, headers, body.
type Reply = fn(&str) -> (u16, Vec<(&'static str, String)>, String);

/// A stand-in API server on loopback: every request gets `reply(path)`.
async fn stand_in(reply: Reply) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        // Bounded: each test makes a handful of requests.
        for _ in 0..16 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<_>| async move {
                    let (code, headers, body) = reply(request.uri().path());
                    let mut response = hyper::Response::builder().status(code);
                    for (name, value) in headers {
                        response = response.header(name, value);
                    }
                    Ok::<_, Infallible>(
                        response
                            .body(Full::new(Bytes::from(body)))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

async fn stand_in_error(reply: Reply) -> TapError {
    let (server, _task) = stand_in(reply).await;
    tap_error(yaml(&kubeconfig_text("dev", &server, token_user()))).await
}

fn status(code: u16, message: &str) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","status":"Failure","message":"{message}","code":{code}}}"#
    )
}

#[tokio::test]
async fn throttling_answers_are_transient_and_honour_retry_after() {
    let err = stand_in_error(|_| {
        (
            429,
            vec![("retry-after", "7".into())],
            status(429, "too many requests"),
        )
    })
    .await;
    assert!(!err.is_permanent());
    let stream = err.into_stream_error();
    assert_eq!(stream.kind, ErrorKind::Throttled);
    assert_eq!(stream.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(
        stream.message,
        "the kube-apiserver answered 429: too many requests"
    );

    let err = stand_in_error(|_| (500, vec![], status(500, "etcd leader changed"))).await;
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.into_stream_error().retry_after, None);
}

#[tokio::test]
async fn a_503_is_viz_down_unless_the_server_asks_to_retry() {
    let err = stand_in_error(|_| (503, vec![], "service unavailable\n".into())).await;
    assert_eq!(err.kind(), ErrorKind::VizMissing, "{err}");
    let err = stand_in_error(|_| {
        (
            503,
            vec![("retry-after", "2".into())],
            status(503, "the apiserver is shutting down"),
        )
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
}

#[tokio::test]
async fn unauthorized_names_the_user_entry() {
    let err = stand_in_error(|_| (401, vec![], status(401, "Unauthorized"))).await;
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(
        err.to_string(),
        "unauthorized: the kube-apiserver rejected the credentials of user \"dev-user\" (Unauthorized)"
    );
}

#[tokio::test]
async fn a_tap_api_version_meshtap_does_not_speak_says_what_it_found() {
    let err = stand_in_error(|path| {
        if path == "/apis/tap.linkerd.io" {
            let group = r#"{"kind":"APIGroup","name":"tap.linkerd.io","versions":[{"groupVersion":"tap.linkerd.io/v1beta1","version":"v1beta1"}]}"#;
            (200, vec![("content-type", "application/json".into())], group.into())
        } else {
            (404, vec![], status(404, "the server could not find the requested resource"))
        }
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::TapApiVersion);
    assert_eq!(
        err.to_string(),
        "the kube-apiserver serves tap.linkerd.io v1beta1, not v1alpha1"
    );
    // Without the group at all, a 404 means viz is missing.
    let err = stand_in_error(|_| (404, vec![], status(404, "not found"))).await;
    assert_eq!(err.kind(), ErrorKind::VizMissing);
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let mut headers = http::HeaderMap::new();
    headers.insert("retry-after", "120".parse().expect("value"));
    assert_eq!(
        meshtap::source::cluster::retry_after(&headers, now),
        Some(Duration::from_secs(120))
    );
    headers.insert(
        "retry-after",
        "Wed, 21 Oct 2015 07:28:30 GMT".parse().expect("value"),
    );
    assert_eq!(
        meshtap::source::cluster::retry_after(&headers, now),
        Some(Duration::from_secs(30))
    );
    headers.insert("retry-after", "soon".parse().expect("value"));
    assert_eq!(meshtap::source::cluster::retry_after(&headers, now), None);
}

#[tokio::test]
async fn a_credential_plugin_runs_once_for_both_clients() {
    // A stand-in API server that records the Authorization header of every request and
    // answers 401, so each client's request is seen and ends at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let server = tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<_>| {
                    let log = log.clone();
                    async move {
                        let auth = request
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        log.lock().expect("log").push(auth);
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(401)
                                .body(Full::new(Bytes::from(status(401, "Unauthorized"))))
                                .expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    let dir = tempfile::tempdir().expect("dir");
    let runs = dir.path().join("runs");
    // The plugin appends a line per run and hands out a token valid for a long time.
    let script = format!(
        "echo run >> '{}'; echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"t0k-from-plugin\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}}}'",
        runs.display()
    );
    let text = kubeconfig_text(
        "eks",
        &format!("http://{addr}"),
        &exec_user("sh", &["-c", &script]),
    );
    let cluster = Cluster::from_kubeconfig(yaml(&text), None)
        .await
        .expect("client");
    // Both clients make a request: the taps' (HTTP/2-capable) and kube's (HTTP/1.1).
    let (tx, _rx) = mpsc::channel(16);
    let tap = timeout(
        TEST_TIMEOUT,
        cluster.tap_once(&support::deploy_web(), 0, &tx, None),
    )
    .await
    .expect("in time");
    assert_eq!(tap.expect_err("tapped").kind(), ErrorKind::Unauthorized);
    let version = timeout(TEST_TIMEOUT, cluster.client.apiserver_version())
        .await
        .expect("in time");
    assert!(version.is_err(), "the stand-in answers 401");
    server.abort();
    assert_eq!(
        seen.lock().expect("log").as_slice(),
        ["Bearer t0k-from-plugin", "Bearer t0k-from-plugin"]
    );
    let lines = std::fs::read_to_string(&runs).expect("runs");
    assert_eq!(lines.lines().count(), 1, "the plugin ran {lines:?}");
}
