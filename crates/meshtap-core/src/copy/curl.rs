//! A request as a curl command.

use super::shell::Command;
use super::{
    BODY_NOTE, Copied, CopyError, Secrets, finish, has_body, header_item, headers, init, method,
    url,
};
use crate::model::request::Request;

/// `curl -g --path-as-is [-X METHOD | -I] URL -H 'name: value'…`: `-g` so that `[]{}` in a path
/// are not curl globs, `--path-as-is` so that `..` segments reach the server as captured.
pub fn render(request: &Request, secrets: Secrets<'_>) -> Result<Copied, CopyError> {
    let init = init(request)?;
    let method = method(init);
    let mut command = Command::new("curl");
    if has_body(method) {
        command.comment(BODY_NOTE);
    }
    command.word("-g");
    command.word("--path-as-is");
    if method.eq_ignore_ascii_case("HEAD") {
        // `-X HEAD` would wait for a body that never comes.
        command.word("-I");
    } else if method != "GET" {
        command.word("-X");
        command.value(method.as_bytes());
    }
    command.value(url(request, init)?.as_bytes());
    for (name, value) in headers(init, secrets, &[]) {
        command.arg("-H", &header_item(name, &value, b": "));
    }
    Ok(finish(command, init, secrets))
}
