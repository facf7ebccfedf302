//! Taps of `troubled`, answered like Linkerd's tap server: pods with tap disabled or not enabled
//! are skipped (and named in the "no pods to tap" error when none is left), `maxRps` is split
//! over the rest, and each tapped pod's proxy reports what it would: nothing for an opaque port
//! or a proxy that is not ready, a window held open by a gRPC stream that never ends, and at most
//! its share of `wide`'s busy traffic per second.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::pods::{TroubledPod, pods};
use super::{LONG_STREAM_PATH, NAMESPACE, Trouble, WIDE_POD_RPS};
use crate::demo::api::TapReply;
use crate::demo::server::frame;
use crate::demo::sim::events::address;
use crate::demo::tapper::plan::{Condition, Selector, conditions, per_pod_limit};
use crate::proto::tap::tap_event::{self, http};
use crate::proto::tap::{EndpointMeta, TapByResourceRequest, TapEvent};
use crate::proto::viz;

/// The client every request comes from: a meshed caller in the same namespace.
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 43, 250, 1);
const CLIENT_ID: &str = "client.troubled.serviceaccount.identity.linkerd.cluster.local";

/// What one tap of `troubled` observes.
#[derive(Debug)]
pub struct Plan {
    pods: Vec<TroubledPod>,
    limit: u32,
    conditions: Vec<Condition>,
}

fn linkerd_error(message: String) -> TapReply {
    TapReply::LinkerdError(message)
}

/// Resolves the target to pods and applies Linkerd's rules, or the reply that rejects it.
pub fn plan(request: &TapByResourceRequest) -> Result<Plan, TapReply> {
    let Some(res) = request.target.as_ref().and_then(|t| t.resource.as_ref()) else {
        return Err(linkerd_error(
            "TapByResource received nil target Resource".into(),
        ));
    };
    let selector = request
        .target
        .as_ref()
        .map_or("", |t| t.label_selector.as_str());
    let selector = Selector::parse(selector)
        .map_err(|e| linkerd_error(format!("invalid label selector \"{selector}\": {e}")))?;
    let targeted: Vec<TroubledPod> = pods()
        .into_iter()
        .filter(|p| match res.r#type.as_str() {
            "namespace" => res.name == NAMESPACE,
            "deployment" => p.deployment == res.name,
            "replicaset" => p.object.replica_set == res.name,
            "pod" => p.object.name == res.name,
            _ => false,
        })
        .filter(|p| selector.matches(&p.object.labels))
        .collect();
    let (tapped, skipped): (Vec<TroubledPod>, Vec<TroubledPod>) =
        targeted.into_iter().partition(TroubledPod::tapped);
    if tapped.is_empty() {
        return Err(linkerd_error(no_pods_message(
            &res.r#type,
            &res.name,
            &skipped,
        )));
    }
    Ok(Plan {
        limit: per_pod_limit(request.max_rps, tapped.len()),
        pods: tapped,
        conditions: conditions(request.r#match.as_ref())?,
    })
}

/// Linkerd's message when no pod of the target can be tapped, naming the skipped pods.
fn no_pods_message(kind: &str, name: &str, skipped: &[TroubledPod]) -> String {
    let mut out = format!("no pods to tap for {kind}/{name}\n");
    let list = |out: &mut String, trouble: Trouble| {
        for pod in skipped.iter().filter(|p| p.trouble == trouble) {
            let _ = writeln!(out, "\t* {}", pod.object.name);
        }
    };
    let disabled = skipped
        .iter()
        .filter(|p| p.trouble == Trouble::TapDisabled)
        .count();
    if disabled > 0 {
        let _ = writeln!(
            out,
            "{disabled} pods found with tap disabled via the viz.linkerd.io/disable-tap annotation:"
        );
        list(&mut out, Trouble::TapDisabled);
        out.push_str("remove this annotation to make these pods valid tap targets\n");
    }
    let not_enabled = skipped
        .iter()
        .filter(|p| p.trouble == Trouble::BeforeViz)
        .count();
    if not_enabled > 0 {
        let _ = writeln!(out, "{not_enabled} pods found with tap not enabled:");
        list(&mut out, Trouble::BeforeViz);
        out.push_str("restart these pods to enable tap and make them valid tap targets\n");
    }
    out
}

/// One request a pod's proxy reports.
struct Request<'a> {
    pod: &'a TroubledPod,
    base: u32,
    stream: u64,
    method: viz::http_method::Registered,
    path: String,
    grpc: bool,
    /// Whether the response ends (a long-lived stream's never does).
    ends: bool,
}

impl Request<'_> {
    fn matches(&self, conditions: &[Condition]) -> bool {
        conditions.iter().all(|c| match c {
            Condition::Scheme(s) => s.eq_ignore_ascii_case("http"),
            Condition::Method(m) => m.eq_ignore_ascii_case(self.method.as_str_name()),
            Condition::Authority(a) => *a == self.authority(),
            Condition::PathPrefix(p) => self.path.starts_with(p.as_str()),
            Condition::DestinationLabel(k, v) => match k.as_str() {
                "namespace" => v == NAMESPACE,
                "deployment" => v == self.pod.deployment,
                "pod" => *v == self.pod.object.name,
                _ => false,
            },
        })
    }

    fn authority(&self) -> String {
        format!(
            "{}.{NAMESPACE}:{}",
            self.pod.deployment, self.pod.object.app_port
        )
    }

    /// The request's events as the pod's inbound proxy reports them.
    fn frames(&self, out: &mut BytesMut) {
        let id = || {
            Some(http::StreamId {
                base: self.base,
                stream: self.stream,
            })
        };
        let init = http::Event::RequestInit(http::RequestInit {
            id: id(),
            method: Some(viz::HttpMethod {
                r#type: Some(viz::http_method::Type::Registered(self.method as i32)),
            }),
            scheme: Some(viz::Scheme {
                r#type: Some(viz::scheme::Type::Registered(
                    viz::scheme::Registered::Http as i32,
                )),
            }),
            authority: self.authority(),
            path: self.path.clone(),
            headers: None,
        });
        let ms = |n: i32| prost_types::Duration {
            seconds: 0,
            nanos: n * 1_000_000,
        };
        let response = http::Event::ResponseInit(http::ResponseInit {
            id: id(),
            since_request_init: Some(ms(3)),
            http_status: 200,
            headers: None,
        });
        let mut events = vec![init, response];
        if self.ends {
            events.push(http::Event::ResponseEnd(http::ResponseEnd {
                id: id(),
                since_request_init: Some(ms(5)),
                since_response_init: Some(ms(2)),
                response_bytes: 512,
                eos: Some(viz::Eos {
                    end: self.grpc.then_some(viz::eos::End::GrpcStatusCode(0)),
                }),
                trailers: None,
            }));
        }
        for event in events {
            out.extend_from_slice(&frame(&self.event(event)));
        }
    }

    fn event(&self, event: http::Event) -> TapEvent {
        let pod = &self.pod.object;
        let labels = |pairs: &[(&str, &str)]| EndpointMeta {
            labels: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let hash = pod
            .labels
            .get("pod-template-hash")
            .map_or("", String::as_str);
        TapEvent {
            source: Some(address(CLIENT_IP, 41_000 + (self.stream % 20_000) as u16)),
            destination: Some(address(pod.ip, pod.app_port)),
            source_meta: Some(labels(&[
                ("client_id", CLIENT_ID),
                ("namespace", NAMESPACE),
                ("tls", "true"),
            ])),
            destination_meta: Some(labels(&[
                ("deployment", self.pod.deployment),
                ("namespace", NAMESPACE),
                ("pod", &pod.name),
                ("pod_template_hash", hash),
                ("serviceaccount", &pod.service_account),
                ("srv_kind", "default"),
                ("srv_name", "all-unauthenticated"),
                ("tls", "loopback"),
            ])),
            route_meta: None,
            proxy_direction: tap_event::ProxyDirection::Inbound as i32,
            event: Some(tap_event::Event::Http(tap_event::Http {
                event: Some(event),
            })),
        }
    }
}

/// What `pod`'s proxy reports in window number `window` (0-based) of a tap, `limit` at most.
fn window_requests(pod: &TroubledPod, window: u32, limit: u32, base: u32) -> Vec<Request<'_>> {
    let request = |stream: u64, path: String, grpc: bool, ends: bool| Request {
        pod,
        base,
        stream,
        method: if grpc {
            viz::http_method::Registered::Post
        } else {
            viz::http_method::Registered::Get
        },
        path,
        grpc,
        ends,
    };
    match pod.trouble {
        Trouble::Wide if pod.object.ready => (0..u64::from(limit.min(WIDE_POD_RPS)))
            .map(|s| {
                request(
                    s,
                    format!("/api/items/{}", (u64::from(window) * 7 + s) % 50),
                    false,
                    true,
                )
            })
            .collect(),
        // The first window taps the stream's opening and a few quick calls; the proxy then
        // holds that Observe open until the stream ends, which it never does.
        Trouble::LongStream if window == 0 => {
            let mut out = vec![request(0, LONG_STREAM_PATH.to_owned(), true, false)];
            for s in 1..u64::from(limit.min(3)) {
                out.push(request(s, "/watch.v1.Watcher/List".to_owned(), true, true));
            }
            out
        }
        // Nothing HTTP reaches an opaque port's proxy; a proxy that is not ready fails the tap
        // server's Observe call; a pinned window reports nothing new; skipped pods are not
        // asked at all.
        Trouble::OpaqueDb
        | Trouble::Wide
        | Trouble::LongStream
        | Trouble::TapDisabled
        | Trouble::BeforeViz => Vec::new(),
    }
}

/// Feeds one tap, a window per second, until its receiver goes away.
pub async fn run(plan: Plan, tx: mpsc::Sender<Bytes>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut buf = BytesMut::new();
    for window in 0u32.. {
        tokio::select! {
            () = tx.closed() => return,
            _ = ticks.tick() => {}
        }
        for pod in &plan.pods {
            // `base` counts this proxy's Observe calls: one per window.
            for request in window_requests(pod, window, plan.limit, window + 1) {
                if request.matches(&plan.conditions) {
                    request.frames(&mut buf);
                }
            }
        }
        if !buf.is_empty() && tx.send(buf.split().freeze()).await.is_err() {
            return;
        }
    }
}
