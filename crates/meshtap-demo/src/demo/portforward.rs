//! The simulated kube-apiserver's side of `kubectl port-forward`: pod lists (one Running
//! `metrics-api` pod in `linkerd-viz`, and the simulated mesh's pods from a [`PodTable`]) and
//! the WebSocket port-forward to a listed pod's port, bridged to the loopback server that plays
//! it (the demo's metrics API on 8085, a simulated proxy's admin server on 4191).
//!
//! The protocol is the one kube-rs speaks (`v4.channel.k8s.io`): every binary message starts
//! with a channel byte, port `i` owns data channel `2i` and error channel `2i + 1`, and the
//! server opens each channel with a frame holding just the port number (little-endian u16).

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

pub mod pods;

pub use pods::{ForwardPod, PodTable};

use super::server::{Body, json, kube_status};
use crate::source::metrics::METRICS_API_PORT;
use crate::source::metrics::portforward::VIZ_NAMESPACE;

/// The simulated metrics API pod's name, shaped like a Deployment's pod.
pub const POD_NAME: &str = "metrics-api-6c9f8d7b5d-x2k4q";
/// The subprotocol answered; kube-rs offers v5 and v4 and accepts either for port-forwards.
const PROTOCOL: &str = "v4.channel.k8s.io";
/// Bytes read from the metrics API per WebSocket message.
const CHUNK: usize = 32 * 1024;
/// After the metrics API closes, how long the client gets to finish its side of the close.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The metrics API pod the apiserver stand-in pretends to run.
#[derive(Clone, Debug)]
pub struct MetricsApiPod {
    /// Where the demo's metrics API listens; port-forwards to 8085 land here.
    pub addr: SocketAddr,
    /// Answer the port-forward with 403, as RBAC does without `create` on `pods/portforward`.
    pub forbid_port_forward: bool,
}

/// True for the paths this module answers (`/api/v1/namespaces/NS/pods[/NAME/portforward]`).
pub fn is_pods_path(path: &str) -> bool {
    split(path).is_some()
}

/// `(namespace, Some(pod))` for a port-forward, `(namespace, None)` for a pod list.
fn split(path: &str) -> Option<(&str, Option<&str>)> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [namespace, "pods"] if !namespace.is_empty() => Some((namespace, None)),
        [namespace, "pods", pod, "portforward"] if !namespace.is_empty() && !pod.is_empty() => {
            Some((namespace, Some(pod)))
        }
        _ => None,
    }
}

/// Answers a pod list or a port-forward; `pod` is `None` when the demo runs no metrics API,
/// `table` holds the simulated mesh's pods.
pub fn handle(
    mut request: Request<Incoming>,
    pod: Option<&MetricsApiPod>,
    table: &PodTable,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let Some((namespace, name)) = split(&path) else {
        return not_found();
    };
    let Some(name) = name else {
        if request.method() != Method::GET {
            return kube_status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "the demo only lists pods",
            );
        }
        let selected = |labels: &dyn Fn(&str) -> Option<String>| selects(&query, labels);
        let mut items = Vec::new();
        if pod.is_some() && namespace == VIZ_NAMESPACE && selected(&metrics_api_label) {
            items.push(metrics_api_pod());
        }
        items.extend(table.list(namespace, &|p: &ForwardPod| {
            selected(&|key: &str| p.labels.get(key).cloned())
        }));
        return json(StatusCode::OK, &pod_list(&items));
    };
    let ports = query_values(&query, "ports");
    let (addr, port) = if namespace == VIZ_NAMESPACE && name == POD_NAME && pod.is_some() {
        let Some(pod) = pod else {
            return not_found();
        };
        if pod.forbid_port_forward {
            let message = format!(
                "pods \"{name}\" is forbidden: User \"meshtap-demo\" cannot create resource \
                 \"pods/portforward\" in API group \"\" in the namespace \"{namespace}\""
            );
            return kube_status(StatusCode::FORBIDDEN, "Forbidden", &message);
        }
        if ports != [METRICS_API_PORT.to_string()] {
            let message = format!("the demo pod forwards port {METRICS_API_PORT} only");
            return kube_status(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
        (pod.addr, METRICS_API_PORT)
    } else {
        let Some(found) = table.find(namespace, name) else {
            let message = format!("pods \"{name}\" not found");
            return kube_status(StatusCode::NOT_FOUND, "NotFound", &message);
        };
        let wanted = match ports.as_slice() {
            [one] => one.parse::<u16>().ok(),
            _ => None,
        };
        let Some((port, addr)) = wanted.and_then(|w| found.ports.iter().find(|(p, _)| *p == w))
        else {
            let offered: Vec<String> = found.ports.iter().map(|(p, _)| p.to_string()).collect();
            let message = format!(
                "the demo forwards one port of pod {name} at a time, one of {}",
                offered.join(", ")
            );
            return kube_status(StatusCode::BAD_REQUEST, "BadRequest", &message);
        };
        (*addr, *port)
    };
    let Some(accept) = websocket_accept(&request) else {
        let message = format!("Upgrade request required ({PROTOCOL} WebSocket)");
        return kube_status(StatusCode::BAD_REQUEST, "BadRequest", &message);
    };
    let upgrade = hyper::upgrade::on(&mut request);
    // The bridge runs after this response has switched the connection's protocol.
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let socket = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
                bridge(socket, addr, port).await;
            }
            Err(error) => tracing::debug!(%error, "port-forward upgrade failed"),
        }
    });
    let mut response = Response::new(Empty::new().boxed_unsync());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    response
}

fn not_found() -> Response<Body> {
    kube_status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// The `Sec-WebSocket-Accept` value for a WebSocket upgrade offering [`PROTOCOL`].
fn websocket_accept(request: &Request<Incoming>) -> Option<HeaderValue> {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let upgrade = text(header::UPGRADE)?;
    let offered = text(header::SEC_WEBSOCKET_PROTOCOL)?;
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    let offers_ours = offered.split(',').any(|p| p.trim() == PROTOCOL);
    (upgrade.eq_ignore_ascii_case("websocket") && offers_ours)
        .then(|| derive_accept_key(key.as_bytes()))
        .and_then(|accept| HeaderValue::from_str(&accept).ok())
}

/// The decoded values of `name` in a query string (`ports=8085`, `labelSelector=a%3Db`); a
/// comma-separated value counts as several.
fn query_values(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| *key == name)
        .filter_map(|(_, value)| super::discovery::percent_decode(&value.replace('+', " ")))
        .flat_map(|value| {
            value
                .split(',')
                .map(|v| v.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// The pod's labels, as viz's chart sets them.
const LABELS: [(&str, &str); 2] = [
    ("component", "metrics-api"),
    ("linkerd.io/extension", "viz"),
];

fn metrics_api_label(key: &str) -> Option<String> {
    LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| (*v).to_owned())
}

/// True when every term of the label selector holds for a pod's labels: `key=value`,
/// `key==value`, `key!=value`, `key` (present) and `!key` (absent); other forms select nothing.
fn selects(query: &str, labels: &dyn Fn(&str) -> Option<String>) -> bool {
    query_values(query, "labelSelector").iter().all(|term| {
        if let Some((key, value)) = term.split_once("!=") {
            return labels(key.trim()).as_deref() != Some(value.trim());
        }
        if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
            return labels(key.trim()).as_deref() == Some(value.trim());
        }
        if let Some(key) = term.strip_prefix('!') {
            return labels(key.trim()).is_none();
        }
        let plain = term
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        plain && labels(term.trim()).is_some()
    })
}

/// The metrics API pod as a pod list item.
fn metrics_api_pod() -> serde_json::Value {
    let labels: serde_json::Map<String, serde_json::Value> = LABELS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    serde_json::json!({
        "metadata": { "name": POD_NAME, "namespace": VIZ_NAMESPACE, "labels": labels },
        "status": { "phase": "Running", "podIP": "127.0.0.1" },
    })
}

fn pod_list(items: &[serde_json::Value]) -> serde_json::Value {
    serde_json::json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": { "resourceVersion": "1" },
        "items": items,
    })
}

/// Carries one forwarded connection: channel 0 to and from the metrics API's TCP port, channel
/// 1 for the one error message a failed connection gets.
async fn bridge<S>(socket: WebSocketStream<S>, addr: SocketAddr, port: u16)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let [lo, hi] = port.to_le_bytes();
    for channel in [0u8, 1] {
        if sink
            .send(Message::binary(vec![channel, lo, hi]))
            .await
            .is_err()
        {
            return;
        }
    }
    let tcp = match TcpStream::connect(addr).await {
        Ok(tcp) => tcp,
        Err(error) => {
            // What a kubelet says when nothing listens on the pod's port.
            let mut message = vec![1u8];
            message.extend_from_slice(format!("error forwarding port {port}: {error}").as_bytes());
            let _ = sink.send(Message::binary(message)).await;
            let _ = sink.send(Message::Close(None)).await;
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let (mut from_api, mut to_api) = tcp.into_split();
    let to_pod = async move {
        while let Some(Ok(message)) = stream.next().await {
            // Other channels (the error channel) carry nothing from a client.
            let done = match message {
                Message::Binary(bytes) if bytes.first() == Some(&0) => {
                    to_api.write_all(&bytes[1..]).await.is_err()
                }
                Message::Close(_) => true,
                _ => false,
            };
            if done {
                break;
            }
        }
        // The client is done sending: pass the half-close on, as a TCP peer would see it.
        let _ = to_api.shutdown().await;
    };
    let from_pod = async move {
        let mut buf = vec![0u8; CHUNK + 1];
        loop {
            match from_api.read(&mut buf[1..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    // `buf[0]` stays 0: the data channel.
                    if sink
                        .send(Message::binary(buf[..=n].to_vec()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    };
    let (to_pod, mut from_pod) = (std::pin::pin!(to_pod), std::pin::pin!(from_pod));
    tokio::select! {
        () = &mut from_pod => {}
        () = to_pod => {
            // Responses may still be on their way after the client stopped sending; bounded,
            // for a metrics API that never closes its side.
            let _ = tokio::time::timeout(CLOSE_GRACE, from_pod).await;
        }
    }
}
