//! Durations and byte sizes, read the same way everywhere: on the command line (`--max-memory`,
//! `--for`, `--metrics-window`, `--from -15m`), in the filter language (`latency>100ms`,
//! `bytes>1M`) and in the metrics API's windows.
//!
//! One number grammar (digits with at most one dot: `1.5`, `.5`, `300`) and one table per kind
//! of unit. Sizes follow Kubernetes quantities, which is what meshtap's users write in their
//! manifests: `K`, `M`, `G`, `T` (and `KB`…) are powers of 1000, `Ki`, `Mi`, `Gi`, `Ti` (and `KiB`…)
//! powers of 1024, case-insensitively. Counts are written with thousands separators ([`group`]).

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

/// Duration units and their length in nanoseconds.
const DURATION_UNITS: [(&str, u64); 10] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Size units (lower case) and their length in bytes.
const SIZE_UNITS: [(&str, u64); 18] = [
    ("", 1),
    ("b", 1),
    ("k", 1_000),
    ("kb", 1_000),
    ("ki", 1 << 10),
    ("kib", 1 << 10),
    ("m", 1_000_000),
    ("mb", 1_000_000),
    ("mi", 1 << 20),
    ("mib", 1 << 20),
    ("g", 1_000_000_000),
    ("gb", 1_000_000_000),
    ("gi", 1 << 30),
    ("gib", 1 << 30),
    ("t", 1_000_000_000_000),
    ("tb", 1_000_000_000_000),
    ("ti", 1 << 40),
    ("tib", 1 << 40),
];

/// A counter's increase as words: `3`; Prometheus's `increase` extrapolates over its window, so
/// a fraction reads `about 3`.
pub fn counter_figure(count: f64) -> String {
    let whole = count.round();
    let about = if (count - whole).abs() > 0.01 {
        "about "
    } else {
        ""
    };
    format!("{about}{whole}")
}

/// The nanoseconds in one `unit` (`ms`, `s`, `µs`, `m`, `h`, `d`); `None` for anything else,
/// no unit included.
pub fn duration_unit_nanos(unit: &str) -> Option<u64> {
    DURATION_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, nanos)| nanos)
}

/// The bytes in one `unit`, matched case-insensitively (`""` and `b` are one byte).
pub fn size_unit_bytes(unit: &str) -> Option<u64> {
    let unit = unit.to_ascii_lowercase();
    SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, bytes)| bytes)
}

/// Parses a duration with its unit (`100ms`, `1.5s`, `250µs`, `15m`, `2h`, `1d`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text.trim());
    if number.is_empty() {
        return Err(format!(
            "expected a duration such as 500ms, 30s, 1m or 2h, not {text:?}"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "{text:?} needs a unit: {number}s, {number}ms or {number}m"
        ));
    }
    let scale = duration_unit_nanos(unit).ok_or_else(|| {
        format!("unknown unit {unit:?} in {text:?}: use ns, us, ms, s, m, h or d")
    })?;
    scaled(number, scale)
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("duration {text:?} is too large"))
}

/// Parses a size in bytes: a number with an optional unit (`4096`, `512MiB`, `1G`, `1.5GiB`,
/// `2 MB`), spaces between them allowed.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (number, unit) = split_number(trimmed);
    if number.is_empty() {
        return Err(format!(
            "invalid size {text:?}: expected a number with an optional unit, like 512MiB, 1G or \
             4096"
        ));
    }
    let unit = unit.trim();
    let scale = size_unit_bytes(unit).ok_or_else(|| {
        format!(
            "invalid size {text:?}: unknown unit {unit:?} (use B, K, M, G, T for powers of 1000, \
             or Ki, Mi, Gi, Ti — also KiB, MiB… — for powers of 1024)"
        )
    })?;
    scaled(number, scale).ok_or_else(|| format!("invalid size {text:?}: the number is too large"))
}

/// Splits `1.5ms` into `("1.5", "ms")`: the leading digits with at most one dot, and the rest.
pub fn split_number(text: &str) -> (&str, &str) {
    let mut seen_dot = false;
    let end = text
        .char_indices()
        .find(|&(_, c)| {
            if c == '.' && !seen_dot {
                seen_dot = true;
                return false;
            }
            !c.is_ascii_digit()
        })
        .map_or(text.len(), |(i, _)| i);
    (&text[..end], &text[end..])
}

/// `number` (digits, maybe one dot) times `scale`, truncated to an integer; `None` on overflow
/// or when there are no digits at all.
pub fn scaled(number: &str, scale: u64) -> Option<u64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    // u64 holds 19 digits; more is an overflow either way, and this bounds 10^len below.
    if whole.len() > 20 || fraction.len() > 20 {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = whole.checked_mul(u128::from(scale))?;
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().ok()?;
        let denominator = 10u128.checked_pow(fraction.len() as u32)?;
        total += digits.checked_mul(u128::from(scale))? / denominator;
    }
    u64::try_from(total).ok()
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

/// A time window (`30s`, `1m`, `2h`, `500ms`, `1d`), read as every duration is; `None` if
/// malformed.
pub fn parse_window(text: &str) -> Option<Duration> {
    parse_duration(text).ok()
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
        assert_eq!(parse_window("1.5m"), Some(Duration::from_secs(90)));
        for bad in ["", "m", "10", "10x", "-1m", "1.2.3s", "1é"] {
            assert_eq!(parse_window(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_have_one_grammar() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration(".5ms"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        let no_unit = parse_duration("100").expect_err("a unit is required");
        assert!(no_unit.contains("needs a unit"), "{no_unit}");
        let unit = parse_duration("3 fortnights").expect_err("unknown unit");
        assert!(unit.contains("unknown unit"), "{unit}");
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn sizes_follow_kubernetes_quantities() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1Gi"), Ok(1 << 30));
        assert_eq!(parse_size("1G"), Ok(1_000_000_000));
        assert_eq!(
            parse_size("1M"),
            Ok(1_000_000),
            "the filter language's 1M, too"
        );
        assert_eq!(parse_size("64k"), Ok(64_000));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("2 MB"), Ok(2_000_000));
        assert_eq!(parse_size(" 10gb "), Ok(10_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("7B"), Ok(7));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1Ti"), Ok(1 << 40));
    }

    #[test]
    fn sizes_refuse_with_a_reason() {
        let missing = parse_size("MiB").expect_err("no number");
        assert!(missing.contains("expected a number"), "{missing}");
        assert!(parse_size("").is_err());
        assert!(parse_size("-1M").is_err());
        let unit = parse_size("12 parsecs").expect_err("bad unit");
        assert!(unit.contains("unknown unit \"parsecs\""), "{unit}");
        let huge = parse_size("99999999999999999999").expect_err("overflow");
        assert!(huge.contains("too large"), "{huge}");
        assert!(parse_size("20000000TiB").is_err(), "overflow");
    }
}
