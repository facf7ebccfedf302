//! The simulated control plane: a real HTTPS (or plain HTTP) server on loopback that answers
//! like a kube-apiserver fronting Linkerd's aggregated tap API (`tap.linkerd.io/v1alpha1`).
//!
//! It authenticates a bearer token, serves enough discovery for `kubectl get --raw` and
//! `kubectl api-resources`, and hands each `POST .../tap` to a [`TapApi`] (the simulated mesh,
//! or a scripted fake in tests), translating its [`TapReply`] into the exact response shapes
//! Linkerd produces. HTTP/1.1 and HTTP/2 are both served (kube-rs uses the former, Go clients
//! negotiate the latter over ALPN).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use prost::Message as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use super::api::{TapApi, TapReply};
use super::checks::{self, Break};
use super::discovery;
use super::portforward::{self, MetricsApiPod, PodTable};
use super::tls;
use crate::proto::tap::TapByResourceRequest;
use crate::proto::viz::ApiError;
use crate::source::metrics::portforward::VIZ_NAMESPACE;

/// Largest tap request body accepted; real requests are a few hundred bytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A client that connects but never finishes the TLS handshake is dropped after this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen; use port 0 and read the bound address back from [`RunningServer`].
    pub addr: SocketAddr,
    /// HTTPS with a fresh CA (default) or plain HTTP.
    pub tls: bool,
    /// The bearer token clients must present; a random one when `None`.
    pub token: Option<String>,
    /// The metrics API pod reached by port-forward; without one, `linkerd-viz` lists no pods.
    pub metrics_pod: Option<MetricsApiPod>,
    /// The simulated mesh's pods, listed and port-forwarded to (their proxies' admin ports).
    pub pods: Arc<PodTable>,
    /// Fail one thing `meshtap check` asks about (`demo --serve --break`).
    pub broken: Option<Break>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            token: None,
            metrics_pod: None,
            pods: Arc::default(),
            broken: None,
        }
    }
}

/// A server accepting connections. Dropping it (or calling [`RunningServer::shutdown`]) stops
/// accepting and closes every open connection, which ends their tap streams.
pub struct RunningServer {
    addr: SocketAddr,
    base_url: String,
    ca: Option<tls::Ca>,
    token: String,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://…` without TLS), what a kubeconfig's `server` holds.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CA that signed the server certificate, PEM encoded; `None` for plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(tls::Ca::pem)
    }

    /// The CA itself, to issue client certificates trusted alongside the server's.
    pub fn ca(&self) -> Option<&tls::Ca> {
        self.ca.as_ref()
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops the server and waits until the accept loop and its connection tasks have stopped.
    pub async fn shutdown(mut self) {
        self.task.abort();
        // Aborting is the only way the accept loop ends, so the join error carries nothing.
        let _ = (&mut self.task).await;
    }
}

impl std::fmt::Debug for RunningServer {
    // Hand-written so the bearer token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("base_url", &self.base_url)
            .field("tls", &self.ca.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The accept loop owns the connection tasks in a JoinSet: aborting it aborts them all.
        self.task.abort();
    }
}

struct State {
    api: Arc<dyn TapApi>,
    token: String,
    addr: SocketAddr,
    metrics_pod: Option<MetricsApiPod>,
    pods: Arc<PodTable>,
    broken: Option<Break>,
}

/// Binds `options.addr` and starts serving in the background.
pub async fn spawn(options: ServerOptions, api: Arc<dyn TapApi>) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("binding {}", options.addr))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let token = match options.token {
        Some(token) => token,
        None => random_token()?,
    };
    let (acceptor, ca) = if options.tls {
        let tls = tls::generate()?;
        (Some(TlsAcceptor::from(tls.config)), Some(tls.ca))
    } else {
        (None, None)
    };
    let scheme = if options.tls { "https" } else { "http" };
    let state = Arc::new(State {
        api,
        token: token.clone(),
        addr,
        metrics_pod: options.metrics_pod,
        pods: options.pods,
        broken: options.broken,
    });
    let task = tokio::spawn(accept_loop(listener, acceptor, state));
    tracing::info!(%addr, scheme, "demo control plane listening");
    Ok(RunningServer {
        addr,
        base_url: format!("{scheme}://{addr}"),
        ca,
        token,
        task,
    })
}

/// Frames one message the way Linkerd's tap API does: a 4-byte little-endian length, then the
/// encoded message.
pub fn frame(msg: &impl prost::Message) -> Bytes {
    let len = msg.encoded_len();
    let mut buf = BytesMut::with_capacity(4 + len);
    // Messages over 4 GiB cannot be framed at all; the simulation never comes near.
    buf.put_u32_le(len as u32);
    // Encoding into a buffer reserved for `encoded_len` bytes cannot run out of space.
    let _ = msg.encode(&mut buf);
    buf.freeze()
}

fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    tls::provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    Ok(bytes.iter().fold(String::with_capacity(48), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    }))
}

async fn accept_loop(listener: TcpListener, acceptor: Option<TlsAcceptor>, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_tcp(stream, peer, acceptor.clone(), state.clone()));
                }
                Err(error) => {
                    // Typically EMFILE: back off instead of spinning; never give up listening.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow with every client.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    state: Arc<State>,
) {
    // Tap frames are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    match acceptor {
        None => serve_io(stream, peer, state).await,
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => serve_io(tls_stream, peer, state).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve_io<I>(io: I, peer: SocketAddr, state: Arc<State>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(request, &state).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    // Upgrades carry the metrics API port-forward's WebSocket.
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

async fn handle(request: Request<Incoming>, state: &State) -> Response<Body> {
    if !authorized(&request, &state.token) {
        return kube_status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let path = request.uri().path().to_owned();
    if let Some(route) = discovery::tap_route(&path) {
        if request.method() != Method::POST {
            let message = format!("the server does not allow this method on {path}");
            return kube_status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &message);
        }
        return handle_tap(request, &path, &route, state).await;
    }
    let request = match checks::handle(request, state.broken).await {
        Ok(response) => return response,
        Err(request) => request,
    };
    let request = match super::policy_objects::handle(request).await {
        Ok(response) => return response,
        Err(request) => request,
    };
    // The control plane's own pods (metrics API, destination) are the port-forward table's.
    if let Some(namespace) = super::pods::list_namespace(&path)
        && namespace != VIZ_NAMESPACE
        && namespace != crate::source::metrics::portforward::LINKERD_NAMESPACE
        && request.method() == Method::GET
    {
        let query = request.uri().query().unwrap_or("");
        return super::pods::answer(namespace, query, state.api.as_ref(), state.broken);
    }
    if portforward::is_pods_path(&path) {
        return portforward::handle(request, state.metrics_pod.as_ref(), &state.pods);
    }
    if request.method() == Method::GET
        && let Some(doc) = discovery::document(&path, state.addr)
    {
        return json(StatusCode::OK, &doc);
    }
    if request.method() == Method::GET
        && let Some(doc) = super::core_api::document(&path)
    {
        return match doc {
            Ok(doc) => json(StatusCode::OK, &doc),
            Err(message) => kube_status(StatusCode::NOT_FOUND, "NotFound", &message),
        };
    }
    kube_status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// True when the request carries `Authorization: Bearer <token>`. The comparison does not
/// stop at the first difference, so response timing does not reveal the token.
fn authorized(request: &Request<Incoming>, token: &str) -> bool {
    let Some(presented) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (presented.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle_tap(
    request: Request<Incoming>,
    path: &str,
    route: &discovery::TapRoute,
    state: &State,
) -> Response<Body> {
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            let message = format!("Request entity too large: limit is {MAX_BODY_BYTES}");
            return kube_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &message,
            );
        }
        Err(error) => {
            let message = format!("reading the request body: {error}");
            return kube_status(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
    };
    // Linkerd's tap server reports both of the following through `WriteErrorToHTTPResponse`
    // with a plain error: status stays 200, `linkerd-error: Internal Server Error`, and the
    // message travels in one ApiError frame. Reproduce that, not a friendlier shape, so
    // clients are tested against what a cluster really sends.
    let tap_request = match TapByResourceRequest::decode(body) {
        Ok(tap_request) => tap_request,
        Err(error) => {
            let message = format!(
                "Error decoding Tap Request proto: HTTP error, status Code [400] ({error})"
            );
            return linkerd_error(&message);
        }
    };
    let expected = discovery::url_for(&tap_request);
    if expected != route.decoded_path {
        let message = format!(
            "tap request body did not match APIServer URL: {expected:?} != {:?}",
            route.decoded_path
        );
        return linkerd_error(&message);
    }
    match state.api.tap(path, tap_request) {
        TapReply::Stream(receiver) => {
            // The receiver is bounded by whoever made the channel, and hyper polls the body
            // only when the connection can take more bytes: a slow client stalls the sender
            // instead of growing a buffer here.
            let frames = ReceiverStream::new(receiver).map(|chunk| Ok(Frame::data(chunk)));
            let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        TapReply::LinkerdError(message) => linkerd_error(&message),
        TapReply::KubeStatus {
            code,
            reason,
            message,
        } => kube_status(status_code(code), &reason, &message),
        TapReply::TapServerError { code, error } => {
            json(status_code(code), &serde_json::json!({ "error": error }))
        }
    }
}

fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Linkerd's in-band error: status 200, a `linkerd-error` header holding the HTTP status text
/// Linkerd chose (never the message, which may span lines), and one framed `viz.ApiError`.
fn linkerd_error(message: &str) -> Response<Body> {
    let body = frame(&ApiError {
        error: message.to_owned(),
    });
    let mut response = Response::new(Full::new(body).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        "linkerd-error",
        HeaderValue::from_static("Internal Server Error"),
    );
    response
}

/// A Kubernetes `Status` failure, as the kube-apiserver answers.
pub(super) fn kube_status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json(
        code,
        &serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code.as_u16(),
        }),
    )
}

pub(super) fn json(code: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())).boxed_unsync());
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
