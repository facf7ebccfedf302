//! `--stats` (headless and replay): what a run did, printed at its end: events decoded, requests
//! joined, bytes read, elapsed time, events per second, peak memory and evictions.
//!
//! The counts come from the store (`StoreStats`), the bytes from whoever read them (the replay
//! file's length, or a recorder's counter for a live tap); this only times and formats.

use std::fmt;
use std::time::{Duration, Instant};

use crate::model::store::StoreStats;

/// Started when the run starts; [`Stats::report`] at the end.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    started: Instant,
}

impl Default for Stats {
    fn default() -> Self {
        Self::start()
    }
}

impl Stats {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    /// The figures for a run that read `bytes` (when known) and left the store with `store`'s
    /// counters.
    pub fn report(&self, store: StoreStats, bytes: Option<u64>) -> Report {
        Report {
            events: store.events,
            requests: store.requests,
            bytes,
            elapsed: self.started.elapsed(),
            peak_rss_bytes: peak_rss_bytes(),
            evictions: store.evicted,
            evicted_by_memory: store.evicted_by_memory,
            expired: store.expired,
            superseded: store.superseded,
        }
    }
}

/// What `--stats` prints (to stderr, so it never mixes with an output format on stdout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    pub events: u64,
    pub requests: u64,
    /// `None` where the source cannot tell (a direct proxy tap).
    pub bytes: Option<u64>,
    pub elapsed: Duration,
    /// `VmHWM` from `/proc/self/status`; `None` where there is no procfs.
    pub peak_rss_bytes: Option<u64>,
    pub evictions: u64,
    /// Of `evictions`, those the `--max-memory` bound made.
    pub evicted_by_memory: u64,
    pub expired: u64,
    /// Requests closed because their stream id was reused before they ended.
    pub superseded: u64,
}

impl Report {
    pub fn events_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "events decoded   {}", self.events)?;
        writeln!(f, "requests joined  {}", self.requests)?;
        match self.bytes {
            Some(bytes) => writeln!(f, "bytes            {bytes} ({})", human(bytes))?,
            None => writeln!(f, "bytes            unknown")?,
        }
        writeln!(f, "elapsed          {:.3} s", self.elapsed.as_secs_f64())?;
        writeln!(f, "events/s         {:.0}", self.events_per_second())?;
        match self.peak_rss_bytes {
            Some(peak) => writeln!(f, "peak RSS         {} (VmHWM)", human(peak))?,
            None => writeln!(f, "peak RSS         unknown (no /proc/self/status)")?,
        }
        writeln!(
            f,
            "evictions        {} ({} by --max-memory)",
            self.evictions, self.evicted_by_memory
        )?;
        writeln!(f, "expired          {}", self.expired)?;
        write!(f, "superseded       {}", self.superseded)
    }
}

fn human(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// The process's peak resident set size, from `/proc/self/status`.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmHWM:",
    )
}

/// The current resident set size, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    status_kib(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmRSS:",
    )
}

/// A `Name:   1234 kB` line of a procfs status file, in bytes.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_procfs_lines() {
        let status = "Name:\tmeshtap\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(20 * 1024 * 1024));
        assert_eq!(status_kib(status, "VmRSS:"), Some(10 * 1024 * 1024));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn the_report_names_every_figure() {
        let report = Report {
            events: 3000,
            requests: 1000,
            bytes: Some(2 * 1024 * 1024),
            elapsed: Duration::from_secs(2),
            peak_rss_bytes: Some(30 * 1024 * 1024),
            evictions: 5,
            evicted_by_memory: 2,
            expired: 1,
            superseded: 0,
        };
        let text = report.to_string();
        for expected in [
            "events decoded   3000",
            "requests joined  1000",
            "2.0 MiB",
            "events/s         1500",
            "peak RSS         30.0 MiB",
            "evictions        5",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn this_process_has_a_peak() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        }
    }
}
