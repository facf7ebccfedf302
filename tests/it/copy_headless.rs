//! `meshtap replay FILE -o curl|grpcurl [--filter F]`: one command per request, through the real
//! binary, run by bash with a fake curl that records its argv (so nothing else can run).

use crate::support;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use meshtap::model::event::{
    Direction, Endpoint, Header, Headers, Labels, RequestInit, ResponseEnd, ResponseInit, StreamId,
};
use meshtap::model::request::Request;
use meshtap::session::Redactor;
use support::process::meshtap;

fn request(seq: u64, method: &str, path: &str, headers: Vec<Header<'_>>, status: u32) -> Request {
    let id = StreamId {
        base: 1,
        stream: seq,
    };
    Request {
        cluster: None,
        seq,
        direction: Direction::Outbound,
        source: Endpoint {
            addr: "10.0.0.1:40000".parse().ok(),
            labels: [("namespace", "shop"), ("deployment", "web")]
                .into_iter()
                .collect(),
        },
        destination: Endpoint {
            addr: "10.0.0.2:8080".parse().ok(),
            labels: [("namespace", "shop"), ("deployment", "api")]
                .into_iter()
                .collect(),
        },
        route: Labels::default(),
        started: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(seq.cast_signed()),
        ended_at: Some(
            DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(seq.cast_signed() + 1),
        ),
        init: Some(RequestInit {
            id,
            method: Some(method.into()),
            scheme: Some("http".into()),
            authority: "api.shop:8080".into(),
            path: path.into(),
            headers: headers.into_iter().collect(),
            matched_route: None,
        }),
        response: Some(ResponseInit {
            id,
            since_request_init: Some(std::time::Duration::from_millis(2)),
            http_status: status,
            headers: Headers::default(),
        }),
        end: Some(ResponseEnd {
            id,
            since_request_init: Some(std::time::Duration::from_millis(3)),
            since_response_init: Some(std::time::Duration::from_millis(1)),
            response_bytes: 5,
            eos: None,
            trailers: Headers::default(),
        }),
        expired: false,
        superseded: false,
        other_side: None,
    }
}

/// A capture written with `--no-redact`: the secret is in the file.
fn capture(dir: &Path) -> std::path::PathBuf {
    let requests = [
        request(
            1,
            "GET",
            "/users/1",
            vec![
                Header::str("authorization", "Bearer s3cret"),
                Header::str("x-q", "$(touch PWNED)"),
            ],
            200,
        ),
        request(
            2,
            "POST",
            "/orders",
            vec![Header::str("x-q", "it's `id`")],
            503,
        ),
        request(
            3,
            "POST",
            "/shop.v1.Orders/Get",
            vec![
                Header::str("content-type", "application/grpc"),
                Header::str("x-tenant", "a'b"),
            ],
            200,
        ),
    ];
    let mut bytes = Vec::new();
    for r in &requests {
        meshtap::export::ndjson::write_request(&mut bytes, r, &Redactor::new(false, Vec::new()))
            .expect("write");
    }
    let path = dir.join("capture.ndjson");
    std::fs::write(&path, bytes).expect("capture");
    path
}

fn replay(file: &Path, args: &[&str]) -> (bool, String, String) {
    let out = meshtap()
        .arg("replay")
        .arg(file)
        .args(args)
        .output()
        .expect("meshtap runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `script` with only a fake `program` on PATH; returns how often it ran and every
/// argument it got (NUL-terminated in the log).
fn run_fake(dir: &Path, program: &str, script: &str) -> (usize, Vec<String>) {
    use std::os::unix::fs::PermissionsExt as _;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let fake = bin.join(program);
    std::fs::write(
        &fake,
        "#!/bin/bash\nprintf x >> \"$LOG.calls\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done >> \"$LOG\"\n",
    )
    .expect("fake");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let log = dir.join(format!("{program}.log"));
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(log.with_extension("log.calls"));
    let status = Command::new("/usr/bin/bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_clear()
        .env("PATH", &bin)
        .env("LOG", &log)
        .status()
        .expect("bash");
    assert!(status.success(), "{script}");
    assert!(!dir.join("PWNED").exists(), "{script}");
    let calls = std::fs::read(format!("{}.calls", log.display()))
        .unwrap_or_default()
        .len();
    let args = std::fs::read(&log).unwrap_or_default();
    let args = String::from_utf8_lossy(&args)
        .split_terminator('\0')
        .map(str::to_owned)
        .collect();
    (calls, args)
}

#[test]
fn replay_prints_one_curl_command_per_request_redacted_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path());
    let (ok, stdout, stderr) = replay(&file, &["-o", "curl"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.matches("\ncurl ").count() + usize::from(stdout.starts_with("curl ")),
        3,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("# body not captured by tap").count(),
        2,
        "{stdout}"
    );
    let (calls, args) = run_fake(dir.path(), "curl", &stdout);
    assert_eq!(calls, 3, "{stdout}");
    assert!(
        args.contains(&"authorization: <redacted>".to_owned()),
        "{args:?}"
    );
    assert!(args.contains(&"x-q: $(touch PWNED)".to_owned()), "{args:?}");
    assert!(
        args.contains(&"http://api.shop:8080/orders".to_owned()),
        "{args:?}"
    );

    let (ok, stdout, stderr) = replay(&file, &["-o", "curl", "--no-redact"]);
    assert!(ok, "{stderr}");
    let (_, args) = run_fake(dir.path(), "curl", &stdout);
    assert!(
        args.contains(&"authorization: Bearer s3cret".to_owned()),
        "{args:?}"
    );
}

#[test]
fn filter_means_what_it_means_in_the_ui() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path());
    let (ok, stdout, stderr) = replay(&file, &["-o", "curl", "--filter", "status>=500"]);
    assert!(ok, "{stderr}");
    let (calls, args) = run_fake(dir.path(), "curl", &stdout);
    assert_eq!(calls, 1, "{stdout}");
    assert!(
        args.contains(&"http://api.shop:8080/orders".to_owned()),
        "{args:?}"
    );
    let (ok, stdout, stderr) = replay(&file, &["-o", "ndjson", "--filter", "method=GET"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("/users/1"));
}

#[test]
fn grpcurl_copies_grpc_requests_and_skips_the_rest_with_a_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path());
    let (ok, stdout, stderr) = replay(&file, &["-o", "grpcurl"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.matches("not copied: not a gRPC request").count(),
        2,
        "{stdout}"
    );
    let (calls, args) = run_fake(dir.path(), "grpcurl", &stdout);
    assert_eq!(calls, 1, "{stdout}");
    assert_eq!(
        args,
        [
            "-authority",
            "api.shop:8080",
            "-H",
            "x-tenant: a'b",
            "api.shop:8080",
            "shop.v1.Orders/Get"
        ]
    );
}

#[test]
fn filter_is_refused_where_it_cannot_mean_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = capture(dir.path());
    let (ok, stdout, stderr) = replay(&file, &["-o", "text", "--filter", "status>=500"]);
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("--filter needs joined requests"),
        "{stderr}"
    );
    let (ok, _, stderr) = replay(&file, &["-o", "curl", "--filter", "status>>"]);
    assert!(!ok);
    assert!(stderr.contains("--filter"), "{stderr}");
}
