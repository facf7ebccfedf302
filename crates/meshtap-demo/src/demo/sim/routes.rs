//! The calls the simulated services make: who calls whom, on which route, how often, how fast
//! and how often it fails. Pure data; the shapes follow the Sock Shop and emojivoto demos.
//!
//! The Sock Shop databases and `RabbitMQ` really speak `MongoDB`, `MySQL` and AMQP, which a Linkerd tap
//! cannot decode; here they expose plausible HTTP data/management APIs so their callers show up.

/// The protocol a route is served over; decides pseudo-headers, `eos` and status semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 between application and proxy: the end carries an empty `eos`.
    Http1,
    /// gRPC over HTTP/2: the end carries the `grpc-status` trailer.
    Grpc,
}

/// One route of one client → server edge.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub client: &'static str,
    pub server: &'static str,
    /// `viz.HttpMethod.Registered` value: GET=0, POST=1, PUT=2, DELETE=3.
    pub method: i32,
    /// Path template; `{id}` and `{uuid}` are filled per request.
    pub path: &'static str,
    /// Relative share of the mesh's requests.
    pub weight: u32,
    /// Median server time and the log-normal spread.
    pub median_ms: f64,
    pub sigma: f64,
    /// Share of requests answered with `error_status` (5xx or a gRPC code).
    pub error_rate: f64,
    pub error_status: u32,
    /// Share of requests answered with a client error (404, 401, gRPC `NotFound` …).
    pub miss_rate: f64,
    pub miss_status: u32,
    pub ok_status: u32,
    /// Response body size range in bytes.
    pub bytes: (u64, u64),
    pub protocol: Protocol,
    /// Whether a `ServiceProfile` names this route (`route_meta.route`).
    pub profiled: bool,
    /// The inbound HTTPRoute/GRPCRoute that matches, if the server has one.
    pub policy_route: Option<(&'static str, &'static str)>,
    /// Whether the client sends an `authorization` bearer token / a session cookie.
    pub bearer: bool,
    pub cookie: bool,
    /// Whether the server's authorization policy refuses the client on this route.
    pub unauthorized: bool,
}

const GET: i32 = 0;
const POST: i32 = 1;
const DELETE: i32 = 3;

const fn http(
    client: &'static str,
    server: &'static str,
    method: i32,
    path: &'static str,
    weight: u32,
    median_ms: f64,
) -> Route {
    Route {
        client,
        server,
        method,
        path,
        weight,
        median_ms,
        sigma: 0.45,
        error_rate: 0.002,
        error_status: 500,
        miss_rate: 0.0,
        miss_status: 404,
        ok_status: 200,
        bytes: (120, 2_400),
        protocol: Protocol::Http1,
        profiled: false,
        policy_route: None,
        bearer: false,
        cookie: false,
        unauthorized: false,
    }
}

const fn grpc(
    client: &'static str,
    server: &'static str,
    path: &'static str,
    weight: u32,
    median_ms: f64,
) -> Route {
    Route {
        method: POST,
        protocol: Protocol::Grpc,
        // gRPC `Unavailable` now and then, as when a voting pod restarts.
        error_rate: 0.004,
        error_status: 14,
        miss_status: 5,
        bytes: (20, 600),
        ..http(client, server, POST, path, weight, median_ms)
    }
}

impl Route {
    const fn profiled(self) -> Self {
        Self {
            profiled: true,
            ..self
        }
    }
    const fn errors(self, rate: f64, status: u32) -> Self {
        Self {
            error_rate: rate,
            error_status: status,
            ..self
        }
    }
    const fn misses(self, rate: f64, status: u32) -> Self {
        Self {
            miss_rate: rate,
            miss_status: status,
            ..self
        }
    }
    const fn ok(self, status: u32) -> Self {
        Self {
            ok_status: status,
            ..self
        }
    }
    const fn bytes(self, min: u64, max: u64) -> Self {
        Self {
            bytes: (min, max),
            ..self
        }
    }
    const fn bearer(self) -> Self {
        Self {
            bearer: true,
            ..self
        }
    }
    const fn cookie(self) -> Self {
        Self {
            cookie: true,
            ..self
        }
    }
    const fn unauthorized(self) -> Self {
        Self {
            unauthorized: true,
            ..self
        }
    }
    const fn policy(self, kind: &'static str, name: &'static str) -> Self {
        Self {
            policy_route: Some((kind, name)),
            ..self
        }
    }
}

const LG: &str = "load-generator";
const FE: &str = "front-end";

/// Every route in the mesh.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    // The load generator browses the shop through front-end (plaintext: it is not meshed).
    http(LG, FE, GET, "/", 40, 18.0).bytes(8_000, 9_500).cookie(),
    http(LG, FE, GET, "/catalogue", 30, 25.0).bytes(4_000, 12_000).cookie(),
    http(LG, FE, GET, "/category.html", 20, 12.0).bytes(10_000, 14_000).cookie(),
    http(LG, FE, GET, "/detail.html", 20, 12.0).bytes(9_000, 11_000).cookie(),
    http(LG, FE, GET, "/basket.html", 12, 14.0).bytes(9_000, 12_000).cookie(),
    http(LG, FE, POST, "/cart", 12, 35.0).ok(201).bytes(0, 0).cookie(),
    http(LG, FE, DELETE, "/cart", 3, 30.0).ok(202).bytes(0, 0).cookie(),
    http(LG, FE, POST, "/orders", 6, 180.0).ok(201).errors(0.03, 500).cookie(),
    http(LG, FE, GET, "/login", 8, 40.0).misses(0.05, 401).bytes(0, 40).cookie(),
    // front-end's API calls: catalogue and carts are routed by HTTPRoutes (`demo::policy`),
    // so no ServiceProfile names their routes (a profile's routes would win in the proxy);
    // user keeps a ServiceProfile, the older way to name routes.
    http(FE, "catalogue", GET, "/catalogue", 30, 6.0).bytes(2_000, 9_000),
    http(FE, "catalogue", GET, "/catalogue/{uuid}", 30, 4.0).bytes(300, 700).misses(0.01, 404),
    http(FE, "catalogue", GET, "/tags", 10, 3.0).bytes(150, 250),
    http(FE, "catalogue", GET, "/catalogue/size", 10, 3.0).bytes(10, 20),
    http(FE, "carts", GET, "/carts/{id}", 20, 9.0).bytes(40, 900).bearer(),
    http(FE, "carts", POST, "/carts/{id}/items", 12, 14.0).ok(201).bytes(150, 300).bearer(),
    http(FE, "carts", DELETE, "/carts/{id}", 3, 11.0).ok(202).bytes(0, 0).bearer(),
    http(FE, "orders", POST, "/orders", 6, 150.0).ok(201).bytes(600, 1_200).errors(0.02, 500).bearer(),
    http(FE, "orders", GET, "/orders", 4, 20.0).bytes(500, 6_000).bearer(),
    http(FE, "user", GET, "/login", 8, 25.0).misses(0.05, 401).bytes(60, 120).profiled(),
    http(FE, "user", POST, "/register", 2, 30.0).ok(201).bytes(40, 60).profiled(),
    http(FE, "user", GET, "/customers/{id}", 8, 6.0).bytes(300, 500).bearer().profiled(),
    // orders fans out when an order is placed.
    http("orders", "payment", POST, "/paymentAuth", 6, 45.0).bytes(60, 90).errors(0.04, 503)
        .policy("HTTPRoute", "payment-auth"),
    http("orders", "shipping", POST, "/shipping", 6, 12.0).ok(201).bytes(80, 140),
    http("orders", "user", GET, "/customers/{id}", 6, 5.0).bytes(300, 500).profiled(),
    http("orders", "user", GET, "/addresses/{id}", 6, 5.0).bytes(200, 400).profiled(),
    http("orders", "user", GET, "/cards/{id}", 6, 5.0).bytes(150, 250).profiled(),
    http("orders", "carts", GET, "/carts/{id}/items", 6, 7.0).bytes(40, 900),
    http("orders", "orders-db", POST, "/action/insertOne", 6, 3.0).ok(201).bytes(40, 60),
    http("orders", "orders-db", POST, "/action/find", 4, 4.0).bytes(500, 6_000),
    // The shipping queue.
    http("shipping", "rabbitmq", POST, "/api/exchanges/%2F/shipping-task/publish", 6, 2.0).bytes(15, 20),
    http("queue-master", "rabbitmq", POST, "/api/queues/%2F/shipping-task/get", 10, 2.0).bytes(2, 400),
    // The databases' data APIs.
    http("catalogue", "catalogue-db", POST, "/v1/sql", 60, 1.5).bytes(100, 8_000),
    http("carts", "carts-db", POST, "/action/find", 24, 1.8).bytes(40, 900),
    http("carts", "carts-db", POST, "/action/updateOne", 12, 2.5).bytes(40, 60),
    http("user", "user-db", POST, "/action/find", 24, 1.6).bytes(100, 600),
    http("user", "user-db", POST, "/action/insertOne", 2, 2.5).ok(201).bytes(40, 60),
    // emojivoto: an HTTP front door and two gRPC services.
    http("vote-bot", "web", GET, "/api/list", 10, 4.0).bytes(5_000, 5_600),
    http("vote-bot", "web", GET, "/api/vote", 10, 5.0).bytes(0, 0).errors(0.08, 500),
    grpc("web", "emoji", "/emojivoto.v1.EmojiService/ListAll", 10, 1.2).bytes(4_000, 4_600)
        .policy("GRPCRoute", "emoji-list"),
    grpc("web", "emoji", "/emojivoto.v1.EmojiService/FindByShortcode", 10, 0.8).bytes(30, 60)
        .misses(0.03, 5).policy("GRPCRoute", "emoji-find"),
    // Voting for the doughnut always fails, as in the original emojivoto.
    grpc("web", "voting", "/emojivoto.v1.VotingService/VoteDoughnut", 1, 1.0).errors(1.0, 2),
    grpc("web", "voting", "/emojivoto.v1.VotingService/VoteJoy", 3, 1.0),
    grpc("web", "voting", "/emojivoto.v1.VotingService/VotePoop", 2, 1.0),
    grpc("web", "voting", "/emojivoto.v1.VotingService/VoteManInTuxedo", 2, 1.0),
    grpc("web", "voting", "/emojivoto.v1.VotingService/Results", 4, 1.5).bytes(400, 1_400),
    // Never drawn by weight: some `/paymentAuth` calls become refunds when routed
    // (`sim::routing`), which payment's authorization policy refuses. Last, so adding it moved
    // no other route's draw.
    http("orders", "payment", POST, "/paymentRefund", 0, 40.0).bytes(0, 0)
        .policy("HTTPRoute", "payment-refunds").unauthorized(),
];

/// A registered method's name.
pub fn method_name(method: i32) -> &'static str {
    match method {
        GET => "GET",
        POST => "POST",
        DELETE => "DELETE",
        _ => "PUT",
    }
}

/// The name a `ServiceProfile` gives a route: `METHOD /path/{param}`.
pub fn profile_name(route: &Route) -> String {
    let method = method_name(route.method);
    format!("{method} {}", route.path.replace("{uuid}", "{id}"))
}
