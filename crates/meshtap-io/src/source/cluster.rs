//! The cluster source: taps through Linkerd's aggregated API on the kube-apiserver, with the
//! user's kubeconfig, and turns the framed response into batches of events.

mod client;
mod config;
mod errors;
mod several;

use std::path::PathBuf;

use bytes::Bytes;
use chrono::Utc;
use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::mpsc;

use super::frames::{self, Frame, FrameDecoder, ModelFrame};
use super::target::TapSpec;
use super::wire::Interner;
use crate::model::event::ClusterName;
use crate::session::{BATCH_MAX_EVENTS, ErrorKind, SourceMsg, StreamError, StreamState};
pub use client::{ClientOptions, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, Keepalive, Resolver};
pub use config::{Environment, IN_CLUSTER_CONTEXT, Resolved, SERVICE_ACCOUNT_DIR};
pub use errors::{TapError, retry_after};
pub use several::{Contexts, connect_several, open_contexts};

/// Where the kubeconfig comes from (`KUBECONFIG` is read from the environment, not here).
#[derive(Clone, Debug, Default)]
pub struct KubeOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `--as` / `--as-group`: act as another user, as kubectl does (Impersonate-* headers).
    pub impersonate: Option<String>,
    pub impersonate_groups: Vec<String>,
}

/// A connected client plus what the kubeconfig said about defaults.
#[derive(Clone)]
pub struct Cluster {
    /// kube's own client (HTTP/1.1): API calls and the metrics port-forward's WebSocket.
    pub client: kube::Client,
    /// The taps' client: HTTP/2 where the server offers it, with keepalive PINGs.
    pub tap_client: kube::Client,
    pub context: String,
    pub default_namespace: String,
    /// Context, server, user and proxy, named in error messages.
    pub resolved: Resolved,
    /// Stamped on every event when the session opened several clusters; `None` with one.
    pub name: Option<ClusterName>,
    /// Its place among the session's clusters: its streams come after those of the clusters
    /// before it (see [`super::live::spawn`]).
    pub index: usize,
}

/// Sets `--as` / `--as-group` on every user of the kubeconfig: the context's user is the one
/// kube reads, and the context is resolved later.
fn impersonate(kubeconfig: &mut Kubeconfig, options: &KubeOptions) {
    if options.impersonate.is_none() && options.impersonate_groups.is_empty() {
        return;
    }
    for user in &mut kubeconfig.auth_infos {
        if let Some(auth) = user.auth_info.as_mut() {
            auth.impersonate.clone_from(&options.impersonate);
            auth.impersonate_groups = (!options.impersonate_groups.is_empty())
                .then(|| options.impersonate_groups.clone());
        }
    }
}

/// The kubeconfig kubectl would read (see [`config::load`]), acting as `--as` when asked.
pub fn load_kubeconfig(
    options: &KubeOptions,
    env: &Environment,
) -> Result<Kubeconfig, StreamError> {
    let mut kubeconfig = config::load(options.kubeconfig.as_deref(), env)?;
    impersonate(&mut kubeconfig, options);
    Ok(kubeconfig)
}

impl Cluster {
    /// Builds a client the way kubectl finds its configuration (see [`config::load`]). Fails
    /// with a kind (no kubeconfig, parse error, unknown context…) before any stream opens.
    pub async fn connect(options: &KubeOptions) -> Result<Self, StreamError> {
        Self::connect_in(options, &Environment::from_process()).await
    }

    /// [`Cluster::connect`] with the environment given rather than read from the process.
    pub async fn connect_in(options: &KubeOptions, env: &Environment) -> Result<Self, StreamError> {
        let kubeconfig = load_kubeconfig(options, env)?;
        Self::from_kubeconfig(kubeconfig, options.context.clone()).await
    }

    pub async fn from_kubeconfig(
        kubeconfig: Kubeconfig,
        context: Option<String>,
    ) -> Result<Self, StreamError> {
        Self::from_kubeconfig_with(kubeconfig, context, ClientOptions::default()).await
    }

    /// [`Cluster::from_kubeconfig`] with the client options given (tests use short keepalives
    /// and timeouts, and resolvers of their own).
    pub async fn from_kubeconfig_with(
        kubeconfig: Kubeconfig,
        context: Option<String>,
        client_options: ClientOptions,
    ) -> Result<Self, StreamError> {
        ensure_crypto_provider();
        let mut resolved = config::resolve(&kubeconfig, context.as_deref())?;
        let options = KubeConfigOptions {
            context,
            ..KubeConfigOptions::default()
        };
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            StreamError::new(
                ErrorKind::Config,
                format!("{what} (context {:?}): {e}", resolved.context),
            )
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| match e {
                kube::config::KubeconfigError::ParseProxyUrl(_) => StreamError::new(
                    ErrorKind::Proxy,
                    format!("the proxy URL in HTTPS_PROXY or the kubeconfig's proxy-url is not a URL: {e}"),
                ),
                e => invalid("the kubeconfig cannot be used", &e),
            })?;
        // A tap is a long-running stream; retries are the reconnect loop's, which knows what a
        // 503 means on the tap path.
        config.read_timeout = None;
        config.default_retry = false;
        resolved.proxy = config
            .proxy_url
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let default_namespace = config.default_namespace.clone();
        let credentials =
            client::Credentials::resolve(config).map_err(|e| errors::build_error(&e, &resolved))?;
        let tap_client = client::tap_client(&credentials, &client_options)
            .map_err(|e| errors::build_error(&e, &resolved))?;
        let client = credentials.kube_client().map_err(|e| match e {
            kube::Error::ProxyProtocolUnsupported { .. } => {
                StreamError::new(ErrorKind::Proxy, e.to_string())
            }
            e => errors::build_error(&e, &resolved),
        })?;
        Ok(Self {
            tap_client: tap_client.unwrap_or_else(|| client.clone()),
            client,
            context: resolved.context.clone(),
            default_namespace,
            resolved,
            name: None,
            index: 0,
        })
    }

    /// Opens one tap and sends its events until it ends. Returns `Ok` when the server closed
    /// the stream cleanly, the error otherwise.
    pub async fn tap_once(
        &self,
        spec: &TapSpec,
        stream: usize,
        tx: &mpsc::Sender<SourceMsg>,
        raw: Option<&mpsc::Sender<Bytes>>,
    ) -> Result<(), TapError> {
        let request = http::Request::post(spec.path())
            .body(kube::client::Body::from(spec.body()))
            .map_err(|e| TapError::Connect {
                kind: ErrorKind::Refused,
                message: format!("cannot build the tap request: {e}"),
            })?;
        let response = match self.tap_client.send(request).await {
            Ok(response) => response,
            Err(e) => return Err(errors::connect_error(&e, &self.resolved)),
        };
        let status = response.status().as_u16();
        let retry_after = errors::retry_after(response.headers(), Utc::now());
        let linkerd_error = response
            .headers()
            .get("linkerd-error")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut body = response.into_body();
        if let Some(header) = linkerd_error {
            let text = read_limited(&mut body).await;
            return Err(TapError::Linkerd(api_error_text(&text).unwrap_or(header)));
        }
        if status != 200 {
            let text = read_limited(&mut body).await;
            if status == 404
                && let Some(found) = self.other_tap_versions().await
            {
                return Err(TapError::TapApiVersion { found });
            }
            return Err(errors::status_error(
                status,
                &text,
                retry_after,
                spec,
                &self.resolved.user,
            ));
        }
        let _ = tx
            .send(SourceMsg::State {
                stream,
                state: StreamState::Connected,
            })
            .await;
        let mut decoder = FrameDecoder::default();
        let mut interner = Interner::default();
        loop {
            // A tap has no end of its own: stop when nobody listens any more (the UI quit).
            let frame = tokio::select! {
                frame = body.frame() => frame,
                () = tx.closed() => return Ok(()),
            };
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| errors::body_error(&e, &self.resolved))?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            if let Some(raw) = raw {
                let _ = raw.send(chunk.clone()).await;
            }
            decoder.push(&chunk);
            let arrived = Utc::now();
            let mut batch = Vec::new();
            loop {
                let bytes = match decoder.next_frame() {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => break,
                    Err(err) => {
                        // Deliver what arrived before the bad length: nothing captured is lost.
                        send_batch(tx, batch).await;
                        return Err(err.into());
                    }
                };
                match frames::decode_fast(&mut interner, &bytes, arrived) {
                    Ok(ModelFrame::Event(mut event)) => {
                        event.cluster.clone_from(&self.name);
                        batch.push(event);
                    }
                    Ok(ModelFrame::ApiError(text)) => {
                        // Deliver what arrived before the error: nothing captured is lost.
                        send_batch(tx, batch).await;
                        return Err(TapError::Linkerd(text));
                    }
                    Err(err) => {
                        let message = err.to_string();
                        let _ = tx.send(SourceMsg::Warning { stream, message }).await;
                    }
                }
                if batch.len() >= BATCH_MAX_EVENTS {
                    send_batch(tx, std::mem::take(&mut batch)).await;
                }
            }
            send_batch(tx, batch).await;
        }
        decoder.finish()?;
        Ok(())
    }

    /// Taps until the stream ends for good: reconnects with backoff after transient failures
    /// (and after a clean end when `reconnect`), reporting every state change.
    pub async fn tap(
        &self,
        spec: TapSpec,
        stream: usize,
        reconnect: bool,
        tx: mpsc::Sender<SourceMsg>,
        raw: Option<mpsc::Sender<Bytes>>,
    ) {
        super::reconnect::supervise(stream, reconnect, &tx, || async {
            self.tap_once(&spec, stream, &tx, raw.as_ref())
                .await
                .map_err(TapError::into_stream_error)
        })
        .await;
    }
}

impl Cluster {
    /// After a 404 on the tap path: the versions of `tap.linkerd.io` the API server serves, when
    /// it serves the group but not v1alpha1 (a Linkerd newer or older than meshtap knows).
    async fn other_tap_versions(&self) -> Option<String> {
        let request = http::Request::get("/apis/tap.linkerd.io")
            .body(kube::client::Body::empty())
            .ok()?;
        let mut response = self.tap_client.send(request).await.ok()?;
        if response.status() != http::StatusCode::OK {
            return None;
        }
        let body = read_limited(response.body_mut()).await;
        let group: serde_json::Value = serde_json::from_slice(&body).ok()?;
        let versions: Vec<&str> = group
            .get("versions")?
            .as_array()?
            .iter()
            .filter_map(|v| v.get("version")?.as_str())
            .collect();
        (!versions.is_empty() && !versions.contains(&"v1alpha1")).then(|| versions.join(", "))
    }
}

async fn send_batch(tx: &mpsc::Sender<SourceMsg>, batch: Vec<crate::model::event::TapEvent>) {
    if !batch.is_empty() {
        // A closed channel means the consumer is gone; the caller notices on its next send.
        let _ = tx.send(SourceMsg::Events(batch)).await;
    }
}

/// Error bodies are small; never read more than this of one.
const ERROR_BODY_MAX_BYTES: usize = 64 * 1024;

async fn read_limited(body: &mut kube::client::Body) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < ERROR_BODY_MAX_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            _ => break,
        }
    }
    out.truncate(ERROR_BODY_MAX_BYTES);
    out
}

/// The text of a body that is one framed `ApiError`.
fn api_error_text(body: &[u8]) -> Option<String> {
    let mut decoder = FrameDecoder::default();
    decoder.push(body);
    let frame = decoder.next_frame().ok()??;
    match frames::decode(&frame) {
        Ok(Frame::ApiError(text)) => Some(text),
        _ => None,
    }
}

/// rustls needs exactly one process-wide crypto provider; kube and the demo server share ring.
pub fn ensure_crypto_provider() {
    // Installing twice fails harmlessly; the first one stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
