//! Reconnect delays: exponential, jittered (so many meshtaps don't reconnect in lockstep after a
//! control-plane restart), capped.

use std::time::Duration;

pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(seed: u64) -> Self {
        Self {
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The next delay: uniformly in [d/2, d] where d doubles per attempt up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = BACKOFF_FIRST
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(BACKOFF_CAP);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let jitter = self.next_random() % (half.as_millis() as u64 + 1);
        half + Duration::from_millis(jitter)
    }

    /// A stream that worked resets the schedule.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: plenty for jitter.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_jittered_and_cap() {
        let mut backoff = Backoff::new(42);
        let delays: Vec<_> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= BACKOFF_FIRST / 2 && delays[0] <= BACKOFF_FIRST);
        assert!(delays[3] >= BACKOFF_FIRST * 4 && delays[3] <= BACKOFF_FIRST * 8);
        assert!(delays.iter().all(|d| *d <= BACKOFF_CAP));
        assert!(delays[11] >= BACKOFF_CAP / 2);
        backoff.reset();
        assert!(backoff.next_delay() <= BACKOFF_FIRST);
    }
}
