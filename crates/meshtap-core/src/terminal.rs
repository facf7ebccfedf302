//! The one escaping rule for every line meshtap writes where a terminal may read it: captured
//! strings (paths, labels, header names, a hostile API server's messages) are shown, never acted
//! on. Text lines escape every terminal-unsafe character Go-style ([`escape`]); JSON writes the
//! same characters as `\uXXXX` ([`write_json_fragment`]), which `serde_json` leaves raw for
//! everything but C0 controls, so the value parses back unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// Whether a terminal may act on `c` rather than print it: C0 controls (ESC starts escape
/// sequences, CR and LF forge lines), DEL, C1 controls (U+009B is a one-character CSI to some
/// terminals), the line and paragraph separators, and the bidirectional formatting characters
/// that reorder what is shown after them ("Trojan Source").
pub fn is_terminal_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every terminal-unsafe character written as a Go-style escape (`\x1b`, `\u202e`),
/// so it shows what the capture held without acting on it. Other text (backslashes included) is
/// unchanged and not copied, so ordinary strings print exactly as Linkerd prints them.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_terminal_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_terminal_unsafe(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// Writes a fragment of a JSON string (the unescaped run `serde_json` hands a `Formatter`) with
/// every terminal-unsafe character, and each character `also` names, as its `\uXXXX` escape.
pub fn write_json_fragment<W: ?Sized + io::Write>(
    writer: &mut W,
    fragment: &str,
    also: impl Fn(char) -> bool,
) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in fragment.char_indices() {
        if !(is_terminal_unsafe(c) || also(c)) {
            continue;
        }
        writer.write_all(&fragment.as_bytes()[start..i])?;
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            write!(writer, "\\u{unit:04x}")?;
        }
        start = i + c.len_utf8();
    }
    writer.write_all(&fragment.as_bytes()[start..])
}

/// `serde_json`'s compact output, terminal-safe: for JSON lines (`-o ndjson`, the copied NDJSON
/// record) that are often read on a terminal.
#[derive(Clone, Copy, Debug, Default)]
pub struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_json_fragment(writer, fragment, |_| false)
    }
}

/// `value` as one line of terminal-safe compact JSON.
pub fn to_json_writer<W: io::Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, SafeJson);
    value.serialize(&mut ser)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_value_and_loses_every_unsafe_character() {
        let hostile = "a\u{9b}2J\u{202e}b\x7f\u{2066}c\x1b]0;t\x07 é ✓ <&>";
        let mut out = Vec::new();
        to_json_writer(&mut out, &serde_json::json!({ "k\u{85}": hostile })).expect("json");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(!text.chars().any(is_terminal_unsafe), "{text:?}");
        assert_eq!(
            text,
            r#"{"k\u0085":"a\u009b2J\u202eb\u007f\u2066c\u001b]0;t\u0007 é ✓ <&>"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, serde_json::json!({ "k\u{85}": hostile }));
    }

    #[test]
    fn escape_leaves_ordinary_text_borrowed() {
        assert!(matches!(escape("/users/1?q=a b\\x1b"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{202e}\n"), "a\\u202e\\x0a");
    }
}
