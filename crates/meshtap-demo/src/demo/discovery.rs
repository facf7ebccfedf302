//! What the simulated kube-apiserver says about itself: version, API discovery documents, and
//! which paths are tap endpoints.
//!
//! The `tap.linkerd.io/v1alpha1` resource list mirrors the one Linkerd's tap `APIService`
//! publishes (each resource plus its `<plural>/tap` subresource, verb `watch`), so
//! `kubectl api-resources` and `kubectl get --raw` behave as they do against a real cluster.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::proto::tap::TapByResourceRequest;

const GROUP: &str = "tap.linkerd.io";
const GROUP_VERSION: &str = "tap.linkerd.io/v1alpha1";
/// Every tap URL starts with this; the namespace follows.
const WATCH_PREFIX: &str = "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/";

/// Tappable resources: plural and whether namespaced. Linkerd's own list also gives them the
/// core short names (ns, po, deploy…); they are left out here, where the same short names on
/// the core resources must resolve to them (`kubectl get ns` lists namespaces, not taps).
const RESOURCES: [(&str, bool); 10] = [
    ("namespaces", false),
    ("pods", true),
    ("replicationcontrollers", true),
    ("services", true),
    ("daemonsets", true),
    ("deployments", true),
    ("replicasets", true),
    ("statefulsets", true),
    ("jobs", true),
    ("cronjobs", true),
];

/// A request path recognised as a tap endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapRoute {
    /// The path with percent-escapes decoded: what Linkerd compares with the URL it rebuilds
    /// from the request body (Go's `req.URL.Path` is the decoded path).
    pub decoded_path: String,
}

/// Recognises `.../watch/namespaces/{ns}/tap` and `.../watch/namespaces/{ns}/{plural}/{name}/tap`
/// for the resource types Linkerd serves.
pub fn tap_route(raw_path: &str) -> Option<TapRoute> {
    let decoded_path = percent_decode(raw_path)?;
    let middle = decoded_path
        .strip_prefix(WATCH_PREFIX)?
        .strip_suffix("/tap")?;
    let segments: Vec<&str> = middle.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let known = match segments.as_slice() {
        [_namespace] => true,
        [_namespace, plural, _name] => RESOURCES
            .iter()
            .any(|(name, namespaced)| *namespaced && name == plural),
        _ => false,
    };
    known.then_some(TapRoute { decoded_path })
}

/// The URL path Linkerd's tap server derives from a request body (unescaped, like its
/// `TapReqToURL`); a request whose path differs is rejected.
pub fn url_for(request: &TapByResourceRequest) -> String {
    let resource = request
        .target
        .as_ref()
        .and_then(|target| target.resource.as_ref())
        .cloned()
        .unwrap_or_default();
    if resource.r#type == "namespace" {
        format!("{WATCH_PREFIX}{}/tap", resource.name)
    } else {
        format!(
            "{WATCH_PREFIX}{}/{}s/{}/tap",
            resource.namespace, resource.r#type, resource.name
        )
    }
}

/// The JSON document served for a discovery `GET`, if `path` is one.
pub fn document(path: &str, addr: SocketAddr) -> Option<Value> {
    let doc = match path {
        "/version" => version(),
        // No core resources are simulated. An empty version list (rather than "v1" with no
        // resources, which client-go reports as a discovery failure) keeps `kubectl
        // api-resources` and other discovery clients content.
        // Core v1 lists only namespaces (`linkerd meshtap install` creates one); see
        // `super::checks`.
        "/api" => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                { "clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string() }
            ],
        }),
        "/apis" => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": std::iter::once(api_group())
                .chain(super::checks::api_groups())
                .chain(std::iter::once(super::policy_objects::api_group()))
                .collect::<Vec<_>>(),
        }),
        "/apis/tap.linkerd.io" => {
            let mut group = api_group();
            if let Some(object) = group.as_object_mut() {
                object.insert("kind".into(), "APIGroup".into());
                object.insert("apiVersion".into(), "v1".into());
            }
            group
        }
        "/apis/tap.linkerd.io/v1alpha1" => resource_list(),
        _ => return None,
    };
    Some(doc)
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "emulationMajor": "1",
        "emulationMinor": "34",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "33",
        "gitVersion": "v1.34.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-08-27T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": platform(),
    })
}

/// `os/arch` in Go's spelling, as a real apiserver reports it.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

fn api_group() -> Value {
    let version = json!({ "groupVersion": GROUP_VERSION, "version": "v1alpha1" });
    json!({
        "name": GROUP,
        "versions": [version.clone()],
        "preferredVersion": version,
    })
}

fn resource_list() -> Value {
    let mut resources = Vec::with_capacity(RESOURCES.len() * 2);
    for (plural, namespaced) in RESOURCES {
        let resource = json!({
            "name": plural,
            "singularName": "",
            "namespaced": namespaced,
            "kind": "Tap",
            "verbs": ["watch"],
        });
        resources.push(resource);
        resources.push(json!({
            "name": format!("{plural}/tap"),
            "singularName": "",
            "namespaced": namespaced,
            "kind": "Tap",
            "verbs": ["watch"],
        }));
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": resources,
    })
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
pub(super) fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::viz::{Resource, ResourceSelection};

    fn request(namespace: &str, kind: &str, name: &str) -> TapByResourceRequest {
        TapByResourceRequest {
            target: Some(ResourceSelection {
                resource: Some(Resource {
                    namespace: namespace.into(),
                    r#type: kind.into(),
                    name: name.into(),
                }),
                label_selector: String::new(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn urls_match_linkerd() {
        assert_eq!(
            url_for(&request("emojivoto", "deployment", "web")),
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/deployments/web/tap"
        );
        assert_eq!(
            url_for(&request("", "namespace", "emojivoto")),
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/tap"
        );
    }

    #[test]
    fn routes() {
        let ok = "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/a%2Db/pods/p/tap";
        assert_eq!(
            tap_route(ok).map(|r| r.decoded_path),
            Some("/apis/tap.linkerd.io/v1alpha1/watch/namespaces/a-b/pods/p/tap".into())
        );
        assert!(tap_route("/apis/tap.linkerd.io/v1alpha1/watch/namespaces/ns/tap").is_some());
        assert!(
            tap_route("/apis/tap.linkerd.io/v1alpha1/watch/namespaces/ns/nodes/n/tap").is_none()
        );
        assert!(tap_route("/apis/tap.linkerd.io/v1alpha1/watch/namespaces//tap").is_none());
        assert!(tap_route("/apis/tap.linkerd.io/v1alpha1/watch/namespaces/x/tap%zz").is_none());
    }
}
