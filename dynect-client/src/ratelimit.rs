//! Optional client-side limiter that keeps one client under the account-wide limit
//! (Dyn: 300 requests per minute for all users of an account together).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests at least `60 s / per_minute` apart. The interval counts from the later of
/// the previous request's start and its **response** (errors and transport failures included),
/// so a slow or failing server does not let a burst through afterwards.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next_allowed: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub(crate) fn per_minute(per_minute: u32) -> Option<Self> {
        if per_minute == 0 {
            return None;
        }
        Some(Self {
            interval: Duration::from_secs(60) / per_minute,
            next_allowed: Mutex::new(None),
        })
    }

    /// Reserve the next slot and return how long to wait for it.
    pub(crate) fn reserve(&self, now: Instant) -> Duration {
        let mut next = match self.next_allowed.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let slot = match *next {
            Some(t) if t > now => t,
            _ => now,
        };
        *next = Some(slot + self.interval);
        slot - now
    }

    /// Record that a response (or an error) arrived at `at`.
    pub(crate) fn record_response(&self, at: Instant) {
        let mut next = match self.next_allowed.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let after = at + self.interval;
        if next.is_none_or(|t| t < after) {
            *next = Some(after);
        }
    }

    pub(crate) async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, "client-side rate limit");
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_disables() {
        assert!(RateLimiter::per_minute(0).is_none());
    }

    #[test]
    fn spaces_requests_and_counts_responses() {
        let l = RateLimiter::per_minute(600).unwrap(); // 100 ms
        let t0 = Instant::now();
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::from_millis(100));
        assert_eq!(l.reserve(t0), Duration::from_millis(200));
        // A response (even an error) 1 s later pushes the next slot to 1.1 s.
        l.record_response(t0 + Duration::from_secs(1));
        assert_eq!(l.reserve(t0), Duration::from_millis(1100));
    }
}
