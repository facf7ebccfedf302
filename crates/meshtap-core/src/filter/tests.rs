//! Unit tests of the filter language, with a small fleet of requests that differ in every field.

mod errors;
mod matching;
mod roundtrip;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::event::{
    Direction, Endpoint, Eos, Header, HeaderValue, Headers, Labels, RequestInit, ResponseEnd,
    ResponseInit, StreamId,
};
use crate::model::request::Request;

fn endpoint(addr: &str, labels: &[(&str, &str)]) -> Endpoint {
    Endpoint {
        addr: addr.parse().ok(),
        labels: labels.iter().copied().collect::<Labels>(),
    }
}

fn init(
    method: &str,
    scheme: &str,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> RequestInit {
    RequestInit {
        id: StreamId::default(),
        method: Some(method.into()),
        scheme: Some(scheme.into()),
        authority: authority.into(),
        path: path.into(),
        headers: headers
            .iter()
            .map(|(name, value)| Header {
                name,
                value: HeaderValue::Str(value),
            })
            .collect(),
        matched_route: None,
    }
}

fn response(status: u32, latency_ms: u64) -> ResponseInit {
    ResponseInit {
        id: StreamId::default(),
        since_request_init: Some(Duration::from_millis(latency_ms)),
        http_status: status,
        headers: Headers::default(),
    }
}

fn end(duration_ms: u64, bytes: u64, eos: Option<Eos>) -> ResponseEnd {
    ResponseEnd {
        id: StreamId::default(),
        since_request_init: Some(Duration::from_millis(duration_ms)),
        since_response_init: None,
        response_bytes: bytes,
        eos,
        trailers: Headers::default(),
    }
}

/// When request 0 of the fleet started: 2026-12-02T16:49:00Z; request N started N×10 s later.
pub(super) fn start() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::TimeDelta::seconds(1_796_230_140)
}

/// The session clock's reading the fleet is matched at: a minute after request 0 started.
pub(super) fn now() -> DateTime<Utc> {
    start() + chrono::TimeDelta::seconds(60)
}

fn request(seq: u64, direction: Direction, source: Endpoint, destination: Endpoint) -> Request {
    Request {
        cluster: None,
        seq,
        direction,
        source,
        destination,
        route: Labels::default(),
        started: start() + chrono::TimeDelta::seconds(i64::try_from(seq).unwrap_or(0) * 10),
        ended_at: None,
        init: None,
        response: None,
        end: None,
        expired: false,
        superseded: false,
        other_side: None,
    }
}

/// Six requests: 0 a good inbound call, 1 a failing outbound call, 2 a gRPC call ending
/// Unavailable, 3 an in-flight plaintext call, 4 an orphan reset, 5 an expired call.
// A fixture: long because it spells out every field of six requests.
#[allow(clippy::too_many_lines)]
pub(super) fn fleet() -> Vec<Request> {
    let mut ok = request(
        0,
        Direction::Inbound,
        endpoint(
            "10.0.0.1:4000",
            &[
                ("namespace", "shop"),
                ("deployment", "front-end"),
                ("pod", "front-end-abc"),
                ("tls", "true"),
                (
                    "client_id",
                    "front-end.shop.serviceaccount.identity.linkerd.cluster.local",
                ),
            ],
        ),
        endpoint(
            "10.0.0.2:80",
            &[
                ("namespace", "shop"),
                ("deployment", "catalogue"),
                ("pod", "catalogue-xyz"),
                ("route_name", "get-items"),
            ],
        ),
    );
    ok.init = Some(init(
        "GET",
        "http",
        "catalogue.shop.svc:80",
        "/catalogue/items",
        &[("X-Request-Id", "abc123")],
    ));
    ok.response = Some(response(200, 20));
    ok.end = Some(end(25, 1500, None));

    let mut failing = request(
        1,
        Direction::Outbound,
        endpoint(
            "10.0.0.3:5000",
            &[
                ("namespace", "shop"),
                ("deployment", "orders"),
                ("pod", "orders-1"),
            ],
        ),
        endpoint(
            "10.0.1.4:80",
            &[
                ("namespace", "pay"),
                ("deployment", "payment"),
                ("pod", "payment-1"),
                ("tls", "true"),
                (
                    "server_id",
                    "payment.pay.serviceaccount.identity.linkerd.cluster.local",
                ),
            ],
        ),
    );
    failing.route = [("route", "POST /paymentAuth")].into_iter().collect();
    failing.init = Some(init("POST", "https", "payment.pay:80", "/paymentAuth", &[]));
    failing.response = Some(response(503, 1500));
    failing.end = Some(end(2000, 10, None));

    let mut grpc = request(
        2,
        Direction::Outbound,
        endpoint(
            "10.0.0.5:5000",
            &[
                ("namespace", "shop"),
                ("deployment", "carts"),
                ("pod", "carts-1"),
            ],
        ),
        endpoint(
            "10.0.0.6:5432",
            &[
                ("namespace", "shop"),
                ("statefulset", "carts-db"),
                ("pod", "carts-db-0"),
                ("tls", "not_provided_by_service_discovery"),
            ],
        ),
    );
    grpc.init = Some(init(
        "POST",
        "http",
        "carts-db:5432",
        "/carts.Cart/Get",
        &[
            ("content-type", "application/grpc"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ],
    ));
    grpc.response = Some(response(200, 5));
    grpc.end = Some(end(6, 0, Some(Eos::Grpc(14))));

    let mut inflight = request(
        3,
        Direction::Inbound,
        endpoint(
            "10.0.0.9:1234",
            &[("namespace", "kube-system"), ("tls", "no_tls_from_remote")],
        ),
        endpoint(
            "10.0.0.7:80",
            &[
                ("namespace", "shop"),
                ("deployment", "user"),
                ("pod", "user-2"),
            ],
        ),
    );
    inflight.init = Some(init("GET", "http", "user:80", "/login", &[]));

    let mut orphan = request(
        4,
        Direction::Outbound,
        endpoint("10.0.0.8:1", &[]),
        endpoint("10.0.0.10:80", &[]),
    );
    orphan.end = Some(end(30, 0, Some(Eos::Reset(2))));

    let mut expired = request(
        5,
        Direction::Inbound,
        endpoint("[fd00::1]:1234", &[]),
        endpoint(
            "10.0.0.7:80",
            &[("namespace", "shop"), ("deployment", "user")],
        ),
    );
    expired.init = Some(init("GET", "http", "user:80", "/slow", &[]));
    expired.expired = true;

    vec![ok, failing, grpc, inflight, orphan, expired]
}
