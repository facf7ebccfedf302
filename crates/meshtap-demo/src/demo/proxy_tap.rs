//! The simulated pods' own tap ports: each meshed pod's proxy serves
//! `io.linkerd.proxy.tap.Tap/Observe` on its own `127.0.0.1` listener, as a real pod does on
//! `podIP:4190`, so `meshtap proxy` (or any gRPC client) can tap it directly.
//!
//! Like a real proxy, each listener accepts plaintext and TLS on the same port, offers no ALPN
//! (clients must assume HTTP/2), presents a certificate for the pod's workload identity issued by
//! a CA made at start-up, and serves the tap only to a client whose certificate carries the tap
//! identity ([`TAP_IDENTITY`]). Everyone else gets `Unauthenticated`: `no_tls_from_remote` for
//! plaintext, `Unauthorized client` otherwise. TLS is terminated only when the `ClientHello`'s
//! server name (SNI) is the pod's identity; with no SNI or another name the connection is served
//! as plaintext HTTP/2, so the client's TLS meets the server's SETTINGS frame, as with a real
//! proxy.

mod matcher;
pub mod observe;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use linkerd2_proxy_api::tap::tap_server::{Tap, TapServer};
use linkerd2_proxy_api::tap::{ObserveRequest, TapEvent};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::mesh::{Mesh, PodId};
use super::tapper::fresh_bases;
use super::tls::{Ca, IssuedCert, provider};
pub use crate::source::proxy::identity::DEFAULT_TAP_IDENTITY as TAP_IDENTITY;
use crate::source::proxy::identity::dns_names;

/// Observe requests remembered for inspection (tests, `--serve` diagnostics); older ones go.
const LOG_MAX: usize = 256;
/// TLS records start with this content type (handshake); anything else is plaintext HTTP/2.
const TLS_HANDSHAKE: u8 = 0x16;
/// How long a new connection may stay silent before it is dropped.
const FIRST_BYTE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Pause after a failed `accept`.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
/// A `ClientHello` longer than this is not read for its server name (honest ones are < 1 KiB).
const CLIENT_HELLO_MAX_BYTES: usize = 16 * 1024;
/// A `ClientHello` split over segments is peeked again this many times, this far apart.
const CLIENT_HELLO_PEEKS: usize = 50;
const CLIENT_HELLO_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// One simulated pod's tap port.
#[derive(Debug, Clone)]
pub struct SimProxy {
    pub pod: String,
    pub namespace: String,
    /// The pod's workload identity: what its certificate names (`--server-name`).
    pub identity: String,
    pub addr: SocketAddr,
}

/// State every simulated proxy shares.
#[derive(Debug)]
struct Shared {
    mesh: Arc<Mesh>,
    seed: u64,
    rate: f64,
    observes: AtomicU64,
    /// Each proxy's count of Observe calls: the `base` of its stream ids.
    bases: Arc<[AtomicU32]>,
    log: Mutex<Vec<(String, ObserveRequest)>>,
}

/// Every meshed pod's tap port, served until this is dropped.
#[derive(Debug)]
pub struct ProxyTaps {
    pub proxies: Vec<SimProxy>,
    ca: Ca,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// PEM files a `meshtap proxy` client needs (written by [`ProxyTaps::write_client_files`]).
#[derive(Debug, Clone)]
pub struct ClientFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl ProxyTaps {
    /// Starts one listener per meshed pod of the demo mesh, on `127.0.0.1:0`. `rate` is the
    /// simulated requests per second across the mesh, `seed` the simulation's seed.
    pub async fn spawn(seed: u64, rate: f64) -> anyhow::Result<Self> {
        let mesh = Arc::new(Mesh::demo());
        let ca = Ca::generate()?;
        let shared = Arc::new(Shared {
            bases: fresh_bases(&mesh),
            mesh: mesh.clone(),
            seed,
            rate,
            observes: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let verifier = {
            let mut roots = RootCertStore::empty();
            roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes())?)?;
            // Clients without a certificate still complete the handshake: the proxy answers
            // them with `Unauthenticated`, not a TLS alert.
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .allow_unauthenticated()
                .build()
                .context("building the client verifier")?
        };
        let mut proxies = Vec::new();
        let mut tasks = Vec::new();
        for pod in (0..mesh.pods.len()).filter(|&p| mesh.workload_of(p).meshed) {
            let workload = mesh.workload_of(pod);
            let identity = workload.identity();
            let leaf = ca.identity_cert(&identity)?;
            // No ALPN, as a proxy's tap port: clients must assume HTTP/2.
            let config = rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(verifier.clone())
                .with_single_cert(vec![leaf.cert_der], PrivateKeyDer::Pkcs8(leaf.key_der))
                .context("building a proxy TLS config")?;
            let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
            proxies.push(SimProxy {
                pod: mesh.pods[pod].name.clone(),
                namespace: workload.namespace.to_string(),
                identity: identity.clone(),
                addr: listener.local_addr()?,
            });
            let port = Port {
                acceptor: TlsAcceptor::from(Arc::new(config)),
                identity: Arc::from(identity),
                shared: shared.clone(),
                pod,
            };
            tasks.push(tokio::spawn(serve(listener, port)));
        }
        Ok(Self {
            proxies,
            ca,
            shared,
            tasks,
        })
    }

    /// The trust root of every simulated proxy's certificate.
    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    /// A client certificate from the demo CA naming `identity` (as a DNS SAN).
    pub fn client_cert(&self, identity: &str) -> anyhow::Result<IssuedCert> {
        self.ca.client_cert(identity)
    }

    /// The first proxy whose pod name starts with `prefix` (`front-end` finds a front-end pod).
    pub fn find(&self, prefix: &str) -> Option<&SimProxy> {
        self.proxies.iter().find(|p| p.pod.starts_with(prefix))
    }

    /// Every Observe request received so far (the most recent [`LOG_MAX`]), with its pod.
    pub fn observed(&self) -> Vec<(String, ObserveRequest)> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Writes the CA and a tap-identity client certificate and key into `dir`.
    pub fn write_client_files(&self, dir: &Path) -> anyhow::Result<ClientFiles> {
        crate::files::create_dirs(dir).with_context(|| format!("creating {}", dir.display()))?;
        let cert = self.client_cert(TAP_IDENTITY)?;
        let files = ClientFiles {
            ca: dir.join("proxy-ca.pem"),
            cert: dir.join("tap-client.pem"),
            key: dir.join("tap-client-key.pem"),
        };
        let write =
            |path: &Path, text: &str| crate::files::write_file(path, text.as_bytes(), false);
        write(&files.ca, self.ca.pem())?;
        write(&files.cert, &cert.cert_pem)?;
        write(&files.key, &cert.key_pem)?;
        Ok(files)
    }
}

impl Drop for ProxyTaps {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What one pod's tap port serves with.
#[derive(Clone)]
struct Port {
    acceptor: TlsAcceptor,
    /// The pod's identity: the only server name TLS is terminated for.
    identity: Arc<str>,
    shared: Arc<Shared>,
    pod: PodId,
}

/// Accepts connections until the task is aborted; its connections are aborted with it.
async fn serve(listener: TcpListener, port: Port) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set does not grow with every client.
        while connections.try_join_next().is_some() {}
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of file descriptors or similar: pause instead of spinning on the error.
            tokio::time::sleep(ACCEPT_PAUSE).await;
            continue;
        };
        connections.spawn(connection(tcp, port.clone()));
    }
}

/// Serves one connection: TLS when it opens with a `ClientHello` for the pod's identity, else
/// plaintext; then HTTP/2 only.
async fn connection(tcp: TcpStream, port: Port) {
    let Port {
        acceptor,
        identity,
        shared,
        pod,
    } = port;
    let mut first = [0u8; 1];
    // A client that connects and never speaks is dropped rather than held forever.
    let Ok(peeked) = tokio::time::timeout(FIRST_BYTE_WAIT, tcp.peek(&mut first)).await else {
        return;
    };
    let is_tls = matches!(peeked, Ok(1) if first[0] == TLS_HANDSHAKE);
    let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    if is_tls && peek_server_name(&tcp).await.as_deref() == Some(&*identity) {
        let Ok(tls) = acceptor.accept(tcp).await else {
            return;
        };
        let names = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|leaf| dns_names(leaf))
            .unwrap_or_default();
        let authorized = if names.iter().any(|n| n == TAP_IDENTITY) {
            Ok(())
        } else {
            Err("Unauthorized client")
        };
        let svc = TapServer::new(PodTap {
            shared,
            pod,
            authorized,
        });
        let _ = http2
            .serve_connection(TokioIo::new(tls), TowerToHyperService::new(svc))
            .await;
    } else {
        let svc = TapServer::new(PodTap {
            shared,
            pod,
            authorized: Err("no_tls_from_remote"),
        });
        let _ = http2
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(svc))
            .await;
    }
}

/// The server name of the `ClientHello` waiting on `tcp`, read without consuming it; `None` when it
/// names none or cannot be read whole.
async fn peek_server_name(tcp: &TcpStream) -> Option<String> {
    let mut buf = vec![0u8; CLIENT_HELLO_MAX_BYTES];
    for _ in 0..CLIENT_HELLO_PEEKS {
        let n = tcp.peek(&mut buf).await.ok()?;
        let mut acceptor = rustls::server::Acceptor::default();
        let mut hello = buf.get(..n)?;
        while !hello.is_empty() {
            if acceptor.read_tls(&mut hello).ok()? == 0 {
                break;
            }
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => return accepted.client_hello().server_name().map(str::to_owned),
            // Not all of it has arrived yet.
            Ok(None) if n < buf.len() => tokio::time::sleep(CLIENT_HELLO_PAUSE).await,
            _ => return None,
        }
    }
    None
}

/// One connection's view of a pod's tap service.
struct PodTap {
    shared: Arc<Shared>,
    pod: PodId,
    /// The refusal message for an unauthorized peer.
    authorized: Result<(), &'static str>,
}

#[tonic::async_trait]
impl Tap for PodTap {
    type ObserveStream = ReceiverStream<Result<TapEvent, tonic::Status>>;

    async fn observe(
        &self,
        request: tonic::Request<ObserveRequest>,
    ) -> Result<tonic::Response<Self::ObserveStream>, tonic::Status> {
        self.authorized.map_err(tonic::Status::unauthenticated)?;
        let request = request.into_inner();
        let shared = &self.shared;
        if let Ok(mut log) = shared.log.lock() {
            if log.len() >= LOG_MAX {
                log.remove(0);
            }
            log.push((shared.mesh.pods[self.pod].name.clone(), request.clone()));
        }
        if request.limit == 0 {
            return Err(tonic::Status::invalid_argument("limit must be positive"));
        }
        matcher::validate(request.r#match.as_ref()).map_err(tonic::Status::invalid_argument)?;
        let headers = request.extract.is_some_and(wants_headers);
        let ordinal = shared.observes.fetch_add(1, Ordering::Relaxed);
        let observe = observe::Observe {
            pod: self.pod,
            limit: request.limit,
            r#match: request.r#match,
            headers,
            seed: shared.seed ^ ordinal.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            rate: shared.rate,
        };
        let (tx, rx) = mpsc::channel(observe::EVENT_BUFFER);
        tokio::spawn(observe::run(
            observe,
            shared.mesh.clone(),
            shared.bases.clone(),
            tx,
        ));
        Ok(tonic::Response::new(ReceiverStream::new(rx)))
    }
}

fn wants_headers(extract: linkerd2_proxy_api::tap::observe_request::Extract) -> bool {
    use linkerd2_proxy_api::tap::observe_request::extract;
    matches!(
        extract.extract,
        Some(extract::Extract::Http(extract::Http {
            extract: Some(extract::http::Extract::Headers(_))
        }))
    )
}
