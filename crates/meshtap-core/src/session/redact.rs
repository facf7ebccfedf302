//! The one redactor: which header values every sink (screen, stdout, exports, the recording)
//! hides, from the built-in credential headers, `--redact-header` and `--no-redact`.

/// What a redacted header value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Header names whose values are credentials.
pub const SENSITIVE_HEADERS: [&str; 4] = [
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// Decides which header values to hide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redactor {
    enabled: bool,
    /// Lowercased extra names from `--redact-header`.
    extra: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(true, Vec::new())
    }
}

impl Redactor {
    pub fn new(enabled: bool, extra: Vec<String>) -> Self {
        Self {
            enabled,
            extra: extra.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    pub fn is_sensitive(&self, name: &str) -> bool {
        self.enabled
            && (SENSITIVE_HEADERS
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
                || self.extra.iter().any(|h| h.eq_ignore_ascii_case(name)))
    }
}
