//! `meshtap proxy` against the demo's simulated proxies (in-process tonic servers on 127.0.0.1):
//! the `ObserveRequest` each flag produces, as the server received it; the limit and the
//! one-Observe-per-window behaviour (by counts, never by timing). mTLS and every way a tap is
//! refused are in `proxy_tap_tls.rs`.
#[path = "proxy_tap/fixture.rs"]
pub mod fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fixture::{collect, connect, fixture, parse};
use linkerd2_proxy_api::http_types::{HttpMethod, Scheme, http_method, scheme};
use linkerd2_proxy_api::net::IpAddress;
use linkerd2_proxy_api::tap::ObserveRequest;
use linkerd2_proxy_api::tap::observe_request::{Extract, Match, extract, r#match};
use linkerd2_proxy_api::tap::tap_client::TapClient;
use meshtap::demo::proxy_tap::ProxyTaps;
use meshtap::model::event::{HttpEvent, TapEvent};

fn all(matches: Vec<Match>) -> Match {
    Match {
        r#match: Some(r#match::Match::All(r#match::Seq { matches })),
    }
}

fn http(m: r#match::http::Match) -> Match {
    Match {
        r#match: Some(r#match::Match::Http(r#match::Http { r#match: Some(m) })),
    }
}

fn string(m: r#match::http::string_match::Match) -> r#match::http::StringMatch {
    r#match::http::StringMatch { r#match: Some(m) }
}

fn headers() -> Extract {
    Extract {
        extract: Some(extract::Extract::Http(extract::Http {
            extract: Some(extract::http::Extract::Headers(extract::http::Headers {})),
        })),
    }
}

fn expected(limit: u32, matches: Vec<Match>) -> ObserveRequest {
    ObserveRequest {
        limit,
        r#match: Some(all(matches)),
        extract: Some(headers()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one table of flag cases")]
async fn each_flag_reaches_the_proxy_as_linkerd_builds_it() {
    use r#match::http::Match as H;
    use r#match::http::string_match::Match as S;
    let fx = fixture(50.0).await;
    let label = |k: &str, v: &str| r#match::Label {
        key: k.into(),
        value: v.into(),
    };
    let tcp = |m: r#match::tcp::Match| r#match::Tcp { r#match: Some(m) };
    let registered_get = HttpMethod {
        r#type: Some(http_method::Type::Registered(
            http_method::Registered::Get as i32,
        )),
    };
    let cases: Vec<(Vec<&str>, ObserveRequest)> = vec![
        (vec![], expected(100, vec![])),
        (vec!["--max-rps", "7"], expected(7, vec![])),
        (vec!["--max-rps", "0"], expected(100, vec![])),
        (vec!["--max-rps", "0.3"], expected(1, vec![])),
        (
            vec!["--method", "get"],
            expected(100, vec![http(H::Method(registered_get))]),
        ),
        (
            vec!["--method", "PURGE"],
            expected(
                100,
                vec![http(H::Method(HttpMethod {
                    r#type: Some(http_method::Type::Unregistered("PURGE".into())),
                }))],
            ),
        ),
        (
            vec!["--scheme", "https"],
            expected(
                100,
                vec![http(H::Scheme(Scheme {
                    r#type: Some(scheme::Type::Registered(scheme::Registered::Https as i32)),
                }))],
            ),
        ),
        (
            vec!["--authority", "catalogue.sock-shop.svc.cluster.local"],
            expected(
                100,
                vec![http(H::Authority(string(S::Exact(
                    "catalogue.sock-shop.svc.cluster.local".into(),
                ))))],
            ),
        ),
        (
            vec!["--path", "/catalogue"],
            expected(
                100,
                vec![http(H::Path(string(S::Prefix("/catalogue".into()))))],
            ),
        ),
        (
            vec!["--to-port", "8000-8080"],
            expected(
                100,
                vec![Match {
                    r#match: Some(r#match::Match::Destination(tcp(
                        r#match::tcp::Match::Ports(r#match::tcp::PortRange {
                            min: 8000,
                            max: 8080,
                        }),
                    ))),
                }],
            ),
        ),
        (
            vec!["--to-net", "10.42.0.0/16"],
            expected(
                100,
                vec![Match {
                    r#match: Some(r#match::Match::Destination(tcp(
                        r#match::tcp::Match::Netmask(r#match::tcp::Netmask {
                            ip: Some(IpAddress::from(
                                "10.42.0.0".parse::<std::net::IpAddr>().unwrap(),
                            )),
                            mask: 16,
                        }),
                    ))),
                }],
            ),
        ),
        (
            vec![
                "--to-label",
                "deployment=catalogue",
                "--to-label",
                "namespace=sock-shop",
            ],
            expected(
                100,
                vec![
                    Match {
                        r#match: Some(r#match::Match::DestinationLabel(label(
                            "deployment",
                            "catalogue",
                        ))),
                    },
                    Match {
                        r#match: Some(r#match::Match::DestinationLabel(label(
                            "namespace",
                            "sock-shop",
                        ))),
                    },
                ],
            ),
        ),
        (
            vec!["--route-label", "route=GET /catalogue"],
            expected(
                100,
                vec![Match {
                    r#match: Some(r#match::Match::RouteLabel(label("route", "GET /catalogue"))),
                }],
            ),
        ),
    ];
    for (flags, want) in cases {
        let spec = fx.spec(&flags);
        assert_eq!(spec.observe_request(), want, "{flags:?}");
        let before = fx.taps.observed().len();
        // One accepted Observe is enough: the server records the request before it answers.
        let failure = connect(spec).await;
        assert!(failure.is_none(), "{flags:?}: {failure:?}");
        let observed = fx.taps.observed();
        let got = observed.get(before).map(|(_, r)| r.clone());
        assert_eq!(got.as_ref(), Some(&want), "{flags:?}");
    }
    // Headless text output does not ask for headers, as `linkerd viz tap -o text` does not.
    let mut argv = vec![
        "meshtap",
        "proxy",
        "127.0.0.1:1",
        "--plaintext",
        "-o",
        "text",
    ];
    let text = parse(&argv);
    assert_eq!(text.observe_request().extract, None);
    argv.truncate(4);
    assert_eq!(parse(&argv).observe_request().extract, Some(headers()));
}

fn request_inits(
    events: &[TapEvent],
) -> impl Iterator<Item = (&TapEvent, &meshtap::model::event::RequestInit)> {
    events.iter().filter_map(|e| match &e.http {
        Some(HttpEvent::RequestInit(init)) => Some((e, init)),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_window_is_a_new_observe_with_at_most_limit_requests() {
    // A busy mesh, so every window fills its limit and the proxy ends each stream itself.
    let fx = fixture(3_000.0).await;
    let spec = fx.spec(&["--max-rps", "3"]);
    let bases_seen = |events: &[TapEvent]| {
        request_inits(events)
            .map(|(_, init)| init.id.base)
            .collect::<BTreeSet<_>>()
            .len()
    };
    let (events, failure) = collect(spec, false, |events| bases_seen(events) >= 4).await;
    assert_eq!(failure, None);
    let mut per_base: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
    for (_, init) in request_inits(&events) {
        per_base
            .entry(init.id.base)
            .or_default()
            .insert(init.id.stream);
    }
    assert!(per_base.len() >= 4, "{per_base:?}");
    for (base, streams) in &per_base {
        // No more than `limit` requests per Observe, numbered from 0 like a proxy numbers them.
        assert!(streams.len() <= 3, "base {base}: {streams:?}");
        assert!(streams.iter().all(|s| *s < 3), "base {base}: {streams:?}");
    }
    let pod = &fx.taps.find("front-end").unwrap().pod;
    let observes: Vec<_> = fx
        .taps
        .observed()
        .into_iter()
        .filter(|(p, _)| p == pod)
        .collect();
    // One Observe per window: as many calls as bases seen (the last may still be open).
    assert!(
        observes.len() >= per_base.len(),
        "{} observes",
        observes.len()
    );
    assert!(observes.iter().all(|(_, r)| r.limit == 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_are_applied_by_the_proxy() {
    let fx = fixture(2_000.0).await;
    let spec = fx.spec(&["--path", "/catalogue", "--max-rps", "50"]);
    let (events, failure) =
        collect(spec, false, |events| request_inits(events).count() >= 20).await;
    assert_eq!(failure, None);
    let paths: Vec<&str> = request_inits(&events).map(|(_, i)| &*i.path).collect();
    assert!(paths.len() >= 20);
    assert!(
        paths.iter().all(|p| p.starts_with("/catalogue")),
        "{paths:?}"
    );
    // Headers were extracted (the UI asks for them), and stream ids are the proxy's own.
    let (_, init) = request_inits(&events).next().unwrap();
    assert!(!init.headers.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_limit_is_refused_like_a_proxy_does() {
    let fx = fixture(10.0).await;
    let spec = fx.spec(&[]);
    let mut client = TapClient::new(spec.channel().unwrap());
    let status = client
        .observe(ObserveRequest {
            limit: 0,
            ..ObserveRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "limit must be positive");
}

/// Dropping the proxies closes the connections they were serving too, not only the listeners.
#[tokio::test]
async fn dropping_the_proxies_closes_open_connections() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let taps = ProxyTaps::spawn(7, 10.0).await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(taps.proxies[0].addr)
        .await
        .unwrap();
    // The HTTP/2 preface and an empty SETTINGS frame: a plaintext HTTP/2 client.
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    // The server's own SETTINGS: the connection is being served.
    assert!(tcp.read(&mut buf).await.unwrap() > 0);
    drop(taps);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection outlived the proxies");
}
