//! Why a stream failed, as data: every hint meshtap gives (in the UI's empty state, on stderr)
//! derives from the kind, never from matching the message text.

use std::fmt;
use std::time::Duration;

/// What kind of failure a stream met. The kind decides whether to retry and which hint to show;
/// the message says what exactly happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The kubeconfig or a command-line setting cannot work (file, context, address).
    Config,
    /// No kubeconfig anywhere (flag, `KUBECONFIG`, `~/.kube/config`) and no service account.
    NoKubeconfig,
    /// `--context` (or the kubeconfig's current-context) names a context the kubeconfig lacks.
    UnknownContext,
    /// The kubeconfig user's exec credential plugin is not installed (not on `PATH`).
    CredentialPluginMissing,
    /// The kubeconfig user's exec credential plugin ran and failed.
    CredentialPluginFailed,
    /// The kube-apiserver's certificate does not verify (unknown authority, wrong name, expired).
    ApiServerCertificate,
    /// The proxy in `HTTPS_PROXY` (or the kubeconfig's `proxy-url`) cannot be used.
    Proxy,
    /// The API server serves `tap.linkerd.io`, but not in a version meshtap speaks.
    TapApiVersion,
    /// The API server rejected the credentials (401).
    Unauthorized,
    /// RBAC refused the tap (403 from the API server).
    Forbidden,
    /// The `tap.linkerd.io` API is not served: linkerd-viz is missing or down.
    VizMissing,
    /// Linkerd's tap server refused the request (its `ApiError`: no pods, unsupported match).
    Linkerd,
    /// The request was refused as malformed (400 and other 4xx).
    Refused,
    /// A proxy refused the tap because of the identity meshtap presented.
    ProxyRefusedIdentity,
    /// The peer's certificate does not carry the name meshtap expected (`--server-name`).
    TlsNameMismatch,
    /// The peer's certificate was issued by an authority meshtap does not trust (`--ca`).
    TlsUnknownIssuer,
    /// The peer answered TLS with plaintext: a proxy does this when the SNI is not its identity.
    TlsPlaintextAnswer,
    /// A proxy refused a plaintext (`--plaintext`) client: its tap port serves only mTLS.
    PlaintextRefused,
    /// The API server asked to come back later (408, 425, 429, 5xx, API Priority and Fairness).
    Throttled,
    /// Connect, DNS, reset, idle or dead connection: the network, worth retrying.
    Transport,
    /// The stream broke mid-body or carried a frame that cannot be read.
    Stream,
    /// The server ended the stream.
    Ended,
}

impl ErrorKind {
    /// What the user should do next, in one sentence; `None` where the message says it all.
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::Config => {
                "Fix the kubeconfig named above (`kubectl config view` shows what kubectl reads), or pass another with --kubeconfig."
            }
            ErrorKind::NoKubeconfig => {
                "Point meshtap at a cluster with --kubeconfig FILE or KUBECONFIG, or try `meshtap demo`, which needs no cluster."
            }
            ErrorKind::UnknownContext => {
                "Pass one of the contexts listed with --context (`kubectl config get-contexts` shows them too)."
            }
            ErrorKind::CredentialPluginMissing => {
                "Install the credential plugin the kubeconfig user runs, or put it on PATH (users[].user.exec.command in the kubeconfig)."
            }
            ErrorKind::CredentialPluginFailed => {
                "Run the credential plugin yourself to see why it fails; usually logging in to the cloud provider again fixes it."
            }
            ErrorKind::ApiServerCertificate => {
                "The kubeconfig's certificate-authority and server address must match the cluster's: get a fresh kubeconfig from the cluster's provider."
            }
            ErrorKind::Proxy => {
                "Check HTTPS_PROXY / https_proxy (and the kubeconfig's proxy-url), or unset them to reach the API server directly."
            }
            ErrorKind::TapApiVersion => {
                "This Linkerd viz serves a tap API version meshtap does not speak (it speaks tap.linkerd.io/v1alpha1): use a matching meshtap or Linkerd version."
            }
            ErrorKind::Unauthorized => {
                "The API server rejected the credentials of this kubeconfig user: log in again or refresh the token."
            }
            ErrorKind::Forbidden => {
                "The tap needs RBAC verb `watch` on the target's tap resource in API group tap.linkerd.io (Linkerd's ClusterRole linkerd-linkerd-viz-tap-admin grants it)."
            }
            ErrorKind::VizMissing => {
                "The tap API (tap.linkerd.io) is not served: install Linkerd viz (`linkerd viz install | kubectl apply -f -`) and check it with `linkerd viz check`."
            }
            ErrorKind::Linkerd => {
                "Linkerd's tap server refused the tap: check the target and namespace, and that its pods are meshed (`linkerd check --proxy`)."
            }
            ErrorKind::Refused => {
                "The request was refused as it stands: check the target and the match flags."
            }
            ErrorKind::ProxyRefusedIdentity => {
                "A proxy serves its tap only to the identity in its LINKERD2_PROXY_TAP_SVC_NAME: pass --cert/--key issued for that identity by the mesh's issuer."
            }
            ErrorKind::TlsNameMismatch => {
                "The proxy's certificate names its pod's identity: pass it with --server-name <sa>.<ns>.serviceaccount.identity.<trust-domain>."
            }
            ErrorKind::TlsUnknownIssuer => {
                "The proxy's certificate was not issued under --ca: pass the mesh's trust anchor."
            }
            ErrorKind::TlsPlaintextAnswer => {
                "The proxy answered without TLS: it terminates TLS on its tap port only for its own identity as the server name, so pass --server-name <sa>.<ns>.serviceaccount.identity.<trust-domain>."
            }
            ErrorKind::PlaintextRefused => {
                "A proxy's tap port serves only mTLS clients: drop --plaintext and pass --ca, --cert/--key and --server-name."
            }
            ErrorKind::Throttled | ErrorKind::Transport | ErrorKind::Stream | ErrorKind::Ended => {
                return None;
            }
        })
    }

    /// Permanent failures are the user's to fix: retrying cannot help.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            ErrorKind::Config
                | ErrorKind::NoKubeconfig
                | ErrorKind::UnknownContext
                | ErrorKind::CredentialPluginMissing
                | ErrorKind::CredentialPluginFailed
                | ErrorKind::ApiServerCertificate
                | ErrorKind::Proxy
                | ErrorKind::TapApiVersion
                | ErrorKind::Unauthorized
                | ErrorKind::Forbidden
                | ErrorKind::VizMissing
                | ErrorKind::Linkerd
                | ErrorKind::Refused
                | ErrorKind::ProxyRefusedIdentity
                | ErrorKind::TlsNameMismatch
                | ErrorKind::TlsUnknownIssuer
                | ErrorKind::TlsPlaintextAnswer
                | ErrorKind::PlaintextRefused
        )
    }
}

/// A stream's failure: its kind, the full message, and how long the server asked to wait
/// (`Retry-After`) when it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamError {
    pub kind: ErrorKind,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl StreamError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn is_permanent(&self) -> bool {
        self.kind.is_permanent()
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StreamError {}
