//! The direct proxy source: taps one linkerd2-proxy's `io.linkerd.proxy.tap.Tap/Observe` the way
//! Linkerd's tap server does for each pod. Requests are `linkerd2-proxy-api` messages; responses
//! go as raw bytes through the direct decoder ([`codec`]), the one path from wire to model.
//!
//! Sampling is the tap server's: each `Observe` asks for at most `limit` requests (`--max-rps`
//! over a 1-second window); the proxy ends the stream once that many were tapped and finished,
//! and the next `Observe` starts no earlier than the end of the window. Every window therefore
//! has a new `StreamId.base`.
//!
//! Transport: a proxy's tap port speaks HTTP/2 inside mTLS but its TLS offers no ALPN, so the
//! tonic endpoint is configured with `assume_http2(true)` (tonic's channel always speaks HTTP/2
//! prior knowledge; the flag only stops it from refusing a handshake without ALPN `h2`). The proxy
//! terminates TLS only when the server name (SNI) is its own identity, so TLS needs a name to send:
//! `--server-name`, or a host name in the address.

pub mod codec;
pub mod error;
pub mod identity;
pub mod request;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use futures::{FutureExt as _, StreamExt as _};
use linkerd2_proxy_api::tap::ObserveRequest;
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

pub use error::ProxyTapError;
pub use request::{ProxyMatch, window_limit};

use super::cluster::ensure_crypto_provider;
use super::wire::Interner;
use crate::session::{BATCH_MAX_EVENTS, SourceMsg, StreamState};

/// Linkerd's tap window: one `Observe` per window at most.
pub const WINDOW: Duration = Duration::from_secs(1);
/// Giving up on a TCP connect or TLS handshake after this long lets the backoff take over.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach the proxy's tap port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP/2: for tests and for port-forwards to a tap you terminate yourself. A real
    /// proxy answers it with `Unauthenticated: no_tls_from_remote`.
    Plaintext,
    Tls(TlsFiles),
}

/// PEM files for mutual TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The trust root that issued the proxy's certificate (the mesh's trust anchor).
    pub ca: PathBuf,
    /// The client certificate and key; `None` to connect without one (the proxy will refuse).
    pub client: Option<(PathBuf, PathBuf)>,
    /// The name the proxy's certificate must carry, sent as the SNI; default: the host of the
    /// address, which must then be a name (an IP address sends no SNI).
    pub server_name: Option<String>,
}

/// Everything one direct tap asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxySpec {
    /// `HOST:PORT` of the proxy's tap port (4190 on a pod).
    pub addr: String,
    pub transport: Transport,
    pub matches: ProxyMatch,
    /// Requests per second; 0 means Linkerd's default of 100.
    pub max_rps: f32,
    pub extract_headers: bool,
}

impl ProxySpec {
    /// The `ObserveRequest` re-issued every window.
    pub fn observe_request(&self) -> ObserveRequest {
        request::observe_request(
            &self.matches,
            window_limit(self.max_rps),
            self.extract_headers,
        )
    }

    /// `proxy 10.42.0.7:4190`, for the status bar and headless messages.
    pub fn display(&self) -> String {
        format!("proxy {}", self.addr)
    }

    /// What this tap shows a proxy, in words, for refusals.
    pub fn presented(&self) -> String {
        match &self.transport {
            Transport::Plaintext => "no TLS at all (--plaintext)".into(),
            Transport::Tls(TlsFiles { client: None, .. }) => {
                "TLS without a client certificate (no --cert/--key)".into()
            }
            Transport::Tls(TlsFiles {
                client: Some((cert, _)),
                ..
            }) => {
                let names = std::fs::read(cert)
                    .map(|pem| identity::pem_dns_names(&pem))
                    .unwrap_or_default();
                let names = if names.is_empty() {
                    "no DNS name".to_string()
                } else {
                    names.join(", ")
                };
                format!("the client certificate {} ({names})", cert.display())
            }
        }
    }

    pub fn is_plaintext(&self) -> bool {
        self.transport == Transport::Plaintext
    }

    /// The `--ca` file, for messages.
    pub fn ca(&self) -> Option<String> {
        match &self.transport {
            Transport::Plaintext => None,
            Transport::Tls(files) => Some(files.ca.display().to_string()),
        }
    }

    /// The server name sent in the TLS handshake (SNI): `--server-name`, else the host of the
    /// address unless it is an IP address (TLS sends no SNI for those).
    pub fn server_name(&self) -> Option<String> {
        let Transport::Tls(files) = &self.transport else {
            return None;
        };
        if let Some(name) = &files.server_name {
            return Some(name.clone());
        }
        let host = host(&self.addr);
        (host.parse::<IpAddr>().is_err()).then(|| host.to_string())
    }

    /// Reads the certificate files and builds the (lazily connecting) channel. Errors here are
    /// the user's arguments: unreadable or invalid files, a bad address, TLS without a server
    /// name to send.
    pub fn channel(&self) -> anyhow::Result<Channel> {
        use anyhow::Context as _;
        ensure_crypto_provider();
        if !self.is_plaintext() && self.server_name().is_none() {
            anyhow::bail!(
                "{} is an IP address, so TLS would send no server name and the proxy would answer \
                 in plaintext: it terminates TLS on its tap port only for its own identity.\n  \
                 pass the pod's identity with --server-name \
                 <sa>.<ns>.serviceaccount.identity.<trust-domain>",
                self.addr
            );
        }
        let scheme = match self.transport {
            Transport::Plaintext => "http",
            Transport::Tls(_) => "https",
        };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", self.addr))
            .with_context(|| format!("invalid proxy address {:?}: expected HOST:PORT", self.addr))?
            .connect_timeout(CONNECT_TIMEOUT);
        if let Transport::Tls(files) = &self.transport {
            let read = |path: &PathBuf| {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))
            };
            let mut tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(read(&files.ca)?))
                .assume_http2(true);
            if let Some((cert, key)) = &files.client {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            if let Some(name) = &files.server_name {
                tls = tls.domain_name(name.clone());
            }
            endpoint = endpoint.tls_config(tls).context("configuring TLS")?;
        }
        Ok(endpoint.connect_lazy())
    }
}

/// The host part of `HOST:PORT` (`[::1]:4190` → `::1`).
fn host(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Taps until the tap ends for good, one `Observe` per window, reconnecting with backoff after
/// transient failures when `reconnect`. Every state change is reported on `tx`.
pub async fn tap(
    spec: ProxySpec,
    channel: Channel,
    stream: usize,
    reconnect: bool,
    tx: mpsc::Sender<SourceMsg>,
) {
    let request = spec.observe_request();
    super::reconnect::supervise(stream, reconnect, &tx, || {
        let (spec, request, tx, channel) = (&spec, &request, &tx, &channel);
        async move {
            let mut interner = Interner::default();
            let mut connected = false;
            // One Observe per window until something fails; each window waits for the
            // previous stream to end, so this loop advances at most once a second.
            loop {
                let window_end = tokio::time::Instant::now() + WINDOW;
                let ctx = Window { spec, stream, tx };
                match ctx
                    .observe(channel, request, &mut interner, &mut connected)
                    .await
                {
                    Ok(true) => tokio::time::sleep_until(window_end).await,
                    // The receiver is gone: nobody is watching any more.
                    Ok(false) => return Ok(()),
                    Err(err) => return Err(err.into_stream_error()),
                }
            }
        }
    })
    .await;
}

/// One window's context.
struct Window<'a> {
    spec: &'a ProxySpec,
    stream: usize,
    tx: &'a mpsc::Sender<SourceMsg>,
}

impl Window<'_> {
    /// One `Observe`: forwards its events until the proxy ends the stream. `Ok(false)` when the
    /// receiver went away.
    async fn observe(
        &self,
        channel: &Channel,
        request: &ObserveRequest,
        interner: &mut Interner,
        connected: &mut bool,
    ) -> Result<bool, ProxyTapError> {
        let mut events = codec::observe(channel.clone(), request.clone())
            .await
            .map_err(|status| ProxyTapError::from_status(self.spec, &status))?;
        if !*connected {
            *connected = true;
            let state = SourceMsg::State {
                stream: self.stream,
                state: StreamState::Connected,
            };
            if self.tx.send(state).await.is_err() {
                return Ok(false);
            }
        }
        loop {
            // A quiet proxy may send nothing for a long time: stop as soon as nobody listens.
            let first = tokio::select! {
                item = events.next() => item,
                () = self.tx.closed() => return Ok(false),
            };
            let Some(first) = first else {
                return Ok(true);
            };
            let arrived = Utc::now();
            let mut batch = Vec::new();
            let mut next = Some(first);
            // Take whatever else has already arrived, so a busy proxy costs one send per batch.
            while let Some(item) = next.take() {
                let event = match item {
                    Ok(bytes) => codec::event(interner, &bytes, arrived).map_err(|source| {
                        ProxyTapError::Undecodable {
                            addr: self.spec.addr.clone(),
                            source,
                        }
                    }),
                    Err(status) => Err(ProxyTapError::from_status(self.spec, &status)),
                };
                let event = match event {
                    Ok(event) => event,
                    Err(err) => {
                        // Deliver what arrived before the error: nothing captured is lost.
                        if !batch.is_empty() {
                            let _ = self.tx.send(SourceMsg::Events(batch)).await;
                        }
                        return Err(err);
                    }
                };
                batch.push(event);
                if batch.len() >= BATCH_MAX_EVENTS {
                    break;
                }
                next = events.next().now_or_never().flatten();
            }
            if self.tx.send(SourceMsg::Events(batch)).await.is_err() {
                return Ok(false);
            }
        }
    }
}
