//! Retry policy: which failures are retried. How long to wait, and the loop, are the
//! shared retry core (`ops-http-retry`).

use reqwest::{Method, StatusCode};

use crate::error::Error;

/// How many times, and how patiently, a request is retried (the workspace's shared retry
/// core, `ops-http-retry`).
///
/// Only safe failures are retried: connect errors (the request never left), HTTP 429
/// (rejected, not processed), and — for idempotent methods only (`GET`, `HEAD`, `PUT`,
/// `DELETE`) — timeouts and HTTP 500/502/503/504. A `POST` (for instance a droplet create) is
/// never retried on a 5xx or a timeout, because it may already have been processed.
pub use ops_http_retry::RetryConfig;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
