//! The copied `HTTPie` commands run by the real `http --offline` (`HTTPie` 3.2.4 from `PyPI`;
//! `.ci/run` installs it): it prints the request it would send, which must be the captured
//! method, URL and headers byte for byte, and no local file may be read or written whatever the
//! captured values hold (`@FILE`, `=@FILE`, `:=@FILE`, a method or a header that would be an
//! option).

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::paste::TempDir;
use super::{masked, request};
use crate::copy::{CopyError, Format, render};
use crate::model::event::{Direction, Header};

/// The `http` program: `$MESHTAP_HTTPIE`, else `http` on PATH. Missing is a failure, never a
/// skip: these tests are the proof that a paste runs nothing but the captured request.
fn http_program() -> PathBuf {
    if let Some(path) = std::env::var_os("MESHTAP_HTTPIE") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("http"))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "HTTPie is not installed: `pip install httpie==3.2.4` (or set MESHTAP_HTTPIE); \
             .ci/run installs it"
        )
    })
}

/// Runs the copied command with `--offline --print=H` added, in `dir`, with a private HOME and
/// `HTTPie` config dir. Returns whether it succeeded, its stdout and its stderr.
fn offline(dir: &Path, text: &str) -> (bool, String, String) {
    let http = http_program();
    let script = text.replacen(
        "http --ignore-stdin",
        &format!("{} --offline --print=H --ignore-stdin", http.display()),
        1,
    );
    assert_ne!(script, text, "{text}");
    let output = Process::new("/usr/bin/bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("HOME", dir)
        .env("HTTPIE_CONFIG_DIR", dir.join(".httpie"))
        .env("TOPSECRET_ENV", "TOPSECRET-ENV")
        .output()
        .expect("bash");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Header values a hostile client can send (all legal field values) that `HTTPie` reads as
/// instructions when written plainly.
const HOSTILE_VALUES: [&str; 12] = [
    "@secret.txt",
    "=@secret.json",
    ":=@secret.json",
    "==@secret.txt",
    ":@secret.txt",
    "@/proc/self/environ",
    "a=b;c:d@e==f:=g",
    ";type=text/plain",
    "x\\y \\ trailing\\",
    "--output=pwned.txt",
    "-opwned2.txt",
    "=",
];

#[test]
fn hostile_header_values_reach_httpie_as_literal_headers() {
    let dir = TempDir::new("httpie-values");
    std::fs::write(dir.0.join("secret.txt"), "TOPSECRET-FILE").expect("secret");
    std::fs::write(dir.0.join("secret.json"), r#"{"k":"TOPSECRET-JSON"}"#).expect("secret");
    let before = listing(&dir.0);
    for value in HOSTILE_VALUES {
        let request = request(
            Direction::Outbound,
            "GET",
            "api.pay:8080",
            "/p?q=1",
            vec![
                Header::str("x-hostile", value),
                Header::str("x-plain", "ok"),
            ],
        );
        let copied = render(Format::Httpie, &request, masked()).expect("http");
        let (ok, out, err) = offline(&dir.0, &copied.text);
        assert!(ok, "{}\n{err}", copied.text);
        assert_eq!(out.lines().next(), Some("GET /p?q=1 HTTP/1.1"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.contains(&format!("x-hostile: {value}").as_str()),
            "{value}: {}\n{out}",
            copied.text
        );
        assert!(lines.contains(&"x-plain: ok"), "{out}");
        assert!(!out.contains("TOPSECRET"), "{value}: {out}");
        assert_eq!(listing(&dir.0), before, "{value}: {}", copied.text);
    }
}

#[test]
fn words_httpie_would_read_otherwise_are_refused_or_left_out_with_a_note() {
    let dir = TempDir::new("httpie-words");
    std::fs::write(dir.0.join("secret.txt"), "TOPSECRET-FILE").expect("secret");
    let before = listing(&dir.0);
    // Legal methods (RFC 9110 tokens) that HTTPie would read as an option or as the URL.
    for method in ["-opwned.txt", "--output=pwned.txt", "M-SEARCH", "GET2", "-"] {
        let request = request(Direction::Outbound, method, "a:80", "/", Vec::new());
        let refused = render(Format::Httpie, &request, masked());
        assert!(
            matches!(&refused, Err(CopyError::Unsafe(why)) if why.contains("only letters")),
            "{method}: {refused:?}"
        );
    }
    // A header that would be an option, and one a backslash makes inexpressible, are left out
    // and named; the rest is sent.
    let request = request(
        Direction::Outbound,
        "POST",
        "a:80",
        "/",
        vec![
            Header::str("-opwned3.txt", "x"),
            Header::str("x-backslash", "a\\@secret.txt"),
            Header::str("x-kept", "@secret.txt"),
        ],
    );
    let copied = render(Format::Httpie, &request, masked()).expect("http");
    assert!(
        copied
            .notes
            .iter()
            .any(|n| n.contains("-opwned3.txt") && n.contains("x-backslash")),
        "{:?}",
        copied.notes
    );
    let (ok, out, err) = offline(&dir.0, &copied.text);
    assert!(ok, "{}\n{err}", copied.text);
    assert!(out.lines().any(|l| l == "x-kept: @secret.txt"), "{out}");
    assert!(
        !out.contains("TOPSECRET") && !out.contains("x-backslash"),
        "{out}"
    );
    assert_eq!(listing(&dir.0), before, "{}", copied.text);
}

#[test]
fn a_scheme_that_is_not_one_is_refused_for_every_url_command() {
    for scheme in ["-o.x", "--output=x", "1http", "ht tp", "h\u{202e}"] {
        let mut request = request(Direction::Outbound, "GET", "a:80", "/", Vec::new());
        request.init.as_mut().expect("init").scheme = Some(scheme.into());
        for format in [Format::Curl, Format::Httpie] {
            let refused = render(format, &request, masked());
            assert!(
                matches!(&refused, Err(CopyError::Scheme(_))),
                "{scheme} {format:?}: {refused:?}"
            );
        }
    }
}
