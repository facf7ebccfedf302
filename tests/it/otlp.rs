//! `--otlp-endpoint` against an in-test OTLP/gRPC receiver (tonic, on 127.0.0.1:0): the demo's
//! finished requests arrive as spans, the count meshtap reports is the count received, and a
//! collector that is not there is refused at once with a clear message.

use crate::support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use support::process::{interrupted_after, meshtap};
use tonic::transport::server::TcpIncoming;

#[derive(Default)]
struct Receiver {
    spans: Arc<AtomicU64>,
    /// Spans with a CLIENT or SERVER kind and a service.name on their resource.
    well_formed: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource_spans in request.into_inner().resource_spans {
            let named = resource_spans
                .resource
                .is_some_and(|r| r.attributes.iter().any(|kv| kv.key == "service.name"));
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    self.spans.fetch_add(1, Ordering::Relaxed);
                    let ok = named
                        && (span.kind == 2 || span.kind == 3)
                        && span.trace_id.len() == 16
                        && span.span_id.len() == 8
                        && span.end_time_unix_nano >= span.start_time_unix_nano;
                    if ok {
                        self.well_formed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The number in meshtap's closing line `otlp: N spans sent to …`.
fn reported_sent(stderr: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.contains("otlp: "))?;
    let after = line.split("otlp: ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_spans_reach_an_otlp_receiver() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let receiver = Receiver::default();
    let (spans, well_formed) = (receiver.spans.clone(), receiver.well_formed.clone());
    let server = tokio::spawn(tonic::transport::Server::builder().serve_with_incoming(
        TraceServiceServer::new(receiver),
        TcpIncoming::from(listener),
    ));
    let url = format!("http://127.0.0.1:{port}");
    let (status, stderr) = tokio::task::spawn_blocking(move || {
        let mut demo = meshtap();
        demo.args(["demo", "--seed", "5", "--rate", "300", "-o", "ndjson"])
            .args(["--otlp-endpoint", &url])
            .stdout(Stdio::null());
        interrupted_after(demo, Duration::from_secs(4))
    })
    .await
    .expect("run");
    server.abort();
    assert!(status.success(), "{status:?}: {stderr}");
    let received = spans.load(Ordering::Relaxed);
    assert!(received > 50, "only {received} spans arrived: {stderr}");
    assert_eq!(well_formed.load(Ordering::Relaxed), received);
    assert_eq!(reported_sent(&stderr), Some(received), "{stderr}");
    assert!(stderr.contains("0 dropped"), "{stderr}");
}

#[test]
fn a_collector_that_is_not_there_is_refused_at_once() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let output = meshtap()
        .args(["demo", "-o", "ndjson", "--otlp-endpoint"])
        .arg(format!("http://127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot connect to the OTLP collector") && stderr.contains("refused"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_endpoint_is_refused_before_anything_starts() {
    let output = meshtap()
        .args(["demo", "-o", "ndjson", "--otlp-endpoint", "collector:4317"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("http://localhost:4317"), "{stderr}");
}

/// An `https://` collector: reached over TLS and verified — against `--otlp-ca` (a test CA made
/// with rcgen, the demo's) for a private collector; without it the unknown CA is refused at
/// once. `--otlp-ca` with a plain `http://` endpoint is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_collector_is_reached_over_verified_tls() {
    let ca = meshtap::demo::tls::Ca::generate().expect("ca");
    let server_cert = ca.server_cert().expect("server cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("ca file");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let receiver = Receiver::default();
    let spans = receiver.spans.clone();
    let identity =
        tonic::transport::Identity::from_pem(&server_cert.cert_pem, &server_cert.key_pem);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .expect("server tls")
            .serve_with_incoming(
                TraceServiceServer::new(receiver),
                TcpIncoming::from(listener),
            ),
    );
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/map_hostile_names.ndjson");
    let run = move |args: Vec<String>| {
        let fixture = fixture.clone();
        tokio::task::spawn_blocking(move || {
            meshtap()
                .arg("replay")
                .arg(&fixture)
                .args(["-o", "ndjson"])
                .args(&args)
                .stdout(Stdio::null())
                .output()
                .expect("meshtap")
        })
    };
    let https = format!("https://127.0.0.1:{port}");
    let ca_arg = ca_file.to_str().expect("utf-8").to_owned();
    let out = run(vec![
        "--otlp-endpoint".into(),
        https.clone(),
        "--otlp-ca".into(),
        ca_arg.clone(),
    ])
    .await
    .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let received = spans.load(Ordering::Relaxed);
    assert!(received > 0, "{stderr}");
    assert_eq!(reported_sent(&stderr), Some(received), "{stderr}");
    // The system's roots do not know the test CA: refused before anything is read.
    let out = run(vec!["--otlp-endpoint".into(), https])
        .await
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot connect to the OTLP collector"),
        "{stderr}"
    );
    assert!(
        stderr.to_ascii_lowercase().contains("certificate"),
        "{stderr}"
    );
    let http = format!("http://127.0.0.1:{port}");
    let out = run(vec![
        "--otlp-endpoint".into(),
        http,
        "--otlp-ca".into(),
        ca_arg,
    ])
    .await
    .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("applies to an https:// collector"),
        "{stderr}"
    );
    server.abort();
    assert_eq!(
        spans.load(Ordering::Relaxed),
        received,
        "nothing more arrived"
    );
}
