//! The tap's HTTP client: kube's base URI, credentials and headers over a connector that offers
//! HTTP/2, so keepalive PINGs tell a dead connection from a tap that is merely silent.

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use tower::{BoxError, ServiceBuilder};

/// How often an idle connection is probed, and how long a PING may go unanswered before the
/// connection counts as dead. A tap can be silent for minutes legitimately; an unanswered PING
/// is what proves the peer (or the path to it) gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    pub interval: Duration,
    pub timeout: Duration,
}

pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            interval: KEEPALIVE_INTERVAL,
            timeout: KEEPALIVE_TIMEOUT,
        }
    }
}

/// A client for taps. `None` when a proxy is configured: kube's own client tunnels through it
/// (HTTP/1.1, no PINGs; TCP keepalive still finds a vanished peer).
pub fn tap_client(
    config: &kube::Config,
    keepalive: Keepalive,
) -> Result<Option<kube::Client>, kube::Error> {
    if config.proxy_url.is_some() {
        return Ok(None);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    // Also probe at the TCP level: covers plain-http servers (`kubectl proxy`), which speak
    // HTTP/1.1 and so cannot be PINGed.
    http.set_keepalive(Some(keepalive.interval));
    let tls = config.rustls_client_config()?;
    let mut builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(kube::client::RustlsTlsError::InvalidServerName)
            .map_err(kube::Error::RustlsTls)?;
        builder =
            builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let connector = builder.enable_all_versions().wrap_connector(http);
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .http2_keep_alive_interval(keepalive.interval)
        .http2_keep_alive_timeout(keepalive.timeout)
        .http2_keep_alive_while_idle(true)
        .build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client);
    Ok(Some(kube::Client::new(
        service,
        config.default_namespace.clone(),
    )))
}
