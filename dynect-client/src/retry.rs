//! Retry policy (pure functions, unit-tested) and job/task polling settings.

use std::time::Duration;

use reqwest::Method;

use crate::error::Error;

/// How failed requests are retried. Only requests that were rejected before being processed
/// (connect errors, rate limits, blocked zone, job already running) or safe ones
/// (GET/PUT/DELETE after a timeout or 5xx) are retried.
///
/// A rate-limit answer without `Retry-After` waits at least 5 s (capped by `max_backoff`):
/// Dyn locks the whole account out for up to 60 s. To ride out a full lock-out, raise
/// `max_attempts` (e.g. 6) or use [`ClientBuilder::rate_limit_per_minute`](crate::ClientBuilder::rate_limit_per_minute)
/// to stay under the limit in the first place. (The workspace's shared retry core,
/// `ops-http-retry`.)
pub use ops_http_retry::RetryConfig;

/// How jobs (307 / `incomplete`) and zone tasks (publish) are polled. This is not a retry:
/// the server is working on the request and we wait for its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// Delay before the first poll.
    pub initial_interval: Duration,
    /// The interval grows (×2) up to this.
    pub max_interval: Duration,
    /// Give up after this long ([`Error::JobTimeout`], [`Error::TaskTimeout`]).
    pub timeout: Duration,
}

impl Default for PollConfig {
    /// 1 s, growing to 5 s (Dyn asks not to poll faster than that), for at most 120 s.
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(120),
        }
    }
}

impl PollConfig {
    pub(crate) fn interval(&self, poll: u32) -> Duration {
        self.initial_interval
            .saturating_mul(1u32 << poll.min(16))
            .min(self.max_interval)
    }
}

/// Whether `err` from a request with `method` may be retried.
pub(crate) fn should_retry(err: &Error, method: &Method) -> bool {
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE
    );
    match err {
        Error::Transport(e) if e.is_connect() => true,
        Error::Transport(e) if e.is_timeout() => idempotent,
        // Refused before being processed: safe to send again whatever the method.
        e if e.is_rate_limited() || e.is_blocked() || e.is_job_running() => true,
        e if e
            .status()
            .is_some_and(|s| matches!(s.as_u16(), 500 | 502 | 503 | 504)) =>
        {
            idempotent
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_interval_grows_to_max() {
        let p = PollConfig::default();
        assert_eq!(p.interval(0), Duration::from_secs(1));
        assert_eq!(p.interval(1), Duration::from_secs(2));
        assert_eq!(p.interval(2), Duration::from_secs(4));
        assert_eq!(p.interval(3), Duration::from_secs(5));
        assert_eq!(p.interval(40), Duration::from_secs(5));
    }

    #[test]
    fn only_safe_errors_are_retried() {
        let html = |code: u16| Error::UnexpectedStatus {
            status: reqwest::StatusCode::from_u16(code).unwrap(),
            body_snippet: String::new(),
            retry_after: None,
        };
        assert!(should_retry(&html(503), &Method::GET));
        assert!(!should_retry(&html(503), &Method::POST));
        assert!(should_retry(&html(429), &Method::POST));
        assert!(!should_retry(&html(400), &Method::GET));
        assert!(!should_retry(
            &Error::InvalidInput("x".into()),
            &Method::GET
        ));
    }
}
