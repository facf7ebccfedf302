//! TLS labels in plain words, and the identity check Linkerd implies but never shows.

/// The TLS state Linkerd reports for a request (PROTOCOL.md §3): the source's `tls` label for
/// inbound, the destination's for outbound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsState {
    Mtls,
    NoTlsFromRemote,
    Loopback,
    NotProvidedByServiceDiscovery,
    Disabled,
    PortSkipped,
    Passthru,
    IngressWithoutOverride,
    /// The label was absent.
    Missing,
    /// A value this version of meshtap does not know.
    Other,
}

impl TlsState {
    pub const COUNT: usize = 10;
    pub const ALL: [TlsState; Self::COUNT] = [
        TlsState::Mtls,
        TlsState::NoTlsFromRemote,
        TlsState::Loopback,
        TlsState::NotProvidedByServiceDiscovery,
        TlsState::Disabled,
        TlsState::PortSkipped,
        TlsState::Passthru,
        TlsState::IngressWithoutOverride,
        TlsState::Missing,
        TlsState::Other,
    ];

    pub fn from_label(label: &str) -> Self {
        match label {
            "true" => TlsState::Mtls,
            "no_tls_from_remote" => TlsState::NoTlsFromRemote,
            "loopback" => TlsState::Loopback,
            "not_provided_by_service_discovery" => TlsState::NotProvidedByServiceDiscovery,
            "disabled" => TlsState::Disabled,
            "port_skipped" => TlsState::PortSkipped,
            "passthru" => TlsState::Passthru,
            "ingress_without_override" => TlsState::IngressWithoutOverride,
            "" => TlsState::Missing,
            _ => TlsState::Other,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// What a user should read, with Linkerd's own word in parentheses where it helps a search.
    pub fn describe(self) -> &'static str {
        match self {
            TlsState::Mtls => "mTLS",
            TlsState::NoTlsFromRemote => "plaintext — client not meshed (no_tls_from_remote)",
            TlsState::Loopback => "loopback",
            TlsState::NotProvidedByServiceDiscovery => {
                "plaintext — not provided by service discovery (destination not meshed?)"
            }
            TlsState::Disabled => "plaintext — TLS disabled",
            TlsState::PortSkipped => "plaintext — port skipped",
            TlsState::Passthru => "passthru — the application's own TLS, not mesh mTLS",
            TlsState::IngressWithoutOverride => "plaintext — ingress without override",
            TlsState::Missing => "unknown — no tls label",
            TlsState::Other => "unknown tls label",
        }
    }

    /// A short word for narrow columns.
    pub fn short(self) -> &'static str {
        match self {
            TlsState::Mtls => "mTLS",
            TlsState::Loopback => "loopback",
            TlsState::Passthru => "passthru",
            TlsState::Missing | TlsState::Other => "unknown",
            _ => "plaintext",
        }
    }

    pub fn is_mtls(self) -> bool {
        self == TlsState::Mtls
    }

    /// Traffic that crossed the network without mesh TLS (loopback never leaves the pod, and an
    /// unknown label is not evidence of plaintext).
    pub fn is_plaintext(self) -> bool {
        matches!(
            self,
            TlsState::NoTlsFromRemote
                | TlsState::NotProvidedByServiceDiscovery
                | TlsState::Disabled
                | TlsState::PortSkipped
                | TlsState::IngressWithoutOverride
        )
    }
}

/// Whether `identity` is `<serviceaccount>.<namespace>.serviceaccount.identity.<trust domain>`
/// for this service account and namespace. Allocation-free: it runs for every request.
pub fn identity_matches(identity: &str, serviceaccount: &str, namespace: &str) -> bool {
    identity
        .strip_prefix(serviceaccount)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(".serviceaccount.identity."))
        .is_some_and(|domain| !domain.is_empty())
}

/// The trust domain of a Linkerd identity, e.g. `linkerd.cluster.local`.
pub fn trust_domain(identity: &str) -> Option<&str> {
    identity
        .split_once(".serviceaccount.identity.")
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}

/// `web.emojivoto.serviceaccount.identity.linkerd.cluster.local` → `web.emojivoto`: how Linkerd's
/// CLI abbreviates, for narrow screens only.
pub fn short_identity(identity: &str) -> &str {
    identity
        .split_once(".serviceaccount.identity.")
        .map_or(identity, |(head, _)| head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_from_the_protocol_has_words() {
        let cases = [
            ("true", TlsState::Mtls, "mTLS"),
            (
                "no_tls_from_remote",
                TlsState::NoTlsFromRemote,
                "plaintext — client not meshed (no_tls_from_remote)",
            ),
            ("loopback", TlsState::Loopback, "loopback"),
            ("disabled", TlsState::Disabled, "plaintext — TLS disabled"),
            (
                "port_skipped",
                TlsState::PortSkipped,
                "plaintext — port skipped",
            ),
            (
                "passthru",
                TlsState::Passthru,
                "passthru — the application's own TLS, not mesh mTLS",
            ),
            (
                "ingress_without_override",
                TlsState::IngressWithoutOverride,
                "plaintext — ingress without override",
            ),
            ("", TlsState::Missing, "unknown — no tls label"),
            ("something_new", TlsState::Other, "unknown tls label"),
        ];
        for (label, state, words) in cases {
            assert_eq!(TlsState::from_label(label), state, "{label}");
            assert_eq!(state.describe(), words);
        }
        let sd = TlsState::from_label("not_provided_by_service_discovery");
        assert!(sd.describe().contains("not provided by service discovery"));
        assert!(sd.is_plaintext());
        assert!(!TlsState::Loopback.is_plaintext() && !TlsState::Mtls.is_plaintext());
        for (i, state) in TlsState::ALL.iter().enumerate() {
            assert_eq!(state.index(), i);
        }
    }

    #[test]
    fn identities_are_checked_against_service_account_and_namespace() {
        let id = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local";
        assert!(identity_matches(id, "web", "emojivoto"));
        assert!(!identity_matches(id, "emoji", "emojivoto"));
        assert!(!identity_matches(id, "web", "emoji"));
        assert!(!identity_matches(
            "web.emojivoto.serviceaccount.identity.",
            "web",
            "emojivoto"
        ));
        assert!(!identity_matches(
            "webx.emojivoto.serviceaccount.identity.td",
            "web",
            "emojivoto"
        ));
        assert_eq!(trust_domain(id), Some("linkerd.cluster.local"));
        assert_eq!(short_identity(id), "web.emojivoto");
        assert_eq!(short_identity("spiffe://x"), "spiffe://x");
    }
}
