//! `meshtap proxy` and TLS, against the demo's simulated proxies (which, like a real proxy,
//! terminate TLS only for their own identity as the server name): the tap identity is served;
//! every other client, and every wrong argument, fails for good with the error kind that names
//! the cause (the kind picks the hint the UI and stderr show).
use crate::proxy_tap::fixture;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use fixture::{Fixture, collect, connect, fixture, parse};
use meshtap::demo::proxy_tap::TAP_IDENTITY;
use meshtap::demo::tls::{Ca, IssuedCert, provider};
use meshtap::session::{ErrorKind, StreamError, StreamState};
use rustls::pki_types::PrivateKeyDer;

/// The permanent failure `state` must be, of `kind`.
fn failed(state: Option<StreamState>, kind: ErrorKind) -> StreamError {
    match state {
        Some(StreamState::Failed(error)) if error.kind == kind => error,
        other => panic!("expected a permanent {kind:?} failure, got {other:?}"),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

impl Fixture {
    fn addr(&self) -> String {
        self.taps.find("front-end").unwrap().addr.to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tap_identity_is_served_over_mtls_for_the_pods_identity() {
    let fx = fixture(1_000.0).await;
    let identity = &fx.taps.find("front-end").unwrap().identity;
    assert_eq!(
        identity,
        "front-end.sock-shop.serviceaccount.identity.linkerd.cluster.local"
    );
    // `fx.spec` dials the IP and names the pod's identity, as in a cluster.
    let (events, failure) = collect(fx.spec(&[]), false, |e| !e.is_empty()).await;
    assert_eq!(failure, None);
    assert!(!events.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_address_needs_a_server_name_before_connecting() {
    let fx = fixture(10.0).await;
    let (addr, ca) = (fx.addr(), fx.files.ca.to_str().unwrap().to_owned());
    let spec = parse(&["meshtap", "proxy", &addr, "--ca", &ca]);
    let err = spec.channel().unwrap_err().to_string();
    assert!(err.contains("is an IP address"), "{err}");
    assert!(
        err.contains("--server-name <sa>.<ns>.serviceaccount.identity.<trust-domain>"),
        "{err}"
    );
    // Nothing was sent to the proxy.
    assert!(fx.taps.observed().is_empty());
    // A host name is sent as the server name: not the pod's identity, so the proxy answers in
    // plaintext, and says so instead of retrying forever.
    let port = addr.rsplit_once(':').unwrap().1;
    let by_name = format!("localhost:{port}");
    let spec = parse(&["meshtap", "proxy", &by_name, "--ca", &ca]);
    let error = failed(connect(spec).await, ErrorKind::TlsPlaintextAnswer);
    assert!(
        error.message.contains("sent server name localhost"),
        "{}",
        error.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_name_is_a_plaintext_answer_not_a_retry() {
    let fx = fixture(10.0).await;
    let other = fx.taps.find("catalogue").unwrap().identity.clone();
    let error = failed(
        connect(fx.spec(&["--server-name", &other])).await,
        ErrorKind::TlsPlaintextAnswer,
    );
    assert!(
        error
            .message
            .contains("answered the TLS handshake in plaintext"),
        "{}",
        error.message
    );
    assert!(error.message.contains(&other), "{}", error.message);
    let hint = error.kind.hint().unwrap();
    assert!(hint.contains("--server-name"), "{hint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_did_not_issue_the_proxys_certificate_is_an_unknown_issuer() {
    let fx = fixture(10.0).await;
    let dir = tempfile::tempdir().unwrap();
    let other = write(dir.path(), "other-ca.pem", Ca::generate().unwrap().pem());
    let error = failed(
        connect(fx.spec(&["--ca", &other])).await,
        ErrorKind::TlsUnknownIssuer,
    );
    assert!(error.message.contains(&other), "{}", error.message);
    assert!(error.kind.hint().unwrap().contains("--ca"));
}

/// A TLS server that presents `cert` whatever the server name, and does nothing else.
async fn tls_server(cert: IssuedCert) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert_der], PrivateKeyDer::Pkcs8(cert.key_der))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move { acceptor.accept(tcp).await });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_identity_is_a_name_mismatch() {
    let ca = Ca::generate().unwrap();
    let addr = tls_server(
        ca.identity_cert("catalogue.sock-shop.serviceaccount.identity.linkerd.cluster.local")
            .unwrap(),
    )
    .await
    .to_string();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", ca.pem());
    let name = "front-end.sock-shop.serviceaccount.identity.linkerd.cluster.local";
    let spec = parse(&[
        "meshtap",
        "proxy",
        &addr,
        "--ca",
        &ca,
        "--server-name",
        name,
    ]);
    let error = failed(connect(spec).await, ErrorKind::TlsNameMismatch);
    assert!(
        error.message.contains(&format!("does not name {name}")),
        "{}",
        error.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_are_refused_as_a_proxy_refuses_them() {
    let fx = fixture(100.0).await;
    let addr = fx.addr();
    let identity = fx.taps.find("front-end").unwrap().identity.clone();
    let ca = fx.files.ca.to_str().unwrap();

    // Plaintext: its own kind, whose hint says to drop --plaintext.
    let error = failed(
        connect(parse(&["meshtap", "proxy", &addr, "--plaintext"])).await,
        ErrorKind::PlaintextRefused,
    );
    assert!(
        error.message.contains("no_tls_from_remote"),
        "{}",
        error.message
    );
    assert!(error.kind.hint().unwrap().contains("drop --plaintext"));

    // TLS without a client certificate.
    let argv = [
        "meshtap",
        "proxy",
        &addr,
        "--ca",
        ca,
        "--server-name",
        &identity,
    ];
    let error = failed(connect(parse(&argv)).await, ErrorKind::ProxyRefusedIdentity);
    assert!(
        error.message.contains("Unauthorized client"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("without a client certificate"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("LINKERD2_PROXY_TAP_SVC_NAME"),
        "{}",
        error.message
    );
    assert!(error.message.contains(TAP_IDENTITY), "{}", error.message);

    // A certificate from the right CA for the wrong identity.
    let dir = tempfile::tempdir().unwrap();
    let wrong = fx
        .taps
        .client_cert("web.emojivoto.serviceaccount.identity.linkerd.cluster.local")
        .unwrap();
    let cert = write(dir.path(), "c.pem", &wrong.cert_pem);
    let key = write(dir.path(), "k.pem", &wrong.key_pem);
    let error = failed(
        connect(fx.spec(&["--cert", &cert, "--key", &key])).await,
        ErrorKind::ProxyRefusedIdentity,
    );
    assert!(
        error.message.contains("Unauthorized client"),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .contains("(web.emojivoto.serviceaccount.identity.linkerd.cluster.local)"),
        "{}",
        error.message
    );
}
