//! `--from` / `--to`: a moment as RFC 3339 (`2026-11-30T12:00:00Z`) or relative to now (`-15m`,
//! `-2h`, `-30s`, `-1d`).

use chrono::{DateTime, Utc};

/// Parses a moment, relative ones against `now`.
pub fn parse_time_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let wrong = || format!("expected RFC 3339 (2026-11-30T12:00:00Z) or -15m, -2h, not {text:?}");
    let ago = text.strip_prefix('-').ok_or_else(wrong)?;
    let ago = crate::units::parse_duration(ago).map_err(|_| wrong())?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(wrong)
}

/// Parses a moment for the command line, relative to the wall clock.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    parse_time_at(text, Utc::now())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn absolute_and_relative_times() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 30, 12, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            parse_time_at("2026-11-30T11:00:00Z", now),
            Ok(now - chrono::Duration::hours(1))
        );
        assert_eq!(
            parse_time_at("-15m", now),
            Ok(now - chrono::Duration::minutes(15))
        );
        assert_eq!(
            parse_time_at("-30s", now),
            Ok(now - chrono::Duration::seconds(30))
        );
        assert_eq!(
            parse_time_at("-1d", now),
            Ok(now - chrono::Duration::days(1))
        );
        assert!(parse_time_at("15m", now).is_err());
        assert!(parse_time_at("-15y", now).is_err());
        assert!(
            parse_time_at("-1é", now).is_err(),
            "a multi-byte unit is refused, not a panic"
        );
        assert_eq!(
            parse_time_at("-1.5h", now),
            Ok(now - chrono::Duration::minutes(90))
        );
        assert!(parse_time_at("yesterday", now).is_err());
        for odd in ["-1é", "-ß", "-", "-1", "-é", "-1\u{202e}", "-\u{1F600}m"] {
            assert!(parse_time_at(odd, now).is_err(), "{odd}");
        }
    }
}
