//! The client against a real tonic `OutboundPolicies` server on 127.0.0.1:0 ([`serve`]), and the
//! fixtures the stage's tests share.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::serve::{self, Answers, PolicyService, RunningPolicyApi};
use super::*;
use crate::model::event::Text;
use crate::model::policy::{
    BackendRef, HeaderMatch, HttpMatch, ParentRef, PathMatch, PolicyProtocol, PolicyRoute,
    PolicyRule, RouteRef, RuleConfig, RuleMatches, ValueMatch,
};

fn text(s: &str) -> Text {
    Text::from(s)
}

fn backend(name: &str, weight: u32) -> BackendRef {
    BackendRef {
        namespace: text("sock-shop"),
        name: text(name),
        port: Some(80),
        weight: Some(weight),
    }
}

/// `route` on `catalogue:80`: rule 0 `x-canary: true` → catalogue-v2, rule 1 prefix `/` → 90/10.
pub(crate) fn catalogue_policy(route: &str) -> OutboundPolicy {
    let canary = HttpMatch {
        headers: vec![HeaderMatch {
            name: text("x-canary"),
            value: ValueMatch::Exact(b"true".as_slice().into()),
        }],
        ..HttpMatch::default()
    };
    let everything = HttpMatch {
        path: Some(PathMatch::Prefix("/".into())),
        ..HttpMatch::default()
    };
    OutboundPolicy {
        parent: Some(ParentRef {
            kind: text("Service"),
            namespace: text("sock-shop"),
            name: text("catalogue"),
            port: Some(80),
        }),
        protocol: PolicyProtocol::Http,
        routes: vec![PolicyRoute {
            route: RouteRef {
                group: text("gateway.networking.k8s.io"),
                kind: text("HTTPRoute"),
                namespace: text("sock-shop"),
                name: text(route),
            },
            hosts: Vec::new(),
            rules: vec![
                PolicyRule {
                    matches: RuleMatches::Http(vec![canary]),
                    backends: vec![backend("catalogue-v2", 1)],
                    config: RuleConfig::default(),
                },
                PolicyRule {
                    matches: RuleMatches::Http(vec![everything]),
                    backends: vec![backend("catalogue", 90), backend("catalogue-v2", 10)],
                    config: RuleConfig::default(),
                },
            ],
        }],
    }
}

pub(crate) const CATALOGUE: &str = "catalogue.sock-shop.svc.cluster.local:80";
pub(crate) const CARTS: &str = "carts.sock-shop.svc.cluster.local:80";

/// A controller on loopback that knows `catalogue` and `carts` (both answered from `policy`,
/// which a test may change and then bump the generation).
pub(crate) struct FakeController {
    pub policy: Arc<Mutex<OutboundPolicy>>,
    pub generation: watch::Sender<u64>,
    pub server: RunningPolicyApi,
}

impl FakeController {
    pub async fn start(addr: SocketAddr, policy: OutboundPolicy) -> Self {
        let policy = Arc::new(Mutex::new(policy));
        let shared = policy.clone();
        let answers: Answers = Arc::new(move |_ns: &str, target: &TargetAddr| match target {
            TargetAddr::Authority(a) if a == CATALOGUE || a == CARTS => {
                Some(shared.lock().expect("policy lock").clone())
            }
            _ => None,
        });
        let (generation, rx) = watch::channel(0);
        let server = serve::spawn(addr, PolicyService::new(answers, rx))
            .await
            .expect("binds");
        Self {
            policy,
            generation,
            server,
        }
    }

    /// Changes the policy; open watches are sent the new one.
    pub fn update(&self, policy: OutboundPolicy) {
        *self.policy.lock().expect("policy lock") = policy;
        self.generation.send_modify(|g| *g += 1);
    }
}

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub(crate) fn target(authority: &str) -> PolicyTarget {
    PolicyTarget {
        source_namespace: "sock-shop".to_owned(),
        source_pod: "front-end-6c9f8d7b5d-x2k4q".to_owned(),
        target: TargetAddr::Authority(authority.to_owned()),
    }
}

/// An address nothing listens on: bound, read, released.
pub(crate) fn dead_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind(loopback()).expect("binds");
    listener.local_addr().expect("addr")
}

#[tokio::test]
async fn get_and_watch_answer_with_the_served_policy() {
    let controller = FakeController::start(loopback(), catalogue_policy("catalogue-split")).await;
    let client = PolicyClient::lazy(&controller.server.addr.to_string()).expect("address");
    let got = client.get(&target(CATALOGUE)).await.expect("answers");
    assert_eq!(got, catalogue_policy("catalogue-split"));

    let mut stream = client.watch(&target(CATALOGUE)).await.expect("watches");
    let first = stream.next().await.expect("an answer").expect("a policy");
    assert_eq!(first.routes[0].route.name.as_ref(), "catalogue-split");
    controller.update(catalogue_policy("catalogue-canary"));
    let second = stream.next().await.expect("an update").expect("a policy");
    assert_eq!(second.routes[0].route.name.as_ref(), "catalogue-canary");
}

#[tokio::test]
async fn an_unknown_target_is_the_targets_fault_and_a_missing_controller_the_controllers() {
    let controller = FakeController::start(loopback(), catalogue_policy("catalogue-split")).await;
    let client = PolicyClient::lazy(&controller.server.addr.to_string()).expect("address");
    let unknown = client
        .get(&target("nope.sock-shop.svc.cluster.local:80"))
        .await
        .expect_err("not found");
    assert_eq!(unknown.fault(), Fault::Target, "{unknown}");

    let nobody = PolicyClient::lazy(&dead_addr().to_string()).expect("address");
    let down = nobody.get(&target(CATALOGUE)).await.expect_err("refused");
    assert_eq!(down.fault(), Fault::Controller, "{down}");
    assert!(down.to_string().contains("unreachable"), "{down}");
}

#[tokio::test]
async fn statuses_map_to_what_the_session_does_about_them() {
    let client = PolicyClient::lazy("127.0.0.1:1").expect("address");
    let fault = |status: tonic::Status| client.status(&target(CATALOGUE), &status).fault();
    // A controller older than OutboundPolicies answers Unimplemented: said once, fall back.
    assert_eq!(fault(tonic::Status::unimplemented("")), Fault::Controller);
    assert_eq!(fault(tonic::Status::unavailable("")), Fault::Controller);
    assert_eq!(fault(tonic::Status::not_found("")), Fault::Target);
    assert_eq!(fault(tonic::Status::invalid_argument("")), Fault::Target);
    assert_eq!(fault(tonic::Status::internal("")), Fault::Transient);
    assert!(matches!(
        PolicyClient::lazy("https://x:1"),
        Err(PolicyApiError::Address { .. })
    ));
}
