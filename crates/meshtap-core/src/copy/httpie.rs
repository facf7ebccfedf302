//! A request as an `HTTPie` command.
//!
//! `HTTPie` reads its words a second time, after the shell: a request item is split at its first
//! separator, and several separators read local files (`name:@FILE` sends FILE as the header's
//! value, `name:=@FILE` embeds a JSON file in the body, `name@FILE` uploads it). Captured names and
//! values may legally hold any of them, so every separator character is written with `HTTPie`'s
//! own escape (`\:`, `\;`, `\=`, `\@`), and a word `HTTPie` would take for something else (an
//! option, a URL) is not written at all: the method refuses the copy, a header is left out with a
//! note.

use super::shell::Command;
use super::{
    BODY_NOTE, Copied, CopyError, Secrets, finish, has_body, header_item, headers, init, method,
    url,
};
use crate::model::request::Request;
use crate::terminal::escape;

/// The characters `HTTPie`'s request-item separators are made of (`:` `;` `=` `==` `:=` `@` `=@`
/// `:=@` `:@` `==@`); a `\` before one makes it literal.
const SEPARATOR_CHARS: [u8; 4] = [b':', b';', b'=', b'@'];

/// `http --ignore-stdin METHOD URL 'name:value'…`: `--ignore-stdin` so that a paste in a script
/// does not send the script's input as the body; `name;` is `HTTPie`'s empty-valued header.
pub fn render(request: &Request, secrets: Secrets<'_>) -> Result<Copied, CopyError> {
    let init = init(request)?;
    let method = method(init);
    // `HTTPie` takes its first word for the method only when it is letters; any other word (a
    // method such as `M-SEARCH`, or `-o.x`, an option) would be read as the URL or a flag.
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(CopyError::Unsafe(format!(
            "HTTPie takes only letters as a method, not {}",
            escape(method)
        )));
    }
    let mut command = Command::new("http");
    if has_body(method) {
        command.comment(BODY_NOTE);
    }
    command.word("--ignore-stdin");
    command.value(method.as_bytes());
    command.value(url(request, init)?.as_bytes());
    let mut left_out = Vec::new();
    for (name, value) in headers(init, secrets, &[]) {
        match item(name, &value) {
            Some(item) => command.arg("", &item),
            None => left_out.push(escape(name).into_owned()),
        }
    }
    let mut copied = finish(command, init, secrets);
    if !left_out.is_empty() {
        copied.notes.push(format!(
            "left out, HTTPie would not send them as captured: {}",
            left_out.join(", ")
        ));
    }
    Ok(copied)
}

/// One header as a request item that `HTTPie` reads back as exactly `name` and `value`; `None`
/// when it cannot: a word starting with `-` is an option to `HTTPie`, and a `\` right before a
/// separator character has no spelling.
fn item(name: &str, value: &[u8]) -> Option<Vec<u8>> {
    if name.starts_with('-') || name.ends_with('\\') {
        return None;
    }
    let name = String::from_utf8(escaped(name.as_bytes())?).ok()?;
    Some(header_item(&name, &escaped(value)?, b":"))
}

/// `bytes` with every separator character escaped; `None` if a `\` comes right before one
/// (`HTTPie` would read `\\:` as two backslashes and a separator).
fn escaped(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut previous = 0;
    for &byte in bytes {
        if SEPARATOR_CHARS.contains(&byte) {
            if previous == b'\\' {
                return None;
            }
            out.push(b'\\');
        }
        out.push(byte);
        previous = byte;
    }
    Some(out)
}
