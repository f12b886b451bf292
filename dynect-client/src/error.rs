//! The crate's one error type.

use std::time::Duration;

use reqwest::StatusCode;

use crate::envelope::{ErrorCode, Message, ResponseStatus};

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed Dyn envelope: its status, job id and **every** message, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorBody {
    /// The envelope `status` (normally `failure`, `running` for "job already running").
    pub status: ResponseStatus,
    /// The envelope `job_id`.
    pub job_id: Option<u64>,
    /// All `msgs[]`.
    pub msgs: Vec<Message>,
}

impl ApiErrorBody {
    /// The first message with `LVL` `ERROR`/`FATAL`, else the first message.
    pub fn primary(&self) -> Option<&Message> {
        self.msgs
            .iter()
            .find(|m| m.is_error())
            .or_else(|| self.msgs.first())
    }

    /// The `INFO` text of [`ApiErrorBody::primary`], or `""`.
    pub fn summary(&self) -> &str {
        self.primary().map(|m| m.info.as_str()).unwrap_or("")
    }

    fn has_code(&self, code: ErrorCode) -> bool {
        self.msgs.iter().any(|m| m.code() == Some(code))
    }

    fn info_contains(&self, needle: &str) -> bool {
        let needle = needle.to_ascii_lowercase();
        self.msgs
            .iter()
            .any(|m| m.info.to_ascii_lowercase().contains(&needle))
    }

    /// `ERR_CD` `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.has_code(ErrorCode::NotFound)
    }

    /// `ERR_CD` `TARGET_EXISTS`.
    pub fn is_target_exists(&self) -> bool {
        self.has_code(ErrorCode::TargetExists)
    }

    /// `RATE_LIMIT_EXCEEDED` or a message mentioning the rate limit.
    pub fn is_rate_limited(&self) -> bool {
        self.has_code(ErrorCode::RateLimitExceeded) || self.info_contains("rate limit")
    }

    /// "Operation blocked by current task" (a publish or provisioning task holds the zone).
    pub fn is_blocked(&self) -> bool {
        self.info_contains("operation blocked by current task")
    }

    /// The `task_id: N` message that accompanies a blocked operation.
    pub fn blocked_task_id(&self) -> Option<u64> {
        self.msgs.iter().find_map(|m| {
            m.info
                .strip_prefix("task_id:")
                .and_then(|rest| rest.trim().parse().ok())
        })
    }

    /// "This session already has a job running".
    pub fn is_job_running(&self) -> bool {
        self.info_contains("already has a job running")
    }

    /// The session token is no longer valid: `login: Bad or expired credentials`,
    /// `login: inactivity logout` or `login: IP address does not match current session`.
    pub fn is_session_expired(&self) -> bool {
        self.msgs.iter().any(|m| {
            let info = m.info.to_ascii_lowercase();
            info.starts_with("login:")
                && (info.contains("bad or expired credentials")
                    || info.contains("inactivity logout")
                    || info.contains("ip address does not match current session"))
        })
    }
}

/// Everything that can go wrong. Each variant says whether the request may have reached the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with a `failure` envelope. The request reached the server and was refused;
    /// every message is kept in `body`.
    #[error("Dyn API error {status}: {}", body.summary())]
    Api {
        /// HTTP status (Dyn uses 400, 404 and 429; bodies matter more than codes).
        status: StatusCode,
        /// The decoded envelope.
        body: ApiErrorBody,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// Logging in failed (wrong customer, user or password, or a locked account). The request
    /// reached the server. Never retried: repeated bad logins can lock the account.
    #[error("Dyn login failed: {}", body.summary())]
    Login {
        /// The decoded envelope (it never contains the password).
        body: ApiErrorBody,
    },
    /// The session expired while this client had written to zones without publishing them.
    /// Those changes belonged to the old session and are gone: redo the writes, then publish.
    /// The request that noticed it reached the server and was refused. The client logs in
    /// again on the next call.
    #[error("Dyn session expired with unpublished changes in {} zone(s)", zones.len())]
    SessionExpiredWithPendingChanges {
        /// The zones with lost, unpublished changes (sorted).
        zones: Vec<String>,
        /// The expiry message.
        body: ApiErrorBody,
    },
    /// A job (307 redirect or `incomplete`) did not finish before the poll deadline. The
    /// original request reached the server and may still complete.
    #[error("Dyn job {job_id} did not finish within {waited:?}")]
    JobTimeout {
        /// The job id.
        job_id: u64,
        /// How long we polled.
        waited: Duration,
    },
    /// A zone task (publish) ended in `failed`, `canceled` or `stalled`. The request reached
    /// the server.
    #[error("Dyn task {task_id} ended with status {status}")]
    TaskFailed {
        /// The task id.
        task_id: u64,
        /// The final task status.
        status: String,
        /// The task's `message`, if any.
        message: Option<String>,
    },
    /// A zone task did not complete before the poll deadline. The request reached the server.
    #[error("Dyn task {task_id} did not complete within {waited:?}")]
    TaskTimeout {
        /// The task id.
        task_id: u64,
        /// How long we polled.
        waited: Duration,
    },
    /// A redirect that is not a Dyn job redirect on the same host (the token is never sent
    /// elsewhere). The request reached the server.
    #[error("unexpected redirect from Dyn (HTTP {status})")]
    UnexpectedRedirect {
        /// HTTP status.
        status: StatusCode,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// Non-2xx with a body that is not the Dyn envelope (proxy page, HTML…). The request
    /// reached something.
    #[error("unexpected HTTP {status} from Dyn")]
    UnexpectedStatus {
        /// HTTP status.
        status: StatusCode,
        /// First 512 bytes of the body, lossy UTF-8.
        body_snippet: String,
        /// `Retry-After`, when the server sent one (e.g. a bare 429).
        retry_after: Option<Duration>,
    },
    /// A response body was larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// (default 32 MiB); reading stopped at the limit. The request reached the server and
    /// may have been processed (a write may be pending in the session).
    #[error(
        "Dyn's response is larger than the limit of {limit} bytes \
         (raise it with ClientBuilder::max_response_bytes)"
    )]
    ResponseTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
        /// The `Content-Length` the server announced, when it sent one.
        content_length: Option<u64>,
    },
    /// Connect/TLS/timeout/body-read failure (a body cut off mid-way included). The request
    /// MAY have been sent.
    #[error("request to Dyn failed")]
    Transport(#[from] reqwest::Error),
    /// 2xx but the JSON did not match our model. The request reached the server.
    #[error("could not decode {what} response")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Input rejected before any request was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client could not be built. Nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The API error body, for `Api`, `Login` and `SessionExpiredWithPendingChanges`.
    pub fn api_body(&self) -> Option<&ApiErrorBody> {
        match self {
            Error::Api { body, .. }
            | Error::Login { body }
            | Error::SessionExpiredWithPendingChanges { body, .. } => Some(body),
            _ => None,
        }
    }

    /// All messages of the failed envelope (empty for non-API errors).
    pub fn messages(&self) -> &[Message] {
        self.api_body().map(|b| b.msgs.as_slice()).unwrap_or(&[])
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. }
            | Error::UnexpectedStatus { status, .. }
            | Error::UnexpectedRedirect { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            _ => None,
        }
    }

    /// HTTP 404 or `ERR_CD` `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
            || self.api_body().is_some_and(ApiErrorBody::is_not_found)
    }

    /// HTTP 429 or a rate-limit message (account-wide 300 requests/minute).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
            || matches!(self, Error::Api { body, .. } if body.is_rate_limited())
    }

    /// "Operation blocked by current task".
    pub fn is_blocked(&self) -> bool {
        matches!(self, Error::Api { body, .. } if body.is_blocked())
    }

    /// The task holding the zone, for a blocked operation.
    pub fn blocked_task_id(&self) -> Option<u64> {
        match self {
            Error::Api { body, .. } if body.is_blocked() => body.blocked_task_id(),
            _ => None,
        }
    }

    /// `TARGET_EXISTS` (e.g. "Name already exists").
    pub fn is_target_exists(&self) -> bool {
        matches!(self, Error::Api { body, .. } if body.is_target_exists())
    }

    /// "This session already has a job running".
    pub fn is_job_running(&self) -> bool {
        matches!(self, Error::Api { body, .. } if body.is_job_running())
    }

    /// The session expired (renewal was not possible or not allowed for this request), including
    /// [`Error::SessionExpiredWithPendingChanges`].
    pub fn is_session_expired(&self) -> bool {
        match self {
            Error::SessionExpiredWithPendingChanges { .. } => true,
            Error::Api { body, .. } => body.is_session_expired(),
            _ => false,
        }
    }

    /// `Retry-After` sent with the error, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } | Error::UnexpectedStatus { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The envelope `job_id` of a failed call (useful when talking to Dyn support).
    pub fn job_id(&self) -> Option<u64> {
        match self {
            Error::JobTimeout { job_id, .. } => Some(*job_id),
            _ => self.api_body().and_then(|b| b.job_id),
        }
    }
}
