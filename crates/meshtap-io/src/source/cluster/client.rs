//! The tap's HTTP client: kube's base URI, credentials and headers over a connector that offers
//! HTTP/2, so keepalive PINGs tell a dead connection from a tap that is merely silent.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use kube::client::middleware::AuthLayer;
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

/// How the taps' client connects: keepalive, the bound on connecting (name lookup included),
/// and who resolves the server's name. Tests replace the last two.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    pub keepalive: Keepalive,
    /// `None`: the kubeconfig's (kube's default, 30 s).
    pub connect_timeout: Option<Duration>,
    pub resolver: Resolver,
}

type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

/// Turns the server's host name into addresses: the system's resolver unless a test gives
/// another. Its failures come back typed ([`ResolveError`]), so they are told apart from
/// connection failures without asking the resolver a second time.
#[derive(Clone, Default)]
pub struct Resolver(Option<Arc<LookupFn>>);

type LookupFn = dyn Fn(&str) -> Lookup + Send + Sync;

impl Resolver {
    pub fn new(lookup: impl Fn(&str) -> Lookup + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(lookup)))
    }

    fn lookup(&self, host: &str) -> Lookup {
        if let Some(lookup) = &self.0 {
            return lookup(host);
        }
        let host = host.to_owned();
        Box::pin(async move {
            // The port is the connector's to set.
            Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect())
        })
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Resolver(custom)"
        } else {
            "Resolver(system)"
        })
    }
}

/// The server's name did not resolve.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct ResolveError {
    #[source]
    pub source: std::io::Error,
}

impl tower::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ResolveError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ResolveError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.lookup(name.as_str());
        Box::pin(async move {
            lookup
                .await
                .map(Vec::into_iter)
                .map_err(|source| ResolveError { source })
        })
    }
}

/// A connector whose whole connect — name lookup and TCP — is bounded: hyper's own connect
/// timeout starts only after the lookup, so a resolver that never answers would hang the tap.
#[derive(Clone)]
struct Bounded<C> {
    inner: C,
    timeout: Option<Duration>,
}

impl<C> tower::Service<http::Uri> for Bounded<C>
where
    C: tower::Service<http::Uri> + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            let Some(limit) = timeout else {
                return connecting.await.map_err(Into::into);
            };
            match tokio::time::timeout(limit, connecting).await {
                Ok(done) => done.map_err(Into::into),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {limit:?}"),
                )) as BoxError),
            }
        })
    }
}

/// Requests queued in front of kube's client, as kube's own `Client::new` does.
const KUBE_CLIENT_BUFFER_REQUESTS: usize = 1024;

/// The user's credentials, resolved once for both clients: a credential plugin runs here, once,
/// and its token (refreshed when it expires) is shared by the taps' client and kube's.
pub struct Credentials {
    /// The configuration without the credentials the layer now carries (client certificates
    /// stay: they belong to TLS).
    pub config: kube::Config,
    pub auth: Option<AuthLayer>,
}

impl Credentials {
    pub fn resolve(config: kube::Config) -> Result<Self, kube::Error> {
        let auth = config.auth_layer()?;
        // A plugin that answered with a client certificate rather than a token leaves no layer:
        // its certificate is read when TLS is set up, so that configuration is kept whole.
        if config.auth_info.exec.is_some() && auth.is_none() {
            return Ok(Self { config, auth });
        }
        let mut config = config;
        let user = &mut config.auth_info;
        user.exec = None;
        user.token = None;
        user.token_file = None;
        user.username = None;
        user.password = None;
        user.auth_provider = None;
        Ok(Self { config, auth })
    }

    /// kube's own client (HTTP/1.1, proxies as kube supports them) with the shared credentials.
    pub fn kube_client(&self) -> Result<kube::Client, kube::Error> {
        let builder = kube::client::ClientBuilder::try_from(self.config.clone())?;
        Ok(match &self.auth {
            // The credentials' filter clones the service under it: kube's stack is boxed, so a
            // buffer (what kube puts in front of every client anyway) makes it cloneable.
            Some(auth) => builder
                .with_layer(&tower::buffer::BufferLayer::new(
                    KUBE_CLIENT_BUFFER_REQUESTS,
                ))
                .with_layer(auth)
                .build(),
            None => builder.build(),
        })
    }
}

/// A client for taps. `None` when a proxy is configured: kube's own client tunnels through it
/// (HTTP/1.1, no PINGs; TCP keepalive still finds a vanished peer).
pub fn tap_client(
    credentials: &Credentials,
    options: &ClientOptions,
) -> Result<Option<kube::Client>, kube::Error> {
    let config = &credentials.config;
    if config.proxy_url.is_some() {
        return Ok(None);
    }
    let keepalive = options.keepalive;
    let mut http = HttpConnector::new_with_resolver(options.resolver.clone());
    http.enforce_http(false);
    let connect_timeout = options.connect_timeout.or(config.connect_timeout);
    http.set_connect_timeout(connect_timeout);
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
    let connector = builder.enable_all_versions().wrap_connector(Bounded {
        inner: http,
        timeout: connect_timeout,
    });
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .http2_keep_alive_interval(keepalive.interval)
        .http2_keep_alive_timeout(keepalive.timeout)
        .http2_keep_alive_while_idle(true)
        .build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(credentials.auth.as_ref())
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client);
    Ok(Some(kube::Client::new(
        service,
        config.default_namespace.clone(),
    )))
}
