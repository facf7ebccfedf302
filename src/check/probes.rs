//! The checks themselves: each asks the cluster one thing, as kubectl would, and says what it
//! found. Nothing here prints; the caller renders the [`Category`] list.

use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use tokio::sync::mpsc;

use super::{Category, Check};
use crate::session::{ErrorKind, SourceMsg, StreamState};
use crate::source::cluster::Cluster;
use crate::source::metrics::MetricsClient;
use crate::source::metrics::portforward::{LINKERD_NAMESPACE, PortForward};
use crate::source::policy::{Fault, PolicyClient, PolicyTarget, TargetAddr};
use crate::source::target::TapSpec;

/// The tap API's group and the `APIService` Linkerd viz registers for it.
pub const TAP_GROUP: &str = "tap.linkerd.io";
pub const TAP_API_SERVICE: &str = "v1alpha1.tap.linkerd.io";
/// Where Linkerd viz runs its metrics API.
pub const VIZ_NAMESPACE: &str = "linkerd-viz";
/// How long `--tap-test` waits for a first event.
pub const TAP_TEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Every API call of a check gets this long: a check never hangs on a silent server.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const PORT_FORWARD_HINT: &str = "meshtap port-forwards to Linkerd viz's metrics API: grant RBAC verb `create` on `pods/portforward` in linkerd-viz (`linkerd meshtap install` prints a Role in linkerd-viz that does, bound to the group meshtap-users).";
const POLICY_FORWARD_HINT: &str = "meshtap port-forwards to Linkerd's policy controller (linkerd-destination, port 8090) for routes: grant RBAC verb `create` on `pods/portforward` in linkerd (`linkerd meshtap install` prints a Role in linkerd that does), or pass --policy-api / --no-policy.";
const POLICY_HINT: &str = "Without the policy controller, outbound requests are attributed by ServiceProfile routes and path templates only: `linkerd check` says why linkerd-destination is not Running (or run meshtap with --no-policy).";
const METRICS_HINT: &str = "Linkerd viz's metrics-api must be Running in linkerd-viz: `linkerd viz check` says why it is not (or run meshtap with --no-metrics).";

/// What the run asks about: the namespaces and resource kinds to tap.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// (namespace, plural) pairs the user means to tap, such as ("emojivoto", "deployments").
    pub taps: Vec<(String, String)>,
    /// A short tap to try (`--tap-test`).
    pub tap_test: Option<TapSpec>,
    /// The targets whose per-pod tap health to check (`--proxy`); empty without it.
    pub health: Vec<TapSpec>,
}

/// Every category for one connected context; `label` names the context when there are several.
pub async fn run(cluster: &Cluster, label: &str, wanted: &Wanted) -> Vec<Category> {
    let readable = Check::success(format!(
        "can read the kubeconfig and context {}",
        cluster.context
    ));
    let mut categories = vec![
        category(
            "kubernetes-api",
            label,
            vec![readable, api_version(cluster).await],
        ),
        category("linkerd-viz tap API", label, tap_api_service(cluster).await),
    ];
    let mut rbac = Vec::new();
    for (namespace, plural) in &wanted.taps {
        let description = format!("can watch {plural}/tap in namespace {namespace}");
        let hint = ErrorKind::Forbidden.hint().unwrap_or_default();
        rbac.push(
            can_i(
                cluster,
                (TAP_GROUP, plural, "tap", "watch", namespace),
                description,
                hint,
            )
            .await,
        );
    }
    rbac.push(
        can_i(
            cluster,
            ("", "pods", "portforward", "create", VIZ_NAMESPACE),
            format!("can create pods/portforward in namespace {VIZ_NAMESPACE}"),
            PORT_FORWARD_HINT,
        )
        .await,
    );
    rbac.push(
        can_i(
            cluster,
            ("", "pods", "portforward", "create", LINKERD_NAMESPACE),
            format!("can create pods/portforward in namespace {LINKERD_NAMESPACE}"),
            POLICY_FORWARD_HINT,
        )
        .await,
    );
    categories.push(category("meshtap RBAC", label, rbac));
    categories.push(category(
        "linkerd-viz metrics API",
        label,
        metrics_api(cluster).await,
    ));
    categories.push(category(
        "linkerd policy controller",
        label,
        policy_api(cluster).await,
    ));
    categories.extend(super::health::run(cluster, label, &wanted.health).await);
    if let Some(spec) = &wanted.tap_test {
        categories.push(category(
            "meshtap tap",
            label,
            vec![tap_test(cluster, spec).await],
        ));
    }
    categories
}

/// A failure before anything could be asked: the kubeconfig or context is unusable.
pub fn unreachable(label: &str, context: &str, error: &crate::session::StreamError) -> Category {
    category(
        "kubernetes-api",
        label,
        vec![Check::failed(
            format!("can read the kubeconfig and context {context}"),
            error.to_string(),
            error.kind.hint().unwrap_or_default(),
        )],
    )
}

/// The check's own arguments were refused (a malformed kubeconfig, a target that is not one):
/// one failed check, so Linkerd's JSON is printed all the same.
pub fn refused(error: &str) -> Category {
    category(
        "meshtap",
        "",
        vec![Check::failed(
            "the check's arguments are usable",
            error,
            "see `meshtap check --help`",
        )],
    )
}

pub(super) fn category(name: &str, label: &str, checks: Vec<Check>) -> Category {
    let name = if label.is_empty() {
        name.to_owned()
    } else {
        format!("{name} ({label})")
    };
    Category { name, checks }
}

async fn timed<T, E: std::fmt::Display>(
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())),
    }
}

async fn api_version(cluster: &Cluster) -> Check {
    match timed(cluster.client.apiserver_version()).await {
        Ok(info) => Check::success(format!(
            "can query the Kubernetes API (server {})",
            info.git_version
        )),
        Err(error) => Check::failed(
            "can query the Kubernetes API",
            error,
            format!(
                "The API server at {} must answer GET /version: check the kubeconfig's server address and your network.",
                cluster.resolved.server
            ),
        ),
    }
}

/// The `APIService` Linkerd viz registers exists, and the aggregator says it is Available.
async fn tap_api_service(cluster: &Cluster) -> Vec<Check> {
    let present = format!("the {TAP_API_SERVICE} APIService is present");
    let available = format!("the {TAP_API_SERVICE} APIService is Available");
    let hint = ErrorKind::VizMissing.hint().unwrap_or_default();
    let path = format!("/apis/apiregistration.k8s.io/v1/apiservices/{TAP_API_SERVICE}");
    let request = match http::Request::get(&path).body(Vec::new()) {
        Ok(request) => request,
        Err(error) => return vec![Check::failed(present, error.to_string(), hint)],
    };
    let service = match timed(cluster.client.request::<serde_json::Value>(request)).await {
        Ok(service) => service,
        Err(error) => return vec![Check::failed(present, error, hint)],
    };
    let conditions = service["status"]["conditions"].as_array().cloned();
    let condition = conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c["type"] == "Available");
    let check = match condition {
        Some(c) if c["status"] == "True" => Check::success(available),
        Some(c) => Check::failed(
            available,
            format!(
                "Available is {}: {} ({})",
                c["status"].as_str().unwrap_or("unknown"),
                c["message"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or("")
            ),
            "The tap APIService's backend (the tap deployment in linkerd-viz) is not answering: `linkerd viz check` says why.",
        ),
        None => Check::failed(
            available,
            "the APIService reports no Available condition yet",
            hint,
        ),
    };
    vec![Check::success(present), check]
}

/// `kubectl auth can-i VERB RESOURCE/SUBRESOURCE -n NAMESPACE` as a `SelfSubjectAccessReview`.
async fn can_i(
    cluster: &Cluster,
    (group, resource, subresource, verb, namespace): (&str, &str, &str, &str, &str),
    description: String,
    hint: &str,
) -> Check {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                subresource: Some(subresource.to_owned()),
                verb: Some(verb.to_owned()),
                namespace: Some(namespace.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    match timed(api.create(&PostParams::default(), &review)).await {
        Ok(answer) => match answer.status {
            Some(status) if status.allowed => Check::success(description),
            status => {
                let reason = status
                    .and_then(|s| s.reason.filter(|r| !r.is_empty()))
                    .unwrap_or_else(|| "no RBAC rule allows it".to_owned());
                let who = &cluster.resolved.user;
                Check::failed(
                    description,
                    format!("denied for user {who}: {reason}"),
                    hint,
                )
            }
        },
        Err(error) => Check::failed(description, error, hint),
    }
}

/// A Running metrics API pod, and a port-forward to it that completes the gRPC handshake.
async fn metrics_api(cluster: &Cluster) -> Vec<Check> {
    let forward = PortForward::new(cluster.client.clone());
    let running = format!("a metrics-api pod is Running in {VIZ_NAMESPACE}");
    if let Err(error) = timed(forward.find_pod()).await {
        return vec![Check::failed(running, error, METRICS_HINT)];
    }
    let answers = "the metrics API answers through a port-forward";
    let check = match timed(MetricsClient::connect_port_forward(forward)).await {
        Ok(_) => Check::success(answers),
        Err(error) => Check::failed(answers, error, PORT_FORWARD_HINT),
    };
    vec![Check::success(running), check]
}

/// A Running `linkerd-destination` pod, and its policy controller answering `OutboundPolicies`
/// through a port-forward. Routes are an extra: failures are warnings.
async fn policy_api(cluster: &Cluster) -> Vec<Check> {
    let forward = PortForward::policy(cluster.client.clone());
    let running = format!("a linkerd-destination pod is Running in {LINKERD_NAMESPACE}");
    if let Err(error) = timed(forward.find_pod()).await {
        return vec![Check::failed(running, error, POLICY_HINT).warning()];
    }
    let answers = "the policy controller answers OutboundPolicies through a port-forward";
    // The Service every cluster has: any answer, "not found" included, proves the API is served.
    let probe = PolicyTarget {
        source_namespace: "default".to_owned(),
        source_pod: "meshtap-check".to_owned(),
        target: TargetAddr::Authority("kubernetes.default.svc.cluster.local:443".to_owned()),
    };
    let client = PolicyClient::port_forward(&forward);
    let check = match tokio::time::timeout(CALL_TIMEOUT, client.get(&probe)).await {
        Ok(Ok(_)) => Check::success(answers),
        Ok(Err(error)) if error.fault() == Fault::Target => Check::success(answers),
        Ok(Err(error)) => Check::failed(answers, error.to_string(), POLICY_FORWARD_HINT).warning(),
        Err(_) => Check::failed(
            answers,
            format!("no answer in {} s", CALL_TIMEOUT.as_secs()),
            POLICY_FORWARD_HINT,
        )
        .warning(),
    };
    vec![Check::success(running), check]
}

/// Opens one tap and waits for a first event: a stream error fails the check, silence warns.
async fn tap_test(cluster: &Cluster, spec: &TapSpec) -> Check {
    let description = format!("a test tap of {} receives events", spec.target.display());
    let (tx, mut rx) = mpsc::channel(crate::session::SOURCE_CHANNEL_BATCHES);
    let stream = {
        let (cluster, spec) = (cluster.clone(), spec.clone());
        tokio::spawn(async move { cluster.tap(spec, 0, false, tx, None).await })
    };
    let deadline = tokio::time::Instant::now() + TAP_TEST_TIMEOUT;
    let result = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(SourceMsg::Events(events))) if !events.is_empty() => {
                break Check::success(description);
            }
            Ok(Some(SourceMsg::State {
                state: StreamState::Failed(error) | StreamState::Reconnecting { error, .. },
                ..
            })) => {
                let hint = error.kind.hint().unwrap_or_default();
                break Check::failed(description, error.to_string(), hint);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                break Check::failed(description, "the tap ended before any event", "").warning();
            }
            Err(_) => {
                break Check::failed(
                    description,
                    format!("no request in {} s", TAP_TEST_TIMEOUT.as_secs()),
                    "The tap works but saw no traffic: send requests to the target, or tap a busier one.",
                )
                .warning();
            }
        }
    };
    stream.abort();
    result
}
