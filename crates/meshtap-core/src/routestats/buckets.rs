//! Quantiles from a cumulative histogram's buckets, told only as the bucket that holds them:
//! the route histogram has four bounds (50 ms, 500 ms, 1 s, 10 s), so "p99 ≤ 500 ms" is all it
//! can say — never an interpolated number that looks exact.

use std::fmt;

/// Cumulative counts by upper bound (`le`), in seconds; `+Inf` included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    /// (bound, cumulative count), unsorted until read.
    bounds: Vec<(f64, f64)>,
}

/// Where a quantile lies: at most a bound, or beyond the last finite one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Le {
    AtMost(f64),
    Above(f64),
}

impl Le {
    /// The bound in milliseconds (for JSON).
    pub fn bound_ms(self) -> f64 {
        match self {
            Le::AtMost(s) | Le::Above(s) => s * 1000.0,
        }
    }

    pub fn is_above(self) -> bool {
        matches!(self, Le::Above(_))
    }
}

impl fmt::Display for Le {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sign, s) = match *self {
            Le::AtMost(s) => ("≤ ", s),
            Le::Above(s) => ("> ", s),
        };
        if s >= 1.0 {
            write!(f, "{sign}{s}s")
        } else {
            write!(f, "{sign}{}ms", (s * 1000.0).round())
        }
    }
}

impl Buckets {
    /// Adds `count` to the bucket `le` (a label value such as "0.05" or "+Inf"); bad bounds are
    /// ignored.
    pub fn add(&mut self, le: &str, count: f64) {
        let Ok(bound) = le.parse::<f64>() else {
            return;
        };
        match self
            .bounds
            .iter_mut()
            .find(|(b, _)| b.total_cmp(&bound).is_eq())
        {
            Some((_, c)) => *c += count,
            None => self.bounds.push((bound, count)),
        }
    }

    /// Adds a bound in milliseconds (the legacy `response_latency_ms` histogram).
    pub fn add_ms(&mut self, le: &str, count: f64) {
        if let Ok(ms) = le.parse::<f64>() {
            self.add(&(ms / 1000.0).to_string(), count);
        }
    }

    /// Observations in the window (the `+Inf` bucket, else the largest).
    pub fn total(&self) -> f64 {
        self.sorted().last().map_or(0.0, |(_, c)| *c)
    }

    fn sorted(&self) -> Vec<(f64, f64)> {
        let mut v = self.bounds.clone();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    /// The smallest bound holding at least `q` of the observations; `None` without any.
    pub fn quantile(&self, q: f64) -> Option<Le> {
        let sorted = self.sorted();
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let want = q * total;
        let mut last_finite = 0.0;
        for (bound, cumulative) in &sorted {
            if bound.is_finite() {
                if *cumulative + 1e-9 >= want {
                    return Some(Le::AtMost(*bound));
                }
                last_finite = *bound;
            }
        }
        Some(Le::Above(last_finite))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(counts: [f64; 5]) -> Buckets {
        let mut b = Buckets::default();
        for (le, c) in ["0.05", "0.5", "1", "10", "+Inf"].iter().zip(counts) {
            b.add(le, c);
        }
        b
    }

    #[test]
    fn quantiles_are_bucket_bounds() {
        let b = route([90.0, 99.0, 100.0, 100.0, 100.0]);
        assert_eq!(b.quantile(0.5), Some(Le::AtMost(0.05)));
        assert_eq!(b.quantile(0.99), Some(Le::AtMost(0.5)));
        assert_eq!(b.quantile(0.999), Some(Le::AtMost(1.0)));
        assert_eq!(
            b.quantile(0.99).map(|l| l.to_string()),
            Some("≤ 500ms".into())
        );
    }

    #[test]
    fn beyond_the_last_bound_says_so() {
        let b = route([0.0, 0.0, 0.0, 10.0, 20.0]);
        assert_eq!(b.quantile(0.99), Some(Le::Above(10.0)));
        assert_eq!(
            b.quantile(0.99).map(|l| l.to_string()),
            Some("> 10s".into())
        );
        assert_eq!(b.quantile(0.4), Some(Le::AtMost(10.0)));
    }

    #[test]
    fn empty_has_no_quantile() {
        assert_eq!(Buckets::default().quantile(0.99), None);
        assert_eq!(route([0.0; 5]).quantile(0.5), None);
    }

    #[test]
    fn adding_the_same_bound_sums() {
        let mut b = route([1.0, 2.0, 3.0, 4.0, 5.0]);
        b.add("+Inf", 5.0);
        b.add("10", 4.0);
        b.add("bogus", 100.0);
        assert!((b.total() - 10.0).abs() < 1e-9);
        let mut ms = Buckets::default();
        ms.add_ms("50", 3.0);
        ms.add_ms("+Inf", 3.0);
        assert_eq!(ms.quantile(0.99), Some(Le::AtMost(0.05)));
    }
}
