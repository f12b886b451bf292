//! Retry policy: which failures are retried and how long to wait.

use std::hash::BuildHasher;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::error::Error;

/// Bounded, jittered exponential backoff.
///
/// Only idempotent requests (GET, HEAD, PUT, DELETE) are retried after a 5xx or a timeout;
/// any request is retried after a connection failure (it never reached the server) or a 429.
/// Every attempt is signed afresh, so the timestamp never goes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Total attempts, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Delay before the first retry (doubled each time, with jitter).
    pub initial_backoff: Duration,
    /// Upper bound for one delay. A `Retry-After` longer than this returns the error at once.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Whether `err` from a `method` request may be retried.
pub(crate) fn should_retry(err: &Error, method: &Method) -> bool {
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE
    );
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

/// Delay before retry number `attempt` (0-based), or `None` to give up.
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

    fn api(status: u16) -> Error {
        Error::from_response(
            StatusCode::from_u16(status).unwrap(),
            None,
            b"{\"error\":[\"x\"]}",
        )
    }

    #[test]
    fn only_idempotent_methods_retry_5xx() {
        for s in [500, 502, 503, 504] {
            assert!(should_retry(&api(s), &Method::GET));
            assert!(should_retry(&api(s), &Method::PUT));
            assert!(should_retry(&api(s), &Method::DELETE));
            assert!(!should_retry(&api(s), &Method::POST));
        }
        assert!(should_retry(&api(429), &Method::POST));
        for s in [400, 401, 403, 404, 406, 409, 413, 501] {
            assert!(!should_retry(&api(s), &Method::GET), "{s}");
        }
        assert!(!should_retry(&Error::Config("x".into()), &Method::GET));
    }

    #[test]
    fn delays_are_bounded_and_jittered() {
        let cfg = RetryConfig::default();
        for attempt in 0..40 {
            let d = next_delay(&cfg, attempt, None).unwrap();
            let exp = Duration::from_secs(1)
                .saturating_mul(1 << attempt.min(16))
                .min(cfg.max_backoff);
            assert!(d >= exp / 2 && d <= exp, "{attempt}: {d:?}");
        }
        assert_eq!(
            next_delay(&cfg, 0, Some(Duration::ZERO)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            next_delay(&cfg, 0, Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(next_delay(&cfg, 0, Some(Duration::from_secs(3600))), None);
        assert_eq!(RetryConfig::disabled().max_attempts, 1);
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
