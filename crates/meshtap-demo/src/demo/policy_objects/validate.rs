//! The checks a real cluster makes on a `policy.linkerd.io` create, as far as the CRDs' schemas
//! (charts/linkerd-crds/templates/policy) and the policy controller's admission rules say:
//! kind and apiVersion, `metadata.name`, each kind's required spec fields, enums and the identity
//! pattern. Defaults the schemas declare are filled in, as the apiserver does.

use serde_json::Value;

use super::{GROUP, Kind};

/// `(field, message)` for each violation.
pub type Causes = Vec<(String, String)>;

/// `Server.spec.proxyProtocol` values the policy controller accepts.
const PROXY_PROTOCOLS: [&str; 6] = ["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"];
/// `Server.spec.accessPolicy` values (the default authorization policies).
const ACCESS_POLICIES: [&str; 6] = [
    "deny",
    "audit",
    "all-unauthenticated",
    "all-authenticated",
    "cluster-unauthenticated",
    "cluster-authenticated",
];

/// Checks `object` as a create of `kind` in `namespace`; fills the schemas' defaults.
pub fn object(object: &mut Value, kind: &Kind, namespace: &str) -> Result<(), Causes> {
    let mut causes = Causes::new();
    let api_version = format!("{GROUP}/{}", kind.version);
    if object["apiVersion"] != api_version.as_str() {
        causes.push(("apiVersion".into(), format!("must be {api_version}")));
    }
    if object["kind"] != kind.kind {
        causes.push(("kind".into(), format!("must be {}", kind.kind)));
    }
    match object["metadata"]["name"].as_str() {
        Some(name) if is_dns_subdomain(name) => {}
        _ => causes.push((
            "metadata.name".into(),
            "Required value: a lowercase RFC 1123 subdomain".into(),
        )),
    }
    if let Some(ns) = object["metadata"].get("namespace")
        && ns != namespace
    {
        causes.push((
            "metadata.namespace".into(),
            "does not match the namespace of the request".into(),
        ));
    }
    let spec = &mut object["spec"];
    if spec.is_object() {
        match kind.kind {
            "Server" => server(spec, &mut causes),
            "MeshTLSAuthentication" => mesh_tls(spec, &mut causes),
            _ => authorization(spec, &mut causes),
        }
    } else {
        causes.push(("spec".into(), "Required value".into()));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(causes)
    }
}

fn server(spec: &mut Value, causes: &mut Causes) {
    let port_ok = match &spec["port"] {
        Value::Number(n) => n.as_u64().is_some_and(|p| (1..=65_535).contains(&p)),
        Value::String(name) => !name.is_empty(),
        _ => false,
    };
    if !port_ok {
        causes.push((
            "spec.port".into(),
            "Required value: a port number or name".into(),
        ));
    }
    let selectors = ["podSelector", "externalWorkloadSelector"]
        .iter()
        .filter(|key| spec.get(**key).is_some())
        .count();
    if selectors != 1 {
        causes.push((
            "spec".into(),
            "exactly one of podSelector and externalWorkloadSelector is required".into(),
        ));
    }
    if let Some(labels) = spec["podSelector"].get("matchLabels")
        && !labels
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string))
    {
        causes.push((
            "spec.podSelector.matchLabels".into(),
            "must map label keys to strings".into(),
        ));
    }
    one_of(spec, "proxyProtocol", &PROXY_PROTOCOLS, causes);
    one_of(spec, "accessPolicy", &ACCESS_POLICIES, causes);
}

/// Checks an enumerated string field, or fills in its default (the first value).
fn one_of(spec: &mut Value, field: &str, values: &[&str], causes: &mut Causes) {
    match spec.get(field) {
        None => spec[field] = values[0].into(),
        Some(v) if v.as_str().is_some_and(|v| values.contains(&v)) => {}
        Some(_) => causes.push((
            format!("spec.{field}"),
            format!("Unsupported value: one of {}", values.join(", ")),
        )),
    }
}

fn mesh_tls(spec: &Value, causes: &mut Causes) {
    match (spec.get("identities"), spec.get("identityRefs")) {
        (Some(Value::Array(ids)), None) => {
            for (i, id) in ids.iter().enumerate() {
                if !id.as_str().is_some_and(is_identity) {
                    causes.push((
                        format!("spec.identities[{i}]"),
                        "does not match the identity pattern".into(),
                    ));
                }
            }
        }
        (None, Some(Value::Array(refs))) => references(refs, "spec.identityRefs", false, causes),
        _ => causes.push((
            "spec".into(),
            "exactly one of identities and identityRefs (a list) is required".into(),
        )),
    }
}

fn authorization(spec: &Value, causes: &mut Causes) {
    if !has_text(&spec["targetRef"], "kind") || !has_text(&spec["targetRef"], "name") {
        causes.push((
            "spec.targetRef".into(),
            "Required value: kind and name".into(),
        ));
    }
    match &spec["requiredAuthenticationRefs"] {
        Value::Array(refs) => references(refs, "spec.requiredAuthenticationRefs", true, causes),
        _ => causes.push((
            "spec.requiredAuthenticationRefs".into(),
            "Required value".into(),
        )),
    }
}

/// Each reference needs a kind (and a name where `named`).
fn references(refs: &[Value], field: &str, named: bool, causes: &mut Causes) {
    for (i, reference) in refs.iter().enumerate() {
        if !has_text(reference, "kind") || (named && !has_text(reference, "name")) {
            causes.push((
                format!("{field}[{i}]"),
                "Required value: kind and name".into(),
            ));
        }
    }
}

fn has_text(object: &Value, key: &str) -> bool {
    object[key].as_str().is_some_and(|s| !s.is_empty())
}

/// RFC 1123 subdomain: at most 253 characters of lowercase DNS labels joined by dots.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// The CRD's `identities` pattern: `^(\*|LABEL)(\.LABEL)*$` with DNS labels.
fn is_identity(id: &str) -> bool {
    let mut labels = id.split('.');
    labels
        .next()
        .is_some_and(|first| first == "*" || is_dns_label(first))
        && labels.all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::demo::policy_objects::KINDS;

    fn server() -> Value {
        json!({
            "apiVersion": "policy.linkerd.io/v1beta3", "kind": "Server",
            "metadata": { "name": "carts-80", "namespace": "sock-shop" },
            "spec": { "podSelector": { "matchLabels": { "app": "carts" } }, "port": 80 },
        })
    }

    #[test]
    fn a_server_passes_and_gets_its_defaults() {
        let mut object = server();
        assert_eq!(object_check(&mut object, 0), Ok(()));
        assert_eq!(object["spec"]["proxyProtocol"], "unknown");
        assert_eq!(object["spec"]["accessPolicy"], "deny");
    }

    fn object_check(object: &mut Value, kind: usize) -> Result<(), Vec<String>> {
        super::object(object, &KINDS[kind], "sock-shop")
            .map_err(|causes| causes.into_iter().map(|(field, _)| field).collect())
    }

    #[test]
    fn each_missing_field_is_named() {
        let mut no_port = server();
        no_port["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("port");
        assert_eq!(object_check(&mut no_port, 0), Err(vec!["spec.port".into()]));
        let mut wrong = server();
        wrong["apiVersion"] = "policy.linkerd.io/v1alpha1".into();
        wrong["metadata"]["name"] = "Carts".into();
        wrong["spec"]["proxyProtocol"] = "http".into();
        assert_eq!(
            object_check(&mut wrong, 0),
            Err(vec![
                "apiVersion".into(),
                "metadata.name".into(),
                "spec.proxyProtocol".into()
            ])
        );
        let mut mesh_tls = json!({
            "apiVersion": "policy.linkerd.io/v1alpha1", "kind": "MeshTLSAuthentication",
            "metadata": { "name": "x" }, "spec": { "identities": ["ok.id", "Not.OK"] },
        });
        assert_eq!(
            object_check(&mut mesh_tls, 1),
            Err(vec!["spec.identities[1]".into()])
        );
        let mut authz = json!({
            "apiVersion": "policy.linkerd.io/v1alpha1", "kind": "AuthorizationPolicy",
            "metadata": { "name": "x" }, "spec": { "targetRef": { "kind": "Server" } },
        });
        assert_eq!(
            object_check(&mut authz, 2),
            Err(vec![
                "spec.targetRef".into(),
                "spec.requiredAuthenticationRefs".into()
            ])
        );
    }

    #[test]
    fn identities_follow_the_crd_pattern() {
        assert!(is_identity(
            "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"
        ));
        assert!(is_identity("*.cluster.local"));
        assert!(!is_identity("a.*"));
        assert!(!is_identity(""));
        assert!(!is_identity("web..x"));
    }
}
