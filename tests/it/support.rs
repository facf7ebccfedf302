//! Shared test helpers: the real loopback server with a scripted tap API, and golden events.
#![allow(
    clippy::unnecessary_wraps,
    clippy::too_many_lines,
    reason = "test fixtures spell events out in full"
)]

pub mod process;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use meshtap::demo::server::{self, RunningServer, ServerOptions};
use meshtap::proto::{tap, viz};
use meshtap::source::cluster::Cluster;
use meshtap::source::wire::tcp_address;
use tokio::sync::mpsc;

// The scripted tap API and the test timeout live in the testkit, shared with every test binary
// and bench.
pub use meshtap_testkit::{Script, Scripted, TEST_TIMEOUT};

/// Starts the real server with a scripted API and connects a cluster client through a
/// kubeconfig, exactly as meshtap does for a real cluster.
pub async fn cluster(script: Vec<Script>, tls: bool) -> (RunningServer, Cluster, Arc<Scripted>) {
    let api = Scripted::new(script);
    let options = ServerOptions {
        tls,
        ..ServerOptions::default()
    };
    let server = server::spawn(options, api.clone()).await.expect("server");
    let kubeconfig =
        meshtap::demo::kubeconfig::for_server(&server, Some("emojivoto")).expect("kubeconfig");
    let cluster = Cluster::from_kubeconfig(kubeconfig, None)
        .await
        .expect("cluster");
    (server, cluster, api)
}

fn labels(pairs: &[(&str, &str)]) -> Option<tap::EndpointMeta> {
    Some(tap::EndpointMeta {
        labels: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

fn id(base: u32, stream: u64) -> Option<tap::tap_event::http::StreamId> {
    Some(tap::tap_event::http::StreamId { base, stream })
}

fn http(event: tap::tap_event::http::Event) -> Option<tap::tap_event::Event> {
    Some(tap::tap_event::Event::Http(tap::tap_event::Http {
        event: Some(event),
    }))
}

fn header_str(name: &str, value: &str) -> viz::headers::Header {
    viz::headers::Header {
        name: name.into(),
        value: Some(viz::headers::header::Value::ValueStr(value.into())),
    }
}

fn header_bin(name: &str, value: &[u8]) -> viz::headers::Header {
    viz::headers::Header {
        name: name.into(),
        value: Some(viz::headers::header::Value::ValueBin(value.to_vec())),
    }
}

fn secs(seconds: i64, nanos: i32) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos })
}

/// The events behind Linkerd's own golden tap output (PROTOCOL.md §4).
pub fn golden_events() -> Vec<tap::TapEvent> {
    use tap::tap_event::ProxyDirection::Outbound;
    use tap::tap_event::http::{Event, RequestInit, ResponseEnd, ResponseInit};
    let out = Outbound as i32;
    let a = tcp_address("0.0.0.1:0".parse().expect("addr"));
    let b = tcp_address("[ff01::1]:0".parse().expect("addr"));
    let c = tcp_address("1.2.3.4:5555".parse().expect("addr"));
    let d = tcp_address("2.3.4.5:6666".parse().expect("addr"));
    let method = |m: viz::http_method::Registered| viz::HttpMethod {
        r#type: Some(viz::http_method::Type::Registered(m as i32)),
    };
    vec![
        tap::TapEvent {
            source: Some(a),
            destination: Some(b),
            destination_meta: labels(&[("pod", "my-pod"), ("tls", "true")]),
            proxy_direction: out,
            event: http(Event::RequestInit(RequestInit {
                id: id(1, 0),
                method: Some(method(viz::http_method::Registered::Get)),
                scheme: Some(viz::Scheme {
                    r#type: Some(viz::scheme::Type::Registered(
                        viz::scheme::Registered::Https as i32,
                    )),
                }),
                authority: "localhost".into(),
                path: "/some/path".into(),
                headers: Some(viz::Headers {
                    headers: vec![
                        header_str("header-name-1", "header-value-str-1"),
                        header_bin("header-name-2", b"header-value-bin-2"),
                    ],
                }),
            })),
            ..Default::default()
        },
        tap::TapEvent {
            source: Some(a),
            destination: Some(b),
            proxy_direction: out,
            event: http(Event::ResponseEnd(ResponseEnd {
                id: id(1, 0),
                since_request_init: secs(10, 0),
                since_response_init: secs(100, 0),
                response_bytes: 1337,
                eos: Some(viz::Eos {
                    end: Some(viz::eos::End::GrpcStatusCode(666)),
                }),
                trailers: Some(viz::Headers {
                    headers: vec![header_bin("trailer-name", b"header-value-bin")],
                }),
            })),
            ..Default::default()
        },
        tap::TapEvent {
            source: Some(c),
            destination: Some(d),
            proxy_direction: out,
            event: http(Event::RequestInit(RequestInit {
                id: id(7, 8),
                method: Some(method(viz::http_method::Registered::Post)),
                scheme: None,
                authority: "hello.default:7777".into(),
                path: "/hello.v1.HelloService/Hello".into(),
                headers: None,
            })),
            ..Default::default()
        },
        tap::TapEvent {
            source: Some(c),
            destination: Some(d),
            proxy_direction: out,
            event: http(Event::ResponseInit(ResponseInit {
                id: id(7, 8),
                since_request_init: secs(0, 999_000),
                http_status: 200,
                headers: None,
            })),
            ..Default::default()
        },
        tap::TapEvent {
            source: Some(c),
            destination: Some(d),
            proxy_direction: out,
            event: http(Event::ResponseEnd(ResponseEnd {
                id: id(7, 8),
                since_request_init: secs(0, 1_000_000),
                since_response_init: secs(0, 888_000),
                response_bytes: 111,
                eos: Some(viz::Eos {
                    end: Some(viz::eos::End::ResetErrorCode(123)),
                }),
                trailers: None,
            })),
            ..Default::default()
        },
        tap::TapEvent {
            source: Some(c),
            destination: Some(d),
            proxy_direction: out,
            event: Some(tap::tap_event::Event::Http(tap::tap_event::Http {
                event: None,
            })),
            ..Default::default()
        },
    ]
}

/// Linkerd's golden text lines for `golden_events()`.
pub const GOLDEN_TEXT: &str = "\
req id=1:0 proxy=out src=0.0.0.1:0 dst=[ff01::1]:0 tls=true :method=GET :authority=localhost :path=/some/path
end id=1:0 proxy=out src=0.0.0.1:0 dst=[ff01::1]:0 tls= grpc-status=Code(666) duration=100000000µs response-length=1337B
req id=7:8 proxy=out src=1.2.3.4:5555 dst=2.3.4.5:6666 tls= :method=POST :authority=hello.default:7777 :path=/hello.v1.HelloService/Hello
rsp id=7:8 proxy=out src=1.2.3.4:5555 dst=2.3.4.5:6666 tls= :status=200 latency=999µs
end id=7:8 proxy=out src=1.2.3.4:5555 dst=2.3.4.5:6666 tls= reset-error=123 duration=888µs response-length=111B
unknown proxy=out src=1.2.3.4:5555 dst=2.3.4.5:6666 tls=
";

/// Frames every event into one chunk.
pub fn framed(events: &[tap::TapEvent]) -> Bytes {
    let mut out = Vec::new();
    for event in events {
        out.extend_from_slice(&meshtap::source::frames::encode(event));
    }
    Bytes::from(out)
}

/// Linkerd's golden `-o json` output for the first two of `golden_events()`.
pub const GOLDEN_JSON_HEAD: &str = r#"{
  "source": {
    "ip": "0.0.0.1",
    "port": 0,
    "metadata": null
  },
  "destination": {
    "ip": "ff01::1",
    "port": 0,
    "metadata": {
      "pod": "my-pod",
      "tls": "true"
    }
  },
  "routeMeta": null,
  "proxyDirection": "OUTBOUND",
  "requestInitEvent": {
    "id": {
      "base": 1,
      "stream": 0
    },
    "method": "GET",
    "scheme": "HTTPS",
    "authority": "localhost",
    "path": "/some/path",
    "headers": [
      {
        "name": "header-name-1",
        "valueStr": "header-value-str-1"
      },
      {
        "name": "header-name-2",
        "valueBin": "aGVhZGVyLXZhbHVlLWJpbi0y"
      }
    ]
  }
}
{
  "source": {
    "ip": "0.0.0.1",
    "port": 0,
    "metadata": null
  },
  "destination": {
    "ip": "ff01::1",
    "port": 0,
    "metadata": null
  },
  "routeMeta": null,
  "proxyDirection": "OUTBOUND",
  "responseEndEvent": {
    "id": {
      "base": 1,
      "stream": 0
    },
    "sinceRequestInit": {
      "seconds": 10
    },
    "sinceResponseInit": {
      "seconds": 100
    },
    "responseBytes": 1337,
    "trailers": [
      {
        "name": "trailer-name",
        "valueBin": "aGVhZGVyLXZhbHVlLWJpbg=="
      }
    ],
    "grpcStatusCode": 666
  }
}
"#;

/// The first object of `GOLDEN_JSON_HEAD`: the request.
pub fn golden_json_request() -> &'static str {
    let end = GOLDEN_JSON_HEAD
        .find("\n}\n")
        .map_or(GOLDEN_JSON_HEAD.len(), |i| i + 3);
    &GOLDEN_JSON_HEAD[..end]
}

/// Output a test reads back after a writer thread is done with it.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf8")
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the headless sink on `rx` to the end, on the wall clock; returns stdout, stderr and
/// the outcome.
pub async fn headless_output(
    rx: mpsc::Receiver<meshtap::session::SourceMsg>,
    output: meshtap::pipeline::headless::Output,
    names: &[String],
) -> (String, String, meshtap::pipeline::headless::Outcome) {
    let out = SharedBuf::default();
    let writer =
        meshtap::pipeline::writer::WriterThread::spawn("test", out.clone()).expect("writer");
    let mut err = Vec::new();
    let mut store = meshtap::model::store::Store::default();
    let format = meshtap::pipeline::headless::Format {
        output,
        streams: names,
        redactor: &meshtap::session::Redactor::default(),
        clock: meshtap::session::Clock::default(),
        triggers: None,
        filter: None,
    };
    let outcome = meshtap::pipeline::headless::print_stream(
        rx,
        format,
        &mut store,
        &writer,
        &mut err,
        std::future::pending(),
    )
    .await
    .expect("writes");
    writer.finish().await.expect("flushed");
    (out.text(), String::from_utf8(err).expect("utf8"), outcome)
}

/// A TCP relay on loopback in front of a server. `freeze` makes every connection open so far go
/// silent — bytes from the client are swallowed, nothing is answered, the sockets stay open —
/// as a dead path (a vanished node, a NAT that dropped the flow) looks; later connections pass.
pub struct Relay {
    pub addr: std::net::SocketAddr,
    frozen_below: Arc<std::sync::atomic::AtomicUsize>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// At most this many connections through one relay.
const RELAY_MAX_CONNECTIONS: usize = 16;

impl Relay {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let frozen_below = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (frozen, count) = (frozen_below.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            for id in 0..RELAY_MAX_CONNECTIONS {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                count.store(id + 1, Ordering::SeqCst);
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                for (mut from, mut to) in [
                    (
                        Box::new(cr) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
                        Box::new(sw) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
                    ),
                    (Box::new(sr), Box::new(cw)),
                ] {
                    let frozen = frozen.clone();
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match from.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if id < frozen.load(Ordering::SeqCst) {
                                // Dead path: hold both sockets open, pass nothing on.
                                std::future::pending::<()>().await;
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        Self {
            addr,
            frozen_below,
            accepted,
            task,
        }
    }

    /// Every connection accepted so far goes dead.
    pub fn freeze(&self) {
        use std::sync::atomic::Ordering;
        self.frozen_below
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The tap of `deploy/web` in `emojivoto`, built as meshtap builds one from its flags.
pub fn deploy_web() -> meshtap::source::target::TapSpec {
    meshtap::source::target::TapSpec {
        target: meshtap::source::target::Resource::parse_target("deploy/web", "emojivoto")
            .expect("target"),
        label_selector: String::new(),
        to: None,
        http: meshtap::session::HttpMatch::default(),
        max_rps: 100.0,
        extract_headers: false,
    }
}
