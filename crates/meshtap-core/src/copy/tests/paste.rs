//! Pasting the commands: bash runs them with fake programs on PATH that record their argv, and
//! the real curl runs one against a loopback server.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::{masked, request, revealed};
use crate::copy::{Format, render};
use crate::model::event::{Direction, Header, HeaderValue};
use crate::model::request::Request;

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

/// A temporary directory removed on drop.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> Self {
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
            for byte in value {
                // HTTPie's own escape keeps its separators literal (tests/httpie.rs runs it).
                if format == Format::Httpie && b":;=@".contains(byte) {
                    header.push(b'\\');
                }
                header.push(*byte);
            }
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

/// Positional words Go's flag parser would read as flags are refused for grpcurl; tap command
/// values that start with `-` stay their flag's value (`--flag=VALUE`), for meshtap's clap and
/// Linkerd's pflag alike.
#[test]
fn leading_dash_values_never_become_options() {
    let dir = TempDir::new("dash");
    let mut grpc = hostile_request(b"x", "POST", "application/grpc");
    grpc.init.as_mut().expect("init").authority = "-plaintext:50051".into();
    let refused = render(Format::Grpcurl, &grpc, masked());
    assert!(
        matches!(&refused, Err(crate::copy::CopyError::Unsafe(why)) if why.contains("-plaintext:50051")),
        "{refused:?}"
    );
    grpc.init.as_mut().expect("init").authority = "api:50051".into();
    grpc.init.as_mut().expect("init").path = "/-v/M".into();
    assert!(render(Format::Grpcurl, &grpc, masked()).is_err());

    let tap = request(
        Direction::Outbound,
        "--on-trigger=touch PWNED",
        "a:80",
        "--path=/x",
        Vec::new(),
    );
    let text = render(Format::TapCommand, &tap, masked())
        .expect("tap")
        .text;
    let (calls, argv, other) = run_with_fake(&dir.0, "meshtap", &text);
    assert_eq!((calls, other.as_str()), (1, ""), "{text}");
    for word in [
        &b"--method=--on-trigger=touch PWNED"[..],
        b"--path=--path=/x",
        b"deploy/web",
    ] {
        assert!(argv.iter().any(|a| a == word), "{text}: {argv:?}");
    }
}
