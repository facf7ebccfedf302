//! Units written and read by every layer: counts with thousands separators, and time windows as the metrics API and Prometheus take
//! them: Prometheus durations (`30s`, `1m`, `2h`).

use std::time::Duration;

/// `12,345`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A window as Prometheus writes durations: `1h`, `5m`, `30s` (whole seconds, at least one).
pub fn format_window(window: Duration) -> String {
    let secs = window.as_secs().max(1);
    if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Parses a Prometheus-style duration (`30s`, `1m`, `2h`, `500ms`, `1d`); `None` if malformed.
pub fn parse_window(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let secs = |mult: u64| n.checked_mul(mult).map(Duration::from_secs);
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_trip() {
        for (d, s) in [
            (60, "1m"),
            (30, "30s"),
            (7200, "2h"),
            (90, "90s"),
            (0, "1s"),
        ] {
            assert_eq!(format_window(Duration::from_secs(d)), s);
            assert_eq!(parse_window(s), Some(Duration::from_secs(d.max(1))));
        }
        assert_eq!(parse_window("500ms"), Some(Duration::from_millis(500)));
        for bad in ["", "m", "10", "10x", "-1m", "1.5m"] {
            assert_eq!(parse_window(bad), None, "{bad}");
        }
    }
}
