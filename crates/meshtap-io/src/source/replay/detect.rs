//! Recognising a file's format from its head (its first `HEAD_BYTES`), never from its name.

use super::{ReplayFormat, linkerd};
use crate::capture::ndjson::RequestRecord;
use crate::source::frames;

/// What `open` reads before deciding: a header line, a first Linkerd object or the start of a
/// HAR document all fit.
pub const HEAD_BYTES: usize = 1024 * 1024;

/// The UTF-8 byte order mark some editors put first.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// Which format a file starting with `head` holds (the head may be the whole file).
pub fn detect(head: &[u8]) -> Option<ReplayFormat> {
    // A frame header is a length under 16 MiB, so its fourth byte is 0 (or 1 for exactly
    // 16 MiB); text never starts like that, so the two cannot be confused.
    if let Some(header) = head.get(..4) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len <= frames::MAX_FRAME_BYTES && header[3] <= 1 {
            return Some(ReplayFormat::Framed);
        }
    }
    let text = head.strip_prefix(BOM).unwrap_or(head);
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<serde_json::Value>();
    match stream.next() {
        Some(Ok(serde_json::Value::Object(first))) => {
            if first.contains_key("log") {
                Some(ReplayFormat::Har)
            } else if first.contains_key("meshtap_capture") || first.contains_key("phase") {
                Some(ReplayFormat::Ndjson)
            } else if linkerd::looks_like_event(&first) {
                Some(ReplayFormat::LinkerdJson)
            } else {
                None
            }
        }
        // Only a HAR document is one value too big for the head; a whole file that ends inside
        // one was cut short, and the HAR reader says where and keeps the entries before it.
        Some(Err(e)) if e.is_eof() && starts_with_key(text, "log") => Some(ReplayFormat::Har),
        _ => {
            // The first line may be malformed NDJSON: look for a record on the lines after it.
            let mut lines = text.split(|b| *b == b'\n').skip(1);
            lines
                .any(|line| serde_json::from_slice::<RequestRecord>(line).is_ok())
                .then_some(ReplayFormat::Ndjson)
        }
    }
}

/// Whether `text` is an object whose first key is `key`.
fn starts_with_key(text: &[u8], key: &str) -> bool {
    let rest = text.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"{") else {
        return false;
    };
    rest.trim_ascii_start()
        .strip_prefix(format!("\"{key}\"").as_bytes())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content() {
        let whole = detect;
        assert_eq!(
            whole(b"{\"log\": {\"entries\": []}}"),
            Some(ReplayFormat::Har)
        );
        assert_eq!(
            whole(b"{\"meshtap_capture\": {}}\n"),
            Some(ReplayFormat::Ndjson)
        );
        assert_eq!(
            whole(b"{\n  \"proxyDirection\": \"INBOUND\"\n}\n"),
            Some(ReplayFormat::LinkerdJson)
        );
        // A 123-byte frame starts with `{`, but its length bytes say what it is.
        assert_eq!(whole(&[123, 0, 0, 0, 8]), Some(ReplayFormat::Framed));
        assert_eq!(whole(b"{\"hello\": 1}"), None);
        assert_eq!(whole(b"hello"), None);
    }

    #[test]
    fn a_har_document_larger_than_the_head_is_recognised_by_its_first_key() {
        let head = b"\xef\xbb\xbf{\n  \"log\": {\"version\": \"1.2\", \"entries\": [";
        // A head of a larger file, or a whole file cut short: a HAR either way.
        assert_eq!(detect(head), Some(ReplayFormat::Har));
        assert_eq!(detect(b"{\"logs\": ["), None);
    }

    #[test]
    fn a_broken_first_line_needs_a_whole_record_after_it() {
        let text = b"{broken\n{\"v\":1}\n";
        // The second line is not a full record either: nothing to recognise.
        assert_eq!(detect(text), None);
    }
}
