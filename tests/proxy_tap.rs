//! `meshtap proxy` against the demo's simulated proxies (in-process tonic servers on 127.0.0.1):
//! the `ObserveRequest` each flag produces, as the server received it; the limit and the
//! one-Observe-per-window behaviour (by counts, never by timing); and mTLS, accepted only for the
//! tap identity and refused otherwise with the proxy's own messages.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use clap::Parser as _;
use linkerd2_proxy_api::http_types::{HttpMethod, Scheme, http_method, scheme};
use linkerd2_proxy_api::net::IpAddress;
use linkerd2_proxy_api::tap::ObserveRequest;
use linkerd2_proxy_api::tap::observe_request::{Extract, Match, extract, r#match};
use linkerd2_proxy_api::tap::tap_client::TapClient;
use meshtap::cli::{Cli, Command};
use meshtap::demo::proxy_tap::{ClientFiles, ProxyTaps, TAP_IDENTITY};
use meshtap::model::event::{HttpEvent, TapEvent};
use meshtap::source::proxy::{self, ProxySpec};
use meshtap::source::{SourceMsg, StreamState};
use tokio::sync::mpsc;

/// A generous bound so a broken server fails the test instead of hanging it; never a threshold.
const PATIENCE: Duration = Duration::from_secs(60);

struct Fixture {
    taps: ProxyTaps,
    files: ClientFiles,
    _dir: tempfile::TempDir,
}

async fn fixture(rate: f64) -> Fixture {
    let taps = ProxyTaps::spawn(7, rate).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = taps.write_client_files(dir.path()).unwrap();
    Fixture {
        taps,
        files,
        _dir: dir,
    }
}

impl Fixture {
    /// `meshtap proxy ADDR --ca … --cert … --key … EXTRA…` for the first front-end pod.
    fn spec(&self, extra: &[&str]) -> ProxySpec {
        let addr = self.taps.find("front-end").unwrap().addr.to_string();
        let (ca, cert, key) = (
            self.files.ca.to_str().unwrap(),
            self.files.cert.to_str().unwrap(),
            self.files.key.to_str().unwrap(),
        );
        let mut argv = vec!["meshtap", "proxy", &addr, "--ca", ca, "--cert", cert, "--key", key];
        argv.extend_from_slice(extra);
        parse(&argv)
    }
}

fn parse(argv: &[&str]) -> ProxySpec {
    let cli = Cli::try_parse_from(argv).unwrap();
    let Some(Command::Proxy(args)) = cli.command else {
        panic!("not a proxy command");
    };
    ProxySpec::from_args(&args, args.output.is_none())
}

/// Runs the tap until `enough` says stop or the stream fails; returns the events and the
/// final failure, if any.
async fn collect(
    spec: ProxySpec,
    reconnect: bool,
    mut enough: impl FnMut(&[TapEvent]) -> bool,
) -> (Vec<TapEvent>, Option<String>) {
    let channel = spec.channel().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(proxy::tap(spec, channel, 0, reconnect, tx));
    let mut events = Vec::new();
    let mut failure = None;
    let run = async {
        while let Some(msg) = rx.recv().await {
            match msg {
                SourceMsg::Events(batch) => {
                    events.extend(batch);
                    if enough(&events) {
                        break;
                    }
                }
                SourceMsg::State {
                    state: StreamState::Failed(message),
                    ..
                } => {
                    failure = Some(message);
                    break;
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, run).await.unwrap();
    task.abort();
    (events, failure)
}

fn all(matches: Vec<Match>) -> Option<Match> {
    Some(Match {
        r#match: Some(r#match::Match::All(r#match::Seq { matches })),
    })
}

fn http(m: r#match::http::Match) -> Match {
    Match {
        r#match: Some(r#match::Match::Http(r#match::Http { r#match: Some(m) })),
    }
}

fn string(m: r#match::http::string_match::Match) -> r#match::http::StringMatch {
    r#match::http::StringMatch { r#match: Some(m) }
}

fn headers() -> Option<Extract> {
    Some(Extract {
        extract: Some(extract::Extract::Http(extract::Http {
            extract: Some(extract::http::Extract::Headers(extract::http::Headers {})),
        })),
    })
}

fn expected(limit: u32, matches: Vec<Match>) -> ObserveRequest {
    ObserveRequest {
        limit,
        r#match: all(matches),
        extract: headers(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
        r#type: Some(http_method::Type::Registered(http_method::Registered::Get as i32)),
    };
    let cases: Vec<(Vec<&str>, ObserveRequest)> = vec![
        (vec![], expected(100, vec![])),
        (vec!["--max-rps", "7"], expected(7, vec![])),
        (vec!["--max-rps", "0"], expected(100, vec![])),
        (vec!["--max-rps", "0.3"], expected(1, vec![])),
        (vec!["--method", "get"], expected(100, vec![http(H::Method(registered_get))])),
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
            expected(100, vec![http(H::Path(string(S::Prefix("/catalogue".into()))))]),
        ),
        (
            vec!["--to-port", "8000-8080"],
            expected(
                100,
                vec![Match {
                    r#match: Some(r#match::Match::Destination(tcp(r#match::tcp::Match::Ports(
                        r#match::tcp::PortRange {
                            min: 8000,
                            max: 8080,
                        },
                    )))),
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
                            ip: Some(IpAddress::from("10.42.0.0".parse::<std::net::IpAddr>().unwrap())),
                            mask: 16,
                        }),
                    ))),
                }],
            ),
        ),
        (
            vec!["--to-label", "deployment=catalogue", "--to-label", "namespace=sock-shop"],
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
        // One Observe is enough: the server records the request before it answers.
        let (_, failure) = collect(spec, false, |_| true).await;
        let observed = fx.taps.observed();
        let got = observed.get(before).map(|(_, r)| r.clone());
        // The event wait may end before any event when the filter is narrow; the request
        // still arrived first.
        assert!(failure.is_none(), "{flags:?}: {failure:?}");
        assert_eq!(got.as_ref(), Some(&want), "{flags:?}");
    }
    // Headless text output does not ask for headers, as `linkerd viz tap -o text` does not.
    let mut argv = vec!["meshtap", "proxy", "127.0.0.1:1", "--plaintext", "-o", "text"];
    let text = parse(&argv);
    assert_eq!(text.observe_request().extract, None);
    argv.truncate(4);
    assert_eq!(parse(&argv).observe_request().extract, headers());
}
