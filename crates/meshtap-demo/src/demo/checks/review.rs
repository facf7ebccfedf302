//! `SelfSubjectAccessReview`s (authorization.k8s.io/v1) as the kube-apiserver takes them: JSON,
//! or Kubernetes protobuf, which is what `kubectl auth can-i` sends first (`Content-Type:
//! application/vnd.kubernetes.protobuf`, `Accept: …protobuf,application/json`). The answer is
//! always JSON, which that `Accept` allows and every client decodes.

use http::{StatusCode, header};
use serde_json::{Value, json};

/// The four bytes before every Kubernetes protobuf object (`k8s.io/apimachinery` runtime).
const PROTOBUF_MAGIC: &[u8] = b"k8s\0";
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The envelope of a protobuf-encoded object: `runtime.Unknown` (generated.proto in
/// k8s.io/apimachinery/pkg/runtime); only the object's own bytes are read.
#[derive(Clone, PartialEq, prost::Message)]
struct Unknown {
    #[prost(bytes = "vec", tag = "2")]
    raw: Vec<u8>,
}

/// `SelfSubjectAccessReview` of k8s.io/api/authorization/v1 generated.proto: only the spec is
/// read (metadata = 1 and status = 3 carry nothing a review needs).
#[derive(Clone, PartialEq, prost::Message)]
struct Review {
    #[prost(message, optional, tag = "2")]
    spec: Option<Spec>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Spec {
    #[prost(message, optional, tag = "1")]
    resource_attributes: Option<Attributes>,
    #[prost(message, optional, tag = "2")]
    non_resource_attributes: Option<NonResource>,
}

/// `ResourceAttributes`: the field numbers kubectl 1.32 was seen sending (namespace 1, verb 2,
/// group 3, version 4, resource 5, subresource 6, name 7).
#[derive(Clone, PartialEq, prost::Message)]
struct Attributes {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(string, tag = "2")]
    verb: String,
    #[prost(string, tag = "3")]
    group: String,
    #[prost(string, tag = "4")]
    version: String,
    #[prost(string, tag = "5")]
    resource: String,
    #[prost(string, tag = "6")]
    subresource: String,
    #[prost(string, tag = "7")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NonResource {
    #[prost(string, tag = "1")]
    path: String,
    #[prost(string, tag = "2")]
    verb: String,
}

/// Why a review body was refused, with the status the kube-apiserver gives it.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub code: StatusCode,
    pub reason: &'static str,
    pub message: String,
}

impl Refused {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            code: StatusCode::BAD_REQUEST,
            reason: "BadRequest",
            message: message.into(),
        }
    }
}

/// The review in `body` as its JSON document, whichever of the two encodings `content_type`
/// names (JSON when it names none, as the apiserver assumes).
pub fn decode(content_type: Option<&header::HeaderValue>, body: &[u8]) -> Result<Value, Refused> {
    let media = content_type.and_then(|v| v.to_str().ok()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media.as_deref() {
        None | Some("application/json") => match serde_json::from_slice::<Value>(body) {
            Ok(value) if value.is_object() => Ok(value),
            _ => Err(Refused::bad("not a JSON object")),
        },
        Some(PROTOBUF) => from_protobuf(body),
        Some(other) => Err(Refused {
            code: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: application/json, {PROTOBUF} (got {other})"
            ),
        }),
    }
}

fn from_protobuf(body: &[u8]) -> Result<Value, Refused> {
    use prost::Message as _;
    let inner = body
        .strip_prefix(PROTOBUF_MAGIC)
        .ok_or_else(|| Refused::bad("the protobuf body lacks the k8s envelope"))?;
    let unknown = Unknown::decode(inner).map_err(|e| Refused::bad(format!("decoding: {e}")))?;
    let review = Review::decode(unknown.raw.as_slice())
        .map_err(|e| Refused::bad(format!("decoding: {e}")))?;
    let spec = review.spec.unwrap_or_default();
    let mut out = json!({});
    if let Some(a) = spec.resource_attributes {
        out["resourceAttributes"] = json!({
            "namespace": a.namespace, "verb": a.verb, "group": a.group, "version": a.version,
            "resource": a.resource, "subresource": a.subresource, "name": a.name,
        });
    }
    if let Some(n) = spec.non_resource_attributes {
        out["nonResourceAttributes"] = json!({ "path": n.path, "verb": n.verb });
    }
    Ok(json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {},
        "spec": out,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    /// The bytes kubectl 1.32 sent for `auth can-i watch deployments.tap.linkerd.io -n sock-shop`
    /// (captured with `-v=8`).
    const KUBECTL_BODY: &[u8] = b"k8s\x00\x0a\x32\x0a\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12\x55\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x002\x008\x00B\x00\x12\x37\x0a\x35\x0a\x09sock-shop\x12\x05watch\x1a\x0etap.linkerd.io\x22\x00\x2a\x0bdeployments2\x00\x3a\x00\x1a\x08\x08\x00\x12\x00\x1a\x00\x20\x00\x1a\x00\x22\x00";

    fn content(value: &'static str) -> header::HeaderValue {
        header::HeaderValue::from_static(value)
    }

    #[test]
    fn kubectls_protobuf_review_reads_as_its_json() {
        let doc = decode(Some(&content(PROTOBUF)), KUBECTL_BODY).expect("decodes");
        let attributes = &doc["spec"]["resourceAttributes"];
        assert_eq!(attributes["namespace"], "sock-shop");
        assert_eq!(attributes["verb"], "watch");
        assert_eq!(attributes["group"], "tap.linkerd.io");
        assert_eq!(attributes["resource"], "deployments");
        assert_eq!(doc["kind"], "SelfSubjectAccessReview");
    }

    #[test]
    fn a_built_review_round_trips_and_non_resource_attributes_survive() {
        let review = Review {
            spec: Some(Spec {
                resource_attributes: None,
                non_resource_attributes: Some(NonResource {
                    path: "/metrics".into(),
                    verb: "get".into(),
                }),
            }),
        };
        let mut body = PROTOBUF_MAGIC.to_vec();
        body.extend(
            Unknown {
                raw: review.encode_to_vec(),
            }
            .encode_to_vec(),
        );
        let doc = decode(Some(&content(PROTOBUF)), &body).expect("decodes");
        assert_eq!(doc["spec"]["nonResourceAttributes"]["path"], "/metrics");
        assert!(doc["spec"].get("resourceAttributes").is_none());
    }

    #[test]
    fn json_is_read_as_before_and_other_bodies_are_refused_as_the_apiserver_does() {
        let doc = decode(
            Some(&content("application/json; charset=utf-8")),
            br#"{"spec":{}}"#,
        );
        assert!(doc.is_ok());
        assert_eq!(
            decode(None, b"[1]").expect_err("an array").reason,
            "BadRequest"
        );
        let no_magic = decode(Some(&content(PROTOBUF)), b"\x0a\x00").expect_err("no magic");
        assert_eq!(no_magic.code, StatusCode::BAD_REQUEST);
        let yaml = decode(Some(&content("application/yaml")), b"spec: {}").expect_err("yaml");
        assert_eq!(yaml.code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
