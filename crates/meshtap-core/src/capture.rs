//! The file formats meshtap writes and reads: the NDJSON request record and its header line, the
//! HAR entry with meshtap's fields, and the time rules both directions share. `export` writes
//! them and `source::replay` reads them back; neither depends on the other.

pub mod har;
pub mod ndjson;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The capture description as written: the NDJSON header line's `meshtap_capture` object, and
/// `log._meshtap` in a HAR export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureRecord {
    pub format: String,
    pub version: u32,
    pub meshtap_version: String,
    pub targets: Vec<String>,
    pub context: String,
    pub filter: Option<String>,
    pub sampling: String,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// Requests in the file.
    pub requests: u64,
    pub evicted: u64,
    /// Requests in the file that never ended (still open at export, or expired).
    pub never_ended: u64,
    /// Whether sensitive header values were replaced by `<redacted>`.
    pub redacted: bool,
    /// Set in the files `--trigger` writes: what fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TriggerRecord>,
}

/// What fired a trigger file: the trigger, the request that matched and how many more matched
/// within the same window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub trigger: String,
    /// The matching request's seq, and the request as `METHOD authority/path -> status`.
    pub request_seq: u64,
    pub request: String,
    pub at: String,
    /// Further matches of the trigger inside the window (0: the request alone).
    pub further_matches: u64,
}

/// The NDJSON header line: `{"meshtap_capture": {…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderLine {
    pub meshtap_capture: CaptureRecord,
}

/// A timestamp as every file writes it: RFC 3339, UTC, microseconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `t + d`, saturating instead of overflowing on absurd durations.
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(t)
}

/// When a request's response headers arrived, as files date them (they keep no separate time):
/// `latency` after the request, or when the request was first seen for an orphan (a response
/// without a request-init), and never after the end — replayed in time order, a response dated
/// after its end would start an orphan.
pub fn response_arrived(
    started: DateTime<Utc>,
    latency: Option<Duration>,
    has_request: bool,
    ended: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let arrived = match latency {
        Some(latency) if has_request => after(started, latency),
        _ => started,
    };
    ended.map_or(arrived, |end| arrived.min(end))
}

/// A duration in milliseconds, computed from integer nanoseconds so that it prints exactly
/// (`6.469734`, not `6.469734000000001`): one correctly rounded division, whose shortest
/// round-tripping decimal is the nanosecond figure itself.
pub fn millis(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// Milliseconds back to a duration, rounded to the nanosecond the proxy measured; `None` for
/// negative or non-finite figures.
pub fn from_millis(ms: f64) -> Option<Duration> {
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_nanos((ms * 1e6).round() as u64))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_print_exactly() {
        let d = Duration::from_nanos(6_469_734);
        assert_eq!(
            serde_json::to_string(&millis(d)).ok().as_deref(),
            Some("6.469734")
        );
        // The old computation, for contrast: two roundings give float noise.
        assert_ne!(
            serde_json::to_string(&(d.as_secs_f64() * 1000.0)).ok(),
            serde_json::to_string(&millis(d)).ok()
        );
        for nanos in [
            0,
            1_000,
            999_999,
            1_000_000,
            1_234_567_891,
            86_400_000_000_001,
        ] {
            let d = Duration::from_nanos(nanos);
            let text = serde_json::to_string(&millis(d)).unwrap_or_default();
            let digits = format!("{}.{:06}", nanos / 1_000_000, nanos % 1_000_000);
            let digits = digits.trim_end_matches('0').trim_end_matches('.');
            assert_eq!(text.trim_end_matches(".0"), digits, "{nanos}");
            assert_eq!(from_millis(millis(d)), Some(d), "{nanos}");
        }
    }

    #[test]
    fn milliseconds_round_to_the_nanosecond() {
        assert_eq!(from_millis(0.999), Some(Duration::from_micros(999)));
        assert_eq!(
            from_millis(1_234.567_891),
            Some(Duration::from_nanos(1_234_567_891))
        );
        assert_eq!(from_millis(-1.0), None);
        assert_eq!(from_millis(f64::NAN), None);
    }

    #[test]
    fn a_response_is_dated_after_its_request_and_never_after_its_end() {
        let t = |ms| DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(ms);
        let ms = Duration::from_millis;
        assert_eq!(response_arrived(t(0), Some(ms(5)), true, None), t(5));
        assert_eq!(response_arrived(t(0), Some(ms(5)), true, Some(t(3))), t(3));
        assert_eq!(response_arrived(t(0), Some(ms(5)), false, None), t(0));
        assert_eq!(response_arrived(t(0), None, true, None), t(0));
    }
}
