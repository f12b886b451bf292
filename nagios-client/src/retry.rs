//! Retry policy: pure functions, unit-tested.
//!
//! nagios-api has two kinds of endpoints:
//!
//! * reads (`GET /state`, `/objects`, `/host`, `/service`, `/log`,
//!   `/status`, `/problems`) only look at the last parsed `status.dat`:
//!   always safe to repeat;
//! * commands (`POST`) each write one or more lines to the Nagios command
//!   pipe. Some are **idempotent in effect** (setting a flag, removing an
//!   acknowledgement, cancelling a downtime, deleting a comment: doing them
//!   twice leaves Nagios in the same state) and are retried like reads. The
//!   others (scheduling a downtime, acknowledging, submitting a passive
//!   result, adding a comment, scheduling a check, a raw command,
//!   restarting Nagios) would be applied twice, so a timeout or a 5xx after
//!   the request may have been sent is **not** retried for them.
//!
//! Every request is retried when it provably never reached the server
//! (connect error) or a proxy rejected it with 429.

use std::hash::BuildHasher;
use std::time::Duration;

use reqwest::StatusCode;

use crate::error::Error;

/// How often and how long to retry. See the module docs for *what* is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Total attempts including the first (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled each time, with jitter.
    pub initial_backoff: Duration,
    /// Upper bound for one backoff, and for an honoured `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryConfig {
    /// One attempt, no retries.
    pub fn disabled() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        }
    }
}

/// Whether repeating a request can change Nagios's state a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, and commands whose repetition leaves the same state.
    Idempotent,
    /// Commands that would be applied twice.
    NotIdempotent,
}

pub(crate) fn should_retry(err: &Error, idem: Idempotency) -> bool {
    let idempotent = idem == Idempotency::Idempotent;
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
    fn backoff_grows_is_capped_and_jittered() {
        let cfg = RetryConfig::default();
        for attempt in 0..20 {
            let d = next_delay(&cfg, attempt, None).unwrap();
            let exp = Duration::from_secs(1)
                .saturating_mul(1 << attempt.min(16))
                .min(cfg.max_backoff);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let cfg = RetryConfig::default();
        assert_eq!(
            next_delay(&cfg, 0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(next_delay(&cfg, 0, Some(Duration::from_secs(3600))), None);
    }

    fn status(code: u16) -> Error {
        Error::UnexpectedStatus {
            status: StatusCode::from_u16(code).unwrap(),
            body_snippet: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn commands_are_not_retried_after_5xx_but_reads_are() {
        assert!(should_retry(&status(503), Idempotency::Idempotent));
        assert!(!should_retry(&status(503), Idempotency::NotIdempotent));
        assert!(should_retry(&status(429), Idempotency::NotIdempotent));
        assert!(!should_retry(&status(401), Idempotency::Idempotent));
        let api = Error::Api {
            endpoint: "state",
            message: "x".into(),
            named_service: false,
        };
        assert!(!should_retry(&api, Idempotency::Idempotent));
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
