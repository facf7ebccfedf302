//! Reads the target pods' proxy admin `/metrics` through kube port-forwards to port 4191 (what
//! `linkerd diagnostics proxy-metrics` does), tags each series with the pod labels Linkerd's
//! Prometheus would add (`namespace`, `pod`, and `deployment`/`statefulset`/… from the pod's
//! `linkerd.io/proxy-*` labels), and differences two rounds into a window.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::http::{self, GetError};
use super::{MetricsOrigin, ProxyWindow};
use crate::promtext::{self, Exposition, ParseError};
use crate::routestats::Window;
use crate::source::metrics::portforward::{PortForwardError, forward};
use crate::source::target::Resource;

/// The proxy's admin port (`/metrics`, `/ready`, …).
pub const ADMIN_PORT: u16 = 4191;
/// Most pods scraped for one window; a bigger target is refused rather than half-read.
pub const MAX_SCRAPED_PODS: usize = 200;
/// Pods scraped at once.
const SCRAPE_CONCURRENCY: usize = 8;
/// One pod's port-forward and scrape.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// The label Linkerd's proxy injector puts on every meshed pod.
const MESHED_LABEL: &str = "linkerd.io/control-plane-ns";
/// The injector's owner labels: `linkerd.io/proxy-deployment=web` becomes `deployment="web"`.
const OWNER_LABEL_PREFIX: &str = "linkerd.io/proxy-";

/// A meshed pod and the labels its series get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshedPod {
    pub namespace: String,
    pub name: String,
    pub labels: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error(transparent)]
    Forward(#[from] PortForwardError),
    #[error("{pod}:{ADMIN_PORT}/metrics {error}")]
    Get { pod: String, error: GetError },
    #[error("{pod}:{ADMIN_PORT}/metrics is not the Prometheus text format: {error}")]
    Parse { pod: String, error: ParseError },
    #[error("{pod}:{ADMIN_PORT}/metrics did not answer within {}s", SCRAPE_TIMEOUT.as_secs())]
    Timeout { pod: String },
    #[error(
        "{target} selects {count} meshed pods; at most {MAX_SCRAPED_PODS} are scraped directly (use --prometheus)"
    )]
    TooMany { target: String, count: usize },
    #[error("{target} selects no meshed pod")]
    NoPods { target: String },
}

/// The label selector that picks `target`'s pods.
fn selector(target: &Resource) -> String {
    match target.kind {
        "namespace" | "pod" => MESHED_LABEL.to_owned(),
        kind => format!("{MESHED_LABEL},{OWNER_LABEL_PREFIX}{kind}={}", target.name),
    }
}

/// The meshed, running pods `target` selects, all of them (see [`target_pods`] for the checked
/// list a one-off window scrapes).
pub async fn list_pods(
    client: &kube::Client,
    target: &Resource,
) -> Result<Vec<MeshedPod>, ScrapeError> {
    let namespace = if target.kind == "namespace" {
        target.name.as_str()
    } else {
        target.namespace.as_str()
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector(target)))
        .await
        .map_err(|error| {
            ScrapeError::Forward(PortForwardError::Kube {
                namespace: namespace.to_owned(),
                reason: error.to_string(),
            })
        })?;
    let mut out = Vec::new();
    for pod in list.items {
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        let Some(name) = pod.metadata.name.clone() else {
            continue;
        };
        if !running || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if target.kind == "pod" && !target.name.is_empty() && name != target.name {
            continue;
        }
        let mut labels = vec![
            ("namespace".to_owned(), namespace.to_owned()),
            ("pod".to_owned(), name.clone()),
        ];
        for (key, value) in pod.metadata.labels.iter().flatten() {
            if let Some(owner) = key.strip_prefix(OWNER_LABEL_PREFIX) {
                labels.push((owner.to_owned(), value.clone()));
            }
        }
        out.push(MeshedPod {
            namespace: namespace.to_owned(),
            name,
            labels,
        });
    }
    Ok(out)
}

/// The meshed, running pods `target` selects: at least one, at most [`MAX_SCRAPED_PODS`].
pub async fn target_pods(
    client: &kube::Client,
    target: &Resource,
) -> Result<Vec<MeshedPod>, ScrapeError> {
    let out = list_pods(client, target).await?;
    if out.is_empty() {
        return Err(ScrapeError::NoPods {
            target: target.display(),
        });
    }
    if out.len() > MAX_SCRAPED_PODS {
        return Err(ScrapeError::TooMany {
            target: target.display(),
            count: out.len(),
        });
    }
    Ok(out)
}

/// One scrape of `pod`'s proxy.
pub async fn scrape(client: &kube::Client, pod: &MeshedPod) -> Result<Exposition, ScrapeError> {
    scrape_only(client, pod, None).await
}

/// Only the lines of `families` (their samples and `# HELP`/`# TYPE`), all without: a busy
/// proxy's `/metrics` is thousands of series, and a poller that wants two families should not
/// parse and hold the rest.
fn keep_families(text: &str, families: &[&str]) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let name = match line.strip_prefix('#') {
            Some(comment) => comment.split_whitespace().nth(1).unwrap_or(""),
            None => line.split(['{', ' ']).next().unwrap_or(""),
        };
        if families.contains(&name) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One scrape of `pod`'s proxy, keeping only `families` when given.
pub async fn scrape_only(
    client: &kube::Client,
    pod: &MeshedPod,
    families: Option<&[&str]>,
) -> Result<Exposition, ScrapeError> {
    let name = format!("{}/{}", pod.namespace, pod.name);
    let work = async {
        let stream = forward(client, &pod.namespace, &pod.name, ADMIN_PORT).await?;
        let body = http::get(stream, &format!("{}:{ADMIN_PORT}", pod.name), "/metrics")
            .await
            .map_err(|error| ScrapeError::Get {
                pod: name.clone(),
                error,
            })?;
        let text = String::from_utf8_lossy(&body);
        let text = match families {
            Some(families) => std::borrow::Cow::Owned(keep_families(&text, families)),
            None => text,
        };
        promtext::parse(&text).map_err(|error| ScrapeError::Parse {
            pod: name.clone(),
            error,
        })
    };
    tokio::time::timeout(SCRAPE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(ScrapeError::Timeout { pod: name.clone() }))
}

/// Scrapes every pod, a few at a time, keeping only `families` when given; each result in
/// `pods` order.
pub async fn round(
    client: &kube::Client,
    pods: &[MeshedPod],
    families: Option<&[&str]>,
) -> Vec<Result<Exposition, ScrapeError>> {
    use futures::StreamExt as _;
    // By index: a closure over `&MeshedPod` would make the future unsendable to `tokio::spawn`
    // (its lifetime must be general, rust-lang/rust#64552).
    futures::stream::iter(0..pods.len())
        .map(|i| scrape_only(client, &pods[i], families))
        .buffered(SCRAPE_CONCURRENCY)
        .collect()
        .await
}

/// Scrapes `pods`, waits `duration`, scrapes again and differences the families in `families`.
/// A pod that fails either round is left out and named in `unreachable`.
pub async fn window(
    client: &kube::Client,
    pods: &[MeshedPod],
    duration: Duration,
    families: &[String],
) -> ProxyWindow {
    let started = tokio::time::Instant::now();
    let before = round(client, pods, None).await;
    tokio::time::sleep_until(started + duration).await;
    let seconds = started.elapsed().as_secs_f64();
    let after = round(client, pods, None).await;
    let mut window = Window::new(seconds);
    let mut unreachable = Vec::new();
    let mut scraped = 0;
    for ((pod, before), after) in pods.iter().zip(before).zip(after) {
        match (before, after) {
            (Ok(before), Ok(after)) => {
                scraped += 1;
                window.add_scrapes(&pod.labels, Some(&before), &after, families);
            }
            (Err(error), _) | (_, Err(error)) => {
                unreachable.push((format!("{}/{}", pod.namespace, pod.name), error.to_string()));
            }
        }
    }
    ProxyWindow {
        origin: MetricsOrigin::Scraped { pods: scraped },
        window,
        unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_asked_families_are_kept() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n\
                    a_total_more 1\n# TYPE b_total counter\nb_total 9\nab_total 2\n";
        assert_eq!(
            keep_families(text, &["a_total"]),
            "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
        );
        let exposition = promtext::parse(&keep_families(text, &["b_total"])).expect("parses");
        assert_eq!(exposition.samples.len(), 1);
    }

    #[test]
    fn selectors_follow_the_injectors_labels() {
        let r = |text| Resource::parse(text, "sock-shop").expect("parses");
        assert_eq!(selector(&r("ns/sock-shop")), "linkerd.io/control-plane-ns");
        assert_eq!(
            selector(&r("deploy/carts")),
            "linkerd.io/control-plane-ns,linkerd.io/proxy-deployment=carts"
        );
        assert_eq!(
            selector(&r("sts/db")),
            "linkerd.io/control-plane-ns,linkerd.io/proxy-statefulset=db"
        );
    }
}
