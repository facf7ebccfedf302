//! `linkerd viz tap`'s text and wide lines, byte for byte (PROTOCOL.md §4), except that captured
//! strings are made terminal-safe: a capture (a bug report's file, a hostile client's path) must
//! not be able to retitle, recolour or reorder the user's terminal.

use std::fmt::Write as _;
use std::time::Duration;

use crate::capture::go_ip;
pub use crate::terminal::{escape, is_terminal_unsafe};

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
        escape(event.tls())
    );
    match &event.http {
        Some(HttpEvent::RequestInit(e)) => {
            let method = e.method.as_deref().unwrap_or("GET");
            let _ = write!(
                out,
                " :method={} :authority={} :path={}",
                escape(method),
                escape(&e.authority),
                escape(&e.path)
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
        let _ = write!(out, " {prefix}_{}={}", escape(k), escape(v));
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use chrono::Utc;

    use std::borrow::Cow;

    use super::*;
    use crate::model::event::{RequestInit, StreamId};

    /// An inbound request whose path, authority and labels came from a hostile capture.
    fn request(path: &str, label: &str) -> TapEvent {
        let labels = Labels::new([("tls".into(), "true".into()), ("team".into(), label.into())]);
        TapEvent {
            cluster: None,
            arrived: Utc::now(),
            source: Endpoint {
                addr: Some(SocketAddr::from(([10, 0, 0, 1], 5000))),
                labels,
            },
            destination: Endpoint::default(),
            direction: Direction::Inbound,
            route: Labels::default(),
            http: Some(HttpEvent::RequestInit(RequestInit {
                id: StreamId { base: 1, stream: 2 },
                method: Some("GET".into()),
                scheme: None,
                authority: "web\u{202E}:80".into(),
                path: path.into(),
                headers: crate::model::event::Headers::default(),
                matched_route: None,
            })),
        }
    }

    #[test]
    fn captured_strings_cannot_drive_the_terminal() {
        let event = request("/a\x1b]0;pwned\x07\r\nreq id=9:9\u{9b}2J", "x\u{2066}y\x7f");
        let line = line(&event, true);
        assert_eq!(
            line,
            "req id=1:2 proxy=in  src=10.0.0.1:5000 dst=:0 tls=true :method=GET \
             :authority=web\\u202e:80 :path=/a\\x1b]0;pwned\\x07\\x0d\\x0areq id=9:9\\u009b2J \
             src_team=x\\u2066y\\x7f src_tls=true"
        );
        assert!(!line.chars().any(is_terminal_unsafe), "{line:?}");
    }

    #[test]
    fn ordinary_strings_are_untouched_and_not_copied() {
        for text in [
            "/users/123?q=a%20b",
            "C:\\path\\x1b",
            "ünïcødé ✓",
            "tab-free",
            "",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
        // Every C0 control, DEL and C1 control is escaped; printable neighbours are not.
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let escaped = escape(&c.to_string()).into_owned();
            assert!(escaped.starts_with('\\') && escaped.len() > 1, "{c:?}");
        }
        assert_eq!(escape(" ~\u{a0}"), " ~\u{a0}");
    }
}
