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

use reqwest::StatusCode;

use crate::error::Error;

/// How often and how long to retry (the workspace's shared retry core, `ops-http-retry`).
/// See the module docs for *what* is retried.
pub use ops_http_retry::RetryConfig;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
