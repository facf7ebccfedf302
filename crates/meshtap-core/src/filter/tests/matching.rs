//! Which requests of the fleet each expression matches: every field and every operator.

use super::{fleet, now};
use crate::filter::Filter;

// One row per case: long by design, short to read.
#[allow(clippy::too_many_lines)]
#[test]
fn table() {
    let cases: &[(&str, &[u64])] = &[
        ("", &[0, 1, 2, 3, 4, 5]),
        ("   ", &[0, 1, 2, 3, 4, 5]),
        // Namespace and deployment labels, either side or one side.
        ("ns=shop", &[0, 1, 2, 3, 5]),
        ("ns=pay", &[1]),
        ("ns!=shop", &[]),
        ("ns!=kube-system", &[0, 1, 2, 5]),
        ("ns!=pay", &[0, 2, 3, 5]),
        ("src.ns=kube-system", &[3]),
        ("dst.ns=shop", &[0, 2, 3, 5]),
        ("namespace~kube", &[3]),
        ("deploy=orders", &[1]),
        ("src.deploy=front-end dst.deploy=catalogue", &[0]),
        ("deploy~cat", &[0]),
        ("deploy~*-end", &[0]),
        ("pod~payment", &[1]),
        ("dst.pod=carts-db-0", &[2]),
        // Workload text, kind/name, bare name, pod and IP.
        ("src=shop/front-end", &[0]),
        ("dst=sts/carts-db", &[2]),
        ("dst=payment", &[1]),
        ("dst=carts-db-0", &[2]),
        ("src=10.0.0.9", &[3]),
        ("src=fd00::1", &[5]),
        ("src~10.0.0.", &[0, 1, 2, 3, 4]),
        ("dst~pay/", &[1]),
        ("dst~\"shop/*\"", &[0, 2, 3, 5]),
        ("src!=shop/front-end", &[1, 2, 3, 4, 5]),
        // Direction.
        ("dir=in", &[0, 3, 5]),
        ("dir=outbound", &[1, 2, 4]),
        ("dir!=in", &[1, 2, 4]),
        ("side=server", &[0, 3, 5]),
        ("side=Client", &[1, 2, 4]),
        ("side!=client", &[0, 3, 5]),
        // Method, path, authority, scheme.
        ("method=get", &[0, 3, 5]),
        ("method!=GET", &[1, 2]),
        ("method~os", &[1, 2]),
        ("path=/login", &[3]),
        ("path~/cat", &[0]),
        ("path~/CAT", &[]),
        ("path!~login", &[0, 1, 2, 5]),
        ("path~/*/Get", &[2]),
        ("path~/??gin", &[3]),
        ("authority=user:80", &[3, 5]),
        ("authority~.svc", &[0]),
        ("scheme=HTTPS", &[1]),
        // Status: classes, exact codes, ordering; missing statuses never match.
        ("status=5xx", &[1]),
        ("status=200", &[0, 2]),
        ("status!=200", &[1]),
        ("not status=200", &[1, 3, 4, 5]),
        ("status>=400", &[1]),
        ("status<500", &[0, 2]),
        ("status>2xx", &[1]),
        ("status<=2xx", &[0, 2]),
        // gRPC codes by name or number.
        ("grpc=Unavailable", &[2]),
        ("grpc=unavailable", &[2]),
        ("grpc=14", &[2]),
        ("grpc!=OK", &[2]),
        ("grpc=OK", &[]),
        // Latency and duration.
        ("lat>100ms", &[1]),
        ("lat<=20ms", &[0, 2]),
        ("lat>1.5s", &[]),
        ("lat>=1.5s", &[1]),
        ("lat<5000us", &[]),
        ("lat<=5000µs", &[2]),
        ("dur>=25ms", &[0, 1, 4]),
        ("dur=6ms", &[2]),
        ("dur!=6ms", &[0, 1, 4]),
        // Bytes.
        ("bytes>1kb", &[0]),
        ("bytes=0", &[2, 4]),
        ("bytes<=10", &[1, 2, 4]),
        // TLS and identity.
        ("tls=true", &[0, 1]),
        ("tls=TRUE", &[0, 1]),
        ("tls!=true", &[2, 3]),
        ("tls~no", &[2, 3]),
        ("id~payment", &[1]),
        ("id~\"*.shop.serviceaccount.*\"", &[0]),
        (
            "id=front-end.shop.serviceaccount.identity.linkerd.cluster.local",
            &[0],
        ),
        // Route: profile route, else policy route, else path.
        ("route=get-items", &[0]),
        ("route=\"POST /paymentAuth\"", &[1]),
        ("route=/login", &[3]),
        // Headers, by case-insensitive name.
        ("header.x-request-id=abc123", &[0]),
        // Trace and request ids from the trace headers (`crate::trace`).
        ("trace=4bf92f3577b34da6a3ce929d0e0e4736", &[2]),
        ("trace=4BF92F3577B34DA6A3CE929D0E0E4736", &[2]),
        ("trace~4bf92f", &[2]),
        ("trace=00f067aa0ba902b7", &[]),
        ("request_id=abc123", &[0]),
        ("request_id~zzz", &[]),
        ("header.X-REQUEST-ID~abc", &[0]),
        ("header.content-type~grpc", &[2]),
        ("header.x-request-id!=zzz", &[0]),
        // The `to` resource.
        ("to=deploy/payment", &[1]),
        ("to=sts/carts-db", &[2]),
        ("to=ns/pay", &[1]),
        ("to!=deploy/payment", &[0, 3, 5]),
        // Keywords.
        ("ok", &[0]),
        ("success", &[0]),
        ("failed", &[1, 2, 4, 5]),
        ("inflight", &[3]),
        ("expired", &[5]),
        ("reset", &[4]),
        ("mtls", &[0, 1]),
        ("orphan", &[4]),
        ("!mtls", &[2, 3, 4, 5]),
        // Connectives, precedence and grouping.
        ("ns=shop status=5xx", &[1]),
        ("ns=pay status=2xx", &[]),
        ("ns=shop and status=200", &[0, 2]),
        ("ns=shop && status=200", &[0, 2]),
        ("ok or reset", &[0, 4]),
        ("ok || reset", &[0, 4]),
        ("ok or reset dir=in", &[0]),
        ("ok or (reset dir=out)", &[0, 4]),
        ("(ok or reset) dir=out", &[4]),
        ("not ok and not failed", &[3]),
        ("not (ok or failed)", &[3]),
        ("!!ok", &[0]),
        ("NOT ok AND dir=IN", &[3, 5]),
        ("STATUS=5XX", &[1]),
        ("latency > 1s", &[1]),
        // When they started: request N at 16:49:N0 UTC, matched at 16:50:00.
        ("since=16:49:20", &[2, 3, 4, 5]),
        ("until=16:49:20", &[0, 1, 2]),
        ("since=16:49:10 until=16:49:30", &[1, 2, 3]),
        ("since=16:49:10.001", &[2, 3, 4, 5]),
        ("since=-30s", &[3, 4, 5]),
        ("until=-30s", &[0, 1, 2, 3]),
        ("not since=-30s", &[0, 1, 2]),
        ("age<30s", &[4, 5]),
        ("age<=30s", &[3, 4, 5]),
        ("age>=1m", &[0]),
        ("age>10m", &[]),
        ("since=2026-12-02T16:49:40Z", &[4, 5]),
        ("since=2026-12-02T17:49:40+01:00", &[4, 5]),
        ("until=2026-12-01T16:49:40Z", &[]),
        ("since=-30s or failed", &[1, 2, 3, 4, 5]),
    ];
    let fleet = fleet();
    let mut wrong = Vec::new();
    for (text, expected) in cases {
        let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let matched: Vec<u64> = fleet
            .iter()
            .filter(|r| filter.matches(r, now()))
            .map(|r| r.seq)
            .collect();
        if matched != *expected {
            wrong.push(format!("{text:?}: matched {matched:?}, want {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn empty_filter() {
    assert!(Filter::parse("").expect("empty").is_empty());
    assert!(Filter::parse(" \t\n").expect("blank").is_empty());
    assert!(!Filter::parse("ok").expect("ok").is_empty());
    assert_eq!(Filter::default(), Filter::parse("").expect("empty"));
}

/// `cluster=` sees the cluster a request came from; a request of a single-cluster session has
/// none, so (like any absent field) it matches neither `cluster=` nor `cluster!=`.
#[test]
fn cluster_field() {
    use crate::model::event::ClusterName;
    let mut fleet = fleet();
    fleet[0].cluster = Some(ClusterName::new("east"));
    fleet[1].cluster = Some(ClusterName::new("west"));
    let matched = |text: &str| -> Vec<u64> {
        let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        fleet
            .iter()
            .filter(|r| filter.matches(r, now()))
            .map(|r| r.seq)
            .collect()
    };
    assert_eq!(matched("cluster=east"), [0]);
    assert_eq!(matched("cluster~es"), [1]);
    assert_eq!(matched("cluster~w*"), [1]);
    assert_eq!(matched("cluster!=east"), [1]);
    assert_eq!(matched("cluster=east or cluster=west"), [0, 1]);
}

/// `route=`, `rule=`, `backend=`, `parent=` read the outbound policy match meshtap attributed,
/// and fall back to what the labels say without one.
#[test]
fn route_fields_read_the_policy_match() {
    use std::sync::Arc;

    use crate::model::event::Text;
    use crate::model::policy::{BackendRef, MatchedRoute, ParentRef, RouteRef, RouteSource};

    let mut requests = fleet();
    // Request 1 (an outbound call to payment) was routed by an HTTPRoute's rule 1 to payment-v2.
    let matched = MatchedRoute {
        source: RouteSource::Policy,
        route: Some(RouteRef {
            group: Text::from("gateway.networking.k8s.io"),
            kind: Text::from("HTTPRoute"),
            namespace: Text::from("pay"),
            name: Text::from("payment-split"),
        }),
        rule: Some(1),
        parent: Some(ParentRef {
            kind: Text::from("Service"),
            namespace: Text::from("pay"),
            name: Text::from("payment"),
            port: Some(80),
        }),
        backend: Some(BackendRef {
            namespace: Text::from("pay"),
            name: Text::from("payment-v2"),
            port: Some(80),
            weight: Some(10),
        }),
        rule_weight: None,
        config: crate::model::policy::RuleConfig::default(),
    };
    if let Some(init) = requests[1].init.as_mut() {
        init.matched_route = Some(Arc::new(matched));
    }
    let matching = |requests: &[crate::model::request::Request], expr: &str| -> Vec<u64> {
        let filter = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
        requests
            .iter()
            .filter(|r| filter.matches(r, now()))
            .map(|r| r.seq)
            .collect()
    };
    // Its ServiceProfile route wins, as in the proxy: the policy match is not what applied.
    assert_eq!(
        matching(&requests, "route=payment-split"),
        Vec::<u64>::new()
    );
    assert_eq!(matching(&requests, "rule=1"), Vec::<u64>::new());
    requests[1].route = crate::model::event::Labels::default();
    assert_eq!(matching(&requests, "route=payment-split"), [1]);
    assert_eq!(matching(&requests, "rule=1"), [1]);
    assert_eq!(matching(&requests, "rule=0"), Vec::<u64>::new());
    assert_eq!(matching(&requests, "backend=payment-v2"), [1]);
    assert_eq!(matching(&requests, "parent=payment"), [1]);
    assert_eq!(matching(&requests, "parent=payment:80"), [1]);
    assert_eq!(matching(&requests, "parent=payment:81"), Vec::<u64>::new());
    // Without the match, request 1 is known only by its path.
    if let Some(init) = requests[1].init.as_mut() {
        init.matched_route = None;
    }
    assert_eq!(
        matching(&requests, "route=payment-split"),
        Vec::<u64>::new()
    );
}
