//! Queries a Prometheus as `linkerd viz stat-outbound` and `stat-inbound` do:
//! `sum(increase(FAMILY{SELECTOR}[WINDOW])) by (LABELS)` for every family, over HTTP
//! (`/api/v1/query`), either at `--prometheus URL` or through a port-forward to linkerd-viz's
//! `prometheus` pod (port 9090). Latency buckets are summed the same way (`by (le, …)`) rather
//! than interpolated by `histogram_quantile`, so a quantile is only ever the bucket holding it.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use super::http::{self, GetError};
use super::{MetricsOrigin, ProxyWindow};
use crate::routestats::{self, Delta, Window};
use crate::source::metrics::portforward::{PortForwardError, forward, running_pod};
use crate::source::target::Resource;

/// Where linkerd-viz runs its Prometheus and how its pod is labelled.
pub const VIZ_PROMETHEUS_SELECTOR: &str = "component=prometheus";
pub const VIZ_PROMETHEUS_PORT: u16 = 9090;
/// One query, connection included.
const QUERY_TIMEOUT: Duration = Duration::from_secs(15);

/// One series of an instant vector: its labels and value.
pub type Sample = (Vec<(String, String)>, f64);

/// How to reach a Prometheus.
#[derive(Clone)]
pub enum PrometheusAddr {
    /// `--prometheus http://host:port[/prefix]`.
    Url {
        host: String,
        port: u16,
        prefix: String,
    },
    /// linkerd-viz's, through the kube-apiserver.
    Viz {
        client: kube::Client,
        namespace: String,
    },
}

impl std::fmt::Debug for PrometheusAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error(
        "--prometheus {0:?}: expected http://HOST:PORT (https is not supported; port-forward to it)"
    )]
    Url(String),
    #[error(transparent)]
    Forward(#[from] PortForwardError),
    #[error("could not connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("prometheus {addr} {error}")]
    Get { addr: String, error: GetError },
    #[error("prometheus {addr} answered something other than a query result: {reason}")]
    Answer { addr: String, reason: String },
    #[error("prometheus {addr} refused the query: {error}")]
    Query { addr: String, error: String },
    #[error("prometheus {addr} did not answer within {}s", QUERY_TIMEOUT.as_secs())]
    Timeout { addr: String },
}

impl PrometheusAddr {
    /// Parses `http://host:port[/path]`.
    pub fn parse_url(text: &str) -> Result<Self, PrometheusError> {
        let bad = || PrometheusError::Url(text.to_owned());
        let rest = text.strip_prefix("http://").ok_or_else(bad)?;
        let (hostport, prefix) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (hostport, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self::Url {
            host: host.to_owned(),
            port,
            prefix: prefix.to_owned(),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            PrometheusAddr::Url { host, port, prefix } => {
                if host.contains(':') {
                    format!("http://[{host}]:{port}{prefix}")
                } else {
                    format!("http://{host}:{port}{prefix}")
                }
            }
            PrometheusAddr::Viz { namespace, .. } => {
                format!("prometheus.{namespace}:{VIZ_PROMETHEUS_PORT} (kube port-forward)")
            }
        }
    }

    /// Runs one instant query and returns its vector.
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, PrometheusError> {
        let addr = self.describe();
        let work = async {
            let path_query = format!("/api/v1/query?query={}", encode(promql));
            let body = match self {
                PrometheusAddr::Url { host, port, prefix } => {
                    let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                        .await
                        .map_err(|e| PrometheusError::Connect {
                            addr: addr.clone(),
                            reason: e.to_string(),
                        })?;
                    http::get(
                        stream,
                        &format!("{host}:{port}"),
                        &format!("{prefix}{path_query}"),
                    )
                    .await
                }
                PrometheusAddr::Viz { client, namespace } => {
                    let pod = running_pod(client, namespace, VIZ_PROMETHEUS_SELECTOR).await?;
                    let stream = forward(client, namespace, &pod, VIZ_PROMETHEUS_PORT).await?;
                    http::get(
                        stream,
                        &format!("prometheus.{namespace}:{VIZ_PROMETHEUS_PORT}"),
                        &path_query,
                    )
                    .await
                }
            }
            .map_err(|error| PrometheusError::Get {
                addr: addr.clone(),
                error,
            })?;
            vector(&addr, &body)
        };
        tokio::time::timeout(QUERY_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(PrometheusError::Timeout { addr: addr.clone() }))
    }
}

/// linkerd-viz's Prometheus, if a pod of it is running in `namespace`; `Ok(None)` when none
/// is (meshtap then reads the pods directly, as `meshtap routes` does).
pub async fn viz(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<PrometheusAddr>, PortForwardError> {
    match running_pod(client, namespace, VIZ_PROMETHEUS_SELECTOR).await {
        Ok(_) => Ok(Some(PrometheusAddr::Viz {
            client: client.clone(),
            namespace: namespace.to_owned(),
        })),
        Err(PortForwardError::NoPod { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Percent-encodes a query parameter value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    metric: std::collections::BTreeMap<String, String>,
    value: (f64, String),
}

/// The instant vector in a `/api/v1/query` answer.
fn vector(addr: &str, body: &[u8]) -> Result<Vec<Sample>, PrometheusError> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| PrometheusError::Answer {
        addr: addr.to_owned(),
        reason: e.to_string(),
    })?;
    if answer.status != "success" {
        return Err(PrometheusError::Query {
            addr: addr.to_owned(),
            error: answer.error.unwrap_or(answer.status),
        });
    }
    let data = answer.data.ok_or_else(|| PrometheusError::Answer {
        addr: addr.to_owned(),
        reason: "no data".to_owned(),
    })?;
    if data.result_type != "vector" {
        return Err(PrometheusError::Answer {
            addr: addr.to_owned(),
            reason: format!("a {} where a vector was expected", data.result_type),
        });
    }
    Ok(data
        .result
        .into_iter()
        .filter_map(|s| {
            let value = s.value.1.parse::<f64>().ok()?;
            Some((s.metric.into_iter().collect(), value))
        })
        .collect())
}

/// The labels each family is summed by (besides the resource's own), as stat-outbound and
/// stat-inbound group them; the bucket families add `le`, the denial counters the client.
fn group_by(family: &str) -> &'static [&'static str] {
    const ROUTE: &[&str] = &[
        "parent_namespace",
        "parent_name",
        "parent_port",
        "route_name",
        "route_kind",
    ];
    if family.ends_with(routestats::REQUEST_STATUSES) {
        &[
            "parent_namespace",
            "parent_name",
            "parent_port",
            "route_name",
            "route_kind",
            "http_status",
            "grpc_status",
            "error",
        ]
    } else if family.ends_with(routestats::BACKEND_STATUSES) {
        &[
            "parent_namespace",
            "parent_name",
            "parent_port",
            "route_name",
            "route_kind",
            "backend_name",
            "backend_port",
            "http_status",
            "grpc_status",
            "error",
        ]
    } else if family.ends_with(routestats::BACKEND_DURATION_BUCKET) {
        &[
            "parent_namespace",
            "parent_name",
            "parent_port",
            "route_name",
            "route_kind",
            "backend_name",
            "backend_port",
            "le",
        ]
    } else if family.ends_with(routestats::REQUEST_DURATION_BUCKET) {
        &[
            "parent_namespace",
            "parent_name",
            "parent_port",
            "route_name",
            "route_kind",
            "le",
        ]
    } else if family.ends_with(routestats::RETRY_REQUESTS) {
        ROUTE
    } else if family == routestats::RESPONSE_TOTAL {
        &[
            "direction",
            "srv_name",
            "srv_kind",
            "route_name",
            "route_kind",
            "classification",
            "target_port",
        ]
    } else if family == routestats::RESPONSE_LATENCY_BUCKET {
        &[
            "direction",
            "srv_name",
            "srv_kind",
            "route_name",
            "route_kind",
            "target_port",
            "le",
        ]
    } else {
        // The denial counters: who refused whom, on which Server and route.
        &[
            "deployment",
            "pod",
            "srv_kind",
            "srv_name",
            "route_kind",
            "route_name",
            "target_port",
            "client_id",
        ]
    }
}

/// The `PromQL` for one family over `window` for `target`.
pub fn promql(family: &str, target: &Resource, window: Duration) -> String {
    let (namespace, kind_label) = resource_labels(target);
    let mut selector = format!("namespace=\"{}\"", escape(&namespace));
    if let Some((label, name)) = &kind_label {
        let _ = write!(selector, ",{label}=\"{}\"", escape(name));
    }
    if family == routestats::RESPONSE_TOTAL || family == routestats::RESPONSE_LATENCY_BUCKET {
        selector.push_str(",direction=\"inbound\"");
    }
    let mut by: Vec<&str> = group_by(family).to_vec();
    by.push("namespace");
    if let Some((label, _)) = &kind_label
        && !by.contains(label)
    {
        by.push(label);
    }
    format!(
        "sum(increase({family}{{{selector}}}[{}s])) by ({})",
        window.as_secs().max(1),
        by.join(", ")
    )
}

/// The namespace and, unless the target is a whole namespace, the label naming its resource
/// (`deployment="web"`, `pod="web-…"`), as linkerd-viz's Prometheus labels proxy series.
fn resource_labels(target: &Resource) -> (String, Option<(&'static str, String)>) {
    if target.kind == "namespace" {
        return (target.name.clone(), None);
    }
    let label = Some((target.kind, target.name.clone())).filter(|(_, n)| !n.is_empty());
    (target.namespace.clone(), label)
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Every family's increase over `window` for `target`, from `prometheus`.
pub async fn window(
    prometheus: &PrometheusAddr,
    target: &Resource,
    window: Duration,
    families: &[String],
) -> Result<ProxyWindow, PrometheusError> {
    let mut out = Window::new(window.as_secs_f64());
    for family in families {
        for (labels, value) in prometheus.query(&promql(family, target, window)).await? {
            if value.is_finite() && value > 0.0 {
                out.deltas.push(Delta {
                    name: family.clone(),
                    labels: labels.into_iter().collect(),
                    value,
                });
            }
        }
    }
    Ok(ProxyWindow {
        origin: MetricsOrigin::Prometheus(prometheus.describe()),
        window: out,
        unreachable: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_read_like_stat_outbound() {
        let ns = Resource::parse("ns/sock-shop", "default").expect("parses");
        assert_eq!(
            promql(
                "outbound_http_route_retry_requests_total",
                &ns,
                Duration::from_secs(60)
            ),
            "sum(increase(outbound_http_route_retry_requests_total{namespace=\"sock-shop\"}[60s])) \
             by (parent_namespace, parent_name, parent_port, route_name, route_kind, namespace)"
        );
        let deploy = Resource::parse("deploy/web", "emojivoto").expect("parses");
        let q = promql("response_total", &deploy, Duration::from_secs(30));
        assert!(q.starts_with("sum(increase(response_total{namespace=\"emojivoto\",deployment=\"web\",direction=\"inbound\"}[30s]))"), "{q}");
        assert!(q.ends_with(", namespace, deployment)"), "{q}");
    }

    #[test]
    fn urls() {
        let a = PrometheusAddr::parse_url("http://127.0.0.1:9090").expect("parses");
        assert_eq!(a.describe(), "http://127.0.0.1:9090");
        let b = PrometheusAddr::parse_url("http://[::1]:9091/prom/").expect("parses");
        assert_eq!(b.describe(), "http://[::1]:9091/prom");
        for bad in [
            "https://x:1",
            "127.0.0.1:9090",
            "http://:9090",
            "http://h:port",
        ] {
            assert!(PrometheusAddr::parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers() {
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"0.05"},"value":[1700000000.1,"12.5"]}]}}"#;
        let v = vector("p", ok).expect("reads");
        assert_eq!(v, [(vec![("le".to_owned(), "0.05".to_owned())], 12.5)]);
        let err = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert!(matches!(
            vector("p", err),
            Err(PrometheusError::Query { .. })
        ));
        assert!(matches!(
            vector("p", b"<html>"),
            Err(PrometheusError::Answer { .. })
        ));
    }
}
