//! What the policy controller is asked about for a tapped outbound request: the client's
//! workload (`ns:pod`, of which the controller reads the namespace: routes in the client's
//! namespace apply to it alone) and the target, a Service authority as the controller parses
//! it (`name.ns.svc.cluster.local:port`, port 80 when none is given) or an IP address.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use linkerd2_proxy_api::outbound::{TrafficSpec, traffic_spec};

use crate::model::event::{Direction, HttpEvent, TapEvent};

/// The cluster domain Service authorities are completed with (Linkerd's default).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The target of a lookup.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetAddr {
    /// `name.ns.svc.cluster.local:port`.
    Authority(String),
    /// A client that addressed an IP (a ClusterIP): looked up by address, as the proxy does.
    Addr(SocketAddr),
}

/// One lookup: who asks (its namespace is the cache key; the pod is only the controller's log
/// line) and for what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyTarget {
    pub source_namespace: String,
    pub source_pod: String,
    pub target: TargetAddr,
}

/// What the cache keys a watch by: one per client namespace and target.
pub type TargetKey = (String, TargetAddr);

impl PolicyTarget {
    /// The lookup for a tapped outbound request, or `None` for anything else (inbound, not a
    /// request, no authority, an external name the controller cannot know).
    pub fn of_event(event: &TapEvent) -> Option<Self> {
        if event.direction != Direction::Outbound {
            return None;
        }
        let Some(HttpEvent::RequestInit(init)) = &event.http else {
            return None;
        };
        let labels = &event.source.labels;
        let namespace = labels.get("namespace").filter(|n| !n.is_empty())?;
        let target = target_of(&init.authority, namespace)?;
        Some(Self {
            source_namespace: namespace.to_owned(),
            source_pod: labels.get("pod").unwrap_or("").to_owned(),
            target,
        })
    }

    pub fn key(&self) -> TargetKey {
        (self.source_namespace.clone(), self.target.clone())
    }

    pub fn to_proto(&self) -> TrafficSpec {
        let target = match &self.target {
            TargetAddr::Authority(authority) => traffic_spec::Target::Authority(authority.clone()),
            TargetAddr::Addr(addr) => traffic_spec::Target::Addr((*addr).into()),
        };
        TrafficSpec {
            source_workload: format!("{}:{}", self.source_namespace, self.source_pod),
            target: Some(target),
        }
    }
}

impl fmt::Display for TargetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetAddr::Authority(authority) => f.write_str(authority),
            TargetAddr::Addr(addr) => write!(f, "{addr}"),
        }
    }
}

impl fmt::Display for PolicyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {})", self.target, self.source_namespace)
    }
}

/// The target a client in `namespace` means by `authority`: `catalogue` and `catalogue:80` are
/// `catalogue.<namespace>.svc.cluster.local:80`; `voting-svc.emojivoto:8080` and the longer
/// forms name their namespace. A name that is not a Service's (`example.com`) is `None`.
pub fn target_of(authority: &str, namespace: &str) -> Option<TargetAddr> {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.is_empty() => {
            (host, port.parse::<u16>().ok()?)
        }
        _ => (authority, 80),
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(TargetAddr::Addr(SocketAddr::new(ip, port)));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let (name, ns) = match labels.as_slice() {
        [name] => (*name, namespace),
        [name, ns] | [name, ns, "svc"] => (*name, *ns),
        [name, ns, "svc", rest @ ..] if rest.join(".") == CLUSTER_DOMAIN => (*name, *ns),
        _ => return None,
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !valid(name) || !valid(ns) {
        return None;
    }
    Some(TargetAddr::Authority(format!(
        "{name}.{ns}.svc.{CLUSTER_DOMAIN}:{port}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps, reason = "compared with target_of's answer")]
    fn authority(s: &str) -> Option<TargetAddr> {
        Some(TargetAddr::Authority(s.to_owned()))
    }

    #[test]
    fn short_and_long_names_become_the_controllers_form() {
        let want = authority("catalogue.sock-shop.svc.cluster.local:80");
        for given in [
            "catalogue",
            "catalogue:80",
            "catalogue.sock-shop",
            "catalogue.sock-shop.svc",
            "catalogue.sock-shop.svc.cluster.local:80",
            "Catalogue.sock-shop.svc.cluster.local.:80",
        ] {
            assert_eq!(target_of(given, "sock-shop"), want, "{given}");
        }
        assert_eq!(
            target_of("voting-svc.emojivoto:8080", "sock-shop"),
            authority("voting-svc.emojivoto.svc.cluster.local:8080")
        );
    }

    #[test]
    fn addresses_are_looked_up_by_address_and_external_names_not_at_all() {
        assert_eq!(
            target_of("10.0.0.7:8080", "ns"),
            Some(TargetAddr::Addr("10.0.0.7:8080".parse().expect("addr")))
        );
        assert_eq!(
            target_of("[fd00::1]:80", "ns"),
            Some(TargetAddr::Addr("[fd00::1]:80".parse().expect("addr")))
        );
        for external in ["www.example.com", "api.example.com:443", "", "a:b", "x_y"] {
            assert_eq!(target_of(external, "ns"), None, "{external}");
        }
    }
}
