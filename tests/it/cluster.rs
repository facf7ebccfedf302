//! The cluster source end to end: the real kube client, through a kubeconfig, against the real
//! loopback server with a scripted tap API behind it.

use crate::support;

use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use meshtap::cli::{Cli, Command};
use meshtap::pipeline::headless::Outcome;
use meshtap::proto::{tap, viz};
use meshtap::session::SourceMsg;
use meshtap::source::cluster::TapError;
use prost::Message;
use support::{
    GOLDEN_JSON_HEAD, GOLDEN_TEXT, Script, TEST_TIMEOUT, cluster, framed, golden_events,
    headless_output,
};
use tokio::time::timeout;

/// Runs `meshtap tap ARGS` headless against `script`; returns stdout, stderr and the outcome.
async fn tap_output(args: &[&str], script: Vec<Script>, tls: bool) -> (String, String, Outcome) {
    let cli = Cli::try_parse_from(["meshtap", "tap"].iter().chain(args)).expect("args");
    let Some(Command::Tap(args)) = cli.command else {
        panic!("not a tap command")
    };
    let (_server, cluster, _api) = cluster(script, tls).await;
    let specs = meshtap::specs(
        &args.tap,
        &cluster.default_namespace,
        args.output.wants_headers(),
    )
    .expect("specs");
    let names: Vec<String> = specs.iter().map(|s| s.target.display()).collect();
    let rx = meshtap::spawn_streams(&cluster, &specs, !args.tap.no_reconnect);
    timeout(TEST_TIMEOUT, headless_output(rx, args.output, &names))
        .await
        .expect("finishes in time")
}

fn golden_stream() -> Vec<Script> {
    vec![Script::Chunks(vec![framed(&golden_events())])]
}

#[tokio::test]
async fn text_output_matches_linkerd_golden_lines() {
    let (out, err, outcome) =
        tap_output(&["deploy/web", "--no-reconnect"], golden_stream(), true).await;
    assert_eq!(out, GOLDEN_TEXT);
    assert_eq!(err, "");
    assert!(outcome.failures.is_empty());
}

#[tokio::test]
async fn text_output_over_plain_http() {
    let (out, _, _) = tap_output(&["deploy/web", "--no-reconnect"], golden_stream(), false).await;
    assert_eq!(out, GOLDEN_TEXT);
}

#[tokio::test]
async fn wide_output_appends_sorted_labels() {
    let (out, _, _) = tap_output(
        &["deploy/web", "--no-reconnect", "-o", "wide"],
        golden_stream(),
        true,
    )
    .await;
    let first = out.lines().next().expect("a line");
    assert_eq!(
        first,
        "req id=1:0 proxy=out src=0.0.0.1:0 dst=[ff01::1]:0 tls=true :method=GET \
         :authority=localhost :path=/some/path dst_pod=my-pod dst_tls=true"
    );
    assert_eq!(
        out.lines().nth(1),
        GOLDEN_TEXT.lines().nth(1),
        "no labels, nothing appended"
    );
}

#[tokio::test]
async fn json_output_matches_linkerd_golden_bytes() {
    let (out, _, _) = tap_output(
        &["deploy/web", "--no-reconnect", "-o", "json"],
        golden_stream(),
        true,
    )
    .await;
    assert!(
        out.starts_with(GOLDEN_JSON_HEAD),
        "json differs:\n{out}\n--- expected prefix ---\n{GOLDEN_JSON_HEAD}"
    );
    // The reset end: resetErrorCode present, grpcStatusCode 0, durations in nanos.
    assert!(out.contains("    \"grpcStatusCode\": 0,\n    \"resetErrorCode\": 123\n"));
    assert!(out.contains("\"sinceRequestInit\": {\n      \"nanos\": 999000\n    },"));
}

#[tokio::test]
async fn json_asks_for_headers_text_does_not() {
    for (output, extract) in [("json", true), ("text", false)] {
        let (_server, cluster, api) = cluster(golden_stream(), true).await;
        let cli =
            Cli::try_parse_from(["meshtap", "tap", "deploy/web", "-o", output]).expect("args");
        let Some(Command::Tap(args)) = cli.command else {
            panic!()
        };
        let specs =
            meshtap::specs(&args.tap, "emojivoto", args.output.wants_headers()).expect("specs");
        let rx = meshtap::spawn_streams(&cluster, &specs, false);
        drain(rx).await;
        let (_, request) = api.seen().pop().expect("a request");
        let has_headers = request.extract.and_then(|e| e.extract).is_some();
        assert_eq!(has_headers, extract, "-o {output}");
    }
}

async fn drain(mut rx: tokio::sync::mpsc::Receiver<SourceMsg>) -> Vec<SourceMsg> {
    let mut all = Vec::new();
    while let Ok(Some(msg)) = timeout(TEST_TIMEOUT, rx.recv()).await {
        all.push(msg);
    }
    all
}

/// Checks one decoded request body.
type BodyCheck = Box<dyn Fn(&tap::TapByResourceRequest)>;

/// The exact path and decoded body the server receives for a table of command lines.
#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one table of cases")]
async fn request_path_and_body_follow_linkerd() {
    use tap::tap_by_resource_request::r#match::{Match as M, http::Match as H};
    let cases: Vec<(Vec<&str>, &str, BodyCheck)> = vec![
        (
            vec!["deploy/web"],
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/deployments/web/tap",
            Box::new(|r| {
                let target = r
                    .target
                    .as_ref()
                    .and_then(|t| t.resource.as_ref())
                    .expect("target");
                assert_eq!(
                    (
                        target.namespace.as_str(),
                        target.r#type.as_str(),
                        target.name.as_str()
                    ),
                    ("emojivoto", "deployment", "web")
                );
                assert!((r.max_rps - 100.0).abs() < f32::EPSILON);
            }),
        ),
        (
            vec!["ns/shop", "-n", "ignored"],
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/shop/tap",
            Box::new(|r| {
                let target = r
                    .target
                    .as_ref()
                    .and_then(|t| t.resource.as_ref())
                    .expect("target");
                assert_eq!(target.namespace, "");
                assert_eq!(target.r#type, "namespace");
            }),
        ),
        (
            vec!["po/web-1", "-n", "prod", "--max-rps", "7", "-l", "app=web"],
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/prod/pods/web-1/tap",
            Box::new(|r| {
                assert_eq!(
                    r.target.as_ref().map(|t| t.label_selector.as_str()),
                    Some("app=web")
                );
                assert!((r.max_rps - 7.0).abs() < f32::EPSILON);
            }),
        ),
        (
            vec![
                "sts/db",
                "--to",
                "svc/api",
                "--to-namespace",
                "other",
                "--method",
                "GET",
                "--path",
                "/v1",
                "--authority",
                "api:80",
                "--scheme",
                "https",
            ],
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/statefulsets/db/tap",
            Box::new(|r| {
                let Some(M::All(all)) = r.r#match.as_ref().and_then(|m| m.r#match.clone()) else {
                    panic!("top-level all expected")
                };
                let kinds: Vec<String> = all
                    .matches
                    .iter()
                    .map(|m| match m.r#match.as_ref() {
                        Some(M::Destinations(d)) => {
                            let res = d.resource.as_ref().expect("resource");
                            format!("to {}/{}/{}", res.namespace, res.r#type, res.name)
                        }
                        Some(M::Http(h)) => match h.r#match.as_ref() {
                            Some(H::Scheme(s)) => format!("scheme {s}"),
                            Some(H::Method(s)) => format!("method {s}"),
                            Some(H::Authority(s)) => format!("authority {s}"),
                            Some(H::Path(s)) => format!("path {s}"),
                            None => "empty http".into(),
                        },
                        other => format!("unexpected {other:?}"),
                    })
                    .collect();
                assert_eq!(
                    kinds,
                    [
                        "to other/service/api",
                        "scheme https",
                        "method GET",
                        "authority api:80",
                        "path /v1"
                    ]
                );
            }),
        ),
    ];
    for (args, path, check) in cases {
        let (_server, cluster, api) = cluster(golden_stream(), true).await;
        let mut argv = vec!["meshtap", "tap", "--no-reconnect"];
        argv.extend(args.iter().copied());
        let cli = Cli::try_parse_from(argv).expect("args");
        let Some(Command::Tap(headless_args)) = cli.command else {
            panic!()
        };
        let specs =
            meshtap::specs(&headless_args.tap, &cluster.default_namespace, false).expect("specs");
        drain(meshtap::spawn_streams(&cluster, &specs, false)).await;
        let seen = api.seen();
        assert_eq!(seen.len(), 1, "{args:?}");
        assert_eq!(seen[0].0, path, "{args:?}");
        check(&seen[0].1);
    }
}

/// The body is byte-identical to what Linkerd's CLI sends for `tap deploy/web -n emojivoto`:
/// target, an empty top-level `all`, maxRps 100, and an empty extract.
#[test]
fn body_bytes_match_linkerd_cli() {
    let cli =
        Cli::try_parse_from(["meshtap", "tap", "deploy/web", "-n", "emojivoto"]).expect("args");
    let Some(Command::Tap(args)) = cli.command else {
        panic!()
    };
    let specs = meshtap::specs(&args.tap, "default", false).expect("specs");
    let mut expected = vec![0x0a, 0x1e, 0x0a, 0x1c, 0x0a, 0x09];
    expected.extend_from_slice(b"emojivoto");
    expected.extend_from_slice(&[0x12, 0x0a]);
    expected.extend_from_slice(b"deployment");
    expected.extend_from_slice(&[0x1a, 0x03]);
    expected.extend_from_slice(b"web");
    expected.extend_from_slice(&[0x12, 0x02, 0x0a, 0x00]); // match { all {} }
    expected.push(0x1d); // maxRps, fixed32
    expected.extend_from_slice(&100f32.to_le_bytes());
    expected.extend_from_slice(&[0x22, 0x00]); // extract {}
    assert_eq!(specs[0].body(), expected);
}

async fn failure(script: Script, args: &[&str]) -> (String, Outcome) {
    let mut all = vec!["--no-reconnect"];
    all.extend_from_slice(args);
    let (out, err, outcome) = tap_output(&all, vec![script], true).await;
    assert_eq!(out, "");
    (err, outcome)
}

#[tokio::test]
async fn linkerd_error_header_reports_the_api_error() {
    let (err, outcome) = failure(
        Script::LinkerdError("no pods to tap for type=deployment name=nope\n".into()),
        &["deploy/nope"],
    )
    .await;
    assert!(
        err.contains("no pods to tap for type=deployment name=nope"),
        "{err}"
    );
    assert_eq!(outcome.failures.len(), 1);
}

#[tokio::test]
async fn forbidden_names_the_rbac_rule_and_the_check() {
    let message = "deployments.tap.linkerd.io \"web\" is forbidden: User \"dev\" cannot watch \
                   resource \"deployments/tap\" in API group \"tap.linkerd.io\" in the namespace \"prod\"";
    let (err, outcome) = failure(
        Script::KubeStatus(403, "Forbidden", message.into()),
        &["deploy/web", "-n", "prod"],
    )
    .await;
    assert!(err.contains(message), "{err}");
    // The kind's hint follows the message on the next line.
    assert!(
        err.contains("RBAC verb `watch` on the target's tap resource in API group tap.linkerd.io"),
        "{err}"
    );
    assert!(
        err.contains("kubectl auth can-i watch deployments.tap.linkerd.io -n prod"),
        "{err}"
    );
    assert_eq!(outcome.failures.len(), 1);
}

#[tokio::test]
async fn missing_viz_is_explained_for_404_and_503() {
    for code in [404, 503] {
        let (err, outcome) = failure(
            Script::KubeStatus(
                code,
                "NotFound",
                "the server could not find the requested resource".into(),
            ),
            &["deploy/web"],
        )
        .await;
        assert!(
            err.contains(&format!(
                "the linkerd-viz tap API is not available: the kube-apiserver answered {code}"
            )),
            "{code}: {err}"
        );
        assert!(
            err.contains("\n  The tap API (tap.linkerd.io) is not served"),
            "{code}: {err}"
        );
        assert_eq!(outcome.failures.len(), 1);
    }
}

#[tokio::test]
async fn tap_server_json_errors_are_shown() {
    let (err, _) = failure(
        Script::TapServerError(400, "unsupported match: not".into()),
        &["deploy/web"],
    )
    .await;
    assert!(
        err.contains("refused (400): unsupported match: not"),
        "{err}"
    );
}

#[tokio::test]
async fn oversized_frame_is_an_error_not_an_allocation() {
    let chunk = Bytes::from((u32::MAX).to_le_bytes().to_vec());
    let (err, outcome) = failure(Script::Chunks(vec![chunk]), &["deploy/web"]).await;
    assert!(err.contains("over the 16777216-byte limit"), "{err}");
    assert_eq!(outcome.failures.len(), 1);
}

#[tokio::test]
async fn truncated_frame_is_reported() {
    let mut bytes = framed(&golden_events()[..1]).to_vec();
    bytes.truncate(bytes.len() - 3);
    let (out, err, outcome) = tap_output(
        &["deploy/web", "--no-reconnect"],
        vec![Script::Chunks(vec![Bytes::from(bytes)])],
        true,
    )
    .await;
    assert_eq!(out, "");
    assert!(err.contains("ended in the middle of a frame"), "{err}");
    assert_eq!(outcome.failures.len(), 1);
}

#[tokio::test]
async fn garbage_frame_is_skipped_and_the_stream_goes_on() {
    let mut bytes = vec![5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
    bytes.extend_from_slice(&framed(&golden_events()));
    let (out, err, outcome) = tap_output(
        &["deploy/web", "--no-reconnect"],
        vec![Script::Chunks(vec![Bytes::from(bytes)])],
        true,
    )
    .await;
    assert_eq!(out, GOLDEN_TEXT, "nothing after the garbage is lost");
    assert!(
        err.contains("neither a tap event nor an API error"),
        "{err}"
    );
    assert!(outcome.failures.is_empty());
}

#[tokio::test]
async fn mid_stream_api_error_frame_ends_the_stream_with_its_text() {
    let mut bytes = framed(&golden_events()[..1]).to_vec();
    bytes.extend_from_slice(&meshtap::source::frames::encode(&viz::ApiError {
        error: "tap server lost its pods".into(),
    }));
    let (out, err, _) = tap_output(
        &["deploy/web", "--no-reconnect"],
        vec![Script::Chunks(vec![Bytes::from(bytes)])],
        true,
    )
    .await;
    assert_eq!(out.lines().count(), 1);
    assert!(err.contains("tap server lost its pods"), "{err}");
}

#[tokio::test]
async fn reconnects_after_the_stream_ends_and_reports_the_gap() {
    let first = framed(&golden_events()[..1]);
    let second = framed(&golden_events()[2..3]);
    let script = vec![
        Script::Chunks(vec![first]),
        Script::ChunksThenHang(vec![second]),
    ];
    let (_server, cluster, api) = cluster(script, true).await;
    let cli = Cli::try_parse_from(["meshtap", "tap", "deploy/web"]).expect("args");
    let Some(Command::Tap(args)) = cli.command else {
        panic!()
    };
    let specs = meshtap::specs(&args.tap, "emojivoto", false).expect("specs");
    let mut rx = meshtap::spawn_streams(&cluster, &specs, true);
    let mut events = 0;
    let mut gaps = 0;
    // Bounded: the second stream hangs open, so stop once both events arrived.
    while events < 2 {
        let msg = timeout(TEST_TIMEOUT, rx.recv())
            .await
            .expect("in time")
            .expect("open");
        match msg {
            SourceMsg::Events(batch) => events += batch.len(),
            SourceMsg::State {
                state: meshtap::session::StreamState::Reconnecting { after, .. },
                ..
            } => {
                assert!(after <= Duration::from_secs(1));
                gaps += 1;
            }
            _ => {}
        }
    }
    assert_eq!(gaps, 1);
    assert_eq!(api.seen().len(), 2);
}

#[tokio::test]
async fn no_reconnect_exits_cleanly_at_end_of_stream() {
    let (out, err, outcome) =
        tap_output(&["deploy/web", "--no-reconnect"], golden_stream(), true).await;
    assert_eq!(out.lines().count(), 6);
    assert_eq!(err, "");
    assert!(outcome.failures.is_empty());
}

#[tokio::test]
async fn several_targets_each_get_a_stream() {
    let (out, _, _) = tap_output(
        &["deploy/web", "deploy/api", "--no-reconnect"],
        golden_stream(),
        true,
    )
    .await;
    assert_eq!(out.lines().count(), 12);
}

#[tokio::test]
async fn ndjson_joins_the_three_events() {
    let (out, _, _) = tap_output(
        &["deploy/web", "--no-reconnect", "-o", "ndjson"],
        golden_stream(),
        true,
    )
    .await;
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let joined = records
        .iter()
        .find(|r| r["id"]["base"] == 7)
        .expect("request 7:8");
    assert_eq!(joined["method"], "POST");
    assert_eq!(joined["status"], 200);
    assert_eq!(joined["reset_code"], 123);
    assert_eq!(joined["latency_ms"], 0.999);
    assert_eq!(joined["phase"], "done");
    assert_eq!(joined["success"], false);
    assert_eq!(records.len(), 2, "one line per request: {out}");
}

#[test]
fn tap_errors_know_what_is_permanent() {
    assert!(TapError::Linkerd("x".into()).is_permanent());
    assert!(!TapError::Body("reset".into()).is_permanent());
    let _ = tap::TapEvent::default().encode_to_vec();
}

#[tokio::test]
async fn events_before_an_oversized_frame_in_the_same_chunk_are_delivered() {
    let mut bytes = framed(&golden_events()).to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    let (out, err, outcome) = tap_output(
        &["deploy/web", "--no-reconnect"],
        vec![Script::Chunks(vec![Bytes::from(bytes)])],
        true,
    )
    .await;
    assert_eq!(
        out, GOLDEN_TEXT,
        "events before the bad length are not lost"
    );
    assert!(err.contains("over the 16777216-byte limit"), "{err}");
    assert_eq!(outcome.failures.len(), 1);
}

#[tokio::test]
async fn a_tap_stops_when_its_consumer_goes_away() {
    let script = vec![Script::ChunksThenHang(vec![framed(&golden_events()[..1])])];
    let (_server, cluster, _api) = cluster(script, true).await;
    let cli = Cli::try_parse_from(["meshtap", "tap", "deploy/web"]).expect("args");
    let Some(Command::Tap(args)) = cli.command else {
        panic!()
    };
    let specs = meshtap::specs(&args.tap, "emojivoto", false).expect("specs");
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let spec = specs.into_iter().next().expect("spec");
    let task = tokio::spawn(async move { cluster.tap(spec, 0, true, tx, None).await });
    loop {
        let msg = timeout(TEST_TIMEOUT, rx.recv())
            .await
            .expect("in time")
            .expect("open");
        if matches!(msg, SourceMsg::Events(_)) {
            break;
        }
    }
    // The UI quit: a long-running tap must not keep its connection open for nobody.
    drop(rx);
    timeout(TEST_TIMEOUT, task)
        .await
        .expect("the tap task stops once nobody listens")
        .expect("no panic");
}
