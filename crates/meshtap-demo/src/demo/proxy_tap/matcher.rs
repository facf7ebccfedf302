//! The proxy's side of `ObserveRequest.match`: validated when the tap starts (a malformed match
//! is `InvalidArgument`, as a real proxy answers) and evaluated against each request's
//! `request_init` event, which carries everything a proxy matches on.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use linkerd2_proxy_api::http_types::{HttpMethod, Scheme, http_method, scheme};
use linkerd2_proxy_api::tap::observe_request::Match;
use linkerd2_proxy_api::tap::observe_request::r#match::{self, http, tcp};
use linkerd2_proxy_api::tap::{TapEvent, tap_event};

/// The event's address, `None` when it carried none (or no valid IP).
fn socket_addr(addr: &linkerd2_proxy_api::net::TcpAddress) -> Option<SocketAddr> {
    SocketAddr::try_from(*addr).ok()
}

/// Deeper nesting than this is refused rather than recursed into.
const MAX_DEPTH: usize = 32;

/// Checks a match the way the proxy does before registering a tap.
pub fn validate(m: Option<&Match>) -> Result<(), String> {
    m.map_or(Ok(()), |m| validate_at(m, 0))
}

fn validate_at(m: &Match, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("match is nested too deeply".into());
    }
    match m.r#match.as_ref().ok_or("missing match")? {
        r#match::Match::All(seq) | r#match::Match::Any(seq) => {
            for inner in &seq.matches {
                validate_at(inner, depth + 1)?;
            }
            Ok(())
        }
        r#match::Match::Not(inner) => validate_at(inner, depth + 1),
        r#match::Match::Source(t) | r#match::Match::Destination(t) => {
            match t.r#match.as_ref().ok_or("missing tcp match")? {
                tcp::Match::Netmask(n) => {
                    let ip =
                        n.ip.and_then(|ip| IpAddr::try_from(ip).ok())
                            .ok_or("netmask without an IP")?;
                    let bits = if ip.is_ipv4() { 32 } else { 128 };
                    if n.mask > bits {
                        return Err(format!("invalid netmask /{}", n.mask));
                    }
                    Ok(())
                }
                tcp::Match::Ports(p) if p.min > 65_535 || p.max > 65_535 => {
                    Err("port out of range".into())
                }
                tcp::Match::Ports(_) => Ok(()),
            }
        }
        r#match::Match::Http(h) => match h.r#match.as_ref().ok_or("missing http match")? {
            http::Match::Authority(s) | http::Match::Path(s) if s.r#match.is_none() => {
                Err("missing string match".into())
            }
            _ => Ok(()),
        },
        r#match::Match::DestinationLabel(_) | r#match::Match::RouteLabel(_) => Ok(()),
    }
}

/// Whether a (validated) match selects the request that `event` opens.
pub fn matches(m: &Match, event: &TapEvent) -> bool {
    matches_at(m, event, 0)
}

fn matches_at(m: &Match, event: &TapEvent, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let Some(kind) = &m.r#match else {
        return false;
    };
    match kind {
        r#match::Match::All(seq) => seq.matches.iter().all(|i| matches_at(i, event, depth + 1)),
        r#match::Match::Any(seq) => seq.matches.iter().any(|i| matches_at(i, event, depth + 1)),
        r#match::Match::Not(inner) => !matches_at(inner, event, depth + 1),
        r#match::Match::Source(t) => tcp_matches(t, event.source.as_ref().and_then(socket_addr)),
        r#match::Match::Destination(t) => {
            tcp_matches(t, event.destination.as_ref().and_then(socket_addr))
        }
        r#match::Match::Http(h) => http_matches(h, event),
        r#match::Match::DestinationLabel(l) => {
            label(event.destination_meta.as_ref().map(|m| &m.labels), l)
        }
        r#match::Match::RouteLabel(l) => label(event.route_meta.as_ref().map(|m| &m.labels), l),
    }
}

fn label(labels: Option<&HashMap<String, String>>, l: &r#match::Label) -> bool {
    labels.and_then(|ls| ls.get(&l.key)) == Some(&l.value)
}

fn tcp_matches(t: &r#match::Tcp, addr: Option<SocketAddr>) -> bool {
    let Some(addr) = addr else { return false };
    match &t.r#match {
        Some(tcp::Match::Ports(p)) => {
            let port = u32::from(addr.port());
            // One bound alone names a single port (the proto's rule).
            match (p.min, p.max) {
                (0, 0) => true,
                (min, 0) => port == min,
                (0, max) => port == max,
                (min, max) => (min..=max).contains(&port),
            }
        }
        Some(tcp::Match::Netmask(n)) => {
            let Some(net) = n.ip.and_then(|ip| IpAddr::try_from(ip).ok()) else {
                return false;
            };
            in_network(addr.ip(), net, n.mask)
        }
        None => false,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - prefix.min(128)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn http_matches(h: &r#match::Http, event: &TapEvent) -> bool {
    let Some(tap_event::Event::Http(tap_event::Http {
        event: Some(tap_event::http::Event::RequestInit(init)),
    })) = &event.event
    else {
        return false;
    };
    let strings = |s: &http::StringMatch, value: &str| match &s.r#match {
        Some(http::string_match::Match::Exact(x)) => value == x,
        Some(http::string_match::Match::Prefix(p)) => value.starts_with(p.as_str()),
        None => false,
    };
    match &h.r#match {
        Some(http::Match::Scheme(want)) => {
            init.scheme.as_ref().map(scheme_name) == Some(scheme_name(want))
        }
        Some(http::Match::Method(want)) => {
            init.method.as_ref().map(method_name) == Some(method_name(want))
        }
        Some(http::Match::Authority(s)) => strings(s, &init.authority),
        Some(http::Match::Path(s)) => strings(s, &init.path),
        None => false,
    }
}

fn method_name(m: &HttpMethod) -> String {
    match &m.r#type {
        Some(http_method::Type::Registered(n)) => http_method::Registered::try_from(*n)
            .map(|r| r.as_str_name().to_string())
            .unwrap_or_default(),
        Some(http_method::Type::Unregistered(s)) => s.clone(),
        None => String::new(),
    }
}

fn scheme_name(s: &Scheme) -> String {
    match &s.r#type {
        Some(scheme::Type::Registered(n)) => scheme::Registered::try_from(*n)
            .map(|r| r.as_str_name().to_ascii_lowercase())
            .unwrap_or_default(),
        Some(scheme::Type::Unregistered(s)) => s.to_ascii_lowercase(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert!(in_network(ip("10.42.1.7"), ip("10.42.0.0"), 16));
        assert!(!in_network(ip("10.43.1.7"), ip("10.42.0.0"), 16));
        assert!(in_network(ip("10.43.1.7"), ip("0.0.0.0"), 0));
        assert!(in_network(ip("::1"), ip("::1"), 128));
        assert!(!in_network(ip("::1"), ip("10.0.0.1"), 0));
    }
}
