//! Retry policy: which failures are retried and how long to wait.

use std::hash::BuildHasher;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::error::Error;

/// How many times, and how patiently, a request is retried.
///
/// Only safe failures are retried: connect errors (the request never left),
/// HTTP 429 (rejected, not processed), and — for idempotent methods only
/// (`GET`, `HEAD`, `PUT`, `DELETE`) — timeouts and HTTP 500/502/503/504.
/// A `POST` (for instance a droplet create) is never retried on a 5xx or a
/// timeout, because it may already have been processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Total attempts, including the first. `1` disables retries.
    pub max_attempts: u32,
    /// First backoff; doubled on each attempt and jittered.
    pub initial_backoff: Duration,
    /// Upper bound for one backoff. A `Retry-After` longer than this is not
    /// waited for: the error is returned at once.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    /// Three attempts, 1 s initial backoff, 20 s cap.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryConfig {
    /// No retries at all: every request is attempted exactly once.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Whether `method` may be repeated without changing the outcome.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE
    )
}

/// Whether a failed attempt may be retried.
pub(crate) fn should_retry(err: &Error, method: &Method) -> bool {
    let idempotent = is_idempotent(method);
    match err {
        Error::Transport(e) if e.is_connect() => true,
        Error::Transport(e) if e.is_timeout() => idempotent,
        e if e.status() == Some(StatusCode::TOO_MANY_REQUESTS) => true,
        e if e
            .status()
            .is_some_and(|s| matches!(s.as_u16(), 500 | 502 | 503 | 504)) =>
        {
            idempotent
        }
        _ => false,
    }
}

/// Delay before the next attempt (`attempt` counts from 0 for the first retry),
/// or `None` when the server asks for a longer wait than `max_backoff`.
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

/// Parse a `Retry-After` value given in seconds. HTTP dates are not supported
/// (DigitalOcean sends seconds) and yield `None`, i.e. normal backoff.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RetryConfig {
        RetryConfig {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        assert_eq!(
            next_delay(&cfg(), 0, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(next_delay(&cfg(), 0, Some(Duration::from_secs(3600))), None);
        assert_eq!(
            next_delay(&cfg(), 0, Some(Duration::ZERO)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for attempt in 0..40 {
            let d = next_delay(&cfg(), attempt, None).unwrap();
            let exp = Duration::from_millis(100)
                .saturating_mul(1 << attempt.min(16))
                .min(Duration::from_secs(2));
            assert!(
                d >= exp / 2 && d <= exp,
                "attempt {attempt}: {d:?} vs {exp:?}"
            );
        }
    }

    #[test]
    fn disabled_means_one_attempt() {
        assert_eq!(RetryConfig::disabled().max_attempts, 1);
        assert_eq!(RetryConfig::default().max_attempts, 3);
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn status_policy_depends_on_method() {
        let api = |code: u16| Error::Api {
            status: StatusCode::from_u16(code).unwrap(),
            body: Default::default(),
            retry_after: None,
        };
        assert!(should_retry(&api(429), &Method::POST));
        assert!(should_retry(&api(503), &Method::GET));
        assert!(should_retry(&api(500), &Method::DELETE));
        assert!(!should_retry(&api(503), &Method::POST));
        assert!(!should_retry(&api(501), &Method::GET));
        assert!(!should_retry(&api(404), &Method::GET));
        let invalid = Error::InvalidInput {
            field: "x",
            reason: "y".into(),
        };
        assert!(!should_retry(&invalid, &Method::GET));
    }
}
