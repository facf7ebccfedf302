//! Moments in time for `since=` and `until=`: absolute (RFC 3339), a UTC time of day
//! (`16:49`, `16:49:05.250`), or relative to the session clock's now (`-2m`).
//!
//! A filter is evaluated against stored requests, so "now" is the session clock's: the wall clock
//! for a live tap, the latest event's time in a replay (`crate::session::Clock`). A time of day
//! is read in UTC, as every meshtap timestamp is shown, on the day that puts it nearest to now (so
//! `since=23:50` just after midnight means last night, and a replay of last week's capture reads
//! `16:49` on the capture's own day).

use std::fmt;

use chrono::{DateTime, NaiveTime, SecondsFormat, TimeDelta, Timelike as _, Utc};

use crate::units::{duration_unit_nanos, scaled, split_number};

const NANOS_PER_DAY: u64 = 86_400_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Moment {
    /// RFC 3339, kept in UTC.
    At(DateTime<Utc>),
    /// Nanoseconds after midnight UTC, on the day nearest to now.
    TimeOfDay(u64),
    /// This many nanoseconds before now.
    Ago(u64),
}

impl Moment {
    /// Reads `2026-12-02T16:49:00Z`, `16:49`, `16:49:05.25` or `-2m`; `what` names the field in
    /// errors.
    pub(super) fn parse(text: &str, what: &str) -> Result<Moment, String> {
        if let Some(ago) = text.strip_prefix('-') {
            return relative(ago, what).map(Moment::Ago);
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(Moment::At(at.with_timezone(&Utc)));
        }
        let time = NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"));
        match time {
            Ok(time) => {
                // A leap second's nanoseconds run past 1e9; it is still within its minute.
                let nanos = u64::from(time.num_seconds_from_midnight()) * 1_000_000_000
                    + u64::from(time.nanosecond());
                Ok(Moment::TimeOfDay(nanos.min(NANOS_PER_DAY - 1)))
            }
            Err(_) => Err(format!(
                "expected a time like 16:49:00 (UTC), 2026-12-02T16:49:00Z or -2m, found {text:?}"
            )),
        }
    }

    /// Whether the moment moves with the clock (so a view filtered on it must be re-checked as
    /// time passes).
    pub(super) fn follows_clock(self) -> bool {
        !matches!(self, Moment::At(_))
    }

    /// The instant this moment names when the session clock reads `now`.
    pub(super) fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Moment::At(at) => at,
            Moment::Ago(nanos) => now - delta(nanos),
            Moment::TimeOfDay(nanos) => {
                let midnight = now
                    .with_time(NaiveTime::MIN)
                    .single()
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                let at = midnight + delta(nanos);
                let half_day = TimeDelta::hours(12);
                if at - now > half_day {
                    at - TimeDelta::days(1)
                } else if now - at > half_day {
                    at + TimeDelta::days(1)
                } else {
                    at
                }
            }
        }
    }
}

/// `2m` (after the `-`) in nanoseconds; a unit is required, as for latencies.
fn relative(text: &str, what: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text);
    if number.is_empty() {
        return Err(format!(
            "expected a relative {what} time like -2m, found \"-{text}\""
        ));
    }
    if unit.is_empty() {
        return Err(format!("{what} needs a unit: -{number}m"));
    }
    let scale = duration_unit_nanos(unit)
        .ok_or_else(|| format!("unknown unit {unit:?} in {what}: use ns, us, ms, s, m, h or d"))?;
    // Past a century nothing is held anyway; the bound keeps `now - ago` in chrono's range.
    scaled(number, scale)
        .filter(|&n| n <= 36_500 * NANOS_PER_DAY)
        .ok_or_else(|| format!("{what} \"-{text}\" is too far back"))
}

/// Nanoseconds as a chrono delta (they fit: parsing bounds them to a century).
pub(super) fn delta(nanos: u64) -> TimeDelta {
    TimeDelta::nanoseconds(i64::try_from(nanos).unwrap_or(i64::MAX))
}

impl fmt::Display for Moment {
    /// Text that parses back to the same moment, in the words it was most likely written in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Moment::At(at) => f.write_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Moment::Ago(nanos) => {
                f.write_str("-")?;
                write_span(f, nanos)
            }
            Moment::TimeOfDay(nanos) => {
                let secs = nanos / 1_000_000_000;
                let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
                write!(f, "{h:02}:{m:02}:{s:02}")?;
                let fraction = nanos % 1_000_000_000;
                if fraction > 0 {
                    let digits = format!("{fraction:09}");
                    write!(f, ".{}", digits.trim_end_matches('0'))?;
                }
                Ok(())
            }
        }
    }
}

/// A span in the largest unit that holds it exactly, minutes and hours included (`2m`, `90s`,
/// `1500ms`), so the text parses back to the same value.
pub(super) fn write_span(f: &mut fmt::Formatter<'_>, nanos: u64) -> fmt::Result {
    const UNITS: [(u64, &str); 6] = [
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
    ];
    for (size, unit) in UNITS {
        if nanos > 0 && nanos.is_multiple_of(size) {
            return write!(f, "{}{unit}", nanos / size);
        }
    }
    write!(f, "{nanos}ns")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, h, m, s)
            .single()
            .expect("time")
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(
            Moment::parse("2026-12-02T16:49:00Z", "since"),
            Ok(Moment::At(at(16, 49, 0)))
        );
        assert_eq!(
            Moment::parse("2026-12-02T17:49:00+01:00", "since"),
            Ok(Moment::At(at(16, 49, 0)))
        );
        assert_eq!(
            Moment::parse("16:49", "since"),
            Ok(Moment::TimeOfDay(60_540_000_000_000))
        );
        assert_eq!(
            Moment::parse("16:49:05.25", "since"),
            Ok(Moment::TimeOfDay(60_545_250_000_000))
        );
        assert_eq!(
            Moment::parse("-2m", "since"),
            Ok(Moment::Ago(120_000_000_000))
        );
        assert_eq!(
            Moment::parse("-1.5s", "since"),
            Ok(Moment::Ago(1_500_000_000))
        );
    }

    #[test]
    fn bad_moments_say_what_was_expected() {
        let err = |text: &str| Moment::parse(text, "since").expect_err(text);
        assert!(err("yesterday").starts_with("expected a time like 16:49:00"));
        assert!(err("25:00").starts_with("expected a time like"));
        assert!(err("16:61").starts_with("expected a time like"));
        assert_eq!(err("-2"), "since needs a unit: -2m");
        assert!(err("-2y").starts_with("unknown unit \"y\""));
        assert!(err("-m").starts_with("expected a relative since time"));
        assert!(err("-99999999d").ends_with("is too far back"));
    }

    #[test]
    fn a_time_of_day_is_read_on_the_day_nearest_now() {
        let moment = Moment::parse("23:50", "since").expect("parses");
        // Ten past midnight: 23:50 was twenty minutes ago, yesterday.
        assert_eq!(
            moment.resolve(at(0, 10, 0)),
            at(23, 50, 0) - TimeDelta::days(1)
        );
        assert_eq!(moment.resolve(at(22, 0, 0)), at(23, 50, 0));
        let early = Moment::parse("00:05", "until").expect("parses");
        // Late in the evening, 00:05 is the coming night's.
        assert_eq!(
            early.resolve(at(23, 0, 0)),
            at(0, 5, 0) + TimeDelta::days(1)
        );
        assert!(early.follows_clock());
        assert!(!Moment::At(at(1, 0, 0)).follows_clock());
    }

    #[test]
    fn relative_moments_count_back_from_now() {
        let moment = Moment::parse("-90s", "since").expect("parses");
        assert_eq!(moment.resolve(at(12, 0, 0)), at(11, 58, 30));
    }

    #[test]
    fn text_parses_back_to_the_same_moment() {
        for text in [
            "2026-12-02T16:49:00Z",
            "2026-12-02T16:49:00.125Z",
            "16:49:00",
            "16:49:05.25",
            "-2m",
            "-90s",
            "-1500ms",
            "-3h",
            "-7ns",
        ] {
            let moment = Moment::parse(text, "since").expect(text);
            assert_eq!(moment.to_string(), text);
        }
        assert_eq!(
            Moment::parse("16:49", "since").expect("parses").to_string(),
            "16:49:00"
        );
    }
}
