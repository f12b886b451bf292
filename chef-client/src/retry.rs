//! Retry policy: which failures are retried and how long to wait.

use reqwest::{Method, StatusCode};

use crate::error::Error;

/// Bounded, jittered exponential backoff (the workspace's shared retry core,
/// `ops-http-retry`).
///
/// Only idempotent requests (GET, HEAD, PUT, DELETE) are retried after a 5xx or a timeout;
/// any request is retried after a connection failure (it never reached the server) or a 429.
/// Every attempt is signed afresh, so the timestamp never goes stale.
pub use ops_http_retry::RetryConfig;

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
}
