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
