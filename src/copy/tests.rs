//! Every copy format, and proof that hostile captured values stay inside their argument: the
//! commands are run by bash with fake programs on PATH that record their argv.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use chrono::{DateTime, Utc};

use super::{CopyError, Format, Secrets, render};
use crate::capture::ndjson::RequestRecord;
use crate::model::event::{
    Direction, Endpoint, Header, HeaderValue, Headers, Labels, RequestInit, StreamId,
};
use crate::model::request::Request;
use crate::session::Redactor;

/// Values a hostile client could put in a header, path or authority.
const HOSTILE: [&[u8]; 9] = [
    b"it's \"quoted\"",
    b"$(touch PWNED)",
    b"`touch PWNED`",
    b"a\nb; touch PWNED",
    b"\x1b]0;title\x07\\",
    b"\xff\xfe not utf-8 '$(x)'",
    b"${IFS}*;&&|touch PWNED #",
    b"'; touch PWNED; echo '",
    b"!! $HOME",
];

fn endpoint(addr: &str, labels: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        addr: addr.parse().ok(),
        labels: labels.iter().copied().collect(),
    }
}

pub(crate) fn request(
    direction: Direction,
    method: &str,
    authority: &str,
    path: &str,
    headers: Vec<Header<'_>>,
) -> Request {
    Request {
        seq: 1,
        direction,
        source: endpoint(
            "10.0.0.1:40000",
            &[
                ("namespace", "shop"),
                ("deployment", "web"),
                ("pod", "web-1"),
            ],
        ),
        destination: endpoint(
            "10.0.0.2:8080",
            &[
                ("namespace", "pay"),
                ("deployment", "api"),
                ("pod", "api-1"),
            ],
        ),
        route: Labels::default(),
        started: DateTime::<Utc>::UNIX_EPOCH,
        ended_at: None,
        init: Some(RequestInit {
            id: StreamId::default(),
            method: Some(method.into()),
            scheme: Some("http".into()),
            authority: authority.into(),
            path: path.into(),
            headers: headers.into_iter().collect::<Headers>(),
        }),
        response: None,
        end: None,
        expired: false,
        superseded: false,
    }
}

fn masked() -> Secrets<'static> {
    static REDACTOR: std::sync::LazyLock<Redactor> = std::sync::LazyLock::new(Redactor::default);
    Secrets {
        redactor: &REDACTOR,
        reveal: false,
    }
}

fn revealed() -> Secrets<'static> {
    Secrets {
        reveal: true,
        ..masked()
    }
}

fn get_with_auth() -> Request {
    request(
        Direction::Outbound,
        "GET",
        "api.pay:8080",
        "/users/7?x=[1]",
        vec![
            Header::str("accept", "*/*"),
            Header::str("authorization", "Bearer s3cret"),
            Header::str("content-length", "0"),
            Header::str("x-empty", ""),
        ],
    )
}

#[test]
fn curl_command() {
    let copied = render(Format::Curl, &get_with_auth(), masked()).expect("curl");
    assert_eq!(
        copied.text,
        "curl -g --path-as-is 'http://api.pay:8080/users/7?x=[1]' \\\n  \
         -H 'accept: */*' \\\n  -H 'authorization: <redacted>' \\\n  -H 'x-empty;'\n"
    );
    assert_eq!(
        copied.notes,
        ["authorization shown as <redacted>: r reveals"]
    );
    let revealed = render(Format::Curl, &get_with_auth(), revealed()).expect("curl");
    assert!(revealed.text.contains("-H 'authorization: Bearer s3cret'"));
    assert!(revealed.notes.is_empty(), "{:?}", revealed.notes);
}

#[test]
fn a_secret_redacted_when_the_capture_was_written_is_never_pretended() {
    let mut request = get_with_auth();
    request.init.as_mut().expect("init").headers = [Header::str("authorization", "<redacted>")]
        .into_iter()
        .collect();
    let copied = render(Format::Curl, &request, revealed()).expect("curl");
    assert!(copied.text.contains("authorization: <redacted>"));
    assert_eq!(
        copied.notes,
        ["authorization: the capture holds no secret to reveal (it was redacted when written)"]
    );
}

#[test]
fn methods_with_a_body_say_it_was_not_captured() {
    for (method, note) in [
        ("POST", true),
        ("put", true),
        ("PATCH", true),
        ("GET", false),
        ("DELETE", false),
    ] {
        let request = request(Direction::Outbound, method, "a", "/", Vec::new());
        for format in [Format::Curl, Format::Httpie] {
            let text = render(format, &request, masked()).expect("render").text;
            assert_eq!(
                text.starts_with("# body not captured by tap\n"),
                note,
                "{method} {format:?}: {text}"
            );
        }
    }
    let head = request(Direction::Outbound, "HEAD", "a", "/", Vec::new());
    let text = render(Format::Curl, &head, masked()).expect("curl").text;
    assert!(text.contains(" -I ") && !text.contains("-X"), "{text}");
}

#[test]
fn httpie_command() {
    let copied = render(Format::Httpie, &get_with_auth(), masked()).expect("http");
    assert_eq!(
        copied.text,
        "http --ignore-stdin 'GET' 'http://api.pay:8080/users/7?x=[1]' \\\n  \
         'accept:*/*' \\\n  'authorization:<redacted>' \\\n  'x-empty;'\n"
    );
}

fn grpc_request() -> Request {
    request(
        Direction::Outbound,
        "POST",
        "payment.pay.svc.cluster.local",
        "/pay.v1.Payments/Charge",
        vec![
            Header::str("content-type", "application/grpc+proto"),
            Header::str("te", "trailers"),
            Header::str("grpc-timeout", "5S"),
            Header::str("x-tenant", "acme"),
            Header {
                name: "trace-bin",
                value: HeaderValue::Bin(b"\x00\x01"),
            },
        ],
    )
}

#[test]
fn grpcurl_command_is_structured_from_path_and_metadata() {
    let copied = render(Format::Grpcurl, &grpc_request(), masked()).expect("grpcurl");
    let lines: Vec<&str> = copied.text.lines().collect();
    assert!(
        lines[0].starts_with("# request message body not captured by tap"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with('#'));
    assert_eq!(
        &lines[2..],
        [
            "grpcurl \\",
            "  -authority 'payment.pay.svc.cluster.local' \\",
            "  -H 'x-tenant: acme' \\",
            r"  -H $'trace-bin: \x00\x01' \",
            "  'payment.pay.svc.cluster.local:80' \\",
            "  'pay.v1.Payments/Charge'",
        ]
    );
    assert!(!lines[2..].iter().any(|l| l.contains("-plaintext")));
    let not_grpc = render(Format::Grpcurl, &get_with_auth(), masked());
    assert_eq!(not_grpc, Err(CopyError::NotGrpc));
}

#[test]
fn grpc_detection_and_service_method() {
    use super::grpcurl::{is_grpc, service_method};
    let init = |ct: &str| RequestInit {
        id: StreamId::default(),
        method: None,
        scheme: None,
        authority: "a".into(),
        path: "/".into(),
        headers: [Header::str("Content-Type", ct)].into_iter().collect(),
    };
    assert!(is_grpc(&init("application/grpc")));
    assert!(is_grpc(&init("application/grpc+json")));
    assert!(!is_grpc(&init("application/grpc-web")));
    assert!(!is_grpc(&init("application/json")));
    assert_eq!(service_method("/a.B/C"), Some("a.B/C"));
    assert_eq!(service_method("/a.B/C/D"), None);
    assert_eq!(service_method("/a.B/"), None);
}

#[test]
fn tap_command_targets_the_reporting_side() {
    let outbound = render(Format::TapCommand, &get_with_auth(), masked()).expect("tap");
    assert_eq!(
        outbound.text,
        "# linkerd viz tap 'deploy/web' -n 'shop' --to 'deploy/api' --to-namespace 'pay' \
         --method 'GET' --path '/users/7'\n\
         meshtap tap 'deploy/web' -n 'shop' --to 'deploy/api' --to-namespace 'pay' \
         --method 'GET' --path '/users/7'\n"
    );
    // An unmeshed client's proxy reports nothing: tap the destination, whose inbound side saw it.
    let mut inbound = get_with_auth();
    inbound.direction = Direction::Inbound;
    let text = render(Format::TapCommand, &inbound, masked())
        .expect("tap")
        .text;
    assert!(
        text.ends_with("meshtap tap 'deploy/api' -n 'pay' --method 'GET' --path '/users/7'\n"),
        "{text}"
    );
    let mut nothing = get_with_auth();
    nothing.source.labels = Labels::default();
    nothing.destination.labels = Labels::default();
    assert_eq!(
        render(Format::TapCommand, &nothing, masked()),
        Err(CopyError::NoTarget)
    );
}

#[test]
fn ndjson_record_is_redacted_unless_revealed() {
    let parse = |secrets| {
        let copied = render(Format::Ndjson, &get_with_auth(), secrets).expect("ndjson");
        assert_eq!(copied.text.lines().count(), 1);
        let record: RequestRecord = serde_json::from_str(&copied.text).expect("record");
        record
            .request_headers
            .into_iter()
            .find(|h| h.name == "authorization")
            .and_then(|h| h.value)
    };
    assert_eq!(parse(masked()).as_deref(), Some("<redacted>"));
    assert_eq!(parse(revealed()).as_deref(), Some("Bearer s3cret"));
}

#[test]
fn an_orphan_cannot_be_sent_again() {
    let mut orphan = get_with_auth();
    orphan.init = None;
    for format in [Format::Curl, Format::Grpcurl, Format::Httpie] {
        assert_eq!(render(format, &orphan, masked()), Err(CopyError::NoRequest));
    }
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "meshtap-copy-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `script` with bash, with only a fake `program` on PATH that appends its argv (NUL
/// separated, one record per call) to a log, and a handler logging any other command. Returns
/// how often it ran, its argv, and the other commands attempted.
fn run_with_fake(dir: &Path, program: &str, script: &str) -> (usize, Vec<Vec<u8>>, String) {
    use std::os::unix::fs::PermissionsExt as _;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let fake = bin.join(program);
    std::fs::write(
        &fake,
        "#!/bin/bash\nprintf x >> \"$ARGV_LOG.calls\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done >> \"$ARGV_LOG\"\n",
    )
    .expect("fake");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let file = dir.join("pasted.sh");
    std::fs::write(&file, script).expect("script");
    let syntax = Process::new("/usr/bin/bash")
        .arg("-n")
        .arg(&file)
        .status()
        .expect("bash -n");
    assert!(syntax.success(), "bash -n refused:\n{script}");
    let status = Process::new("/usr/bin/bash")
        .arg("-c")
        .arg("command_not_found_handle() { printf '%s\\n' \"$1\" >> \"$OTHER_LOG\"; return 127; }; . \"$0\"")
        .arg(&file)
        .current_dir(dir)
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", dir)
        .env("ARGV_LOG", dir.join("argv"))
        .env("OTHER_LOG", dir.join("other"))
        .status()
        .expect("bash");
    assert!(status.success(), "{script}");
    let calls = std::fs::read(dir.join("argv.calls"))
        .unwrap_or_default()
        .len();
    let log = std::fs::read(dir.join("argv")).unwrap_or_default();
    // Every argument ends with a NUL (captured values never hold one: quoting would keep it).
    let argv = log
        .strip_suffix(b"\0")
        .map(|log| log.split(|b| *b == 0).map(<[u8]>::to_vec).collect())
        .unwrap_or_default();
    let _ = std::fs::remove_file(dir.join("argv"));
    let _ = std::fs::remove_file(dir.join("argv.calls"));
    let other = std::fs::read_to_string(dir.join("other")).unwrap_or_default();
    assert!(!dir.join("PWNED").exists(), "{script}");
    (calls, argv, other)
}

fn hostile_request(value: &[u8], method: &str, content_type: &str) -> Request {
    // The path and authority may not hold newlines on the wire, but quoting must not care.
    let path = format!("/pay.v1.P/M?q={}", String::from_utf8_lossy(value));
    request(
        Direction::Outbound,
        method,
        "api.pay:8080",
        &path,
        vec![
            Header::str("content-type", content_type),
            Header {
                name: "x-hostile",
                value: match std::str::from_utf8(value) {
                    Ok(text) => HeaderValue::Str(text),
                    Err(_) => HeaderValue::Bin(value),
                },
            },
        ],
    )
}

#[test]
fn hostile_values_reach_curl_as_one_argument_and_nothing_else_runs() {
    let dir = TempDir::new("curl");
    for value in HOSTILE {
        let request = hostile_request(value, "POST", "text/plain");
        let text = render(Format::Curl, &request, masked()).expect("curl").text;
        let (calls, argv, other) = run_with_fake(&dir.0, "curl", &text);
        assert_eq!(other, "", "{text}");
        assert_eq!(calls, 1, "{text}");
        let mut header = b"x-hostile: ".to_vec();
        header.extend_from_slice(value);
        let url = format!(
            "http://api.pay:8080/pay.v1.P/M?q={}",
            String::from_utf8_lossy(value)
        );
        let expected: Vec<Vec<u8>> = [
            &b"-g"[..],
            b"--path-as-is",
            b"-X",
            b"POST",
            url.as_bytes(),
            b"-H",
            b"content-type: text/plain",
            b"-H",
            &header,
        ]
        .iter()
        .map(|a| a.to_vec())
        .collect();
        assert_eq!(argv, expected, "{text}");
    }
}

#[test]
fn hostile_values_reach_grpcurl_and_http_as_one_argument() {
    let dir = TempDir::new("grpcurl");
    for value in HOSTILE {
        let request = hostile_request(value, "POST", "application/grpc");
        for (format, program, item) in [
            (Format::Grpcurl, "grpcurl", &b"x-hostile: "[..]),
            (Format::Httpie, "http", b"x-hostile:"),
        ] {
            let Ok(copied) = render(format, &request, masked()) else {
                // A path whose method part holds a `/` is not a gRPC method.
                assert!(value.contains(&b'/') && format == Format::Grpcurl);
                continue;
            };
            let (calls, argv, other) = run_with_fake(&dir.0, program, &copied.text);
            assert_eq!(other, "", "{}", copied.text);
            assert_eq!(calls, 1, "{}", copied.text);
            let mut header = item.to_vec();
            header.extend_from_slice(value);
            assert!(argv.contains(&header), "{}: {argv:?}", copied.text);
        }
    }
}

/// The real curl, run from the copied text with `--connect-to` added, against a loopback HTTP
/// server: it sees the captured method, path and (revealed) headers.
#[test]
fn the_copied_curl_command_sends_the_captured_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = Vec::new();
        for _ in 0..100 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_owned());
        }
        let mut stream = stream;
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        head
    });
    let request = request(
        Direction::Outbound,
        "PUT",
        "api.pay.svc.cluster.local:8080",
        "/users/7/../8?x=[1]&y='$(id)'",
        vec![
            Header::str("authorization", "Bearer s3cret"),
            Header::str("x-quote", "it's \"$(id)\" `id`"),
            Header::str("content-length", "42"),
        ],
    );
    let text = render(Format::Curl, &request, revealed())
        .expect("curl")
        .text;
    let connect = format!("curl -s -o /dev/null --max-time 10 --connect-to '::127.0.0.1:{port}'");
    let script = text.replacen("curl", &connect, 1);
    let status = Process::new("/usr/bin/bash")
        .arg("-c")
        .arg(&script)
        .status()
        .expect("curl");
    assert!(status.success(), "{script}");
    let head = server.join().expect("server");
    assert_eq!(
        head[0], "PUT /users/7/../8?x=[1]&y='$(id)' HTTP/1.1",
        "{head:?}"
    );
    for expected in [
        "Host: api.pay.svc.cluster.local:8080",
        "authorization: Bearer s3cret",
        "x-quote: it's \"$(id)\" `id`",
    ] {
        assert!(head.iter().any(|h| h == expected), "{expected}: {head:?}");
    }
    assert!(
        !head
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("content-length: 42")),
        "{head:?}"
    );
}
