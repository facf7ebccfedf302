//! Per-route counters and latency histograms, over the whole capture and over rolling windows.
//!
//! Precision, chosen to stay small and bounded per route:
//! - counts, failures, bytes and max latency: exact, per second, for the last [`RING_SECONDS`]
//!   (the RPS and error-rate sparklines read them);
//! - latency percentiles, one method in every window: HDR histograms with
//!   [`LATENCY_SIGNIFICANT_DIGITS`] significant digits, each percentile the value at that rank
//!   reported at the middle of its bucket (within ±0.4%), never above the window's exact
//!   maximum. The whole capture has one histogram; the rolling windows merge one per
//!   [`SLOT_SECONDS`]-second slot, so "last 10 s" covers 10–20 s and "last 1 min" 60–70 s of
//!   latencies — over the same requests, every window shows the same figures;
//! - requests per second: the window's requests over the window's length, or over the time
//!   since the capture started when that is shorter (the whole capture: its requests over its
//!   length), so `RPS × seconds = Reqs`.
//!
//! Histograms auto-resize to the largest latency seen, so a route answering in milliseconds costs
//! a few kilobytes. Latency is in microseconds (what the tap events carry, at most).

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;

use super::Window;
use crate::model::event::Eos;
use crate::model::request::Request;

/// Seconds of per-second counters kept (also the sparkline length).
pub const RING_SECONDS: usize = 60;
/// What an error rate of 100% is in [`RouteStats::error_sparkline`] (thousandths).
pub const ERROR_RATE_SCALE: u16 = 1000;
/// Width of one window-latency slot.
pub const SLOT_SECONDS: i64 = 10;
/// Enough slots to cover a minute that does not start on a slot boundary.
const SLOTS: usize = 7;
/// Precision of every latency histogram (capture and slots alike), so percentiles are computed
/// one way whatever the window.
pub const LATENCY_SIGNIFICANT_DIGITS: u8 = 2;

/// An empty histogram for merging window slots into (a scratch reused between rows).
pub fn latency_scratch() -> Option<Histogram<u32>> {
    Histogram::new(LATENCY_SIGNIFICANT_DIGITS).ok()
}

/// How many slowest and failing requests a route remembers for its detail view.
pub const KEPT_SAMPLES: usize = 8;
/// Distinct HTTP status codes counted per route; rarer ones are summed as "other".
const MAX_STATUS_CODES: usize = 24;

#[derive(Clone, Copy, Debug)]
struct Second {
    epoch: i64,
    requests: u32,
    failures: u32,
    classified: u32,
    bytes: u64,
    max_us: u64,
}

impl Second {
    const EMPTY: Second = Second {
        epoch: i64::MIN,
        requests: 0,
        failures: 0,
        classified: 0,
        bytes: 0,
        max_us: 0,
    };
}

#[derive(Debug)]
struct Slot {
    tag: i64,
    latency: Histogram<u32>,
}

/// One remembered request, for the route detail view (jump to it by `seq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub seq: u64,
    /// When the request started (capture clock, UTC), as the requests pane shows it.
    pub started: DateTime<Utc>,
    pub latency_us: Option<u64>,
    pub http_status: Option<u32>,
    pub eos: Option<Eos>,
    pub expired: bool,
}

/// Totals for one route over a window, ready to display.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    pub requests: u64,
    /// `requests` over the window's length (or the capture's, when it is shorter).
    pub rps: f64,
    /// `None` when no request in the window has a known outcome.
    pub success_rate: Option<f64>,
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct RouteStats {
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    pub bytes: u64,
    pub max_us: u64,
    /// Latencies the histogram could not hold (absurdly large values).
    pub unrecorded: u64,
    capture: Option<Histogram<u64>>,
    seconds: Box<[Second; RING_SECONDS]>,
    slots: [Option<Slot>; SLOTS],
    pub statuses: Vec<(u32, u64)>,
    pub other_statuses: u64,
    pub grpc: [u64; 17],
    pub grpc_other: u64,
    pub resets: u64,
    pub no_response: u64,
    pub slowest: Vec<Sample>,
    pub failing: Vec<Sample>,
    /// Index into `failing` of the oldest entry once it is full (a small ring).
    failing_next: usize,
}

impl RouteStats {
    pub fn new() -> Self {
        Self {
            requests: 0,
            successes: 0,
            failures: 0,
            bytes: 0,
            max_us: 0,
            unrecorded: 0,
            capture: Histogram::new(LATENCY_SIGNIFICANT_DIGITS).ok(),
            seconds: Box::new([Second::EMPTY; RING_SECONDS]),
            slots: Default::default(),
            statuses: Vec::new(),
            other_statuses: 0,
            grpc: [0; 17],
            grpc_other: 0,
            resets: 0,
            no_response: 0,
            slowest: Vec::with_capacity(KEPT_SAMPLES),
            failing: Vec::with_capacity(KEPT_SAMPLES),
            failing_next: 0,
        }
    }

    /// Adds one finished (or expired) request. Allocates only when a latency larger than any
    /// before it makes a histogram grow, or a status code is seen for the first time.
    pub fn record(&mut self, request: &Request) {
        let epoch = request.started.timestamp();
        let latency_us = request
            .latency()
            .or_else(|| request.duration())
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let success = request.success();
        let bytes = request.response_bytes().unwrap_or(0);

        self.requests += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        match success {
            Some(true) => self.successes += 1,
            Some(false) => self.failures += 1,
            None => {}
        }
        self.count_outcome(request);

        let second = &mut self.seconds[ring_index(epoch, RING_SECONDS)];
        if second.epoch < epoch {
            *second = Second {
                epoch,
                ..Second::EMPTY
            };
        }
        // An older second already overwritten by newer data is counted in the capture only.
        if second.epoch == epoch {
            second.requests += 1;
            second.bytes = second.bytes.saturating_add(bytes);
            if let Some(ok) = success {
                second.classified += 1;
                second.failures += u32::from(!ok);
            }
            if let Some(us) = latency_us {
                second.max_us = second.max_us.max(us);
            }
        }

        let Some(us) = latency_us else { return };
        self.max_us = self.max_us.max(us);
        if let Some(capture) = &mut self.capture
            && capture.record(us).is_err()
        {
            self.unrecorded += 1;
        }
        self.record_slot(epoch, us);
        self.remember(request, us, success == Some(false));
    }

    fn record_slot(&mut self, epoch: i64, us: u64) {
        let tag = epoch.div_euclid(SLOT_SECONDS);
        let entry = &mut self.slots[ring_index(tag, SLOTS)];
        match entry {
            Some(slot) if slot.tag == tag => {}
            Some(slot) if slot.tag < tag => {
                slot.tag = tag;
                slot.latency.reset();
            }
            Some(_) => return,
            None => {
                let Ok(latency) = Histogram::new(LATENCY_SIGNIFICANT_DIGITS) else {
                    return;
                };
                *entry = Some(Slot { tag, latency });
            }
        }
        if let Some(slot) = entry
            && slot.latency.record(us).is_err()
        {
            self.unrecorded += 1;
        }
    }

    fn count_outcome(&mut self, request: &Request) {
        match request.http_status() {
            Some(code) => {
                if let Some(entry) = self.statuses.iter_mut().find(|(c, _)| *c == code) {
                    entry.1 += 1;
                } else if self.statuses.len() < MAX_STATUS_CODES {
                    self.statuses.push((code, 1));
                } else {
                    self.other_statuses += 1;
                }
            }
            None => self.no_response += 1,
        }
        match request.eos() {
            Some(Eos::Grpc(code)) => match self.grpc.get_mut(code as usize) {
                Some(count) => *count += 1,
                None => self.grpc_other += 1,
            },
            Some(Eos::Reset(_)) => self.resets += 1,
            None => {}
        }
    }

    fn remember(&mut self, request: &Request, us: u64, failed: bool) {
        let sample = Sample {
            seq: request.seq,
            started: request.started,
            latency_us: Some(us),
            http_status: request.http_status(),
            eos: request.eos(),
            expired: request.expired,
        };
        // Slowest first; ties keep the earlier request.
        let slower = |s: &Sample| s.latency_us.unwrap_or(0) >= us;
        let at = self.slowest.iter().take_while(|s| slower(s)).count();
        if at < KEPT_SAMPLES {
            if self.slowest.len() == KEPT_SAMPLES {
                self.slowest.pop();
            }
            self.slowest.insert(at, sample);
        }
        if failed {
            if self.failing.len() < KEPT_SAMPLES {
                self.failing.push(sample);
            } else {
                self.failing[self.failing_next] = sample;
                self.failing_next = (self.failing_next + 1) % KEPT_SAMPLES;
            }
        }
    }

    /// The most recent failing requests, newest first.
    pub fn recent_failures(&self) -> impl Iterator<Item = &Sample> {
        let (older, newer) = self
            .failing
            .split_at(self.failing_next.min(self.failing.len()));
        older.iter().rev().chain(newer.iter().rev())
    }

    /// The capture-wide latency histogram.
    pub fn latency(&self) -> Option<&Histogram<u64>> {
        self.capture.as_ref()
    }

    /// Requests per second over the last `RING_SECONDS`, oldest first, ending at `now`.
    pub fn sparkline(&self, now: DateTime<Utc>) -> [u32; RING_SECONDS] {
        self.per_second(now, |s| s.requests)
    }

    /// Each second's error rate over the last `RING_SECONDS`, oldest first, ending at `now`: its
    /// failures (the success column's classification) in [`ERROR_RATE_SCALE`]ths of its
    /// classified requests, rounded up so one failure never reads as none; 0 for a second
    /// without any.
    pub fn error_sparkline(&self, now: DateTime<Utc>) -> [u16; RING_SECONDS] {
        self.per_second(now, |s| {
            let scaled = u64::from(s.failures) * u64::from(ERROR_RATE_SCALE);
            let rate = scaled.div_ceil(u64::from(s.classified.max(1)));
            u16::try_from(rate).unwrap_or(ERROR_RATE_SCALE)
        })
    }

    /// `value` of each of the last `RING_SECONDS` seconds ending at `now`, oldest first; the
    /// default for a second with no request.
    fn per_second<T: Copy + Default>(
        &self,
        now: DateTime<Utc>,
        value: impl Fn(&Second) -> T,
    ) -> [T; RING_SECONDS] {
        let now = now.timestamp();
        let mut out = [T::default(); RING_SECONDS];
        let mut epoch = now - i64::try_from(RING_SECONDS).unwrap_or(0);
        for slot in &mut out {
            epoch += 1;
            let second = &self.seconds[ring_index(epoch, RING_SECONDS)];
            if second.epoch == epoch {
                *slot = value(second);
            }
        }
        out
    }

    /// Totals over `window` ending at `now`, for a capture that began at `started` (the rates'
    /// denominator when it is shorter than the window). `scratch` (see [`latency_scratch`]) is
    /// reused between routes so a frame does not allocate a histogram per row.
    pub fn summary(
        &self,
        now: DateTime<Utc>,
        window: Window,
        started: Option<DateTime<Utc>>,
        scratch: &mut Histogram<u32>,
    ) -> Summary {
        let (mut summary, max_us) = self.totals(now, window, started);
        let (p50_us, p95_us, p99_us) = match window.seconds() {
            None => percentiles(self.capture.as_ref(), max_us),
            Some(span) => {
                let now = now.timestamp();
                scratch.reset();
                let first_tag = (now - span + 1).div_euclid(SLOT_SECONDS);
                let last_tag = now.div_euclid(SLOT_SECONDS);
                for slot in self.slots.iter().flatten() {
                    if (first_tag..=last_tag).contains(&slot.tag) {
                        // Adding only fails when the target cannot grow; the row then shows
                        // fewer data.
                        scratch.add(&slot.latency).ok();
                    }
                }
                percentiles(Some(&*scratch), max_us)
            }
        };
        summary.p50_us = p50_us;
        summary.p95_us = p95_us;
        summary.p99_us = p99_us;
        summary.max_us = p50_us.map(|_| max_us);
        summary
    }

    /// [`RouteStats::summary`] without the latencies (`None`): only counters are summed, no
    /// histogram is merged, so it is cheap enough for every edge of a large map every frame.
    pub fn counts(
        &self,
        now: DateTime<Utc>,
        window: Window,
        started: Option<DateTime<Utc>>,
    ) -> Summary {
        self.totals(now, window, started).0
    }

    /// The counters over `window` (latencies left `None`) and the window's longest latency.
    fn totals(
        &self,
        now: DateTime<Utc>,
        window: Window,
        started: Option<DateTime<Utc>>,
    ) -> (Summary, u64) {
        let seconds = seconds_covered(now, window, started);
        let per_second = |requests: u64| {
            if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            }
        };
        let now = now.timestamp();
        let Some(span) = window.seconds() else {
            let classified = self.successes + self.failures;
            let summary = Summary {
                requests: self.requests,
                rps: per_second(self.requests),
                success_rate: rate(self.successes, classified),
                p50_us: None,
                p95_us: None,
                p99_us: None,
                max_us: None,
                bytes: self.bytes,
            };
            return (summary, self.max_us);
        };
        let totals = self.seconds_since(now, span);
        let classified = u64::from(totals.classified);
        let summary = Summary {
            requests: u64::from(totals.requests),
            rps: per_second(u64::from(totals.requests)),
            success_rate: rate(classified - u64::from(totals.failures), classified),
            p50_us: None,
            p95_us: None,
            p99_us: None,
            max_us: None,
            bytes: totals.bytes,
        };
        (summary, totals.max_us)
    }

    /// Sums the per-second counters of the `span` seconds ending at `now`.
    fn seconds_since(&self, now: i64, span: i64) -> Second {
        let mut total = Second::EMPTY;
        for second in self.seconds.iter() {
            if second.epoch > now - span && second.epoch <= now {
                total.requests += second.requests;
                total.failures += second.failures;
                total.classified += second.classified;
                total.bytes = total.bytes.saturating_add(second.bytes);
                total.max_us = total.max_us.max(second.max_us);
            }
        }
        total
    }
}

impl Default for RouteStats {
    fn default() -> Self {
        Self::new()
    }
}

/// The seconds `window` ending at `now` stands for: its length, cut to the time since the
/// capture `started` (at least one second, so a first request is not a burst); the whole
/// capture's is that time alone. Unknown start: the window's length (0 for the whole capture).
pub fn seconds_covered(now: DateTime<Utc>, window: Window, started: Option<DateTime<Utc>>) -> f64 {
    let elapsed = started.map(|s| ((now - s).num_milliseconds() as f64 / 1e3).max(1.0));
    match (window.seconds(), elapsed) {
        (Some(span), Some(elapsed)) => (span as f64).min(elapsed),
        (Some(span), None) => span as f64,
        (None, Some(elapsed)) => elapsed,
        (None, None) => 0.0,
    }
}

/// Position of `n` in a ring of `len` slots (`len` is a small constant).
fn ring_index(n: i64, len: usize) -> usize {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    usize::try_from(n.rem_euclid(len)).unwrap_or(0)
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// p50, p95 and p99 in one pass, each reported at the middle of its HDR bucket (but never above
/// the exact maximum, so a single request shows the same value in every column).
fn percentiles<C: hdrhistogram::Counter>(
    hist: Option<&Histogram<C>>,
    max_us: u64,
) -> (Option<u64>, Option<u64>, Option<u64>) {
    let Some(hist) = hist.filter(|h| !h.is_empty()) else {
        return (None, None, None);
    };
    let mut values = hist
        .value_at_quantiles([0.5, 0.95, 0.99])
        .map(|v| hist.median_equivalent(v).min(max_us));
    (values.next(), values.next(), values.next())
}
