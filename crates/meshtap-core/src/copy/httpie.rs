//! A request as an `HTTPie` command.

use super::shell::Command;
use super::{
    BODY_NOTE, Copied, CopyError, Secrets, finish, has_body, header_item, headers, init, method,
    url,
};
use crate::model::request::Request;

/// `http --ignore-stdin METHOD URL 'name:value'…`: `--ignore-stdin` so that a paste in a script
/// does not send the script's input as the body; `name;` is `HTTPie`'s empty-valued header.
pub fn render(request: &Request, secrets: Secrets<'_>) -> Result<Copied, CopyError> {
    let init = init(request)?;
    let method = method(init);
    let mut command = Command::new("http");
    if has_body(method) {
        command.comment(BODY_NOTE);
    }
    command.word("--ignore-stdin");
    command.value(method.as_bytes());
    command.value(url(request, init)?.as_bytes());
    for (name, value) in headers(init, secrets, &[]) {
        command.arg("", &header_item(name, &value, b":"));
    }
    Ok(finish(command, init, secrets))
}
