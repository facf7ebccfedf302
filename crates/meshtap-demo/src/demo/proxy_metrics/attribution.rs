//! What each simulated call means to the proxies' metrics: the parent Service and port, the
//! route and backend the client's proxy used (as [`Routing`] routed it, so metrics and tap
//! agree), the error label it recorded, its retries, and whether the server's proxy refused it.

use super::families::Labels;
use crate::demo::mesh::{Mesh, PodId};
use crate::demo::policy::DEFAULT_ROUTE_NAME;
use crate::demo::sim::Call;
use crate::demo::sim::routing::Routing;
use crate::model::policy::RetryOn;

/// A Gateway API style reference, as the proxy's `parent_*`/`route_*`/`backend_*` labels spell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub port: Option<u16>,
}

/// A call as the proxies' metrics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub parent: Ref,
    pub route: Ref,
    pub backend: Ref,
    pub hostname: String,
    /// The `error` label of the route's response (e.g. `REQUEST_TIMEOUT`), if the proxy ended it.
    pub error: Option<&'static str>,
    /// Attempts after the first (set on the request's last attempt only).
    pub retries: u32,
    pub retry_succeeded: bool,
    pub retry_limit_exceeded: bool,
    /// The server proxy's denial counter labels, when it refused the call.
    pub denied: Option<Labels>,
}

fn service_ref(mesh: &Mesh, pod: PodId) -> Ref {
    let w = mesh.workload_of(pod);
    Ref {
        group: "core".to_owned(),
        kind: "Service".to_owned(),
        namespace: w.namespace.to_owned(),
        name: w.service.unwrap_or(w.name).to_owned(),
        port: Some(w.service_port),
    }
}

/// The call as its proxies counted it: the Service the client addressed, the route and rule
/// routing picked (its Service's default route when none did), the Service that served it.
pub fn attribute(mesh: &Mesh, routing: &Routing, call: &Call) -> Attribution {
    let addressed = mesh
        .workload_named(call.route().server)
        .and_then(|w| mesh.workloads[w].pods.first().copied())
        .unwrap_or(call.server);
    let parent = service_ref(mesh, addressed);
    let hostname = format!("{}.{}.svc.cluster.local", parent.name, parent.namespace);
    let rule = routing.rule(call);
    let route = rule.map_or_else(
        || Ref {
            group: String::new(),
            kind: "default".to_owned(),
            namespace: String::new(),
            name: DEFAULT_ROUTE_NAME.to_owned(),
            port: None,
        },
        |(route, _)| Ref {
            group: route.route.group.to_string(),
            kind: route.route.kind.to_string(),
            namespace: route.route.namespace.to_string(),
            name: route.route.name.to_string(),
            port: None,
        },
    );
    let routed = call.routed;
    let max_retries = rule
        .and_then(|(_, r)| r.config.retry.as_ref())
        .map_or(0, |r| r.max_retries);
    let still_retryable = rule
        .and_then(|(_, r)| r.config.retry.as_ref())
        .is_some_and(|r| match (&r.on, call.grpc_status) {
            (RetryOn::Grpc(on), Some(code)) => on.retries(code),
            (RetryOn::Statuses(ranges), None) => {
                let status = u16::try_from(call.http_status).unwrap_or(0);
                ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
            }
            _ => false,
        });
    let retries = if routed.is_final() {
        u32::from(routed.retries)
    } else {
        0
    };
    let mut a = Attribution {
        route,
        backend: service_ref(mesh, call.server),
        parent,
        hostname,
        error: routed.timed_out.then_some("REQUEST_TIMEOUT"),
        retries,
        retry_succeeded: retries > 0 && !still_retryable,
        retry_limit_exceeded: routed.is_final()
            && still_retryable
            && u32::from(routed.retries) >= max_retries
            && max_retries > 0,
        denied: None,
    };
    if routed.denied {
        a.denied = Some(a.deny_labels(mesh, call));
    }
    a
}

impl Ref {
    fn push(&self, prefix: &'static [&'static str; 6], out: &mut Labels, with_port: bool) {
        out.push((prefix[0], self.group.clone()));
        out.push((prefix[1], self.kind.clone()));
        out.push((prefix[2], self.namespace.clone()));
        out.push((prefix[3], self.name.clone()));
        if with_port {
            out.push((
                prefix[4],
                self.port.map(|p| p.to_string()).unwrap_or_default(),
            ));
            out.push((prefix[5], String::new()));
        }
    }
}

const PARENT: [&str; 6] = [
    "parent_group",
    "parent_kind",
    "parent_namespace",
    "parent_name",
    "parent_port",
    "parent_section_name",
];
const ROUTE: [&str; 6] = [
    "route_group",
    "route_kind",
    "route_namespace",
    "route_name",
    "",
    "",
];
const BACKEND: [&str; 6] = [
    "backend_group",
    "backend_kind",
    "backend_namespace",
    "backend_name",
    "backend_port",
    "backend_section_name",
];

impl Attribution {
    /// `parent_*`, `route_*` and `hostname`: the labels of the route's request families.
    pub fn route_labels(&self) -> Labels {
        let mut l = Labels::new();
        self.parent.push(&PARENT, &mut l, true);
        self.route.push(&ROUTE, &mut l, false);
        l.push(("hostname", self.hostname.clone()));
        l
    }

    /// The route's labels and the `backend_*` ones: the route-backend families.
    pub fn backend_labels(&self) -> Labels {
        let mut l = Labels::new();
        self.parent.push(&PARENT, &mut l, true);
        self.route.push(&ROUTE, &mut l, false);
        self.backend.push(&BACKEND, &mut l, true);
        l
    }

    /// The inbound proxy's target and policy labels for `call`, without the response's.
    pub fn inbound_labels(&self, mesh: &Mesh, call: &Call) -> Labels {
        let mut l = target_labels(mesh, call);
        l.insert(0, ("direction", "inbound".to_owned()));
        l.insert(
            1,
            (
                "authority",
                self.hostname.clone() + &port_suffix(&self.parent),
            ),
        );
        let policy = mesh.inbound_policy_labels(call.server, call.route().policy_route);
        for key in [
            "srv_group",
            "srv_kind",
            "srv_name",
            "route_group",
            "route_kind",
            "route_name",
            "authz_group",
            "authz_kind",
            "authz_name",
        ] {
            if let Some(v) = policy.get(key) {
                l.push((key, v.clone()));
            }
        }
        l
    }

    /// `inbound_http_authz_allow_total`'s labels: target, server, route, authorization, TLS.
    pub fn allow_labels(&self, mesh: &Mesh, call: &Call) -> Labels {
        let mut l = self.inbound_labels(mesh, call);
        l.retain(|(k, _)| *k != "direction" && *k != "authority");
        l
    }

    /// `inbound_http_authz_deny_total`'s labels: as an allow's, without an authorization (none
    /// admitted the request).
    pub fn deny_labels(&self, mesh: &Mesh, call: &Call) -> Labels {
        let mut l = self.allow_labels(mesh, call);
        l.retain(|(k, _)| !k.starts_with("authz_"));
        l
    }
}

fn port_suffix(parent: &Ref) -> String {
    parent.port.map(|p| format!(":{p}")).unwrap_or_default()
}

/// `target_addr`, `target_ip`, `target_port`, and the client's mTLS identity as the inbound proxy
/// records it (`tls`, `client_id`).
pub fn target_labels(mesh: &Mesh, call: &Call) -> Labels {
    let server = &mesh.pods[call.server];
    let port = mesh.workload_of(call.server).container_port;
    let client = mesh.workload_of(call.client);
    let mut l = vec![
        ("target_addr", format!("{}:{port}", server.ip)),
        ("target_ip", server.ip.to_string()),
        ("target_port", port.to_string()),
    ];
    if client.meshed {
        l.push(("tls", "true".to_owned()));
        l.push(("client_id", client.identity()));
    } else {
        l.push(("tls", "no_identity".to_owned()));
        l.push(("no_tls_reason", "no_tls_from_remote".to_owned()));
    }
    l
}
