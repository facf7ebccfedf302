//! `linkerd viz tap`'s text and wide lines, byte for byte (PROTOCOL.md §4).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::model::event::{Direction, Endpoint, Eos, HttpEvent, Labels, TapEvent, grpc_code_name};

/// One event as a line, without the trailing newline. `wide` appends every label.
pub fn line(event: &TapEvent, wide: bool) -> String {
    let mut out = String::with_capacity(256);
    let id = event.http.as_ref().map(HttpEvent::id).unwrap_or_default();
    let verb = match &event.http {
        Some(HttpEvent::RequestInit(_)) => "req",
        Some(HttpEvent::ResponseInit(_)) => "rsp",
        Some(HttpEvent::ResponseEnd(_)) => "end",
        None => "unknown",
    };
    out.push_str(verb);
    if event.http.is_some() {
        let _ = write!(out, " id={id}");
    }
    let proxy = match event.direction {
        Direction::Inbound => "in ",
        Direction::Outbound => "out",
        Direction::Unknown => "???",
    };
    let _ = write!(
        out,
        " proxy={proxy} src={} dst={} tls={}",
        addr(&event.source),
        addr(&event.destination),
        event.tls()
    );
    match &event.http {
        Some(HttpEvent::RequestInit(e)) => {
            let method = e.method.as_deref().unwrap_or("GET");
            let _ = write!(
                out,
                " :method={method} :authority={} :path={}",
                e.authority, e.path
            );
        }
        Some(HttpEvent::ResponseInit(e)) => {
            let _ = write!(
                out,
                " :status={} latency={}µs",
                e.http_status,
                micros(e.since_request_init)
            );
        }
        Some(HttpEvent::ResponseEnd(e)) => {
            match e.eos {
                Some(Eos::Grpc(code)) => match grpc_code_name(code) {
                    Some(name) => {
                        let _ = write!(out, " grpc-status={name}");
                    }
                    None => {
                        let _ = write!(out, " grpc-status=Code({code})");
                    }
                },
                Some(Eos::Reset(code)) => {
                    let _ = write!(out, " reset-error={code}");
                }
                None => {}
            }
            let _ = write!(
                out,
                " duration={}µs response-length={}B",
                micros(e.since_response_init),
                e.response_bytes
            );
        }
        None => {}
    }
    if wide {
        labels(&mut out, "src", &event.source.labels);
        labels(&mut out, "dst", &event.destination.labels);
        labels(&mut out, "rt", &event.route);
    }
    out
}

fn labels(out: &mut String, prefix: &str, labels: &Labels) {
    for (k, v) in labels.iter() {
        let _ = write!(out, " {prefix}_{k}={v}");
    }
}

fn micros(d: Option<Duration>) -> u128 {
    d.map_or(0, |d| d.as_micros())
}

/// `ip:port`, IPv6 bracketed, as Go's `net.JoinHostPort` writes it.
fn addr(endpoint: &Endpoint) -> String {
    match endpoint.addr {
        Some(a) => {
            let ip = go_ip(a.ip());
            if ip.contains(':') {
                format!("[{ip}]:{}", a.port())
            } else {
                format!("{ip}:{}", a.port())
            }
        }
        None => ":0".to_string(),
    }
}

/// An IP as Go prints it: IPv4-mapped IPv6 addresses print as IPv4.
pub fn go_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// The IP of an endpoint for JSON (`""` when absent) and its port.
pub fn ip_and_port(addr: Option<SocketAddr>) -> (String, u16) {
    addr.map_or((String::new(), 0), |a| (go_ip(a.ip()), a.port()))
}
