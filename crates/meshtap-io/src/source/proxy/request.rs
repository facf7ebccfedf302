//! The `ObserveRequest` a direct tap sends, built from the command-line filters the way Linkerd's
//! tap server builds it from a `TapByResourceRequest`: a top-level `all` of destination labels,
//! then the HTTP scheme, method, authority (exact) and path (prefix) matches. A proxy also
//! understands matches Linkerd's tap server never sends (destination ports and networks, route
//! labels); `meshtap proxy` exposes those as well.

use std::net::IpAddr;
use std::str::FromStr;

use linkerd2_proxy_api::http_types::{self, HttpMethod, Scheme};
use linkerd2_proxy_api::net::IpAddress;
use linkerd2_proxy_api::tap::ObserveRequest;
use linkerd2_proxy_api::tap::observe_request::{Extract, Match, extract, r#match};

use crate::session::HttpMatch;

/// Linkerd's tap server uses this many requests per second when asked for 0.
pub const DEFAULT_MAX_RPS: f32 = 100.0;

/// What a direct tap matches on, all of which must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyMatch {
    pub http: HttpMatch,
    /// Destination port range, inclusive.
    pub to_ports: Option<PortRange>,
    /// Destination network.
    pub to_net: Option<Netmask>,
    /// Labels the proxy attaches to the destination (`deployment=web`, `namespace=emojivoto`).
    pub destination_labels: Vec<(String, String)>,
    /// Route labels (`route=GET /books`, from a service profile).
    pub route_labels: Vec<(String, String)>,
}

/// `N` or `LO-HI`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub min: u16,
    pub max: u16,
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("invalid port {p:?}: expected 0-65535"))
        };
        let (min, max) = match s.split_once('-') {
            Some((lo, hi)) => (port(lo)?, port(hi)?),
            None => (port(s)?, port(s)?),
        };
        if min > max {
            return Err(format!("invalid port range {s:?}: {min} > {max}"));
        }
        Ok(Self { min, max })
    }
}

/// `IP` or `IP/PREFIX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Netmask {
    pub ip: IpAddr,
    pub prefix: u8,
}

impl FromStr for Netmask {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s.split_once('/').map_or((s, None), |(a, b)| (a, Some(b)));
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("invalid address {ip:?}: expected an IP or IP/PREFIX"))?;
        let full = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => full,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= full)
                .ok_or_else(|| format!("invalid prefix length {p:?}: expected 0-{full}"))?,
        };
        Ok(Self { ip, prefix })
    }
}

/// `KEY=VALUE`.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("invalid label {s:?}: expected KEY=VALUE")),
    }
}

/// Requests per 1-second window: Linkerd's arithmetic for one pod (`maxRps`, 100 when 0, at
/// least 1, truncated).
pub fn window_limit(max_rps: f32) -> u32 {
    let rps = if max_rps == 0.0 {
        DEFAULT_MAX_RPS
    } else {
        max_rps
    };
    // `!(x >= 1)` also catches NaN and negatives.
    let rps = if rps >= 1.0 { rps } else { 1.0 };
    rps as u32
}

/// Linkerd's `ParseMethod`: a registered method whatever its case, else the text as given.
pub fn method(text: &str) -> HttpMethod {
    use http_types::http_method::{Registered, Type};
    let r#type = match Registered::from_str_name(&text.to_ascii_uppercase()) {
        Some(registered) => Type::Registered(registered as i32),
        None => Type::Unregistered(text.to_string()),
    };
    HttpMethod {
        r#type: Some(r#type),
    }
}

/// Linkerd's `ParseScheme`: `http`/`https` whatever their case, else the text as given.
pub fn scheme(text: &str) -> Scheme {
    use http_types::scheme::{Registered, Type};
    let r#type = match Registered::from_str_name(&text.to_ascii_uppercase()) {
        Some(registered) => Type::Registered(registered as i32),
        None => Type::Unregistered(text.to_string()),
    };
    Scheme {
        r#type: Some(r#type),
    }
}

/// The request: `limit` per window, every match under one top-level `all`.
pub fn observe_request(matches: &ProxyMatch, limit: u32, extract_headers: bool) -> ObserveRequest {
    use r#match::http::{StringMatch, string_match};
    let wrap = |m: r#match::Match| Match { r#match: Some(m) };
    let http =
        |m: r#match::http::Match| wrap(r#match::Match::Http(r#match::Http { r#match: Some(m) }));
    let label = |(key, value): &(String, String)| r#match::Label {
        key: key.clone(),
        value: value.clone(),
    };
    let mut all = Vec::new();
    for l in &matches.destination_labels {
        all.push(wrap(r#match::Match::DestinationLabel(label(l))));
    }
    let h = &matches.http;
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    if let Some(s) = given(&h.scheme) {
        all.push(http(r#match::http::Match::Scheme(scheme(&s))));
    }
    if let Some(m) = given(&h.method) {
        all.push(http(r#match::http::Match::Method(method(&m))));
    }
    if let Some(a) = given(&h.authority) {
        all.push(http(r#match::http::Match::Authority(StringMatch {
            r#match: Some(string_match::Match::Exact(a)),
        })));
    }
    if let Some(p) = given(&h.path) {
        all.push(http(r#match::http::Match::Path(StringMatch {
            r#match: Some(string_match::Match::Prefix(p)),
        })));
    }
    if let Some(ports) = matches.to_ports {
        all.push(wrap(r#match::Match::Destination(r#match::Tcp {
            r#match: Some(r#match::tcp::Match::Ports(r#match::tcp::PortRange {
                min: u32::from(ports.min),
                max: u32::from(ports.max),
            })),
        })));
    }
    if let Some(net) = matches.to_net {
        all.push(wrap(r#match::Match::Destination(r#match::Tcp {
            r#match: Some(r#match::tcp::Match::Netmask(r#match::tcp::Netmask {
                ip: Some(IpAddress::from(net.ip)),
                mask: u32::from(net.prefix),
            })),
        })));
    }
    for l in &matches.route_labels {
        all.push(wrap(r#match::Match::RouteLabel(label(l))));
    }
    ObserveRequest {
        limit,
        r#match: Some(wrap(r#match::Match::All(r#match::Seq { matches: all }))),
        extract: extract_headers.then_some(Extract {
            extract: Some(extract::Extract::Http(extract::Http {
                extract: Some(extract::http::Extract::Headers(extract::http::Headers {})),
            })),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_linkerd() {
        assert_eq!(window_limit(0.0), 100);
        assert_eq!(window_limit(7.9), 7);
        assert_eq!(window_limit(0.2), 1);
        assert_eq!(window_limit(-3.0), 1);
        assert_eq!(window_limit(f32::NAN), 1);
    }

    #[test]
    fn flag_values_parse() {
        assert_eq!("80".parse(), Ok(PortRange { min: 80, max: 80 }));
        assert_eq!(
            "8000-8080".parse(),
            Ok(PortRange {
                min: 8000,
                max: 8080
            })
        );
        assert!("9-1".parse::<PortRange>().is_err());
        let net: Netmask = "10.42.0.0/16".parse().expect("net");
        assert_eq!(net.prefix, 16);
        assert_eq!("::1".parse::<Netmask>().map(|n| n.prefix), Ok(128));
        assert!("10.0.0.0/33".parse::<Netmask>().is_err());
        assert_eq!(parse_label("app=web"), Ok(("app".into(), "web".into())));
        assert!(parse_label("=web").is_err());
    }

    #[test]
    fn methods_and_schemes_are_registered_when_known() {
        use http_types::http_method::Type;
        assert_eq!(method("get").r#type, Some(Type::Registered(0)));
        assert_eq!(
            method("PURGE").r#type,
            Some(Type::Unregistered("PURGE".into()))
        );
        assert_eq!(
            scheme("HTTPS").r#type,
            Some(http_types::scheme::Type::Registered(1))
        );
    }
}
