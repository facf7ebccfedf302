//! A collector that never answers: the tee still passes every message on (the tap is never
//! held up), and every span is accounted for as dropped or failed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::sync::mpsc;
use tonic::transport::server::TcpIncoming;

use super::{OTLP_QUEUE_SPANS, OtlpPlan};
use crate::model::event::{
    Direction, Endpoint, HttpEvent, Labels, RequestInit, ResponseEnd, StreamId, TapEvent,
};
use crate::session::SourceMsg;

/// Answers no export, ever.
struct Hangs;

#[tonic::async_trait]
impl TraceService for Hangs {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        std::future::pending().await
    }
}

fn event(http: HttpEvent) -> TapEvent {
    let endpoint = |addr: &str| Endpoint {
        addr: Some(addr.parse().expect("addr")),
        labels: [("namespace", "shop"), ("deployment", "web")]
            .into_iter()
            .collect::<Labels>(),
    };
    TapEvent {
        cluster: None,
        arrived: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time"),
        source: endpoint("10.0.0.1:4000"),
        destination: endpoint("10.0.0.2:80"),
        direction: Direction::Outbound,
        route: Labels::default(),
        http: Some(http),
    }
}

/// The events of `n` whole requests (init then end), in batches of 100.
fn batches(n: u64) -> Vec<Vec<TapEvent>> {
    let requests: Vec<TapEvent> = (0..n)
        .flat_map(|stream| {
            let id = StreamId { base: 1, stream };
            let init = RequestInit {
                id,
                method: Some("GET".into()),
                scheme: None,
                authority: "web:80".into(),
                path: "/".into(),
                headers: crate::model::event::Headers::default(),
                matched_route: None,
            };
            let end = ResponseEnd {
                id,
                since_request_init: Some(Duration::from_millis(1)),
                since_response_init: None,
                response_bytes: 0,
                eos: None,
                trailers: crate::model::event::Headers::default(),
            };
            [
                event(HttpEvent::RequestInit(init)),
                event(HttpEvent::ResponseEnd(end)),
            ]
        })
        .collect();
    requests.chunks(100).map(<[TapEvent]>::to_vec).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_hangs_never_holds_the_tap_up() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .serve_with_incoming(TraceServiceServer::new(Hangs), TcpIncoming::from(listener)),
    );
    let exporter = OtlpPlan::parse(&format!("http://127.0.0.1:{port}"), None)
        .expect("url")
        .export_timeout(Duration::from_millis(200))
        .connect()
        .await
        .expect("connect");
    let requests = OTLP_QUEUE_SPANS as u64 + 2_000;
    let batches = batches(requests);
    let sent_batches = batches.len();
    let (tx, rx) = mpsc::channel(4);
    let (mut out, task) = exporter.tee(rx);
    let feeder = tokio::spawn(async move {
        for batch in batches {
            tx.send(SourceMsg::Events(batch)).await.expect("send");
        }
    });
    // Every batch comes out the other side while the collector hangs; a blocked tee would stop
    // this loop (bounded by the batches sent, guarded against a hang).
    let mut passed = 0;
    while passed < sent_batches {
        let msg = tokio::time::timeout(Duration::from_secs(60), out.recv())
            .await
            .expect("the tee passed the stream on")
            .expect("open");
        assert!(matches!(msg, SourceMsg::Events(_)));
        passed += 1;
    }
    feeder.await.expect("feeder");
    drop(out);
    let report = task.await.expect("report");
    server.abort();
    assert_eq!(report.sent, 0, "{report}");
    // Whether the queue overflowed depends on how fast this machine fed it against the 200 ms
    // export timeouts (on a loaded machine the sender can keep up); either way every span is
    // dropped, failed, or left when the final flush ran out: never lost, never waited for.
    assert!(report.failed > 0, "{report}");
    assert_eq!(
        report.dropped + report.failed + report.unsent,
        requests,
        "every span counted: {report}"
    );
    assert!(report.to_string().contains("timed out"), "{report}");
}

/// Item 7 (F2): the end of the stream gives a collector that never answers one bounded final
/// flush, not an export timeout per batch: the tee ends (guarded: 60 s against an export
/// timeout of 10 minutes) and counts what the collector never took as not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_the_stream_gets_one_bounded_final_flush() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .serve_with_incoming(TraceServiceServer::new(Hangs), TcpIncoming::from(listener)),
    );
    let exporter = OtlpPlan::parse(&format!("http://127.0.0.1:{port}"), None)
        .expect("url")
        .export_timeout(Duration::from_secs(600))
        .connect()
        .await
        .expect("connect");
    let (tx, rx) = mpsc::channel(4);
    let (mut out, task) = exporter.tee(rx);
    for batch in batches(10) {
        tx.send(SourceMsg::Events(batch)).await.expect("send");
        out.recv().await.expect("passed on");
    }
    drop(tx);
    assert!(out.recv().await.is_none(), "the stream ended");
    let report = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the end did not wait for the collector")
        .expect("report");
    server.abort();
    assert_eq!(
        (report.sent, report.failed, report.unsent),
        (0, 0, 10),
        "{report}"
    );
    assert!(report.to_string().contains("10 not sent"), "{report}");
}
