//! Integration tests for the simulated control plane's HTTP server, driven through real clients:
//! kube-rs built from the generated kubeconfig value (the client meshtap itself uses), raw TCP
//! for requests no well-behaved client would send, and the `kubectl` binary when installed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use meshtap::demo::api::{TapApi, TapReply};
use meshtap::demo::kubeconfig;
use meshtap::demo::server::{self, RunningServer, ServerOptions};
use meshtap::proto::tap::{TapByResourceRequest, TapEvent, tap_event};
use meshtap::proto::viz::{ApiError, Resource, ResourceSelection};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

const TIMEOUT: Duration = Duration::from_secs(15);
const DEPLOY_WEB: &str =
    "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/deployments/web/tap";

type Script = Box<dyn Fn(&str, TapByResourceRequest) -> TapReply + Send + Sync>;

/// A `TapApi` that answers from a script and records every call.
struct Fake {
    script: Script,
    calls: Mutex<Vec<(String, TapByResourceRequest)>>,
}

impl Fake {
    fn new(
        script: impl Fn(&str, TapByResourceRequest) -> TapReply + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            script: Box::new(script),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<(String, TapByResourceRequest)> {
        self.calls.lock().unwrap().clone()
    }
}

impl TapApi for Fake {
    fn tap(&self, path: &str, request: TapByResourceRequest) -> TapReply {
        self.calls
            .lock()
            .unwrap()
            .push((path.to_owned(), request.clone()));
        (self.script)(path, request)
    }
}

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .expect("timed out")
}

async fn start(tls: bool, api: Arc<dyn TapApi>) -> RunningServer {
    let options = ServerOptions {
        tls,
        ..ServerOptions::default()
    };
    within(server::spawn(options, api))
        .await
        .expect("server starts")
}

async fn client_from(config: Kubeconfig) -> kube::Client {
    // kube-rs builds its rustls config from the process default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .expect("kube config from value");
    config.proxy_url = None;
    kube::Client::try_from(config).expect("kube client")
}

async fn client(server: &RunningServer) -> kube::Client {
    client_from(kubeconfig::for_server(server, Some("emojivoto")).unwrap()).await
}

fn tap_request(namespace: &str, kind: &str, name: &str) -> TapByResourceRequest {
    TapByResourceRequest {
        target: Some(ResourceSelection {
            resource: Some(Resource {
                namespace: namespace.into(),
                r#type: kind.into(),
                name: name.into(),
            }),
            label_selector: String::new(),
        }),
        max_rps: 10.0,
        ..TapByResourceRequest::default()
    }
}

fn post(path: &str, body: Vec<u8>) -> Request<kube::client::Body> {
    Request::post(path)
        .body(kube::client::Body::from(body))
        .unwrap()
}

fn get(path: &str) -> Request<kube::client::Body> {
    Request::get(path)
        .body(kube::client::Body::from(Vec::new()))
        .unwrap()
}

async fn send(
    client: &kube::Client,
    request: Request<kube::client::Body>,
) -> (http::response::Parts, Bytes) {
    let response = within(client.send(request)).await.expect("request");
    let (parts, body) = response.into_parts();
    let body = within(body.collect()).await.expect("body").to_bytes();
    (parts, body)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("JSON body")
}

fn event(stream: u64) -> TapEvent {
    TapEvent {
        proxy_direction: 2,
        event: Some(tap_event::Event::Http(tap_event::Http {
            event: Some(tap_event::http::Event::RequestInit(
                tap_event::http::RequestInit {
                    id: Some(tap_event::http::StreamId { base: 1, stream }),
                    authority: "web.emojivoto:80".into(),
                    path: format!("/api/{stream}"),
                    ..Default::default()
                },
            )),
        })),
        ..TapEvent::default()
    }
}

/// Splits a body into its length-prefixed frames.
fn frames(mut body: Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    while body.has_remaining() {
        let len = body.get_u32_le() as usize;
        assert!(body.len() >= len, "truncated frame");
        out.push(body.split_to(len));
    }
    out
}

fn never_called() -> Arc<Fake> {
    Fake::new(|_, _| panic!("the tap API must not be called"))
}

#[tokio::test]
async fn version_and_discovery() {
    let server = start(true, never_called()).await;
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    assert!(
        server
            .ca_pem()
            .is_some_and(|pem| pem.contains("BEGIN CERTIFICATE"))
    );
    let client = client(&server).await;

    let version = json(
        within(client.request_text(Request::get("/version").body(Vec::new()).unwrap()))
            .await
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(version["gitVersion"], "v1.34.0");
    assert_eq!(version["major"], "1");

    let (parts, body) = send(&client, get("/apis")).await;
    assert_eq!(parts.status, StatusCode::OK);
    let groups = json(&body);
    assert_eq!(groups["kind"], "APIGroupList");
    assert_eq!(groups["groups"][0]["name"], "tap.linkerd.io");
    assert_eq!(
        groups["groups"][0]["preferredVersion"]["version"],
        "v1alpha1"
    );

    let (_, body) = send(&client, get("/apis/tap.linkerd.io")).await;
    assert_eq!(json(&body)["kind"], "APIGroup");

    let (parts, body) = send(&client, get("/apis/tap.linkerd.io/v1alpha1")).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers["content-type"], "application/json");
    let list = json(&body);
    assert_eq!(list["groupVersion"], "tap.linkerd.io/v1alpha1");
    let resources = list["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 20);
    let tap = resources
        .iter()
        .find(|r| r["name"] == "deployments/tap")
        .expect("deployments/tap");
    assert_eq!(tap["verbs"], serde_json::json!(["watch"]));
    assert_eq!(tap["namespaced"], true);
    let ns = resources
        .iter()
        .find(|r| r["name"] == "namespaces/tap")
        .expect("namespaces/tap");
    assert_eq!(ns["namespaced"], false);

    let (parts, body) = send(&client, get("/apis/apps/v1")).await;
    assert_eq!(parts.status, StatusCode::NOT_FOUND);
    let status = json(&body);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(
        status["message"],
        "the server could not find the requested resource"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_token_is_unauthorized() {
    let server = start(true, never_called()).await;
    let mut config =
        kubeconfig::build(server.base_url(), server.ca_pem(), "not-the-token", None).unwrap();
    config.current_context = Some(kubeconfig::CONTEXT_NAME.into());
    let client = client_from(config).await;
    let (parts, body) = send(&client, get("/version")).await;
    assert_eq!(parts.status, StatusCode::UNAUTHORIZED);
    let status = json(&body);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "Unauthorized");
    assert_eq!(status["message"], "Unauthorized");
    assert_eq!(status["code"], 401);
}

/// Raw HTTP/1.1 over TCP: a request with no `Authorization` header at all.
#[tokio::test]
async fn missing_token_is_unauthorized_over_plain_http() {
    let server = start(false, never_called()).await;
    assert!(server.ca_pem().is_none());
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    let mut stream = within(tokio::net::TcpStream::connect(server.addr()))
        .await
        .unwrap();
    stream
        .write_all(b"GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    within(stream.read_to_string(&mut response)).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(
        response.contains(r#""reason":"Unauthorized""#),
        "{response}"
    );
}

#[tokio::test]
async fn tap_streams_frames_as_they_arrive_then_ends() {
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release_rx = Mutex::new(Some(release_rx));
    let fake = Fake::new(move |_, _| {
        let (tx, rx) = mpsc::channel(2);
        let release = release_rx.lock().unwrap().take().expect("one tap only");
        tokio::spawn(async move {
            tx.send(server::frame(&event(0))).await.unwrap();
            // Hold the rest back until the client proves it already saw the first frame.
            release.await.unwrap();
            for stream in 1..5 {
                tx.send(server::frame(&event(stream))).await.unwrap();
            }
        });
        TapReply::Stream(rx)
    });
    let server = start(true, fake.clone()).await;
    let client = client(&server).await;
    let request = tap_request("emojivoto", "deployment", "web");
    let response = within(client.send(post(DEPLOY_WEB, request.encode_to_vec())))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert!(response.headers().get("linkerd-error").is_none());

    let mut body = response.into_body();
    let mut received = Vec::new();
    while received.len() < 4 + event(0).encoded_len() {
        let frame = within(body.frame()).await.expect("first frame").unwrap();
        received.extend_from_slice(frame.data_ref().unwrap());
    }
    release_tx.send(()).unwrap();
    let rest = within(body.collect()).await.unwrap().to_bytes();
    received.extend_from_slice(&rest);

    let events: Vec<TapEvent> = frames(received.into())
        .into_iter()
        .map(|f| TapEvent::decode(f).unwrap())
        .collect();
    assert_eq!(events, (0..5).map(event).collect::<Vec<_>>());

    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, DEPLOY_WEB);
    assert_eq!(calls[0].1, request);
}

#[tokio::test]
async fn namespace_target_over_plain_http() {
    let fake = Fake::new(|_, _| {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move { tx.send(server::frame(&event(7))).await.unwrap() });
        TapReply::Stream(rx)
    });
    let server = start(false, fake.clone()).await;
    let client = client(&server).await;
    let (_, body) = send(&client, get("/version")).await;
    assert_eq!(json(&body)["gitVersion"], "v1.34.0");
    let path = "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/tap";
    let (parts, body) = send(
        &client,
        post(
            path,
            tap_request("", "namespace", "emojivoto").encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    let got: Vec<TapEvent> = frames(body)
        .into_iter()
        .map(|f| TapEvent::decode(f).unwrap())
        .collect();
    assert_eq!(got, vec![event(7)]);
    assert_eq!(fake.calls()[0].0, path);
}

#[tokio::test]
async fn linkerd_error_is_200_with_header_and_one_api_error_frame() {
    let message = "no pods to tap for type=deployment name=web\nmore detail";
    let fake = Fake::new(move |_, _| TapReply::LinkerdError(message.into()));
    let server = start(true, fake).await;
    let client = client(&server).await;
    let body = tap_request("emojivoto", "deployment", "web").encode_to_vec();
    let (parts, body) = send(&client, post(DEPLOY_WEB, body)).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(parts.headers.contains_key("linkerd-error"));
    let frames = frames(body);
    assert_eq!(frames.len(), 1);
    assert_eq!(ApiError::decode(frames[0].clone()).unwrap().error, message);
}

#[tokio::test]
async fn kube_status_and_tap_server_errors() {
    let fake = Fake::new(|path, _| {
        if path.contains("/pods/") {
            TapReply::TapServerError {
                code: 400,
                error: "bad tap".into(),
            }
        } else {
            TapReply::KubeStatus {
                code: 403,
                reason: "Forbidden".into(),
                message: r#"deployments.tap.linkerd.io "web" is forbidden: cannot watch resource "deployments/tap""#.into(),
            }
        }
    });
    let server = start(true, fake).await;
    let client = client(&server).await;

    let body = tap_request("emojivoto", "deployment", "web").encode_to_vec();
    let (parts, body) = send(&client, post(DEPLOY_WEB, body)).await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    let status = json(&body);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["apiVersion"], "v1");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["code"], 403);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("deployments/tap")
    );

    let path = "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/pods/web-1/tap";
    let body = tap_request("emojivoto", "pod", "web-1").encode_to_vec();
    let (parts, body) = send(&client, post(path, body)).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body), serde_json::json!({ "error": "bad tap" }));
}

/// Linkerd's tap server answers a body that does not match the URL, or does not decode, with
/// its in-band error (status 200, `linkerd-error`, one `ApiError` frame), never calling the mesh.
#[tokio::test]
async fn mismatched_or_undecodable_bodies_are_rejected_like_linkerd() {
    let server = start(true, never_called()).await;
    let client = client(&server).await;

    let body = tap_request("emojivoto", "deployment", "voting").encode_to_vec();
    let (parts, body) = send(&client, post(DEPLOY_WEB, body)).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(parts.headers.contains_key("linkerd-error"));
    let error = ApiError::decode(frames(body)[0].clone()).unwrap().error;
    assert!(error.contains("did not match APIServer URL"), "{error}");
    assert!(error.contains("/deployments/voting/tap"), "{error}");

    let (parts, body) = send(&client, post(DEPLOY_WEB, vec![0xff, 0xff, 0xff])).await;
    assert!(parts.headers.contains_key("linkerd-error"));
    let error = ApiError::decode(frames(body)[0].clone()).unwrap().error;
    assert!(
        error.contains("Error decoding Tap Request proto"),
        "{error}"
    );

    let (parts, body) = send(&client, post(DEPLOY_WEB, vec![0; 2 * 1024 * 1024])).await;
    assert_eq!(parts.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(&body)["code"], 413);

    let (parts, _) = send(&client, get(DEPLOY_WEB)).await;
    assert_eq!(parts.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let fake = Fake::new(|_, _| {
        let (tx, rx) = mpsc::channel(1);
        // Keep the stream open forever (until the connection goes away).
        tokio::spawn(async move {
            tx.send(server::frame(&event(0))).await.unwrap();
            tx.closed().await;
        });
        TapReply::Stream(rx)
    });
    let server = start(true, fake).await;
    let addr = server.addr();
    let client = client(&server).await;
    let body = tap_request("emojivoto", "deployment", "web").encode_to_vec();
    let response = within(client.send(post(DEPLOY_WEB, body))).await.unwrap();
    let mut body = response.into_body();
    within(body.frame()).await.expect("a frame").unwrap();
    within(server.shutdown()).await;
    // The stream ends (cleanly or with an error) instead of hanging.
    while let Some(Ok(_)) = within(body.frame()).await {}
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}

#[test]
fn kubeconfig_file_is_private_and_readable_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let config = kubeconfig::build(
        "https://127.0.0.1:1",
        Some("PEM"),
        "secret",
        Some("emojivoto"),
    )
    .unwrap();
    kubeconfig::write(&path, &config, false).unwrap();
    // Never replaced silently; `--force` replaces it.
    let err = kubeconfig::write(&path, &config, false).unwrap_err();
    assert!(format!("{err:#}").contains("--force"), "{err:#}");
    kubeconfig::write(&path, &config, true).unwrap();
    let read = Kubeconfig::read_from(&path).unwrap();
    assert_eq!(
        read.current_context.as_deref(),
        Some(kubeconfig::CONTEXT_NAME)
    );
    let context = read.contexts[0].context.as_ref().unwrap();
    assert_eq!(context.namespace.as_deref(), Some("emojivoto"));
    assert_eq!(
        read.clusters[0]
            .cluster
            .as_ref()
            .unwrap()
            .certificate_authority_data
            .as_deref(),
        Some("UEVN")
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp files left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// The real `kubectl` (a Go client negotiating HTTP/2 over ALPN) against the server, through a
/// kubeconfig file.
#[tokio::test]
async fn kubectl_get_raw() {
    let Ok(kubectl) = crate::support::process::which("kubectl") else {
        eprintln!("kubectl not found on PATH: skipping");
        return;
    };
    let fake = Fake::new(|_, _| {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for stream in 0..3 {
                tx.send(server::frame(&event(stream))).await.unwrap();
            }
        });
        TapReply::Stream(rx)
    });
    let server = start(true, fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    kubeconfig::write(
        &path,
        &kubeconfig::for_server(&server, Some("emojivoto")).unwrap(),
        false,
    )
    .unwrap();

    let body_file = dir.path().join("tap-request.bin");
    std::fs::write(
        &body_file,
        tap_request("emojivoto", "deployment", "web").encode_to_vec(),
    )
    .unwrap();
    let body_file = body_file.to_str().unwrap().to_owned();

    let run = |args: Vec<&str>| {
        let mut command = std::process::Command::new(&kubectl);
        command
            .arg("--kubeconfig")
            .arg(&path)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg("--request-timeout=10s")
            .args(args)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env("GODEBUG", "http2debug=1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        async move {
            let child = command.spawn().expect("kubectl starts");
            within(tokio::task::spawn_blocking(move || wait_bounded(child)))
                .await
                .unwrap()
        }
    };

    let out = run(vec!["get", "--raw", "/apis/tap.linkerd.io/v1alpha1"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tap.linkerd.io/v1alpha1"), "{stdout}");
    // Go's HTTP/2 debug log proves the request went over h2 (negotiated by ALPN).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("http2: Transport"), "not HTTP/2: {stderr}");

    let out = run(vec!["api-resources", "--api-group=tap.linkerd.io"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl api-resources failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("deployments"), "{stdout}");

    // A whole tap through kubectl: POST the protobuf body, stream the frames back over h2.
    let out = run(vec!["create", "--raw", DEPLOY_WEB, "-f", &body_file]).await;
    assert!(
        out.status.success(),
        "kubectl create --raw failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<TapEvent> = frames(out.stdout.into())
        .into_iter()
        .map(|f| TapEvent::decode(f).unwrap())
        .collect();
    assert_eq!(got, (0..3).map(event).collect::<Vec<_>>());
    assert_eq!(fake.calls()[0].0, DEPLOY_WEB);
}

/// Waits for a child process for at most `TIMEOUT`, killing it after that. Its output is small
/// (a few KiB), so the pipes cannot fill up while it runs.
fn wait_bounded(mut child: std::process::Child) -> std::process::Output {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
