//! The cluster source: taps through Linkerd's aggregated API on the kube-apiserver, with the
//! user's kubeconfig, and turns the framed response into batches of events.

use std::path::PathBuf;

use bytes::Bytes;
use chrono::Utc;
use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::mpsc;

use super::frames::{self, Frame, FrameDecoder, FrameError, ModelFrame};
use super::target::TapSpec;
use super::wire::Interner;
use crate::session::{BATCH_MAX_EVENTS, ErrorKind, SourceMsg, StreamError, StreamState};

/// Where the kubeconfig comes from.
#[derive(Clone, Debug, Default)]
pub struct KubeOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A connected client plus what the kubeconfig said about defaults.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub context: String,
    pub default_namespace: String,
}

/// Why a tap failed. `is_permanent` decides between reporting and reconnecting.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("{0}")]
    Linkerd(String),
    #[error(
        "forbidden: {message}\n  meshtap needs RBAC verb \"watch\" on resource \"{resource}/tap\" in API group \
         \"tap.linkerd.io\" (Linkerd's ClusterRole linkerd-linkerd-viz-tap-admin grants it).\n  \
         Check with: kubectl auth can-i watch {resource}.tap.linkerd.io{namespace_flag}"
    )]
    Forbidden {
        message: String,
        resource: String,
        namespace_flag: String,
    },
    #[error(
        "the linkerd-viz tap API is not available: is linkerd viz installed? (linkerd viz check)\n  \
         the kube-apiserver answered {code}: {message}"
    )]
    VizMissing { code: u16, message: String },
    #[error("unauthorized: the kube-apiserver rejected meshtap's credentials ({message})")]
    Unauthorized { message: String },
    #[error("the tap request was refused ({code}): {message}")]
    Refused { code: u16, message: String },
    #[error("the kube-apiserver answered {code}: {message}")]
    ServerError { code: u16, message: String },
    #[error("could not reach the kube-apiserver: {0}")]
    Connect(String),
    #[error("the tap stream broke: {0}")]
    Body(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl TapError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TapError::Linkerd(_) => ErrorKind::Linkerd,
            TapError::Forbidden { .. } => ErrorKind::Forbidden,
            TapError::VizMissing { .. } => ErrorKind::VizMissing,
            TapError::Unauthorized { .. } => ErrorKind::Unauthorized,
            TapError::Refused { .. } => ErrorKind::Refused,
            TapError::ServerError { .. } => ErrorKind::Throttled,
            TapError::Connect(_) => ErrorKind::Transport,
            TapError::Body(_) | TapError::Frame(_) => ErrorKind::Stream,
        }
    }

    /// Permanent errors are the user's to fix; retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.kind().is_permanent()
    }

    pub fn into_stream_error(self) -> StreamError {
        StreamError::new(self.kind(), self.to_string())
    }
}

impl Cluster {
    /// Builds a client from a kubeconfig file (or the usual `KUBECONFIG`/`~/.kube/config`).
    pub async fn connect(options: &KubeOptions) -> anyhow::Result<Self> {
        let kubeconfig = match &options.kubeconfig {
            Some(path) => Kubeconfig::read_from(path)
                .map_err(|e| anyhow::anyhow!("cannot read kubeconfig {}: {e}", path.display()))?,
            None => {
                Kubeconfig::read().map_err(|e| anyhow::anyhow!("cannot read kubeconfig: {e}"))?
            }
        };
        Self::from_kubeconfig(kubeconfig, options.context.clone()).await
    }

    pub async fn from_kubeconfig(
        kubeconfig: Kubeconfig,
        context: Option<String>,
    ) -> anyhow::Result<Self> {
        ensure_crypto_provider();
        let context_name = context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let options = KubeConfigOptions {
            context,
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| anyhow::anyhow!("invalid kubeconfig: {e}"))?;
        // A tap is a long-running stream, and 503 means "viz missing" here, not "retry".
        config.read_timeout = None;
        config.default_retry = false;
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config)
            .map_err(|e| anyhow::anyhow!("cannot build a kube client: {e}"))?;
        Ok(Self {
            client,
            context: context_name,
            default_namespace,
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
            .map_err(|e| TapError::Connect(e.to_string()))?;
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| TapError::Connect(e.to_string()))?;
        let status = response.status().as_u16();
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
            return Err(status_error(status, &text, spec));
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
            let frame = frame.map_err(|e| TapError::Body(e.to_string()))?;
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
                    Ok(ModelFrame::Event(event)) => batch.push(event),
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

/// Turns a non-200 answer into an error, reading Kubernetes `Status` or the tap server's
/// `{"error": ...}` JSON, whichever the body is.
fn status_error(code: u16, body: &[u8], spec: &TapSpec) -> TapError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let message = field("message")
        .or_else(|| field("error"))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    let message = if message.is_empty() {
        http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no message")
            .to_string()
    } else {
        message
    };
    match code {
        401 => TapError::Unauthorized { message },
        403 => {
            let target = &spec.target;
            let namespace_flag = if target.namespace.is_empty() {
                String::new()
            } else {
                format!(" -n {}", target.namespace)
            };
            TapError::Forbidden {
                message,
                resource: format!("{}s", target.kind),
                namespace_flag,
            }
        }
        404 | 503 => TapError::VizMissing { code, message },
        400..=499 => TapError::Refused { code, message },
        _ => TapError::ServerError { code, message },
    }
}

/// rustls needs exactly one process-wide crypto provider; kube and the demo server share ring.
pub fn ensure_crypto_provider() {
    // Installing twice fails harmlessly; the first one stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
