//! A small token-bucket limiter shared by every host of a run (and by anything else that
//! holds the same `Arc`).
//!
//! DigitalOcean allows 250 requests per minute per token (a sliding window; plus 5,000 per
//! hour), Dyn 300 per minute per account (breaching it locks the whole account out for up to
//! 60 s). A bucket of capacity `C` refilled at `r` per second grants at most `C + 60·r`
//! requests in **any** 60-second window, so [`RateBudget::per_minute`] picks
//! `C = limit / 5` and `r = (limit − C) / 60`: bursts stay quick and the provider's window
//! is never exceeded.
//!
//! Waiters reserve a token (the count may go negative) and sleep outside the lock, so they are
//! served in arrival order and no lock is held across an await.
//!
//! The refill rate is validated ([`RateBudget::new`] refuses NaN, infinite and negative
//! rates), and a lock poisoned by a panicking holder is recovered rather than treated as
//! "no limit": the budget stays enforced.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket.
#[derive(Debug)]
pub struct RateBudget {
    name: &'static str,
    capacity: f64,
    per_sec: f64,
    state: std::sync::Mutex<(f64, Instant)>,
    granted: AtomicU64,
}

impl RateBudget {
    /// A bucket with `capacity` tokens (at least 1) refilled at `per_sec` tokens per second;
    /// `per_sec == 0` means unlimited.
    ///
    /// A rate that is NaN, infinite or negative is [`Error::Precondition`](crate::Error):
    /// such a budget would either panic on its first wait or silently limit nothing.
    pub fn new(name: &'static str, capacity: u32, per_sec: f64) -> crate::Result<Self> {
        if !per_sec.is_finite() || per_sec < 0.0 {
            return Err(crate::Error::Precondition(format!(
                "rate budget `{name}`: the refill rate must be a finite number of requests per \
                 second, 0 (unlimited) or more; got {per_sec}"
            )));
        }
        Ok(Self::with_valid_rate(name, capacity, per_sec))
    }

    /// [`RateBudget::new`] for a rate known to be finite and ≥ 0.
    fn with_valid_rate(name: &'static str, capacity: u32, per_sec: f64) -> Self {
        let capacity = f64::from(capacity.max(1));
        RateBudget {
            name,
            capacity,
            per_sec,
            state: std::sync::Mutex::new((capacity, Instant::now())),
            granted: AtomicU64::new(0),
        }
    }

    /// Never exceeds `limit` requests in any 60-second window (see the module docs).
    pub fn per_minute(name: &'static str, limit: u32) -> Self {
        let limit = limit.max(2);
        let burst = (limit / 5).max(1);
        // limit ≥ 2 and burst ≤ limit / 5: a finite rate > 0.
        Self::with_valid_rate(name, burst, f64::from(limit - burst) / 60.0)
    }

    /// No limit (counts calls only).
    pub fn unlimited(name: &'static str) -> Self {
        Self::with_valid_rate(name, 1, 0.0)
    }

    /// DigitalOcean's API: 250 per minute.
    pub fn digitalocean() -> Self {
        Self::per_minute("digitalocean", 250)
    }

    /// Dyn's API: 300 per minute, account-wide.
    pub fn dyn_dns() -> Self {
        Self::per_minute("dyn", 300)
    }

    /// The name given at construction.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many calls were granted so far.
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        self.granted.fetch_add(1, Ordering::Relaxed);
        if self.per_sec <= 0.0 {
            return;
        }
        let wait = {
            // A panic elsewhere while holding the lock must not switch the budget off: the
            // state is two numbers, still meaningful, so take it back.
            let mut st = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            if !st.0.is_finite() {
                // Cannot happen with a validated rate; never let it turn into a panic.
                st.0 = 0.0;
            }
            let elapsed = now.saturating_duration_since(st.1).as_secs_f64();
            st.0 = (st.0 + elapsed * self.per_sec).min(self.capacity);
            st.1 = now;
            st.0 -= 1.0;
            if st.0 >= 0.0 {
                None
            } else {
                // A tiny rate can ask for more than `Duration` holds: wait "for ever".
                Some(Duration::try_from_secs_f64(-st.0 / self.per_sec).unwrap_or(Duration::MAX))
            }
        };
        if let Some(w) = wait {
            tracing::debug!(
                budget = self.name,
                wait_ms = w.as_millis() as u64,
                "rate budget: waiting"
            );
            tokio::time::sleep(w).await;
        }
    }
}

/// The budgets a run draws from, one per port.
#[derive(Debug, Clone)]
pub struct Budgets {
    /// Compute calls.
    pub compute: Arc<RateBudget>,
    /// DNS calls. For DigitalOcean Domains, use the same `Arc` as `compute`
    /// ([`Budgets::digitalocean_dns`]). Unlimited by default: Dyn's limit is kept by the
    /// dynect client's own limiter, which counts every request (one limiter per provider).
    pub dns: Arc<RateBudget>,
    /// Chef calls (no documented limit).
    pub config_mgmt: Arc<RateBudget>,
    /// Monitoring calls.
    pub monitoring: Arc<RateBudget>,
}

impl Default for Budgets {
    /// DigitalOcean compute (250 a minute); DNS, Chef and monitoring uncounted here (Dyn's
    /// limit is the dynect client's).
    fn default() -> Self {
        Budgets {
            compute: Arc::new(RateBudget::digitalocean()),
            dns: Arc::new(RateBudget::unlimited("dns")),
            config_mgmt: Arc::new(RateBudget::unlimited("chef")),
            monitoring: Arc::new(RateBudget::unlimited("nagios")),
        }
    }
}

impl Budgets {
    /// DigitalOcean compute and DigitalOcean Domains DNS share one budget (one token).
    pub fn digitalocean_dns() -> Self {
        let d = Arc::new(RateBudget::digitalocean());
        Budgets {
            compute: d.clone(),
            dns: d,
            ..Budgets::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_that_would_panic_or_limit_nothing_are_refused() {
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            -f64::MIN_POSITIVE,
        ] {
            let err = RateBudget::new("dyn", 10, bad).unwrap_err();
            assert!(
                matches!(err, crate::Error::Precondition(_)),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("rate budget `dyn`"), "{err}");
        }
        assert!(RateBudget::new("t", 10, 0.0).is_ok());
        assert!(RateBudget::new("t", 10, 5.0).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_is_unlimited_and_a_tiny_rate_waits_without_panicking() {
        let b = RateBudget::new("t", 1, 0.0).unwrap();
        let start = Instant::now();
        for _ in 0..1000 {
            b.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        // One token, then a wait longer than `Duration` can hold (used to panic).
        let b = RateBudget::new("t", 1, f64::MIN_POSITIVE).unwrap();
        b.acquire().await;
        let second = tokio::time::timeout(Duration::from_secs(3600), b.acquire()).await;
        assert!(second.is_err(), "the second call must wait");
    }

    #[tokio::test(start_paused = true)]
    async fn a_poisoned_lock_keeps_the_budget_enforced() {
        let b = Arc::new(RateBudget::new("t", 1, 1.0).unwrap());
        let holder = b.clone();
        let poisoner = std::thread::spawn(move || {
            let _guard = holder.state.lock();
            panic!("a panic while holding the budget's lock");
        });
        assert!(poisoner.join().is_err());
        assert!(b.state.is_poisoned());
        let start = Instant::now();
        for _ in 0..3 {
            b.acquire().await;
        }
        // One token, then one per second: the 2nd and 3rd calls wait.
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(b.granted(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn never_exceeds_the_window() {
        let b = RateBudget::per_minute("t", 250);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..600 {
            b.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(60))
                .count();
            assert!(in_window <= 250, "{in_window} in a 60 s window");
        }
        // and it is not needlessly slow: 600 calls in about (600-50)/3.33 s
        assert!(start.elapsed() < Duration::from_secs(170));
    }
}
