//! The `policy.linkerd.io` kinds `meshtap advise authz` emits, as the simulated kube-apiserver
//! serves them: discovery (`Server` in v1beta3, `MeshTLSAuthentication` and
//! `AuthorizationPolicy` in v1alpha1, as linkerd2's CRDs define them), the `OpenAPI` v3 documents
//! kubectl reads to learn that the server validates fields itself, and creates with
//! `?dryRun=All` (what `kubectl apply --dry-run=server` sends after a `GET` that finds nothing):
//! checked against the CRDs' required fields and echoed with the defaults filled in. The demo
//! is read-only: a create without `dryRun` is refused, and no object is ever stored.

mod openapi;
mod validate;

use http::{Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::server::{Body, json as json_response, kube_status};

pub const GROUP: &str = "policy.linkerd.io";
/// An object is a few kilobytes; a `MeshTLSAuthentication` with many identities a few hundred.
const OBJECT_MAX_BYTES: usize = 1024 * 1024;

/// One served kind: version, plural, kind, short names.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub short: &'static [&'static str],
}

pub const KINDS: [Kind; 3] = [
    Kind {
        version: "v1beta3",
        plural: "servers",
        kind: "Server",
        short: &["srv"],
    },
    Kind {
        version: "v1alpha1",
        plural: "meshtlsauthentications",
        kind: "MeshTLSAuthentication",
        short: &[],
    },
    Kind {
        version: "v1alpha1",
        plural: "authorizationpolicies",
        kind: "AuthorizationPolicy",
        short: &[],
    },
];

/// Versions served, preferred first.
const VERSIONS: [&str; 2] = ["v1beta3", "v1alpha1"];

/// The group's entry in `/apis`.
pub fn api_group() -> Value {
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|v| json!({ "groupVersion": format!("{GROUP}/{v}"), "version": v }))
        .collect();
    json!({ "name": GROUP, "versions": versions, "preferredVersion": versions[0] })
}

/// The answer to `request` if it is one of ours.
pub async fn handle(
    request: http::Request<Incoming>,
) -> Result<http::Response<Body>, http::Request<Incoming>> {
    let path = request.uri().path().to_owned();
    if request.method() == Method::GET {
        if let Some(doc) = discovery(&path).or_else(|| openapi::document(&path)) {
            return Ok(json_response(StatusCode::OK, &doc));
        }
        if let Some((kind, namespace, Some(name))) = object_path(&path) {
            return Ok(not_found(kind, namespace, name));
        }
        return Err(request);
    }
    match (request.method(), object_path(&path)) {
        (&Method::POST, Some((kind, namespace, None))) => {
            Ok(create(request, kind, namespace).await)
        }
        (_, Some(_)) => Ok(read_only()),
        _ => Err(request),
    }
}

fn discovery(path: &str) -> Option<Value> {
    let rest = path.strip_prefix("/apis/")?;
    if rest == GROUP {
        let mut group = api_group();
        group["kind"] = "APIGroup".into();
        group["apiVersion"] = "v1".into();
        return Some(group);
    }
    let version = rest.strip_prefix(GROUP)?.strip_prefix('/')?;
    VERSIONS.contains(&version).then(|| {
        let resources: Vec<Value> = KINDS
            .iter()
            .filter(|k| k.version == version)
            .map(|k| {
                json!({
                    "name": k.plural,
                    "singularName": k.kind.to_lowercase(),
                    "namespaced": true,
                    "kind": k.kind,
                    "verbs": ["create", "get"],
                    "shortNames": k.short,
                })
            })
            .collect();
        json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": format!("{GROUP}/{version}"),
            "resources": resources,
        })
    })
}

/// `/apis/policy.linkerd.io/{version}/namespaces/{ns}/{plural}[/{name}]`.
fn object_path(path: &str) -> Option<(&'static Kind, &str, Option<&str>)> {
    let rest = path
        .strip_prefix("/apis/")?
        .strip_prefix(GROUP)?
        .strip_prefix('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let (version, namespace, plural, name) = match segments.as_slice() {
        [version, "namespaces", namespace, plural] => (*version, *namespace, *plural, None),
        [version, "namespaces", namespace, plural, name] => {
            (*version, *namespace, *plural, Some(*name))
        }
        _ => return None,
    };
    let kind = KINDS
        .iter()
        .find(|k| k.version == version && k.plural == plural)?;
    (!namespace.is_empty() && name.is_none_or(|n| !n.is_empty())).then_some((kind, namespace, name))
}

fn not_found(kind: &Kind, namespace: &str, name: &str) -> http::Response<Body> {
    if let Some(missing) = missing_namespace(namespace) {
        return missing;
    }
    let message = format!("{}.{GROUP} \"{name}\" not found", kind.plural);
    kube_status(StatusCode::NOT_FOUND, "NotFound", &message)
}

fn missing_namespace(namespace: &str) -> Option<http::Response<Body>> {
    let path = format!("/api/v1/namespaces/{namespace}");
    match super::core_api::document(&path) {
        Some(Ok(_)) => None,
        _ => Some(kube_status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("namespaces \"{namespace}\" not found"),
        )),
    }
}

fn read_only() -> http::Response<Body> {
    kube_status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "the meshtap demo is read-only: policy objects are only validated (use --dry-run=server)",
    )
}

async fn create(
    request: http::Request<Incoming>,
    kind: &Kind,
    namespace: &str,
) -> http::Response<Body> {
    let dry_run = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "dryRun=All");
    if !dry_run {
        return read_only();
    }
    if let Some(missing) = missing_namespace(namespace) {
        return missing;
    }
    let body = match Limited::new(request.into_body(), OBJECT_MAX_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            let message = format!("reading the request body: {error}");
            return kube_status(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
    };
    let Ok(mut object) = serde_json::from_slice::<Value>(&body) else {
        return kube_status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the body is not JSON",
        );
    };
    match validate::object(&mut object, kind, namespace) {
        Ok(()) => {
            let meta = &mut object["metadata"];
            meta["namespace"] = namespace.into();
            meta["uid"] = "00000000-0000-4000-8000-000000000000".into();
            meta["resourceVersion"] = "1".into();
            meta["generation"] = 1.into();
            meta["creationTimestamp"] = "2026-01-01T00:00:00Z".into();
            json_response(StatusCode::CREATED, &object)
        }
        Err(causes) => invalid(kind, &object, &causes),
    }
}

/// A 422 `Invalid` with one cause per failed field, as the apiserver answers a CRD violation.
fn invalid(kind: &Kind, object: &Value, causes: &[(String, String)]) -> http::Response<Body> {
    let name = object["metadata"]["name"].as_str().unwrap_or("");
    let summary: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    let message = format!(
        "{}.{GROUP} \"{name}\" is invalid: {}",
        kind.kind,
        summary.join(", ")
    );
    let causes: Vec<Value> = causes
        .iter()
        .map(|(field, message)| json!({ "reason": "FieldValueInvalid", "message": message, "field": field }))
        .collect();
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "Invalid",
            "details": { "name": name, "group": GROUP, "kind": kind.kind, "causes": causes },
            "code": 422,
        }),
    )
}
