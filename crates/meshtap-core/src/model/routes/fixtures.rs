//! Test data: requests shaped like the Sock Shop demo's traffic (namespace `sock-shop`), built
//! the way the store joins them. Deterministic: no clock, no randomness.

mod policy;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::policy::MatchedRoute;
pub use policy::{carts_timeout, policy_routed, routed_as, voting_retry};

use crate::model::event::{
    Direction, Endpoint, Eos, Headers, Labels, RequestInit, ResponseEnd, ResponseInit, StreamId,
};
use crate::model::request::Request;

pub const TRUST_DOMAIN: &str = "linkerd.cluster.local";

/// A fixed instant for tests (2026-03-01T12:00:00Z).
pub fn t0() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_772_366_400)
}

pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

/// Labels of a Sock Shop workload as Linkerd reports them.
pub fn workload_labels(name: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels = vec![
        ("namespace".to_owned(), "sock-shop".to_owned()),
        ("deployment".to_owned(), name.to_owned()),
        ("pod".to_owned(), format!("{name}-7d9f8c6b5-x2x4q")),
        ("serviceaccount".to_owned(), name.to_owned()),
    ];
    labels.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    labels
}

pub fn identity(name: &str) -> String {
    format!("{name}.sock-shop.serviceaccount.identity.{TRUST_DOMAIN}")
}

/// A builder for one joined request.
#[derive(Clone, Debug)]
pub struct Req {
    pub request: Request,
}

impl Req {
    pub fn new(seq: u64, direction: Direction, method: &str, path: &str) -> Self {
        let id = StreamId {
            base: 1,
            stream: seq,
        };
        let request = Request {
            cluster: None,
            seq,
            direction,
            source: Endpoint::default(),
            destination: Endpoint::default(),
            route: Labels::default(),
            started: t0(),
            ended_at: None,
            init: Some(RequestInit {
                id,
                method: Some(method.into()),
                scheme: Some("http".into()),
                authority: "".into(),
                path: path.into(),
                headers: Headers::default(),
                matched_route: None,
            }),
            response: None,
            end: None,
            expired: false,
            superseded: false,
            other_side: None,
        };
        Self { request }
    }

    /// An outbound request from `from`'s proxy to `to`, mTLS with the right identity.
    pub fn out(seq: u64, from: &str, to: &str, method: &str, path: &str) -> Self {
        let id = identity(to);
        Self::new(seq, Direction::Outbound, method, path)
            .source(workload_labels(from, &[("tls", "loopback")]))
            .destination(workload_labels(
                to,
                &[("service", to), ("tls", "true"), ("server_id", &id)],
            ))
            .authority(&format!("{to}.sock-shop.svc.cluster.local:80"))
    }

    /// An inbound request at `to`'s proxy from `from`, mTLS.
    pub fn inbound(seq: u64, from: &str, to: &str, method: &str, path: &str) -> Self {
        let id = identity(from);
        Self::new(seq, Direction::Inbound, method, path)
            .source(workload_labels(
                from,
                &[("tls", "true"), ("client_id", &id)],
            ))
            .destination(workload_labels(
                to,
                &[
                    ("tls", "loopback"),
                    ("srv_kind", "default"),
                    ("srv_name", "all-unauthenticated"),
                    ("route_kind", "default"),
                    ("route_name", "default"),
                    ("authz_kind", "authorizationpolicy"),
                    ("authz_name", &format!("{to}-allow-mesh")),
                ],
            ))
            .authority(&format!("{to}.sock-shop.svc.cluster.local:80"))
    }

    pub fn source(mut self, labels: Vec<(String, String)>) -> Self {
        self.request.source.labels = labels.into_iter().collect();
        self
    }

    pub fn destination(mut self, labels: Vec<(String, String)>) -> Self {
        self.request.destination.labels = labels.into_iter().collect();
        self
    }

    /// Replaces (or adds) one label on a side: `source` true for the source.
    pub fn label(mut self, source: bool, key: &str, value: &str) -> Self {
        let endpoint = if source {
            &mut self.request.source
        } else {
            &mut self.request.destination
        };
        let mut pairs: Vec<(String, String)> = endpoint
            .labels
            .iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if !value.is_empty() {
            pairs.push((key.to_owned(), value.to_owned()));
        }
        endpoint.labels = pairs.into_iter().collect();
        self
    }

    pub fn authority(mut self, authority: &str) -> Self {
        if let Some(init) = &mut self.request.init {
            init.authority = authority.into();
        }
        self
    }

    /// The route meshtap's policy attribution matched it to.
    pub fn matched(mut self, matched: MatchedRoute) -> Self {
        if let Some(init) = &mut self.request.init {
            init.matched_route = Some(Arc::new(matched));
        }
        self
    }

    pub fn route(mut self, name: &str) -> Self {
        self.request.route = [("route", name)].into_iter().collect();
        self
    }

    pub fn at(mut self, started: DateTime<Utc>) -> Self {
        self.request.started = started;
        self
    }

    /// Response headers after `latency`, then the end of stream `extra` later.
    pub fn respond(mut self, status: u32, latency: Duration, bytes: u64) -> Self {
        let id = self.request.key().id;
        self.request.response = Some(ResponseInit {
            id,
            since_request_init: Some(latency),
            http_status: status,
            headers: Headers::default(),
        });
        self.request.end = Some(ResponseEnd {
            id,
            since_request_init: Some(latency + Duration::from_micros(200)),
            since_response_init: Some(Duration::from_micros(200)),
            response_bytes: bytes,
            eos: None,
            trailers: Headers::default(),
        });
        self.request.ended_at = Some(self.request.started + latency);
        self
    }

    pub fn eos(mut self, eos: Eos) -> Self {
        if let Some(end) = &mut self.request.end {
            end.eos = Some(eos);
        }
        self
    }

    /// A stream reset before any response.
    pub fn reset(mut self, after: Duration) -> Self {
        self.request.response = None;
        self.request.end = Some(ResponseEnd {
            id: self.request.key().id,
            since_request_init: Some(after),
            since_response_init: None,
            response_bytes: 0,
            eos: Some(Eos::Reset(2)),
            trailers: Headers::default(),
        });
        self
    }

    pub fn build(self) -> Request {
        self.request
    }
}

/// A spread of latencies around `base_ms`: deterministic, skewed like real traffic.
fn latency(base_ms: u64, i: u64) -> Duration {
    let spread = (i * 7_919) % 100;
    let tail = if i % 50 == 7 { base_ms * 8 } else { 0 };
    Duration::from_micros(base_ms * 1_000 + spread * base_ms * 10 + tail * 1_000)
}

/// About a minute of Sock Shop traffic ending at `at(59)`, seen from both proxies of each hop,
/// with a few things that should worry a user.
#[allow(clippy::too_many_lines)] // one scenario, easier to read in one piece
pub fn sock_shop() -> Vec<Request> {
    let mut out = Vec::new();
    let mut seq = 0;
    let push = |req: Req, out: &mut Vec<Request>| {
        out.push(req.build());
    };
    for i in 0..600_u64 {
        let when = at((i / 10).cast_signed());
        let uuid = format!("3395a43e-2d88-40de-b95f-e00e15020{:03}", i % 9);
        let customer = format!("57a98d98e4b00679b4a830{:02x}", i % 5);
        let (to, method, path, base, status, bytes) = match i % 6 {
            0 | 1 => (
                "catalogue",
                "GET",
                format!("/catalogue/{uuid}"),
                4,
                200,
                1_254,
            ),
            2 => (
                "catalogue",
                "GET",
                "/catalogue?size=6".to_owned(),
                9,
                200,
                4_812,
            ),
            3 => (
                "carts",
                "GET",
                format!("/carts/{customer}/items"),
                12,
                200,
                310,
            ),
            4 => ("user", "GET", format!("/customers/{customer}"), 6, 200, 520),
            _ => ("orders", "POST", "/orders".to_owned(), 48, 201, 960),
        };
        let status = if to == "orders" && i % 30 == 5 {
            503
        } else {
            status
        };
        let status = if to == "catalogue" && i % 97 == 1 {
            500
        } else {
            status
        };
        let lat = latency(base, i);
        seq += 1;
        let mut outbound = Req::out(seq, "front-end", to, method, &path)
            .at(when)
            .respond(status, lat + Duration::from_micros(300), bytes);
        if i % 6 == 2 {
            // The catalogue has a ServiceProfile: its route name wins over the path.
            outbound = outbound.route("GET /catalogue");
        }
        push(outbound, &mut out);
        seq += 1;
        let mut inbound = Req::inbound(seq, "front-end", to, method, &path)
            .at(when)
            .respond(status, lat, bytes);
        if to == "user" {
            inbound = inbound.label(false, "authz_kind", "default").label(
                false,
                "authz_name",
                "all-unauthenticated",
            );
        }
        push(inbound, &mut out);
        if to == "orders" {
            // orders → payment, with the wrong server identity; orders → carts in plaintext.
            seq += 1;
            let mut payment = Req::out(seq, "orders", "payment", "POST", "/paymentAuth")
                .at(when)
                .respond(200, latency(3, i), 85)
                .label(false, "server_id", &identity("default"));
            if i % 60 == 11 {
                payment = payment.reset(Duration::from_millis(30));
            }
            push(payment, &mut out);
            seq += 1;
            let carts = Req::inbound(
                seq,
                "orders",
                "carts",
                "DELETE",
                "/carts/57a98d98e4b00679b4a830af",
            )
            .at(when)
            .respond(202, latency(5, i), 0)
            .label(true, "tls", "no_tls_from_remote")
            .label(true, "client_id", "");
            push(carts, &mut out);
            seq += 1;
            let denied = Req::inbound(seq, "queue-master", "shipping", "POST", "/shipping")
                .at(when)
                .respond(403, Duration::from_micros(180), 0)
                .label(false, "authz_kind", "")
                .label(false, "authz_name", "");
            push(denied, &mut out);
        }
    }
    // An unmeshed load generator reaches the front-end in plaintext.
    for i in 0..40_u64 {
        seq += 1;
        let req = Req::new(seq, Direction::Inbound, "GET", "/")
            .source(vec![
                ("namespace".to_owned(), "loadtest".to_owned()),
                ("pod".to_owned(), "locust-5f6d7c9b8-abcde".to_owned()),
                ("tls".to_owned(), "no_tls_from_remote".to_owned()),
            ])
            .destination(workload_labels("front-end", &[("tls", "loopback")]))
            .authority("front-end.sock-shop:80")
            .at(at((i * 3 / 2).cast_signed()))
            .respond(200, latency(2, i), 8_688);
        push(req, &mut out);
    }
    // A gRPC health check on a ServiceProfile route.
    for i in 0..20_u64 {
        seq += 1;
        let req = Req::out(
            seq,
            "front-end",
            "session-db",
            "POST",
            "/grpc.health.v1.Health/Check",
        )
        .at(at((i * 3).cast_signed()))
        .respond(200, latency(1, i), 5)
        .eos(Eos::Grpc(if i == 13 { 14 } else { 0 }))
        .label(false, "tls", "not_provided_by_service_discovery")
        .label(false, "server_id", "");
        push(req, &mut out);
    }
    out
}
