//! Which Server, authorization and route matched (the inbound proxy's `srv_*`, `authz_*` and
//! `route_*` labels, on the destination side), the `ServiceProfile` route (`route` of the route
//! labels), and what a 403 or gRPC `PermissionDenied` means there.

use super::{Side, Statement, Topic, label};
use crate::model::event::{Direction, Headers};
use crate::model::request::Request;

/// The proxy's own error responses carry this header with the reason (linkerd2-proxy).
pub const PROXY_ERROR_HEADER: &str = "l5d-proxy-error";

/// gRPC `PermissionDenied`.
const GRPC_PERMISSION_DENIED: u32 = 7;

/// What a default policy name allows (Linkerd's `default-inbound-policy` values).
fn default_policy(name: &str) -> Option<&'static str> {
    Some(match name {
        "all-unauthenticated" => "allows every request",
        "all-authenticated" => "allows only meshed (mTLS) clients",
        "cluster-unauthenticated" => "allows every client from the cluster's networks",
        "cluster-authenticated" => "allows only meshed clients from the cluster's networks",
        "deny" => "denies every request",
        "audit" => "allows every request but flags it: it would not have been authorized otherwise",
        "probe" => "allows the kubelet's health and readiness probes",
        _ => return None,
    })
}

pub(super) fn policy(request: &Request, out: &mut Vec<Statement>) {
    let srv_kind = label(request, Side::Dst, "srv_kind");
    let srv_name = label(request, Side::Dst, "srv_name");
    let authz_kind = label(request, Side::Dst, "authz_kind");
    let authz_name = label(request, Side::Dst, "authz_name");
    if let (Some((kind, kind_cite)), Some((name, name_cite))) = (&srv_kind, &srv_name) {
        let text = if kind.eq_ignore_ascii_case("default") {
            format!("No Server resource selects this port: the default policy {name} applies.")
        } else {
            format!("The Server {name} selects this port (its rules govern who may call).")
        };
        out.push(Statement::new(
            Topic::Policy,
            text,
            vec![kind_cite.clone(), name_cite.clone()],
        ));
    }
    match (&authz_kind, &authz_name) {
        (Some((kind, kind_cite)), Some((name, name_cite))) => {
            let cites = vec![kind_cite.clone(), name_cite.clone()];
            let text = match (kind.to_ascii_lowercase().as_str(), default_policy(name)) {
                (_, Some(_)) if *name == "audit" => format!(
                    "Allowed in audit mode ({kind} {name}): no rule authorized it; in enforcing mode it \
                     would be denied."
                ),
                ("default", Some(meaning)) => {
                    format!("Authorized by the default policy {name}, which {meaning}.")
                }
                ("authorizationpolicy", _) => {
                    format!("Authorized by the AuthorizationPolicy {name}.")
                }
                ("serverauthorization", _) => {
                    format!("Authorized by the ServerAuthorization {name}.")
                }
                _ => format!("Authorized by {kind} {name}."),
            };
            out.push(Statement::new(Topic::Policy, text, cites));
        }
        _ if srv_kind.is_some() => out.push(Statement::new(
            Topic::Policy,
            "No authorization is recorded for this request: no rule of the Server admitted it.",
            vec!["dst.authz_kind (absent)".to_owned()],
        )),
        _ => {}
    }
    denied(request, out);
}

/// `status=403` or `grpc_status=7` for a refusal, `None` for anything else.
fn refusal_cite(request: &Request) -> Option<String> {
    match (request.http_status(), request.grpc_status()) {
        (_, Some(GRPC_PERMISSION_DENIED)) => Some(format!("grpc_status={GRPC_PERMISSION_DENIED}")),
        (Some(403), _) => Some("status=403".to_owned()),
        _ => None,
    }
}

/// The `l5d-proxy-error` of the response or its trailers.
fn proxy_error_of(request: &Request) -> Option<String> {
    let response = request.response.as_ref().map(|r| &r.headers);
    let trailers = request.end.as_ref().map(|e| &e.trailers);
    [response, trailers]
        .into_iter()
        .flatten()
        .find_map(proxy_error)
}

/// A refusal seen outside the server's inbound side with no `l5d-proxy-error`: one whose
/// cause tap alone cannot tell (see [`denied`]).
pub(super) fn is_bare_refusal(request: &Request) -> bool {
    request.direction() != Direction::Inbound
        && refusal_cite(request).is_some()
        && proxy_error_of(request).is_none()
}

/// A 403 or `PermissionDenied`: the proxy's refusal when `l5d-proxy-error` says so, else the
/// application's own answer.
fn denied(request: &Request, out: &mut Vec<Statement>) {
    let Some(cite) = refusal_cite(request) else {
        return;
    };
    let proxy_error = proxy_error_of(request);
    let text = match (&proxy_error, request.direction()) {
        (Some(reason), Direction::Inbound) => format!(
            "Denied by Linkerd policy: the inbound proxy refused it ({PROXY_ERROR_HEADER}: {reason}); \
             the client's identity is not authorized for this Server or route."
        ),
        (Some(reason), _) => format!(
            "Refused by a Linkerd proxy ({PROXY_ERROR_HEADER}: {reason}): most likely the server's \
             inbound policy denied this client."
        ),
        // Inbound tap sits inside the policy check: a request it saw was admitted.
        (None, Direction::Inbound) => format!(
            "The application answered this refusal itself: inbound tap only sees requests the \
             proxy's policy admitted, and no {PROXY_ERROR_HEADER} header says otherwise."
        ),
        // Since proxy v2.221.0 (Linkerd 2.15) the client proxy strips the header before its tap
        // layer, and a server proxy's denials never reach its inbound tap.
        (None, _) => format!(
            "Seen on the client's side only, and its cause is unknown from tap alone: on Linkerd \
             2.15 and later the client's proxy removes {PROXY_ERROR_HEADER} before tap sees the \
             response, and requests the destination's proxy denies never reach its inbound tap. \
             Whether the destination's policy refused it is in that proxy's \
             inbound_http_authz_deny_total counter: `meshtap routes` on the destination shows the \
             denials it counted, by Server, route and client identity."
        ),
    };
    let mut cites = vec![cite];
    cites.push(match proxy_error {
        Some(_) => format!("rsp.{PROXY_ERROR_HEADER}"),
        None => format!("rsp.{PROXY_ERROR_HEADER} (absent)"),
    });
    out.push(Statement::new(Topic::Policy, text, cites));
}

fn proxy_error(headers: &Headers) -> Option<String> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(PROXY_ERROR_HEADER))
        .map(|h| {
            String::from_utf8_lossy(h.value.as_bytes())
                .chars()
                .filter(|c| !c.is_control())
                .collect()
        })
}
