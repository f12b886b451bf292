//! Retry policy (pure functions, unit-tested) and job/task polling settings.

use std::hash::BuildHasher;
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
/// to stay under the limit in the first place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Total attempts, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry (doubled each time, jittered).
    pub initial_backoff: Duration,
    /// Cap for one backoff. A `Retry-After` longer than this is not waited for: the error is returned.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    /// 3 attempts, 1 s initial backoff, 20 s cap.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryConfig {
    /// Never retry.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

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

/// The delay before retry number `attempt` (0-based), or `None` when the server asks for
/// longer than `max_backoff`.
pub(crate) fn next_delay(
    cfg: &RetryConfig,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    match retry_after {
        Some(d) if d > cfg.max_backoff => None,
        Some(d) => Some(d),
        None => {
            let exp = cfg
                .initial_backoff
                .saturating_mul(1u32 << attempt.min(16))
                .min(cfg.max_backoff);
            let r = std::collections::hash_map::RandomState::new().hash_one(attempt) as f64
                / u64::MAX as f64;
            Some(exp.mul_f64(0.5 + r / 2.0))
        }
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date. A date is measured
/// against the response's own `Date` header when it has one (the server's clock, so local
/// clock skew does not matter), else against the local clock; a date already past means
/// "retry now". Anything else is ignored (normal backoff).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<std::time::Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
    };
    let value = text(reqwest::header::RETRY_AFTER)?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = text(reqwest::header::DATE)
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or_else(std::time::SystemTime::now);
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_is_capped_with_jitter() {
        let cfg = RetryConfig::default();
        for attempt in 0..10 {
            let d = next_delay(&cfg, attempt, None).unwrap();
            let exp = Duration::from_secs(1)
                .saturating_mul(1 << attempt)
                .min(Duration::from_secs(20));
            assert!(d >= exp / 2 && d <= exp, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let cfg = RetryConfig::default();
        assert_eq!(
            next_delay(&cfg, 0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(next_delay(&cfg, 0, Some(Duration::from_secs(60))), None);
        assert_eq!(
            next_delay(&cfg, 0, Some(Duration::ZERO)),
            Some(Duration::ZERO)
        );
    }

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

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        use reqwest::header::{DATE, HeaderMap, HeaderValue, RETRY_AFTER};
        let h = |pairs: &[(reqwest::header::HeaderName, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(k.clone(), HeaderValue::from_static(v));
            }
            m
        };
        let secs = std::time::Duration::from_secs;
        assert_eq!(retry_after(&h(&[(RETRY_AFTER, " 7 ")])), Some(secs(7)));
        // A date, measured against the response's Date header.
        assert_eq!(
            retry_after(&h(&[
                (RETRY_AFTER, "Wed, 21 Oct 2015 07:28:30 GMT"),
                (DATE, "Wed, 21 Oct 2015 07:28:00 GMT"),
            ])),
            Some(secs(30))
        );
        // Obsolete RFC 850 and asctime forms are HTTP dates too.
        assert_eq!(
            retry_after(&h(&[
                (RETRY_AFTER, "Wednesday, 21-Oct-15 07:28:10 GMT"),
                (DATE, "Wed Oct 21 07:28:00 2015"),
            ])),
            Some(secs(10))
        );
        // Already past (no Date header: the local clock): retry now.
        assert_eq!(
            retry_after(&h(&[(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT")])),
            Some(secs(0))
        );
        assert_eq!(retry_after(&h(&[(RETRY_AFTER, "soon")])), None);
        assert_eq!(retry_after(&h(&[(RETRY_AFTER, "-5")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
