//! Who reported the request, whether both sides are meshed, the identities they presented, and
//! why TLS is or is not mutual: from the `tls`, `client_id`, `server_id`, `serviceaccount` and
//! `control_plane_ns` labels (PROTOCOL.md §3).

use super::{Side, Statement, Topic, label, who};
use crate::model::event::Direction;
use crate::model::identities::{TlsState, identity_matches, trust_domain};
use crate::model::request::Request;

pub(super) fn reporter(request: &Request, out: &mut Vec<Statement>) {
    let (text, side) = match request.direction() {
        Direction::Outbound => ("the outbound proxy of the source, which sent it", Side::Src),
        Direction::Inbound => (
            "the inbound proxy of the destination, which received it",
            Side::Dst,
        ),
        Direction::Unknown => {
            out.push(Statement::new(
                Topic::Reporter,
                "No proxy direction: which proxy reported it is unknown.",
                vec!["direction=unknown".to_owned()],
            ));
            return;
        }
    };
    let (name, mut cites) = who(request, side);
    cites.insert(0, format!("direction={}", request.direction().short()));
    out.push(Statement::new(
        Topic::Reporter,
        format!("Reported by {text}: {name}."),
        cites,
    ));
}

/// The reporting side is meshed by definition (its proxy reported); the other side is judged
/// from its TLS label and the `control_plane_ns` label the tap server adds to meshed pods.
pub(super) fn meshed(request: &Request, out: &mut Vec<Statement>) {
    let (reporter, peer) = match request.direction() {
        Direction::Outbound => (Side::Src, Side::Dst),
        Direction::Inbound => (Side::Dst, Side::Src),
        Direction::Unknown => return,
    };
    let (name, mut cites) = who(request, reporter);
    cites.insert(0, format!("direction={}", request.direction().short()));
    out.push(Statement::new(
        Topic::Mesh,
        format!("{name} is meshed: its proxy reported this request."),
        cites,
    ));
    let (peer_name, mut cites) = who(request, peer);
    let tls = label(request, tls_side(request), "tls");
    let control_plane = label(request, peer, "control_plane_ns");
    let state = tls
        .as_ref()
        .map_or(TlsState::Missing, |(v, _)| TlsState::from_label(v));
    let verdict = match (state, &control_plane) {
        (TlsState::Mtls, _) => "is meshed: it took part in mutual TLS",
        (TlsState::Loopback, _) => "is in the same pod (loopback)",
        (TlsState::NoTlsFromRemote, None) => "is not meshed, or its proxy did not originate TLS",
        (TlsState::NotProvidedByServiceDiscovery, None) => {
            "is not meshed as far as service discovery knows"
        }
        (_, Some(_)) => "is a meshed pod (its Linkerd control-plane label), yet TLS was not mutual",
        (_, None) => "may or may not be meshed: the labels do not say",
    };
    cites.extend(tls.map(|(_, c)| c));
    cites.extend(control_plane.map(|(_, c)| c));
    out.push(Statement::new(
        Topic::Mesh,
        format!("{peer_name} {verdict}."),
        cites,
    ));
}

/// The side whose `tls` label speaks for the request: the source's inbound, the destination's
/// outbound.
fn tls_side(request: &Request) -> Side {
    match request.direction() {
        Direction::Inbound => Side::Src,
        Direction::Outbound | Direction::Unknown => Side::Dst,
    }
}

/// What `serviceaccount` + `namespace` of a side imply its identity is, in `domain`.
fn expected_identity(request: &Request, side: Side, domain: &str) -> Option<(String, Vec<String>)> {
    let (account, sa_cite) = label(request, side, "serviceaccount")?;
    let (namespace, ns_cite) = label(request, side, "namespace")?;
    Some((
        format!("{account}.{namespace}.serviceaccount.identity.{domain}"),
        vec![sa_cite, ns_cite],
    ))
}

/// What the labels say about one direction's identities: who presented which label, and the
/// words for each statement.
struct IdentityWords {
    presenter: Side,
    key: &'static str,
    role: &'static str,
    absent: &'static str,
    /// `{}` is the identity.
    presented: &'static str,
    /// `{}` is the identity the other side's service account implies.
    implied: &'static str,
}

const INBOUND: IdentityWords = IdentityWords {
    presenter: Side::Src,
    key: "client_id",
    role: "client",
    absent: "The client presented no identity: the inbound proxy saw no client certificate.",
    presented: "The client presented the identity {} (checked by the inbound proxy's mTLS).",
    implied: "The destination's service account implies it serves as {}.",
};

const OUTBOUND: IdentityWords = IdentityWords {
    presenter: Side::Dst,
    key: "server_id",
    role: "server",
    absent: "Service discovery named no server identity: the outbound proxy could not require one.",
    presented: "The outbound proxy required the server to present {} (from service discovery); a \
                server with another identity fails the handshake.",
    implied: "The source's service account implies it presented {} as the client.",
};

pub(super) fn identities(request: &Request, out: &mut Vec<Statement>) {
    let (words, other) = match request.direction() {
        Direction::Inbound => (INBOUND, Side::Dst),
        Direction::Outbound => (OUTBOUND, Side::Src),
        Direction::Unknown => return,
    };
    let Some((identity, cite)) = label(request, words.presenter, words.key) else {
        out.push(Statement::new(
            Topic::Identity,
            words.absent,
            vec![format!(
                "{}.{} (absent)",
                words.presenter.prefix(),
                words.key
            )],
        ));
        return;
    };
    out.push(Statement::new(
        Topic::Identity,
        words.presented.replace("{}", identity),
        vec![cite.clone()],
    ));
    check(request, words.presenter, words.role, identity, cite, out);
    if let Some(domain) = trust_domain(identity)
        && let Some((expected, cites)) = expected_identity(request, other, domain)
    {
        out.push(Statement::new(
            Topic::Identity,
            words.implied.replace("{}", &expected),
            cites,
        ));
    }
}

/// Compares a presented identity with the one the side's service account implies.
fn check(
    request: &Request,
    side: Side,
    role: &str,
    identity: &str,
    cite: String,
    out: &mut Vec<Statement>,
) {
    let (Some((account, sa_cite)), Some((namespace, ns_cite))) = (
        label(request, side, "serviceaccount"),
        label(request, side, "namespace"),
    ) else {
        return;
    };
    let text = if identity_matches(identity, account, namespace) {
        format!("It matches the {role}'s service account {account} in {namespace}.")
    } else {
        format!(
            "It does NOT match the {role}'s service account {account} in {namespace}: \
             expected {account}.{namespace}.serviceaccount.identity.…"
        )
    };
    out.push(Statement::new(
        Topic::Identity,
        text,
        vec![cite, sa_cite, ns_cite],
    ));
}

pub(super) fn tls(request: &Request, out: &mut Vec<Statement>) {
    if request.direction() == Direction::Unknown {
        return;
    }
    let side = tls_side(request);
    let (value, cite) = label(request, side, "tls")
        .map_or(("", format!("{}.tls (absent)", side.prefix())), |(v, c)| {
            (v, c)
        });
    let text = match TlsState::from_label(value) {
        TlsState::Mtls => {
            "Mutual TLS: both proxies presented certificates from the mesh's trust root."
        }
        TlsState::NoTlsFromRemote => {
            "Not mutual: the inbound proxy received plaintext (no_tls_from_remote) — the client has no \
             proxy, or its proxy did not originate TLS for this connection."
        }
        TlsState::Loopback => {
            "No TLS needed: the traffic stayed inside the pod, between the proxy and the application (loopback)."
        }
        TlsState::NotProvidedByServiceDiscovery => {
            "Not mutual: service discovery gave no identity for this endpoint \
             (not_provided_by_service_discovery), so the proxy sent plaintext — the destination is not \
             meshed, or is outside the cluster."
        }
        TlsState::Disabled => "Not mutual: TLS is disabled in the proxy's configuration.",
        TlsState::PortSkipped => {
            "Not mutual: the proxy is configured to skip TLS on this port (port_skipped)."
        }
        TlsState::Passthru => {
            "The application's own TLS was passed through (passthru): encrypted, but not by the mesh, and \
             without mesh identities."
        }
        TlsState::IngressWithoutOverride => {
            "Not mutual: the source runs in ingress mode and the request had no l5d-dst-override header \
             (ingress_without_override), so no destination identity was known."
        }
        TlsState::Missing => "No tls label: whether TLS was used is not known.",
        TlsState::Other => "A tls value this version of meshtap does not know.",
    };
    out.push(Statement::new(Topic::Tls, text, vec![cite]));
}
