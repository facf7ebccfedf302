//! Path templates: collapse the ids in a request path so one route is one row.
//!
//! `/catalogue/3395a43e-2d88-40de-b95f-e00e1502085b` → `/catalogue/{id}`,
//! `/customers/57a98d98e4b00679b4a830af` → `/customers/{id}`, `/orders/42` → `/orders/{n}`.
//! gRPC paths (`/package.Service/Method`) are kept as they are. The template is written into a
//! caller's buffer: this runs for every finished request and must not allocate.

/// Longest template kept, in bytes: a path is attacker- or bug-controlled and the template is a
/// table key, so an endless path must not become an endless key.
pub const MAX_TEMPLATE_LEN: usize = 160;

/// Appends the template of `path` to `out`.
pub fn write_template(out: &mut String, path: &str) {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        out.push('/');
        return;
    }
    if is_grpc_path(path) {
        push_bounded(out, path, out.len() + MAX_TEMPLATE_LEN);
        return;
    }
    let limit = out.len() + MAX_TEMPLATE_LEN;
    let mut segments = path.split('/');
    // A leading '/' yields an empty first segment; keep the shape of the path as it came.
    if let Some(first) = segments.next() {
        push_segment(out, first);
    }
    for segment in segments {
        if out.len() >= limit {
            out.push('…');
            return;
        }
        out.push('/');
        push_segment(out, segment);
    }
    if out.len() > limit {
        truncate_at_boundary(out, limit);
        out.push('…');
    }
}

/// Convenience for tests and one-off callers.
pub fn template(path: &str) -> String {
    let mut out = String::new();
    write_template(&mut out, path);
    out
}

fn push_segment(out: &mut String, segment: &str) {
    match classify(segment) {
        Segment::Number => out.push_str("{n}"),
        Segment::Id => out.push_str("{id}"),
        Segment::Literal => out.push_str(segment),
    }
}

fn push_bounded(out: &mut String, text: &str, limit: usize) {
    out.push_str(text);
    if out.len() > limit {
        truncate_at_boundary(out, limit);
        out.push('…');
    }
}

fn truncate_at_boundary(out: &mut String, mut limit: usize) {
    while !out.is_char_boundary(limit) {
        limit -= 1;
    }
    out.truncate(limit);
}

enum Segment {
    Number,
    Id,
    Literal,
}

fn classify(segment: &str) -> Segment {
    let bytes = segment.as_bytes();
    if bytes.is_empty() {
        return Segment::Literal;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        return Segment::Number;
    }
    if is_uuid(bytes) || is_long_hex(bytes) {
        return Segment::Id;
    }
    Segment::Literal
}

/// 8-4-4-4-12 hex digits.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Mongo object ids, hashes and the like: 16 or more hex digits with at least one digit (so a
/// long word made only of the letters a–f is not an id).
fn is_long_hex(bytes: &[u8]) -> bool {
    bytes.len() >= 16
        && bytes.iter().all(u8::is_ascii_hexdigit)
        && bytes.iter().any(u8::is_ascii_digit)
}

/// `/package.Service/Method`: two segments, the first dotted.
fn is_grpc_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut parts = rest.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(service), Some(method), None)
            if service.contains('.')
                && !service.starts_with('.')
                && method.starts_with(|c: char| c.is_ascii_alphabetic())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_collapse_ids() {
        let cases = [
            (
                "/catalogue/3395a43e-2d88-40de-b95f-e00e1502085b",
                "/catalogue/{id}",
            ),
            ("/customers/57a98d98e4b00679b4a830af", "/customers/{id}"),
            (
                "/customers/57a98d98e4b00679b4a830af/cards",
                "/customers/{id}/cards",
            ),
            ("/orders/42", "/orders/{n}"),
            ("/users/123/items/7", "/users/{n}/items/{n}"),
            ("/catalogue", "/catalogue"),
            ("/", "/"),
            ("", "/"),
            ("/catalogue?size=5", "/catalogue"),
            ("/catalogue/size", "/catalogue/size"),
            ("/health", "/health"),
            ("/carts/57a98d98e4b00679b4a830af/items", "/carts/{id}/items"),
            ("/deadbeefcafe0123", "/{id}"),
            ("/deadbeefcafebabe", "/deadbeefcafebabe"),
            ("/acceptable-defaced", "/acceptable-defaced"),
            ("/abcdefabcdefabcdef", "/abcdefabcdefabcdef"),
            ("/v1/api", "/v1/api"),
            ("/images/3395a43e.jpg", "/images/3395a43e.jpg"),
            ("/orders/", "/orders/"),
            ("relative/12", "relative/{n}"),
            (
                "/emojivoto.v1.EmojiService/ListAll",
                "/emojivoto.v1.EmojiService/ListAll",
            ),
            (
                "/grpc.health.v1.Health/Check",
                "/grpc.health.v1.Health/Check",
            ),
            ("/v1.2/items/5", "/v1.2/items/{n}"),
            ("/api.v1/42", "/api.v1/{n}"),
        ];
        for (path, expected) in cases {
            assert_eq!(template(path), expected, "path {path:?}");
        }
    }

    #[test]
    fn endless_paths_are_bounded() {
        let path = "/a".repeat(1_000);
        let out = template(&path);
        assert!(out.len() <= MAX_TEMPLATE_LEN + 8, "{}", out.len());
        assert!(out.ends_with('…'));
        let grpc = format!("/pkg.{}/Method", "S".repeat(500));
        assert!(template(&grpc).len() <= MAX_TEMPLATE_LEN + 4);
        let multibyte = format!("/{}", "é".repeat(200));
        assert!(template(&multibyte).ends_with('…'));
    }

    #[test]
    fn appends_without_clearing() {
        let mut out = String::from("GET ");
        write_template(&mut out, "/orders/9");
        assert_eq!(out, "GET /orders/{n}");
    }
}
