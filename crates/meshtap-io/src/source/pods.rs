//! A tap target's pods from the Kubernetes API (a namespaced `list pods`), for tap health: each
//! stream's task lists them when it starts and again every [`RELIST_EVERY`], and the sink works
//! out from them and from the stream why the target is quiet.
//!
//! Listing pods needs RBAC verb `list` on `pods` in the namespace, which a user allowed to tap
//! may not have: then the answer is a hint, and the tap goes on without explanations.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::api::ListParams;
use serde_json::Value;
use tokio::sync::mpsc;

use super::cluster::Cluster;
use super::target::TapSpec;
use crate::health::{Observed, PodFacts, PodList, TargetHealth, TargetInfo, assess};
use crate::session::SourceMsg;

/// How often a stream's pods are listed again (pods come and go, proxies become ready).
pub const RELIST_EVERY: Duration = Duration::from_secs(30);
/// A list that takes longer is abandoned: a health hint never holds up anything.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a target's pods could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum PodsError {
    /// RBAC denies `list pods` in the namespace.
    #[error(
        "cannot list pods in namespace {namespace} ({message}): meshtap cannot say why tap is quiet, but tapping works without it. \
         Check with `kubectl auth can-i list pods -n {namespace}`; a Role granting verb list on pods adds the explanations."
    )]
    Forbidden { namespace: String, message: String },
    #[error("cannot list pods in namespace {namespace}: {message}")]
    Other { namespace: String, message: String },
}

/// The namespace a target's pods live in.
fn namespace_of(spec: &TapSpec) -> &str {
    if spec.target.kind == "namespace" {
        &spec.target.name
    } else {
        &spec.target.namespace
    }
}

/// The target as tap health names it.
pub fn target_info(cluster: &Cluster, spec: &TapSpec) -> TargetInfo {
    TargetInfo {
        cluster: cluster
            .name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        target: spec.target.display(),
        kind: spec.target.kind.to_owned(),
        name: spec.target.name.clone(),
        namespace: namespace_of(spec).to_owned(),
        max_rps: spec.max_rps,
        connected_since: None,
    }
}

/// The pods of `spec`'s namespace that match its label selector (the caller keeps the target's
/// own with [`PodFacts::belongs_to`]).
pub async fn list(cluster: &Cluster, spec: &TapSpec) -> Result<Vec<PodFacts>, PodsError> {
    let namespace = namespace_of(spec).to_owned();
    let mut params = ListParams::default();
    if !spec.label_selector.is_empty() {
        params = params.labels(&spec.label_selector);
    }
    let path = format!("/api/v1/namespaces/{namespace}/pods");
    let other = |message: String| PodsError::Other {
        namespace: namespace.clone(),
        message,
    };
    let request = kube::core::Request::new(path)
        .list(&params)
        .map_err(|e| other(e.to_string()))?;
    let answer = tokio::time::timeout(LIST_TIMEOUT, cluster.client.request::<Value>(request))
        .await
        .map_err(|_| other(format!("no answer in {} s", LIST_TIMEOUT.as_secs())))?;
    match answer {
        Ok(list) => Ok(PodFacts::list_from_json(&list)),
        Err(kube::Error::Api(status)) if status.code == 403 => Err(PodsError::Forbidden {
            namespace,
            message: status.message.clone(),
        }),
        Err(e) => Err(other(e.to_string())),
    }
}

/// The health of `spec`'s target now, from a fresh pod list and what `observed` saw (empty when
/// nothing was tapped yet). This is the one call an agent needs: serialize the result.
pub async fn tap_health(
    cluster: &Cluster,
    spec: &TapSpec,
    observed: &Observed,
    connected_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> TargetHealth {
    let mut target = target_info(cluster, spec);
    target.connected_since = connected_since;
    let listed = list(cluster, spec).await.map_err(|e| e.to_string());
    let pods = match &listed {
        Ok(pods) => Ok(pods.as_slice()),
        Err(e) => Err(e.as_str()),
    };
    assess(&target, pods, observed, now)
}

/// Lists `spec`'s pods now and every [`RELIST_EVERY`], sending each list as stream `stream`'s.
/// The first list holds the channel open (a tap that fails at once still gets explained before
/// a headless run ends); later ones only go out while someone listens.
pub async fn watch(cluster: Cluster, spec: TapSpec, stream: usize, tx: mpsc::Sender<SourceMsg>) {
    let message = |pods: Result<Vec<PodFacts>, PodsError>| {
        SourceMsg::Pods(Box::new(PodList {
            stream,
            target: target_info(&cluster, &spec),
            pods: pods.map_err(|e| e.to_string()),
        }))
    };
    let first = list(&cluster, &spec).await;
    // Forbidden does not change by itself within a session: say it once.
    let forbidden = matches!(first, Err(PodsError::Forbidden { .. }));
    if tx.send(message(first)).await.is_err() || forbidden {
        return;
    }
    // Only a weak sender from here on: the headless run ends when its streams do.
    let weak = tx.downgrade();
    drop(tx);
    loop {
        tokio::time::sleep(RELIST_EVERY).await;
        let pods = list(&cluster, &spec).await;
        let Some(tx) = weak.upgrade() else { return };
        if tx.send(message(pods)).await.is_err() {
            return;
        }
    }
}
