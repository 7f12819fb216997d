//! The retry budget: retries may add at most `ratio` of the first-attempt traffic, plus a
//! small floor per second, so an outage does not turn into a retry storm.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use switchyard_config::RetryBudget;
use tokio::time::Instant;

/// A token bucket filled by first attempts and by time, drained by retries.
#[derive(Debug)]
pub struct RetryBucket {
    policy: RetryBudget,
    state: Mutex<(f64, Option<Instant>)>,
    /// The bucket is full (kept under the lock): a first attempt's deposit, which could not
    /// add anything, then reads this flag instead of taking the lock and the clock. Time
    /// cannot add to a full bucket either, so skipping the refill loses nothing.
    full: AtomicBool,
}

impl RetryBucket {
    /// A full bucket.
    pub fn new(policy: RetryBudget) -> Self {
        Self {
            policy,
            state: Mutex::new((Self::cap_of(&policy), None)),
            full: AtomicBool::new(true),
        }
    }

    fn cap_of(p: &RetryBudget) -> f64 {
        (p.min_per_second * 10.0).max(10.0)
    }

    fn with<T>(&self, f: impl FnOnce(&mut f64) -> T) -> T {
        let mut g = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        let cap = Self::cap_of(&self.policy);
        if let Some(last) = g.1 {
            let secs = now.saturating_duration_since(last).as_secs_f64();
            g.0 = (g.0 + secs * self.policy.min_per_second).min(cap);
        }
        g.1 = Some(now);
        let out = f(&mut g.0);
        self.full.store(g.0 >= cap, Ordering::Relaxed);
        out
    }

    /// A first attempt deposits `ratio`.
    pub fn deposit(&self) {
        if self.full.load(Ordering::Relaxed) {
            return;
        }
        let cap = Self::cap_of(&self.policy);
        let ratio = self.policy.ratio;
        self.with(|t| *t = (*t + ratio).min(cap));
    }

    /// Takes one retry token; false when the budget is spent.
    pub fn try_withdraw(&self) -> bool {
        self.with(|t| {
            if *t >= 1.0 {
                *t -= 1.0;
                true
            } else {
                false
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn budget_limits_retries_to_a_share_of_traffic() {
        let b = RetryBucket::new(RetryBudget {
            ratio: 0.2,
            min_per_second: 0.0,
        });
        // Starts with 10 tokens of burst.
        let mut allowed = 0;
        for _ in 0..100 {
            b.deposit();
            if b.try_withdraw() {
                allowed += 1;
            }
        }
        // 10 burst + 0.2 × 100 deposits = 30 at most.
        assert!((25..=30).contains(&allowed), "{allowed}");
    }
}
