//! What `meshtap check` and `kubectl create --dry-run` ask the simulated kube-apiserver beyond
//! the tap API: `SelfSubjectAccessReview`s, the tap `APIService`, and discovery of the kinds
//! `linkerd meshtap install` prints. `--break` makes one of them fail the way a cluster would.

use http::{Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::mesh::{DEMO_USER, FORBIDDEN_NAMESPACE};
use super::server::{Body, json as json_response, kube_status};
use crate::source::metrics::portforward::VIZ_NAMESPACE;

mod review;

/// A way to start the demo control plane broken, for `meshtap check` to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Break {
    /// Every `SelfSubjectAccessReview` for the tap API is denied.
    Rbac,
    /// The tap `APIService` is not Available.
    Viz,
    /// No metrics-api pod runs in linkerd-viz.
    Metrics,
    /// RBAC denies `list pods` outside linkerd-viz: meshtap cannot explain a quiet tap.
    Pods,
}

const SSAR_PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const API_SERVICE_PATH: &str =
    "/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.tap.linkerd.io";
/// An access review is a few hundred bytes.
const REVIEW_MAX_BYTES: usize = 64 * 1024;

/// The answer to `request` if it is one of ours.
pub async fn handle(
    request: http::Request<Incoming>,
    broken: Option<Break>,
) -> Result<http::Response<Body>, http::Request<Incoming>> {
    let path = request.uri().path();
    if path == SSAR_PATH && request.method() == Method::POST {
        return Ok(answer_review(request, broken).await);
    }
    if request.method() != Method::GET {
        return Err(request);
    }
    let doc = match path {
        API_SERVICE_PATH => api_service(broken),
        "/api/v1" => json!({
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                core("namespaces", "Namespace", false, "ns"),
                core("pods", "Pod", true, "po"),
            ],
        }),
        "/apis/authorization.k8s.io/v1" => json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "authorization.k8s.io/v1",
            "resources": [review_resource("selfsubjectaccessreviews", "SelfSubjectAccessReview")],
        }),
        "/apis/rbac.authorization.k8s.io/v1" => json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "rbac.authorization.k8s.io/v1",
            "resources": [
                resource("clusterroles", "ClusterRole", false),
                resource("clusterrolebindings", "ClusterRoleBinding", false),
                resource("roles", "Role", true),
                resource("rolebindings", "RoleBinding", true),
            ],
        }),
        _ => return Err(request),
    };
    Ok(json_response(StatusCode::OK, &doc))
}

/// The API groups served here besides the tap API's, for `/apis`.
pub fn api_groups() -> Vec<Value> {
    ["authorization.k8s.io", "rbac.authorization.k8s.io"]
        .iter()
        .map(|group| {
            let version = json!({ "groupVersion": format!("{group}/v1"), "version": "v1" });
            json!({ "name": group, "versions": [version.clone()], "preferredVersion": version })
        })
        .collect()
}

/// A core resource kubectl can list (`super::core_api` serves them), with its short name.
fn core(name: &str, kind: &str, namespaced: bool, short: &str) -> Value {
    let mut doc = resource(name, kind, namespaced);
    doc["verbs"] = json!(["get", "list"]);
    doc["shortNames"] = json!([short]);
    doc
}

/// A review kind: only `create`, as the kube-apiserver lists it.
fn review_resource(name: &str, kind: &str) -> Value {
    let mut doc = resource(name, kind, false);
    doc["verbs"] = json!(["create"]);
    doc
}

fn resource(name: &str, kind: &str, namespaced: bool) -> Value {
    json!({
        "name": name,
        "singularName": kind.to_lowercase(),
        "namespaced": namespaced,
        "kind": kind,
        "verbs": ["create", "delete", "get", "list"],
    })
}

/// Echoes the review (as JSON, whatever it came as: see [`review`]) with `status.allowed`: the
/// tap API is denied in the `restricted` namespace (as tapping there is) and everywhere under
/// `--break rbac`; everything else is allowed.
async fn answer_review(
    request: http::Request<Incoming>,
    broken: Option<Break>,
) -> http::Response<Body> {
    let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
    let body = match Limited::new(request.into_body(), REVIEW_MAX_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            let message = format!("reading the request body: {error}");
            return kube_status(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
    };
    let mut review = match review::decode(content_type.as_ref(), &body) {
        Ok(review) => review,
        Err(refused) => return kube_status(refused.code, refused.reason, &refused.message),
    };
    let attributes = &review["spec"]["resourceAttributes"];
    let tap = attributes["group"] == "tap.linkerd.io";
    let pods = broken == Some(Break::Pods)
        && attributes["resource"] == "pods"
        && attributes["verb"] == "list"
        && attributes["namespace"] != VIZ_NAMESPACE;
    review["status"] = if (broken == Some(Break::Rbac) && tap) || pods {
        json!({ "allowed": false, "reason": "no RBAC policy matched (demo --break rbac)" })
    } else if tap && attributes["namespace"] == FORBIDDEN_NAMESPACE {
        // What tapping there answers (403): the check must not say √ for it.
        json!({ "allowed": false, "reason": format!(
            "no RBAC policy lets user \"{DEMO_USER}\" watch the tap API in namespace \"{FORBIDDEN_NAMESPACE}\""
        ) })
    } else {
        json!({ "allowed": true, "reason": "the demo allows everything else" })
    };
    json_response(StatusCode::CREATED, &review)
}

fn api_service(broken: Option<Break>) -> Value {
    let condition = if broken == Some(Break::Viz) {
        json!({ "type": "Available", "status": "False", "reason": "MissingEndpoints",
                "message": "endpoints for service/tap in \"linkerd-viz\" have no addresses" })
    } else {
        json!({ "type": "Available", "status": "True", "reason": "Passed",
                "message": "all checks passed" })
    };
    json!({
        "kind": "APIService",
        "apiVersion": "apiregistration.k8s.io/v1",
        "metadata": { "name": "v1alpha1.tap.linkerd.io" },
        "spec": { "group": "tap.linkerd.io", "version": "v1alpha1",
                  "service": { "namespace": "linkerd-viz", "name": "tap" } },
        "status": { "conditions": [condition] },
    })
}
