//! Why a cluster tap failed, as a kind: API server answers (with `Retry-After`), and the
//! failures of reaching it at all (refused, DNS, timeout, certificates, proxy, credential plugins).

use std::error::Error as StdError;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::Resolved;
use crate::session::{ErrorKind, StreamError};
use crate::source::frames::FrameError;
use crate::source::target::TapSpec;

/// Why a tap failed. The messages say what happened; `ErrorKind::hint` says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("{0}")]
    Linkerd(String),
    #[error(
        "forbidden: {message}\n  check with: kubectl auth can-i watch {resource}.tap.linkerd.io{namespace_flag}"
    )]
    Forbidden {
        message: String,
        resource: String,
        namespace_flag: String,
    },
    #[error(
        "the linkerd-viz tap API is not available: the kube-apiserver answered {code}: {message}"
    )]
    VizMissing { code: u16, message: String },
    #[error("the kube-apiserver serves tap.linkerd.io {found}, not v1alpha1")]
    TapApiVersion { found: String },
    #[error(
        "unauthorized: the kube-apiserver rejected the credentials of user {user:?} ({message})"
    )]
    Unauthorized { user: String, message: String },
    #[error("the tap request was refused ({code}): {message}")]
    Refused { code: u16, message: String },
    /// A transient answer (408, 425, 429, 5xx): retried, after `retry_after` when it says so.
    #[error("the kube-apiserver answered {code}: {message}")]
    ServerError {
        code: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Reaching the API server failed before any answer; the kind says how.
    #[error("{message}")]
    Connect { kind: ErrorKind, message: String },
    #[error("the tap stream broke: {0}")]
    Body(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

impl TapError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TapError::Linkerd(_) => ErrorKind::Linkerd,
            TapError::Forbidden { .. } => ErrorKind::Forbidden,
            TapError::VizMissing { .. } => ErrorKind::VizMissing,
            TapError::TapApiVersion { .. } => ErrorKind::TapApiVersion,
            TapError::Unauthorized { .. } => ErrorKind::Unauthorized,
            TapError::Refused { .. } => ErrorKind::Refused,
            TapError::ServerError { .. } => ErrorKind::Throttled,
            TapError::Connect { kind, .. } => *kind,
            TapError::Body(_) | TapError::Frame(_) => ErrorKind::Stream,
        }
    }

    /// Permanent errors are the user's to fix; retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.kind().is_permanent()
    }

    pub fn into_stream_error(self) -> StreamError {
        let retry_after = match &self {
            TapError::ServerError { retry_after, .. } => *retry_after,
            _ => None,
        };
        let mut error = StreamError::new(self.kind(), self.to_string());
        error.retry_after = retry_after;
        error
    }
}

/// Reads `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`.
pub fn retry_after(headers: &http::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

/// Turns a non-200 answer into an error, reading Kubernetes `Status` or the tap server's
/// `{"error": ...}` JSON, whichever the body is.
pub fn status_error(
    code: u16,
    body: &[u8],
    retry_after: Option<Duration>,
    spec: &TapSpec,
    user: &str,
) -> TapError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let message = field("message")
        .or_else(|| field("error"))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    let message = if message.is_empty() {
        http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no message")
            .to_string()
    } else {
        message
    };
    match code {
        401 => TapError::Unauthorized {
            user: user.to_owned(),
            message,
        },
        403 => {
            let target = &spec.target;
            // Linkerd's tap server (viz/tap/api/handlers.go) authorizes a namespace tap as
            // `watch namespaces/tap` in that namespace, so `-n` names it for `ns/X` too;
            // without it kubectl would ask about the kubeconfig's default namespace.
            let namespace = if target.kind == "namespace" {
                &target.name
            } else {
                &target.namespace
            };
            let namespace_flag = if namespace.is_empty() {
                String::new()
            } else {
                format!(" -n {namespace}")
            };
            TapError::Forbidden {
                message,
                resource: format!("{}s", target.kind),
                namespace_flag,
            }
        }
        404 => TapError::VizMissing { code, message },
        // On the tap path 503 is what the aggregator answers while the tap APIService has no
        // ready endpoint (PROTOCOL.md §2: viz missing or down), and that does not pass by
        // waiting a few seconds: it stays permanent with the viz hint. A 503 that carries
        // `Retry-After` is an API server saying "busy" (API Priority and Fairness, a
        // terminating apiserver): that one is retried.
        503 if retry_after.is_none() => TapError::VizMissing { code, message },
        408 | 425 | 429 | 500..=599 => TapError::ServerError {
            code,
            message,
            retry_after,
        },
        _ => TapError::Refused { code, message },
    }
}

/// Explains a failure to get any answer from the API server, naming the server and context.
///
/// Through a proxy: a proxy that refuses the connection or does not answer is down or
/// restarting, which passes — retried, with the proxy named. One that answers but will not
/// open the tunnel (407 wants credentials, 403 forbids the destination, any other refusal of
/// CONNECT) refuses by its configuration, which waiting does not change: permanent, with the
/// proxy hint.
pub fn connect_error(error: &kube::Error, at: &Resolved) -> TapError {
    let (cause, text) = (classify(error), chain(error));
    if !at.proxy.is_empty() && matches!(cause, Cause::Refused | Cause::TimedOut | Cause::Other) {
        let kind = if matches!(cause, Cause::Other) {
            ErrorKind::Proxy
        } else {
            ErrorKind::Transport
        };
        return TapError::Connect {
            kind,
            message: format!(
                "could not reach the server {} through the proxy {} (HTTPS_PROXY or the kubeconfig's proxy-url; context {:?}): {text}",
                at.server, at.proxy, at.context
            ),
        };
    }
    explain(cause, &text, at)
}

/// A tap body that broke mid-stream. A connection that died under it (an HTTP/2 keepalive
/// PING went unanswered, which hyper reports to the open streams as a broken pipe, or a reset)
/// is the network's doing: say so, naming the server.
pub fn body_error(error: &(dyn StdError + 'static), at: &Resolved) -> TapError {
    let mut next = Some(error);
    while let Some(cause) = next {
        let timed_out = cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout);
        let io = cause
            .downcast_ref::<std::io::Error>()
            .or_else(|| cause.downcast_ref::<h2::Error>()?.get_io());
        let dropped = io.is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            )
        });
        if timed_out || dropped {
            return TapError::Connect {
                kind: ErrorKind::Transport,
                message: format!(
                    "the connection to the server {} went dead (keepalive pings unanswered, or reset): {} (context {:?})",
                    at.server,
                    chain(error),
                    at.context
                ),
            };
        }
        next = cause.source();
    }
    TapError::Body(chain(error))
}

/// A client that cannot even be built: credential plugins run (and certificates load) here.
pub fn build_error(error: &kube::Error, at: &Resolved) -> StreamError {
    match explain(classify(error), &chain(error), at) {
        TapError::Connect {
            kind: ErrorKind::Transport,
            message,
        } => StreamError::new(
            ErrorKind::Config,
            format!(
                "cannot build a kube client (context {:?}): {message}",
                at.context
            ),
        ),
        other => other.into_stream_error(),
    }
}

fn explain(cause: Cause, text: &str, at: &Resolved) -> TapError {
    let server = at.server.as_str();
    let context = at.context.as_str();
    let (kind, message) = match cause {
        Cause::Refused => (
            ErrorKind::Transport,
            format!(
                "the connection to the server {} was refused - did you specify the right host or port? (context {context:?})",
                host_port(server)
            ),
        ),
        Cause::TimedOut => (
            ErrorKind::Transport,
            format!(
                "no answer from the server {} within the connect timeout (context {context:?})",
                host_port(server)
            ),
        ),
        Cause::Unresolved(why) => (
            ErrorKind::Transport,
            format!("cannot resolve the server {server} (context {context:?}): {why}"),
        ),
        Cause::Certificate(why) => (
            ErrorKind::ApiServerCertificate,
            format!(
                "the certificate of the server {server} does not verify: {why} (context {context:?})"
            ),
        ),
        Cause::PluginMissing => (
            ErrorKind::CredentialPluginMissing,
            format!(
                "the credential plugin {:?} of user {:?} is not on PATH (context {context:?})",
                at.exec, at.user
            ),
        ),
        Cause::PluginFailed(stderr) => (
            ErrorKind::CredentialPluginFailed,
            format!(
                "the credential plugin {:?} of user {:?} failed: {}",
                at.exec,
                at.user,
                stderr.trim()
            ),
        ),
        Cause::Other => (
            ErrorKind::Transport,
            format!("could not reach the server {server} (context {context:?}): {text}"),
        ),
    };
    TapError::Connect { kind, message }
}

/// The error and every cause under it, joined: hyper's top-level messages alone say little.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

enum Cause {
    Refused,
    TimedOut,
    /// The server's host name did not resolve (the resolver's words).
    Unresolved(String),
    Certificate(&'static str),
    PluginMissing,
    PluginFailed(String),
    Other,
}

fn classify(error: &(dyn StdError + 'static)) -> Cause {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(found) = recognise(cause) {
            return found;
        }
        // An io::Error's `source()` skips the error it wraps (rustls's, another io::Error's):
        // step into it instead.
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn StdError + 'static))
                .or_else(|| cause.source()),
            None => cause.source(),
        };
    }
    Cause::Other
}

fn recognise(cause: &(dyn StdError + 'static)) -> Option<Cause> {
    if let Some(auth) = cause.downcast_ref::<kube::client::AuthError>() {
        match auth {
            kube::client::AuthError::AuthExecStart(io)
                if io.kind() == std::io::ErrorKind::NotFound =>
            {
                return Some(Cause::PluginMissing);
            }
            kube::client::AuthError::AuthExecRun { out, .. } => {
                return Some(Cause::PluginFailed(
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ));
            }
            _ => {}
        }
    }
    if let Some(dns) = cause.downcast_ref::<super::client::ResolveError>() {
        return Some(Cause::Unresolved(dns.source.to_string()));
    }
    if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
        return certificate_problem(tls).map(Cause::Certificate);
    }
    match cause.downcast_ref::<std::io::Error>()?.kind() {
        std::io::ErrorKind::ConnectionRefused => Some(Cause::Refused),
        std::io::ErrorKind::TimedOut => Some(Cause::TimedOut),
        _ => None,
    }
}

fn certificate_problem(error: &rustls::Error) -> Option<&'static str> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = error else {
        return None;
    };
    Some(match cert {
        C::UnknownIssuer => {
            "it is signed by an authority the kubeconfig's certificate-authority does not contain"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is not issued for the server's name in the kubeconfig"
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (check this machine's clock)"
        }
        C::Revoked => "it has been revoked",
        _ => "it was rejected",
    })
}

/// `host:port` of a server URL, as kubectl names it.
pub fn host_port(server: &str) -> String {
    let Ok(uri) = server.parse::<http::Uri>() else {
        return server.to_owned();
    };
    let Some(host) = uri.host() else {
        return server.to_owned();
    };
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustls's error as hyper-rustls and hyper-util wrap it: `io::Error` inside `io::Error`.
    fn wrapped(error: rustls::CertificateError) -> kube::Error {
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(error),
        );
        kube::Error::Service(Box::new(std::io::Error::other(tls)))
    }

    #[test]
    fn certificate_failures_say_which() {
        let at = Resolved {
            context: "prod".into(),
            server: "https://10.0.0.1:6443".into(),
            ..Resolved::default()
        };
        for (error, why) in [
            (
                rustls::CertificateError::NotValidForName,
                "not issued for the server's name",
            ),
            (rustls::CertificateError::Expired, "has expired"),
            (
                rustls::CertificateError::UnknownIssuer,
                "signed by an authority",
            ),
        ] {
            let err = build_error(&wrapped(error), &at);
            assert_eq!(err.kind, ErrorKind::ApiServerCertificate);
            assert!(err.message.contains(why), "{err}");
            assert!(err.message.contains("https://10.0.0.1:6443"), "{err}");
        }
    }

    #[test]
    fn host_port_defaults_like_kubectl() {
        assert_eq!(host_port("https://10.0.0.1"), "10.0.0.1:443");
        assert_eq!(host_port("http://localhost:8001"), "localhost:8001");
    }
}
