//! Compact number formats for the stats panes: columns are narrow, so every value fits in six
//! characters.

use crate::model::routes::ERROR_RATE_SCALE;

/// `999`, `1.2k`, `45k`, `1.3M`.
pub fn count(n: u64) -> String {
    scaled(n as f64, &["", "k", "M", "G", "T"], 1_000.0)
}

/// `1.2kB`, `45MB`.
pub fn bytes(n: u64) -> String {
    let mut s = scaled(n as f64, &["B", "kB", "MB", "GB", "TB"], 1_000.0);
    if n < 1_000 {
        s.truncate(s.len().saturating_sub(1));
        s.push('B');
    }
    s
}

fn scaled(mut value: f64, units: &[&str], step: f64) -> String {
    let mut unit = 0;
    while value >= step * 0.9995 && unit + 1 < units.len() {
        value /= step;
        unit += 1;
    }
    let suffix = units.get(unit).copied().unwrap_or("");
    if unit == 0 {
        format!("{value:.0}{suffix}")
    } else if value < 9.95 {
        format!("{value:.1}{suffix}")
    } else {
        format!("{value:.0}{suffix}")
    }
}

/// `1 edge`, `3 edges`: a count with its noun, singular only for one.
pub fn counted(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// Requests per second: `0`, `0.4`, `12`, `1.2k`.
pub fn rps(value: f64) -> String {
    if value <= 0.0 {
        "0".to_owned()
    } else if value < 9.95 {
        format!("{value:.1}")
    } else if value < 999.5 {
        format!("{value:.0}")
    } else {
        count(value.round() as u64)
    }
}

/// `100%`, `99.2%`, `0.0%`: rounded to the nearest tenth as any script would (119/120 is
/// 99.2%), except that a rate that is not 100 never shows as `100%` (it stops at `99.9%`) and
/// one that is not 0 never shows as `0.0%` (it starts at `0.1%`): one failure in ten thousand
/// must not read as none.
pub fn percent(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct >= 100.0 {
        return "100%".to_owned();
    }
    if pct <= 0.0 {
        return "0.0%".to_owned();
    }
    // The epsilon keeps 0.9925 (stored as 99.2499…) rounding up like its decimal spelling.
    let tenths = ((pct * 10.0 + 1e-9).round() / 10.0).clamp(0.1, 99.9);
    format!("{tenths:.1}%")
}

/// Microseconds as `850µs`, `4.1ms`, `42ms`, `1.5s`, `12s`, `3m20s`.
pub fn latency(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..9_950 => format!("{:.1}ms", us as f64 / 1e3),
        9_950..999_500 => format!("{:.0}ms", us as f64 / 1e3),
        999_500..9_950_000 => format!("{:.1}s", us as f64 / 1e6),
        9_950_000..99_500_000 => format!("{:.0}s", us as f64 / 1e6),
        _ => {
            let secs = us / 1_000_000;
            format!("{}m{:02}s", secs / 60, secs % 60)
        }
    }
}

/// One block character per value, scaled to the largest; zero is a space-like low bar.
pub fn sparkline(values: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v == 0 || max == 0 {
                ' '
            } else {
                let level = (u64::from(v) * 7 / u64::from(max)) as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

/// An error-rate sparkline: one bar per second in [`ERROR_RATE_SCALE`]ths, a full block for
/// 100% and the lowest bar for any failure at all, so the height reads the same on every row
/// (unlike the RPS sparkline, scaled to its own busiest second); a second without failures is
/// blank.
pub fn error_sparkline(values: &[u16]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let scale = u32::from(ERROR_RATE_SCALE);
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                let level = (u32::from(v) * 8).div_ceil(scale).saturating_sub(1) as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_sparkline_reads_the_rate_on_one_scale() {
        let full = ERROR_RATE_SCALE;
        assert_eq!(
            error_sparkline(&[0, 1, full / 8, full / 8 + 1, full / 2, full - 1, full]),
            " ▁▁▂▄██"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234), "1.2k");
        assert_eq!(count(45_678), "46k");
        assert_eq!(count(999_999), "1.0M");
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1_254), "1.3kB");
        assert_eq!(rps(0.0), "0");
        assert_eq!(rps(0.45), "0.5");
        assert_eq!(rps(123.4), "123");
        assert_eq!(rps(12_345.0), "12k");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99999), "99.9%");
        assert_eq!(percent(0.5), "50.0%");
        // Rounded, not cut: 119/120 and 201/227 as jq prints them.
        assert_eq!(percent(119.0 / 120.0), "99.2%");
        assert_eq!(percent(31.0 / 35.0), "88.6%");
        assert_eq!(percent(0.9925), "99.3%");
        assert_eq!(percent(0.00001), "0.1%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(latency(850), "850µs");
        assert_eq!(latency(4_120), "4.1ms");
        assert_eq!(latency(42_000), "42ms");
        assert_eq!(latency(1_500_000), "1.5s");
        assert_eq!(latency(200_000_000), "3m20s");
        assert_eq!(sparkline(&[0, 1, 7, 14]), " ▁▄█");
        assert_eq!(percent(0.995), "99.5%");
        assert_eq!(sparkline(&[0, 0]), "  ");
    }
}
