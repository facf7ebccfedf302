//! Why a direct tap failed, classified from the error's structure: the gRPC status code, and the
//! rustls error found by walking the status's `source()` chain (TLS failures reach meshtap as an
//! `Unavailable` connect error wrapping an `io::Error` wrapping the `rustls::Error`).

use std::error::Error;

use rustls::{AlertDescription, CertificateError, InvalidMessage};

use super::ProxySpec;
use super::codec::Undecodable;
use super::identity::DEFAULT_TAP_IDENTITY;
use crate::session::{ErrorKind, StreamError};

/// Error chains are short, but never trust one to end.
const CHAIN_MAX_LINKS: usize = 16;

/// Why a direct tap failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyTapError {
    #[error(
        "the proxy at {addr} refused the tap (Unauthenticated): {message}\n  a proxy's tap port admits only the mTLS \
         identity named by its LINKERD2_PROXY_TAP_SVC_NAME (default {DEFAULT_TAP_IDENTITY}), with a \
         certificate issued by the mesh's identity issuer.\n  meshtap presented {presented}"
    )]
    Unauthenticated {
        addr: String,
        message: String,
        presented: String,
    },
    #[error(
        "the proxy at {addr} refused the TLS handshake ({alert:?}).\n  meshtap presented {presented}"
    )]
    HandshakeRefused {
        addr: String,
        alert: AlertDescription,
        presented: String,
    },
    #[error("the proxy at {addr} refused plaintext (Unauthenticated): {message}")]
    PlaintextRefused { addr: String, message: String },
    #[error(
        "the proxy at {addr} answered the TLS handshake in plaintext ({message}); meshtap sent {sent}"
    )]
    PlaintextAnswer {
        addr: String,
        sent: String,
        message: String,
    },
    #[error("the certificate of the proxy at {addr} does not name {sent} ({message})")]
    NameMismatch {
        addr: String,
        sent: String,
        message: String,
    },
    #[error(
        "the certificate of the proxy at {addr} was not issued under the --ca trust root {ca} ({message})"
    )]
    UnknownIssuer {
        addr: String,
        ca: String,
        message: String,
    },
    #[error("the proxy at {addr} rejected the tap request ({code:?}): {message}")]
    Rejected {
        addr: String,
        code: tonic::Code,
        message: String,
    },
    #[error("the tap on {addr} failed ({code:?}): {message}")]
    Transient {
        addr: String,
        code: tonic::Code,
        message: String,
    },
    #[error("the tap on {addr} broke: {source}")]
    Undecodable {
        addr: String,
        #[source]
        source: Undecodable,
    },
}

impl ProxyTapError {
    /// Classifies a failed call from its code and its TLS cause, if any.
    pub fn from_status(spec: &ProxySpec, status: &tonic::Status) -> Self {
        let addr = spec.addr.clone();
        let message = status_text(status);
        let code = status.code();
        if code == tonic::Code::Unauthenticated {
            return if spec.is_plaintext() {
                Self::PlaintextRefused { addr, message }
            } else {
                Self::Unauthenticated {
                    addr,
                    message,
                    presented: spec.presented(),
                }
            };
        }
        let sent = || {
            spec.server_name().map_or_else(
                || "no server name".to_string(),
                |n| format!("server name {n}"),
            )
        };
        match find::<rustls::Error>(status) {
            Some(rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType)) => {
                return Self::PlaintextAnswer {
                    addr,
                    sent: sent(),
                    message,
                };
            }
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => {
                return Self::NameMismatch {
                    addr,
                    sent: spec.server_name().unwrap_or_default(),
                    message,
                };
            }
            // Linkerd's trust anchors are all named `root.linkerd.cluster.local`: another mesh's
            // root is found as the issuer by name, and its signature does not verify.
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            )) => {
                return Self::UnknownIssuer {
                    addr,
                    ca: spec.ca().unwrap_or_default(),
                    message,
                };
            }
            Some(rustls::Error::AlertReceived(
                alert @ (AlertDescription::BadCertificate
                | AlertDescription::CertificateRequired
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnknownCA
                | AlertDescription::AccessDenied),
            )) => {
                return Self::HandshakeRefused {
                    addr,
                    alert: *alert,
                    presented: spec.presented(),
                };
            }
            _ => {}
        }
        match code {
            tonic::Code::InvalidArgument
            | tonic::Code::PermissionDenied
            | tonic::Code::Unimplemented => Self::Rejected {
                addr,
                code,
                message,
            },
            _ => Self::Transient {
                addr,
                code,
                message,
            },
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unauthenticated { .. } | Self::HandshakeRefused { .. } => {
                ErrorKind::ProxyRefusedIdentity
            }
            Self::PlaintextRefused { .. } => ErrorKind::PlaintextRefused,
            Self::PlaintextAnswer { .. } => ErrorKind::TlsPlaintextAnswer,
            Self::NameMismatch { .. } => ErrorKind::TlsNameMismatch,
            Self::UnknownIssuer { .. } => ErrorKind::TlsUnknownIssuer,
            Self::Rejected { .. } => ErrorKind::Refused,
            Self::Transient { .. } => ErrorKind::Transport,
            Self::Undecodable { .. } => ErrorKind::Stream,
        }
    }

    /// Refusals are the user's to fix; retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.kind().is_permanent()
    }

    pub fn into_stream_error(self) -> StreamError {
        StreamError::new(self.kind(), self.to_string())
    }
}

/// The first `T` in `err`'s source chain. An `io::Error`'s `source()` skips the error it wraps
/// (its `Display` is that error's), so the walk looks inside it explicitly.
fn find<'a, T: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut next = Some(err);
    for _ in 0..CHAIN_MAX_LINKS {
        let err = next?;
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    None
}

/// The status message plus its transport causes (TLS errors hide in the source chain).
fn status_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    let mut source = Error::source(status);
    for _ in 0..CHAIN_MAX_LINKS {
        let Some(err) = source else { break };
        let part = err.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        source = err.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::proxy::{TlsFiles, Transport};

    fn spec(transport: Transport) -> ProxySpec {
        ProxySpec {
            addr: "10.42.0.7:4190".into(),
            transport,
            matches: super::super::ProxyMatch::default(),
            max_rps: 0.0,
            extract_headers: false,
        }
    }

    fn tls() -> ProxySpec {
        spec(Transport::Tls(TlsFiles {
            ca: "ca.pem".into(),
            client: None,
            server_name: Some("web.ns.serviceaccount.identity.linkerd.cluster.local".into()),
        }))
    }

    /// A connect failure as tonic reports one: a status whose source chain holds an `io::Error`
    /// wrapping the rustls error.
    fn connect_failure(err: rustls::Error) -> tonic::Status {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err);
        let wrapped: Box<dyn Error + Send + Sync> = Box::new(Wrapper(io));
        tonic::Status::from_error(wrapped)
    }

    #[derive(Debug, thiserror::Error)]
    #[error("error trying to connect")]
    struct Wrapper(#[source] std::io::Error);

    #[test]
    fn tls_causes_are_found_through_io_errors() {
        let cases = [
            (
                rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType),
                ErrorKind::TlsPlaintextAnswer,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                ErrorKind::TlsNameMismatch,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                ErrorKind::TlsUnknownIssuer,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::BadSignature),
                ErrorKind::TlsUnknownIssuer,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::BadCertificate),
                ErrorKind::ProxyRefusedIdentity,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::InternalError),
                ErrorKind::Transport,
            ),
        ];
        for (err, kind) in cases {
            let text = err.to_string();
            let error = ProxyTapError::from_status(&tls(), &connect_failure(err));
            assert_eq!(error.kind(), kind, "{text}: {error}");
        }
    }

    #[test]
    fn refusals_depend_on_what_was_presented() {
        let refused = tonic::Status::unauthenticated("no_tls_from_remote");
        let plain = ProxyTapError::from_status(&spec(Transport::Plaintext), &refused);
        assert_eq!(plain.kind(), ErrorKind::PlaintextRefused);
        let refused = ProxyTapError::from_status(&tls(), &refused);
        assert_eq!(refused.kind(), ErrorKind::ProxyRefusedIdentity);
        // The text of a message is no evidence: a status merely mentioning certificates is not
        // a certificate failure.
        let text = tonic::Status::unavailable("invalid peer certificate: UnknownIssuer");
        assert_eq!(
            ProxyTapError::from_status(&tls(), &text).kind(),
            ErrorKind::Transport
        );
    }

    #[test]
    fn the_plaintext_answer_names_what_was_sent() {
        let err = connect_failure(rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType,
        ));
        let error = ProxyTapError::from_status(&tls(), &err).to_string();
        assert!(
            error.contains("sent server name web.ns.serviceaccount.identity.linkerd.cluster.local"),
            "{error}"
        );
        assert!(error.contains("InvalidContentType"), "{error}");
    }
}
