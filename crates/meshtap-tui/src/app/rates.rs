//! Events/s and requests/s over a short sliding window, from counters sampled on the frame tick.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

/// How far back the rates look: long enough to smooth batchy sources, short enough to react.
pub const RATE_WINDOW_SECS: i64 = 5;
/// Samples are taken at most this often.
const SAMPLE_EVERY_MS: i64 = 500;
/// Bound on samples held: the window divided by the sampling period, plus slack.
const RATE_SAMPLES_CAP: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    at: DateTime<Utc>,
    events: u64,
    requests: u64,
}

/// Per-second rates of the store's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rates {
    samples: VecDeque<Sample>,
}

impl Rates {
    /// Records the counters at `now`; returns whether the displayed rates may have changed.
    pub fn sample(&mut self, now: DateTime<Utc>, events: u64, requests: u64) -> bool {
        if let Some(last) = self.samples.back()
            && now - last.at < TimeDelta::milliseconds(SAMPLE_EVERY_MS)
        {
            return false;
        }
        self.samples.push_back(Sample {
            at: now,
            events,
            requests,
        });
        let window = TimeDelta::seconds(RATE_WINDOW_SECS);
        while self.samples.len() > RATE_SAMPLES_CAP
            || self.samples.front().is_some_and(|s| now - s.at > window)
        {
            self.samples.pop_front();
        }
        true
    }

    /// `(events/s, requests/s)`, zero until two samples exist.
    pub fn per_second(&self) -> (f64, f64) {
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return (0.0, 0.0);
        };
        let secs = (last.at - first.at).num_milliseconds() as f64 / 1000.0;
        if secs <= 0.0 {
            return (0.0, 0.0);
        }
        (
            last.events.saturating_sub(first.events) as f64 / secs,
            last.requests.saturating_sub(first.requests) as f64 / secs,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(ms)
    }

    #[test]
    fn rates_over_the_window() {
        let mut rates = Rates::default();
        assert_eq!(rates.per_second(), (0.0, 0.0));
        assert!(rates.sample(at(0), 0, 0));
        assert!(!rates.sample(at(100), 5, 1));
        assert!(rates.sample(at(1000), 300, 100));
        assert_eq!(rates.per_second(), (300.0, 100.0));
        for second in 2..20 {
            rates.sample(at(second * 1000), 300 * second as u64, 100 * second as u64);
        }
        assert_eq!(rates.per_second(), (300.0, 100.0));
        assert!(rates.samples.len() <= RATE_SAMPLES_CAP);
    }
}
