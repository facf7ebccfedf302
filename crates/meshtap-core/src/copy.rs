//! Copy as: a captured request turned into a command that makes it again (curl, grpcurl, `HTTPie`),
//! the tap command that would catch it again, or its NDJSON record. Pure: no clipboard, no
//! terminal. Sensitive header values go through the session's redactor unless revealed; tap
//! carries no bodies, and the commands say so rather than invent one.

pub mod clipboard;
mod curl;
mod grpcurl;
mod httpie;
pub mod osc52;
pub mod shell;
mod tap_cmd;

#[cfg(test)]
pub(crate) mod tests;

use crate::capture::ndjson::RequestRecord;
use crate::model::event::RequestInit;
use crate::model::request::Request;
use crate::session::{REDACTED, Redactor};
use crate::terminal::escape;

/// What a request can be copied as, in menu order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Curl,
    Grpcurl,
    Httpie,
    TapCommand,
    Ndjson,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Curl,
        Format::Grpcurl,
        Format::Httpie,
        Format::TapCommand,
        Format::Ndjson,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Format::Curl => "curl",
            Format::Grpcurl => "grpcurl",
            Format::Httpie => "HTTPie",
            Format::TapCommand => "tap command",
            Format::Ndjson => "NDJSON",
        }
    }
}

/// What the copy shows: the text that goes to the clipboard, and notes shown beside it (never
/// copied).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub text: String,
    pub notes: Vec<String>,
}

/// Why a request cannot be copied in a format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    #[error("the tap began after this request did: its method, path and headers were not captured")]
    NoRequest,
    #[error("no authority or destination address to send it to")]
    NoAddress,
    #[error("not a gRPC request (content-type is not application/grpc…)")]
    NotGrpc,
    #[error("neither side of this request names a workload to tap")]
    NoTarget,
    #[error("encoding the record: {0}")]
    Encode(String),
    /// The captured scheme is not a URL scheme (`-o.x`): the URL would start with something else.
    #[error("the captured scheme {0} is not a URL scheme")]
    Scheme(String),
    /// A captured word would reach the program as an option or as another argument than meant;
    /// the text says which (captured values in it are escaped).
    #[error("{0}")]
    Unsafe(String),
}

/// Which header values the copy hides: what the session's redactor hides, unless revealed.
#[derive(Clone, Copy, Debug)]
pub struct Secrets<'a> {
    pub redactor: &'a Redactor,
    pub reveal: bool,
}

/// Methods whose requests usually carry a body, which tap never captures.
const METHODS_WITH_BODY: [&str; 3] = ["POST", "PUT", "PATCH"];

/// The line every command carries when its method usually has a body.
pub const BODY_NOTE: &str = "body not captured by tap";

/// Headers a replayed request must not repeat: the client computes them (framing, the
/// connection, the host from the URL) and a stale `content-length` with no body would hang it.
const HOP_HEADERS: [&str; 9] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "te",
    "host",
    "expect",
];

/// `request` as `format`.
pub fn render(
    format: Format,
    request: &Request,
    secrets: Secrets<'_>,
) -> Result<Copied, CopyError> {
    match format {
        Format::Curl => curl::render(request, secrets),
        Format::Grpcurl => grpcurl::render(request, secrets),
        Format::Httpie => httpie::render(request, secrets),
        Format::TapCommand => tap_cmd::render(request),
        Format::Ndjson => ndjson(request, secrets),
    }
}

fn ndjson(request: &Request, secrets: Secrets<'_>) -> Result<Copied, CopyError> {
    let open = Redactor::new(false, Vec::new());
    let redactor = if secrets.reveal {
        &open
    } else {
        secrets.redactor
    };
    let record = RequestRecord::new(request, redactor);
    let mut bytes = Vec::new();
    crate::terminal::to_json_writer(&mut bytes, &record)
        .map_err(|e| CopyError::Encode(e.to_string()))?;
    bytes.push(b'\n');
    // Only ever UTF-8: serde writes strings as given and escapes the rest.
    let text = String::from_utf8(bytes).map_err(|e| CopyError::Encode(e.to_string()))?;
    let mut notes = Vec::new();
    if let Some(init) = &request.init {
        secret_notes(init, secrets, &mut notes);
    }
    Ok(Copied { text, notes })
}

/// The request-init of a request that can be sent again.
fn init(request: &Request) -> Result<&RequestInit, CopyError> {
    request.init.as_ref().ok_or(CopyError::NoRequest)
}

/// The method, `GET` when the event carried none (as Linkerd's own output does).
fn method(init: &RequestInit) -> &str {
    init.method.as_deref().unwrap_or("GET")
}

fn has_body(method: &str) -> bool {
    METHODS_WITH_BODY
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// Where to send it: the `:authority`, else the destination address.
fn authority(request: &Request, init: &RequestInit) -> Result<String, CopyError> {
    if !init.authority.is_empty() {
        return Ok(init.authority.to_string());
    }
    request
        .destination
        .addr
        .map(|addr| addr.to_string())
        .ok_or(CopyError::NoAddress)
}

/// `scheme://authority/path`, the scheme `http` unless the event said otherwise. A scheme that is
/// not one (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`) is refused: the URL is a
/// positional word, and one starting with `-` would be read as an option.
fn url(request: &Request, init: &RequestInit) -> Result<String, CopyError> {
    let scheme = init
        .scheme
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("http");
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return Err(CopyError::Scheme(escape(scheme).into_owned()));
    }
    Ok(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority(request, init)?,
        init.path
    ))
}

/// Whether `name` is an HTTP field name (RFC 9110 `token`): anything else (`@file`, a name with
/// spaces or separators) is no header a client would send, and some programs read such words
/// as instructions (curl's `-H @FILE`).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The headers to send: name and value bytes, pseudo-headers, hop headers and names that are
/// not field names left out, masked values as [`REDACTED`].
fn headers<'a>(
    init: &'a RequestInit,
    secrets: Secrets<'_>,
    skip: &[&str],
) -> Vec<(&'a str, Vec<u8>)> {
    let skipped = |name: &str| {
        name.starts_with(':')
            || !is_token(name)
            || HOP_HEADERS.iter().any(|n| n.eq_ignore_ascii_case(name))
            || skip.iter().any(|n| n.eq_ignore_ascii_case(name))
    };
    init.headers
        .iter()
        .filter(|h| !skipped(h.name))
        .map(|h| {
            let value = if !secrets.reveal && secrets.redactor.is_sensitive(h.name) {
                REDACTED.as_bytes().to_vec()
            } else {
                h.value.as_bytes().to_vec()
            };
            (h.name, value)
        })
        .collect()
}

/// The note on captured header names a command leaves out because they are no field names.
fn name_notes(init: &RequestInit, notes: &mut Vec<String>) {
    let not_names: Vec<String> = init
        .headers
        .iter()
        .filter(|h| !h.name.starts_with(':') && !is_token(h.name))
        .map(|h| escape(h.name).into_owned())
        .collect();
    if !not_names.is_empty() {
        notes.push(format!(
            "left out, not HTTP header names: {}",
            not_names.join(", ")
        ));
    }
}

/// Notes on what is masked, and on secrets the capture never held.
fn secret_notes(init: &RequestInit, secrets: Secrets<'_>, notes: &mut Vec<String>) {
    let sensitive: Vec<&str> = init
        .headers
        .iter()
        .filter(|h| secrets.redactor.is_sensitive(h.name))
        .map(|h| h.name)
        .collect();
    let never_stored: Vec<&str> = init
        .headers
        .iter()
        .filter(|h| h.value.as_bytes() == REDACTED.as_bytes())
        .map(|h| h.name)
        .collect();
    if !secrets.reveal && !sensitive.is_empty() {
        notes.push(format!(
            "{} shown as {REDACTED}: r reveals",
            sensitive.join(", ")
        ));
    }
    if !never_stored.is_empty() {
        notes.push(format!(
            "{}: the capture holds no secret to reveal (it was redacted when written)",
            never_stored.join(", ")
        ));
    }
}

/// `name` + `separator` + `value`, or `name;` for an empty value: how curl and `HTTPie` send a
/// header whose value is empty (`name:` would remove it instead).
fn header_item(name: &str, value: &[u8], separator: &[u8]) -> Vec<u8> {
    let mut item = name.as_bytes().to_vec();
    if value.is_empty() {
        item.push(b';');
    } else {
        item.extend_from_slice(separator);
        item.extend_from_slice(value);
    }
    item
}

/// The finished command with the notes every command shares: masked headers, names left out,
/// bash-only quoting.
fn finish(command: shell::Command, init: &RequestInit, secrets: Secrets<'_>) -> Copied {
    let text = command.finish();
    let mut notes = Vec::new();
    secret_notes(init, secrets, &mut notes);
    name_notes(init, &mut notes);
    if text.contains("$'") {
        notes.push("control characters are quoted as $'…' (bash, zsh, ksh)".to_owned());
    }
    Copied { text, notes }
}
