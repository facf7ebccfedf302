//! The refusal-counter poller's Prometheus path (`--prometheus URL`), against a stand-in that
//! answers `/api/v1/query` on loopback and records what it was asked: `increase` over at least a
//! minute for each deny family of the tapped namespace, the workloads it reads taken from the
//! authorization counters, and explain's words naming that window.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use meshtap::routestats::{DenialKind, DenialsOrigin};
use meshtap::session::SourceMsg;
use meshtap::source::denials_poll::{self, DenialsPoll};
use meshtap::source::proxy_metrics::prometheus::PrometheusAddr;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A bound for a hung test, not a performance expectation.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most connections the stand-in answers.
const MAX_QUERIES: usize = 64;

/// The answer to one query: payment refused web 5 times; payment and carts decided something.
fn answer(query: &str) -> String {
    let series = if query.contains("inbound_http_authz_deny_total") {
        r#"[{"metric":{"namespace":"shop","deployment":"payment","srv_kind":"server","srv_name":"payment-http","route_kind":"HTTPRoute","route_name":"refunds","client_id":"web.shop.serviceaccount.identity.cluster.local"},"value":[1700000000,"5"]}]"#
    } else if query.contains("inbound_http_authz_allow_total") {
        r#"[{"metric":{"namespace":"shop","deployment":"payment"},"value":[1700000000,"90"]},{"metric":{"namespace":"shop","deployment":"carts"},"value":[1700000000,"12"]}]"#
    } else {
        "[]"
    };
    format!(r#"{{"status":"success","data":{{"resultType":"vector","result":{series}}}}}"#)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf8")
}

/// Serves [`answer`] until `MAX_QUERIES`, recording each query.
async fn serve(listener: TcpListener, asked: Arc<Mutex<Vec<String>>>) {
    for _ in 0..MAX_QUERIES {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&head);
        let target = head.split(' ').nth(1).unwrap_or("");
        let query = decode(target.split("query=").nth(1).unwrap_or(""));
        let body = answer(&query);
        asked.lock().expect("lock").push(query);
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(reply.as_bytes()).await.expect("write");
    }
}

/// A poller of namespace `shop` through the Prometheus at `url`, every `interval`. Its kube
/// client points at a bound loopback port that never answers: on this path the Prometheus is
/// given, so the apiserver is never asked (held by the caller).
async fn poll(url: &str, interval: Duration) -> (DenialsPoll, TcpListener) {
    let apiserver = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = apiserver.local_addr().expect("addr");
    let config = kube::Config::new(format!("http://{addr}").parse().expect("uri"));
    let poll = DenialsPoll {
        client: kube::Client::try_from(config).expect("client"),
        cluster: None,
        namespaces: ["shop".to_owned()].into(),
        prometheus: Some(PrometheusAddr::parse_url(url).expect("url")),
        refusing: None,
        interval,
    };
    (poll, apiserver)
}

#[tokio::test]
async fn the_prometheus_path_asks_for_the_sessions_window_and_reads_who_decided() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(serve(listener, asked.clone()));
    let (tx, mut rx) = mpsc::channel(8);
    let (poll, _apiserver) = poll(&url, Duration::from_secs(60)).await;
    let poller = tokio::spawn(denials_poll::poll_until_closed(poll, tx.downgrade()));
    let msg = tokio::time::timeout(TEST_TIMEOUT, rx.recv())
        .await
        .expect("in time");
    poller.abort();
    server.abort();
    let Some(SourceMsg::Denials(reading)) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        reading.origin,
        DenialsOrigin::Prometheus {
            addr: url.clone(),
            seconds: 60
        }
    );
    assert_eq!(reading.denials.len(), 1, "{reading:#?}");
    let denial = &reading.denials[0];
    assert_eq!(denial.kind, DenialKind::Unauthorized);
    assert_eq!((denial.workload.as_str(), denial.count), ("payment", 5.0));
    let watched: Vec<&str> = reading
        .watched
        .iter()
        .map(|w| w.workload.as_str())
        .collect();
    assert_eq!(watched, ["carts", "payment"]);
    // Refusals younger than Prometheus's lag are not claimed to be in the counts.
    assert!(reading.until < chrono::Utc::now(), "{reading:#?}");
    assert_eq!(
        reading.span(&reading.watched[0]),
        format!("in the last 60 s ({url})")
    );
    let asked = asked.lock().expect("lock").clone();
    for family in [
        "inbound_http_authz_deny_total",
        "inbound_http_route_not_found_total",
        "inbound_http_authz_allow_total",
    ] {
        let query = asked
            .iter()
            .find(|q| q.contains(family))
            .unwrap_or_else(|| panic!("{family} not asked: {asked:#?}"));
        assert!(
            query.contains("namespace=\"shop\"") && query.contains("[60s]"),
            "{query}"
        );
    }
}

/// Answers every query with a 500 and counts them.
async fn fail_all(listener: TcpListener, asked: Arc<Mutex<Vec<String>>>) {
    for _ in 0..MAX_QUERIES {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await;
        asked.lock().expect("lock").push(String::new());
        let reply =
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        let _ = stream.write_all(reply.as_bytes()).await;
    }
}

#[tokio::test]
async fn a_failing_prometheus_is_said_once_not_every_round() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(fail_all(listener, asked.clone()));
    let (tx, mut rx) = mpsc::channel(64);
    let (poll, _apiserver) = poll(&url, Duration::from_millis(20)).await;
    let poller = tokio::spawn(denials_poll::poll_until_closed(poll, tx.downgrade()));
    // Several rounds, each asking (and failing) at least once.
    let deadline = tokio::time::Instant::now() + TEST_TIMEOUT;
    while asked.lock().expect("lock").len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poller stopped asking"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    poller.abort();
    server.abort();
    let mut notices = Vec::new();
    while let Ok(msg) = rx.try_recv() {
        match msg {
            SourceMsg::Notice(text) => notices.push(text),
            other => panic!("no reading from a failing Prometheus: {other:?}"),
        }
    }
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert!(notices[0].starts_with("denials: "), "{notices:?}");
}
