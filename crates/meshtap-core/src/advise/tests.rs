use std::time::Duration;

use super::render::{render, valid_identity};
use super::*;
use crate::model::routes::fixtures::{Req, at, identity};

/// An inbound request at `to`'s proxy, port `port`, from `from`, mTLS unless `plaintext`.
fn inbound(seq: u64, from: &str, to: &str, port: u16, plaintext: bool) -> Request {
    let mut req = Req::inbound(seq, from, to, "GET", "/x");
    if plaintext {
        req = req
            .label(true, "tls", "no_tls_from_remote")
            .label(true, "client_id", "");
    }
    let mut request = req
        .at(at(seq.cast_signed()))
        .respond(200, Duration::from_millis(2), 10)
        .build();
    request.destination.addr = Some(format!("10.0.0.9:{port}").parse().expect("addr"));
    request
}

fn advice_of(requests: &[Request]) -> AuthzAdvice {
    let mut advice = AuthzAdvice::new();
    for request in requests {
        advice.record(request);
    }
    advice
}

#[test]
fn identities_per_workload_port_and_plaintext_callers_apart() {
    let advice = advice_of(&[
        inbound(1, "front-end", "carts", 80, false),
        inbound(2, "orders", "carts", 80, false),
        inbound(3, "front-end", "carts", 80, false),
        inbound(4, "load-generator", "carts", 80, true),
        inbound(5, "front-end", "catalogue", 80, false),
        inbound(6, "front-end", "carts", 9090, false),
    ]);
    assert_eq!(advice.inbound, 6);
    let keys: Vec<(String, u16)> = advice
        .ports
        .keys()
        .map(|k| (k.name.clone(), k.port))
        .collect();
    assert_eq!(
        keys,
        [
            ("carts".to_owned(), 80),
            ("carts".to_owned(), 9090),
            ("catalogue".to_owned(), 80)
        ]
    );
    let carts = advice.ports.values().next().expect("carts:80");
    let clients: Vec<(&Client, u64)> = carts.clients.iter().map(|(c, s)| (c, s.requests)).collect();
    assert_eq!(clients.len(), 3);
    assert_eq!(clients[0], (&Client::Identity(identity("front-end")), 2));
    assert_eq!(clients[1], (&Client::Identity(identity("orders")), 1));
    assert!(matches!(
        clients[2].0,
        Client::Unauthenticated { tls, from } if tls == "no_tls_from_remote" && from.contains("load-generator")
    ));
    let front_end = &carts.clients[&Client::Identity(identity("front-end"))];
    assert_eq!(
        (front_end.first, front_end.last),
        (Some(at(1)), Some(at(3)))
    );
}

#[test]
fn outbound_views_and_bare_pods_are_not_placed() {
    let mut outbound = Req::out(1, "front-end", "carts", "GET", "/x")
        .respond(200, Duration::from_millis(1), 1)
        .build();
    outbound.destination.addr = Some("10.0.0.9:80".parse().expect("addr"));
    let mut bare = inbound(2, "front-end", "carts", 80, false);
    let labels: Vec<(String, String)> = bare
        .destination
        .labels
        .iter()
        .filter(|(k, _)| *k != "deployment")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    bare.destination.labels = labels.into_iter().collect();
    let advice = advice_of(&[outbound, bare]);
    assert!(advice.ports.is_empty());
    assert_eq!(advice.skipped.outbound, 1);
    assert_eq!(advice.skipped.no_workload, 1);
}

#[test]
fn yaml_allows_each_identity_and_warns_about_the_plaintext_caller() {
    let advice = advice_of(&[
        inbound(1, "front-end", "carts", 80, false),
        inbound(2, "orders", "carts", 80, false),
        inbound(3, "load-generator", "carts", 80, true),
    ]);
    let out = render(&advice, "maxRps 100");
    assert_eq!(out.yaml, EXPECTED_CARTS);
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("deploy/load-generator"));
    assert!(out.warnings[0].contains("would deny"));
}

#[test]
fn an_existing_server_keeps_its_name_and_grpc_is_said() {
    let mut request = inbound(1, "web", "emoji", 8080, false);
    let labels: Vec<(String, String)> = request
        .destination
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("srv_"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain([
            ("srv_kind".to_owned(), "server".to_owned()),
            ("srv_name".to_owned(), "emoji-grpc".to_owned()),
        ])
        .collect();
    request.destination.labels = labels.into_iter().collect();
    if let Some(end) = &mut request.end {
        end.eos = Some(crate::model::event::Eos::Grpc(0));
    }
    let out = render(&advice_of(&[request]), "");
    assert!(out.yaml.contains("name: \"emoji-grpc\"\n"), "{}", out.yaml);
    assert!(out.yaml.contains("name: \"emoji-grpc-clients\"\n"));
    assert!(out.yaml.contains("proxyProtocol: gRPC\n"));
    assert!(out.warnings.is_empty());
}

#[test]
fn only_plaintext_callers_give_a_server_and_a_warning() {
    let out = render(
        &advice_of(&[inbound(1, "load-generator", "front-end", 8079, true)]),
        "",
    );
    assert!(out.yaml.contains("kind: Server\n"));
    assert!(!out.yaml.contains("kind: AuthorizationPolicy"));
    assert!(out.yaml.contains("every client of the port is denied"));
    assert_eq!(out.warnings.len(), 1);
}

#[test]
fn captured_text_stays_one_yaml_value() {
    let mut request = inbound(1, "front-end", "carts", 80, false);
    request.source.labels = [
        ("tls", "true"),
        ("client_id", "evil\n- injected"),
        ("deployment", "front-end"),
        ("namespace", "sock-shop"),
    ]
    .into_iter()
    .collect();
    let out = render(&advice_of(&[request]), "");
    assert!(!out.yaml.contains("\n- injected"), "{}", out.yaml);
    assert_eq!(
        out.warnings.len(),
        1,
        "an identity Linkerd would refuse is said"
    );
}

#[test]
fn identity_pattern_is_linkerds() {
    assert!(valid_identity(&identity("web")));
    assert!(valid_identity(
        "*.emojivoto.serviceaccount.identity.linkerd.cluster.local"
    ));
    assert!(valid_identity("*"));
    assert!(!valid_identity("Web.emojivoto"));
    assert!(!valid_identity("web..emojivoto"));
    assert!(!valid_identity("-web.emojivoto"));
    assert!(!valid_identity("web.*"));
}

#[test]
fn the_same_requests_in_any_order_give_the_same_yaml() {
    let requests = [
        inbound(1, "front-end", "carts", 80, false),
        inbound(2, "orders", "carts", 80, false),
        inbound(3, "front-end", "catalogue", 80, false),
        inbound(4, "load-generator", "carts", 80, true),
    ];
    let mut reversed = requests.clone();
    reversed.reverse();
    assert_eq!(
        render(&advice_of(&requests), "").yaml,
        render(&advice_of(&reversed), "").yaml
    );
}

/// Reviewed by hand against linkerd2's CRDs (charts/linkerd-crds/templates/policy).
const EXPECTED_CARTS: &str = r#"# meshtap advise authz: Linkerd policy allowing exactly the clients seen
# from 3 inbound request(s) on 1 workload port(s), 2026-03-01T12:00:01.000Z to 2026-03-01T12:00:03.000Z
# sampling: maxRps 100
# A sample shows who called, not everyone who may: review before applying.
# Each Server denies (accessPolicy: deny) every client its AuthorizationPolicy does not name.
---
# deploy/carts (sock-shop) port 80: 3 request(s)
# WARNING: deploy/carts (sock-shop) port 80: deploy/load-generator (sock-shop) sent 1 request(s) without a mesh identity (tls=no_tls_from_remote), first seen 2026-03-01T12:00:03.000Z, last seen 2026-03-01T12:00:03.000Z; this policy would deny it
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: "carts-80"
  namespace: "sock-shop"
spec:
  podSelector:
    matchLabels:
      linkerd.io/proxy-deployment: "carts"
  port: 80
  proxyProtocol: unknown
  accessPolicy: deny
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata:
  name: "carts-80-clients"
  namespace: "sock-shop"
spec:
  identities:
    # 1 request(s) from deploy/front-end (sock-shop), first seen 2026-03-01T12:00:01.000Z, last seen 2026-03-01T12:00:01.000Z
    - "front-end.sock-shop.serviceaccount.identity.linkerd.cluster.local"
    # 1 request(s) from deploy/orders (sock-shop), first seen 2026-03-01T12:00:02.000Z, last seen 2026-03-01T12:00:02.000Z
    - "orders.sock-shop.serviceaccount.identity.linkerd.cluster.local"
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: "carts-80-clients"
  namespace: "sock-shop"
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: "carts-80"
  requiredAuthenticationRefs:
    - group: policy.linkerd.io
      kind: MeshTLSAuthentication
      name: "carts-80-clients"
"#;
