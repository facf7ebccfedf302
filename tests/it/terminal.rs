//! The one escaping rule, end to end: a capture whose every string is hostile (ESC/OSC/CSI, BEL,
//! C1 `U+009B`, bidi `U+202E`/`U+2066`, DEL) replayed through every output a terminal may show —
//! `-o text|wide|json|ndjson`, `map -o dot|mermaid|json`, the replay warnings on stderr and the
//! pcapng comments — and nothing terminal-unsafe comes out but line ends.

use std::path::Path;

use meshtap::terminal::is_terminal_unsafe;

use crate::support::process::meshtap;

const HOSTILE: &str = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\u{202e}gpj\u{2066}\u{7f}y";

/// Four of the fixture's requests, each string field made hostile; the last has bad base64 under
/// a hostile header name (a replay warning).
fn hostile_capture(dir: &Path) -> std::path::PathBuf {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/map_hostile_names.ndjson");
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let mut out = String::new();
    for (i, line) in text.lines().take(4).enumerate() {
        let mut record: serde_json::Value = serde_json::from_str(line).expect("record");
        record["cluster"] = HOSTILE.into();
        record["path"] = format!("/{HOSTILE}").into();
        record["authority"] = HOSTILE.into();
        record["method"] = HOSTILE.into();
        record["identity"]["tls"] = HOSTILE.into();
        record["identity"]["client_id"] = HOSTILE.into();
        for side in ["source", "destination"] {
            record[side]["namespace"] = HOSTILE.into();
            record[side]["workload"] = HOSTILE.into();
            record[side]["labels"]["namespace"] = HOSTILE.into();
            record[side]["labels"]["deployment"] = HOSTILE.into();
            record[side]["labels"]["client_id"] = HOSTILE.into();
        }
        record["request_headers"] = serde_json::json!([{ "name": "x-h", "value": HOSTILE }]);
        if i == 3 {
            // This record is skipped with a warning that names the header.
            record["request_headers"] =
                serde_json::json!([{ "name": HOSTILE, "value_bin": "!!not base64!!" }]);
        }
        out.push_str(&record.to_string());
        out.push('\n');
    }
    let path = dir.join("hostile.ndjson");
    std::fs::write(&path, out).expect("write");
    path
}

fn assert_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let unsafe_chars: Vec<char> = text
        .chars()
        .filter(|c| *c != '\n' && is_terminal_unsafe(*c))
        .collect();
    assert!(
        unsafe_chars.is_empty(),
        "{what}: {unsafe_chars:?} in\n{text}"
    );
}

#[test]
fn every_output_a_terminal_shows_escapes_hostile_captures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = hostile_capture(dir.path());
    let file = file.to_str().expect("utf-8");
    let pcapng = dir.path().join("out.pcapng");
    let runs: Vec<Vec<&str>> = vec![
        vec!["replay", file, "-o", "text"],
        vec!["replay", file, "-o", "wide"],
        vec!["replay", file, "-o", "json"],
        vec!["replay", file, "-o", "ndjson"],
        vec![
            "replay",
            file,
            "-o",
            "ndjson",
            "--export",
            pcapng.to_str().expect("utf-8"),
            "--export-format",
            "pcapng",
        ],
        vec!["map", "--replay", file, "-o", "dot"],
        vec!["map", "--replay", file, "-o", "mermaid"],
        vec!["map", "--replay", file, "-o", "json"],
    ];
    for args in runs {
        let output = meshtap().args(&args).output().expect("meshtap");
        let what = args.join(" ");
        assert!(output.status.success(), "{what}: {output:?}");
        assert!(!output.stdout.is_empty(), "{what}");
        assert_safe(&format!("{what} stdout"), &output.stdout);
        assert_safe(&format!("{what} stderr"), &output.stderr);
        if args.contains(&"text") {
            // The `[cluster]` prefix and the bad-base64 warning were both there, escaped.
            let out = String::from_utf8_lossy(&output.stdout);
            assert!(out.starts_with("[x\\x1b]0;PWNED"), "{out}");
            let err = String::from_utf8_lossy(&output.stderr);
            assert!(err.contains("bad base64"), "{err}");
        }
    }
    // pcapng comments (`tshark -e frame.comment` prints them): escaped. (The packet bytes are
    // the request as captured; tshark escapes those itself.)
    let bytes = std::fs::read(&pcapng).expect("pcapng");
    let comments = pcapng_comments(&bytes);
    assert!(comments.len() >= 4, "{comments:?}");
    assert!(
        comments
            .iter()
            .any(|c| c.contains("client identity x\\x1b]0;PWNED")),
        "{comments:?}"
    );
    for comment in &comments {
        assert_safe("pcapng comment", comment.as_bytes());
    }
}

/// The comment options of every block of a little-endian pcapng file.
fn pcapng_comments(bytes: &[u8]) -> Vec<String> {
    let u32_at =
        |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("u32")) as usize;
    let u16_at =
        |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().expect("u16")) as usize;
    let mut comments = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let (kind, total) = (u32_at(at), u32_at(at + 4));
        // Where the options begin: after the fixed fields of each block type.
        let options = match kind {
            0x0A0D_0D0A => at + 8 + 16,
            1 => at + 8 + 8,
            6 => at + 8 + 20 + u32_at(at + 8 + 12).next_multiple_of(4),
            _ => at + total,
        };
        let mut o = options;
        while o + 4 <= at + total - 4 {
            let (code, len) = (u16_at(o), u16_at(o + 2));
            if code == 0 {
                break;
            }
            if code == 1 {
                comments.push(String::from_utf8_lossy(&bytes[o + 4..o + 4 + len]).into_owned());
            }
            o += 4 + len.next_multiple_of(4);
        }
        at += total;
    }
    comments
}
