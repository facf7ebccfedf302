//! The YAML of an [`AuthzAdvice`]: per workload port a `Server` (policy.linkerd.io/v1beta3), a
//! `MeshTLSAuthentication` (v1alpha1) listing the identities seen and an `AuthorizationPolicy`
//! (v1alpha1) tying them together; API versions and required fields as linkerd2's CRDs
//! (charts/linkerd-crds/templates/policy) define them. A comment per allowed client, a warning
//! (comment and returned) for every client the policy would deny. Ordered by namespace,
//! workload and port, clients by identity, so the same capture gives the same bytes.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{AuthzAdvice, Client, PortSeen, Seen, WorkloadPort};

pub const POLICY_GROUP: &str = "policy.linkerd.io";
pub const SERVER_API: &str = "policy.linkerd.io/v1beta3";
pub const MESH_TLS_API: &str = "policy.linkerd.io/v1alpha1";
pub const AUTHORIZATION_API: &str = "policy.linkerd.io/v1alpha1";

/// The policy text and what the user must hear about it.
#[derive(Clone, Debug, Default)]
pub struct Advice {
    pub yaml: String,
    /// One line per client the policy would deny (and per identity Linkerd would refuse).
    pub warnings: Vec<String>,
}

/// Renders the advice; `sampling` is the capture's own note on its sampling (may be empty).
pub fn render(advice: &AuthzAdvice, sampling: &str) -> Advice {
    let mut out = Advice::default();
    header(&mut out.yaml, advice, sampling);
    let names = server_names(advice);
    for (port, seen) in &advice.ports {
        let server = names.get(port).cloned().unwrap_or_default();
        port_documents(&mut out, port, seen, &server);
    }
    out
}

fn header(yaml: &mut String, advice: &AuthzAdvice, sampling: &str) {
    let _ = writeln!(
        yaml,
        "# meshtap advise authz: Linkerd policy allowing exactly the clients seen"
    );
    let _ = write!(
        yaml,
        "# from {} inbound request(s) on {} workload port(s)",
        advice.inbound,
        advice.ports.len()
    );
    if let (Some(first), Some(last)) = (advice.first, advice.last) {
        let _ = write!(yaml, ", {} to {}", time(first), time(last));
    }
    yaml.push('\n');
    if !sampling.is_empty() {
        let _ = writeln!(yaml, "# sampling: {}", comment_text(sampling));
    }
    let _ = writeln!(
        yaml,
        "# A sample shows who called, not everyone who may: review before applying.\n\
         # Each Server denies (accessPolicy: deny) every client its AuthorizationPolicy does not name."
    );
    let skipped = advice.skipped;
    if skipped.no_workload + skipped.no_port + skipped.overflow > 0 {
        let _ = writeln!(
            yaml,
            "# not placed: {} request(s) to bare pods, {} without a port, {} past {} ports",
            skipped.no_workload,
            skipped.no_port,
            skipped.overflow,
            super::MAX_PORTS
        );
    }
    if advice.ports.is_empty() {
        let _ = writeln!(
            yaml,
            "# no inbound request was seen: tap the servers (their inbound side) to advise on them"
        );
    }
}

/// Each port's Server name: the existing Server's when it admitted this port's traffic and no
/// other port's (applying then updates it in place instead of adding a second Server on the
/// port, which Linkerd would not merge), else `<workload>-<port>`.
fn server_names(advice: &AuthzAdvice) -> HashMap<&WorkloadPort, String> {
    let mut uses: HashMap<(&str, &str), usize> = HashMap::new();
    for (port, seen) in &advice.ports {
        if let Some(name) = &seen.existing_server {
            *uses
                .entry((port.namespace.as_str(), name.as_str()))
                .or_default() += 1;
        }
    }
    advice
        .ports
        .iter()
        .map(|(port, seen)| {
            let name = match &seen.existing_server {
                Some(name) if uses.get(&(port.namespace.as_str(), name.as_str())) == Some(&1) => {
                    name.clone()
                }
                _ => format!("{}-{}", port.name, port.port),
            };
            (port, name)
        })
        .collect()
}

fn port_documents(out: &mut Advice, port: &WorkloadPort, seen: &PortSeen, server: &str) {
    let yaml = &mut out.yaml;
    let what = format!(
        "{}/{} ({}) port {}",
        port.kind, port.name, port.namespace, port.port
    );
    let _ = writeln!(yaml, "---");
    let _ = write!(
        yaml,
        "# {}: {} request(s)",
        comment_text(&what),
        seen.requests
    );
    if seen.probes > 0 {
        let _ = write!(
            yaml,
            ", {} kubelet probe(s) (still allowed by Linkerd's default probe route)",
            seen.probes
        );
    }
    yaml.push('\n');
    if let Some(existing) = &seen.existing_server {
        let _ = writeln!(
            yaml,
            "# admitted today by Server {}",
            comment_text(existing)
        );
    }
    let (allowed, denied): (Vec<_>, Vec<_>) = seen
        .clients
        .iter()
        .partition(|(client, _)| matches!(client, Client::Identity(id) if valid_identity(id)));
    for (client, client_seen) in &denied {
        let line = denial(&what, client, client_seen);
        let _ = writeln!(yaml, "# WARNING: {}", comment_text(&line));
        out.warnings.push(line);
    }
    if seen.uncounted > 0 {
        let line = format!(
            "{what}: {} request(s) from clients past the {} kept per port are not in this policy",
            seen.uncounted,
            super::MAX_CLIENTS_PER_PORT
        );
        let _ = writeln!(yaml, "# WARNING: {}", comment_text(&line));
        out.warnings.push(line);
    }
    server_document(yaml, port, seen, server);
    if allowed.is_empty() {
        let _ = writeln!(
            yaml,
            "# No meshed client was seen: with this Server every client of the port is denied."
        );
        return;
    }
    let clients = format!("{server}-clients");
    let _ = writeln!(yaml, "---");
    meta(
        yaml,
        MESH_TLS_API,
        "MeshTLSAuthentication",
        &clients,
        &port.namespace,
    );
    let _ = writeln!(yaml, "spec:\n  identities:");
    for (client, client_seen) in &allowed {
        if let Client::Identity(id) = client {
            let _ = writeln!(yaml, "    # {}", comment_text(&described(client_seen)));
            let _ = writeln!(yaml, "    - {}", quoted(id));
        }
    }
    let _ = writeln!(yaml, "---");
    meta(
        yaml,
        AUTHORIZATION_API,
        "AuthorizationPolicy",
        &clients,
        &port.namespace,
    );
    let _ = writeln!(yaml, "spec:\n  targetRef:");
    reference(yaml, "    ", "Server", server);
    let _ = writeln!(yaml, "  requiredAuthenticationRefs:");
    let _ = writeln!(yaml, "    - group: {POLICY_GROUP}");
    let _ = writeln!(yaml, "      kind: MeshTLSAuthentication");
    let _ = writeln!(yaml, "      name: {}", quoted(&clients));
}

fn server_document(yaml: &mut String, port: &WorkloadPort, seen: &PortSeen, server: &str) {
    meta(yaml, SERVER_API, "Server", server, &port.namespace);
    let _ = writeln!(yaml, "spec:\n  podSelector:\n    matchLabels:");
    let _ = writeln!(yaml, "      {}: {}", port.pod_label, quoted(&port.name));
    let _ = writeln!(yaml, "  port: {}", port.port);
    // gRPC only when every request said so; otherwise Linkerd's protocol detection, which is
    // what served the traffic seen (tap never says HTTP/1 or HTTP/2).
    let protocol = if seen.grpc > 0 && seen.grpc == seen.requests {
        "gRPC"
    } else {
        "unknown"
    };
    let _ = writeln!(yaml, "  proxyProtocol: {protocol}");
    let _ = writeln!(yaml, "  accessPolicy: deny");
}

fn meta(yaml: &mut String, api: &str, kind: &str, name: &str, namespace: &str) {
    let _ = writeln!(yaml, "apiVersion: {api}\nkind: {kind}\nmetadata:");
    let _ = writeln!(yaml, "  name: {}", quoted(name));
    let _ = writeln!(yaml, "  namespace: {}", quoted(namespace));
}

fn reference(yaml: &mut String, indent: &str, kind: &str, name: &str) {
    let _ = writeln!(yaml, "{indent}group: {POLICY_GROUP}");
    let _ = writeln!(yaml, "{indent}kind: {kind}");
    let _ = writeln!(yaml, "{indent}name: {}", quoted(name));
}

fn denial(what: &str, client: &Client, seen: &Seen) -> String {
    match client {
        Client::Identity(id) => format!(
            "{what}: identity {id} is not a name Linkerd's MeshTLSAuthentication accepts (left \
             out): {}; this policy would deny it",
            described(seen)
        ),
        Client::Unauthenticated { tls, from } => format!(
            "{what}: {from} sent {} request(s) without a mesh identity (tls={tls}){}; this \
             policy would deny it",
            seen.requests,
            seen_between(seen)
        ),
    }
}

/// "N request(s) from callers, first seen …, last seen …".
fn described(seen: &Seen) -> String {
    let mut text = format!("{} request(s)", seen.requests);
    if !seen.callers.is_empty() {
        let callers: Vec<&str> = seen.callers.iter().map(String::as_str).collect();
        let _ = write!(text, " from {}", callers.join(", "));
    }
    text + &seen_between(seen)
}

fn seen_between(seen: &Seen) -> String {
    match (seen.first, seen.last) {
        (Some(first), Some(last)) => {
            format!(", first seen {}, last seen {}", time(first), time(last))
        }
        _ => String::new(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A YAML double-quoted scalar: a JSON string is one, so captured text stays one value; the
/// one escaping rule writes terminal-unsafe characters as `\uXXXX`, which YAML reads back.
fn quoted(text: &str) -> String {
    let mut json = Vec::new();
    match crate::terminal::to_json_writer(&mut json, text) {
        Ok(()) => String::from_utf8(json).unwrap_or_default(),
        Err(_) => "\"\"".to_owned(),
    }
}

/// Captured text inside a `#` comment: one line, terminal-unsafe characters escaped.
fn comment_text(text: &str) -> String {
    crate::terminal::escape(text).into_owned()
}

/// Whether Linkerd's `MeshTLSAuthentication.spec.identities` pattern accepts `id`: dot-separated
/// DNS labels of `[a-z0-9-]` (no leading or trailing `-`), or `*` as the first label.
pub fn valid_identity(id: &str) -> bool {
    id.split('.').enumerate().all(|(i, label)| {
        (i == 0 && label == "*")
            || (!label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-'))
    })
}
