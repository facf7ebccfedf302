//! A gRPC request as a grpcurl command.

use super::shell::Command;
use super::{BODY_NOTE, Copied, CopyError, Secrets, authority, finish, headers, init};
use crate::model::event::RequestInit;
use crate::model::request::Request;
use crate::terminal::escape;

/// Metadata grpcurl sets itself (or that only the transport may carry).
const GRPCURL_SETS: [&str; 5] = [
    "content-type",
    "user-agent",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-timeout",
];

/// Whether the request is gRPC: its content-type is `application/grpc` or `application/grpc+…`.
pub fn is_grpc(init: &RequestInit) -> bool {
    init.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("content-type") && {
            let value = h.value.as_bytes();
            value.len() >= 16
                && value[..16].eq_ignore_ascii_case(b"application/grpc")
                && matches!(value.get(16), None | Some(b'+' | b';'))
        }
    })
}

/// `/pkg.Service/Method` → `pkg.Service/Method`.
pub fn service_method(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(rest)
}

/// `grpcurl -authority A -H 'k: v'… HOST:PORT pkg.Service/Method`, without `-plaintext`: in the
/// mesh the proxy speaks mTLS for the client, from outside the user knows which port is plain.
pub fn render(request: &Request, secrets: Secrets<'_>) -> Result<Copied, CopyError> {
    let init = init(request)?;
    let method = service_method(&init.path)
        .filter(|_| is_grpc(init))
        .ok_or(CopyError::NotGrpc)?;
    let authority = authority(request, init)?;
    let address = if has_port(&authority) {
        authority.clone()
    } else {
        let https = init
            .scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"));
        format!("{authority}:{}", if https { 443 } else { 80 })
    };
    // Go's flag parser reads a positional word starting with `-` as a flag (a reg-name such as
    // `-plaintext:50051` is legal in an authority).
    for (what, word) in [("address", address.as_str()), ("method", method)] {
        if word.starts_with('-') {
            return Err(CopyError::Unsafe(format!(
                "the {what} {} starts with '-': grpcurl would read it as a flag",
                escape(word)
            )));
        }
    }
    let mut command = Command::new("grpcurl");
    command.comment(&format!(
        "request message {BODY_NOTE}: add -d '{{…}}' (JSON)"
    ));
    command
        .comment("needs server reflection, or -proto FILE; add -plaintext for a port without TLS");
    command.arg("-authority", authority.as_bytes());
    for (name, value) in headers(init, secrets, &GRPCURL_SETS) {
        let mut header = name.as_bytes().to_vec();
        header.extend_from_slice(b": ");
        header.extend_from_slice(&value);
        command.arg("-H", &header);
    }
    command.arg("", address.as_bytes());
    command.arg("", method.as_bytes());
    Ok(finish(command, init, secrets))
}

/// Whether `host[:port]` (or `[v6]:port`) names a port.
fn has_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}
