//! The one error type of this crate.

use std::time::Duration;

use reqwest::StatusCode;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to nagios-api.
///
/// nagios-api answers **every** request with HTTP 200 and reports failure in
/// the body (`{"success": false, "content": "<message>"}`); that case is
/// [`Error::Api`]. A non-200 status can only come from something in front of
/// nagios-api (an authenticating proxy, a load balancer) and is
/// [`Error::UnexpectedStatus`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// nagios-api answered `success: false`. The request reached the server.
    ///
    /// nagios-api validates a command (known host/service, required fields)
    /// before it writes anything to the Nagios command pipe, so for command
    /// endpoints nothing was submitted — except for the message
    /// `"One or more cancels failed.  Some may have succeeded."` from
    /// `cancel_downtime`, where some cancellations may have been written.
    #[error("nagios-api rejected {endpoint}: {message}")]
    Api {
        /// The endpoint called, e.g. `"schedule_downtime"`.
        endpoint: &'static str,
        /// The server's message, verbatim (e.g. `"Unknown hostname."`).
        message: String,
        /// Whether the request named a service (used to tell an unknown host
        /// from an unknown service; nagios-api's message does not).
        named_service: bool,
    },
    /// A status other than 200 (nagios-api itself never sends one; a proxy
    /// in front of it did). The request may or may not have reached
    /// nagios-api.
    #[error("unexpected HTTP {status} from nagios-api (or a proxy in front of it)")]
    UnexpectedStatus {
        /// The HTTP status.
        status: StatusCode,
        /// The first 512 bytes of the body, lossily decoded as UTF-8.
        body_snippet: String,
        /// `Retry-After` in seconds, if the proxy sent one.
        retry_after: Option<Duration>,
    },
    /// A response body was larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// (default 32 MiB); reading stopped at the limit. The request reached the server (a
    /// command may have been written to Nagios).
    #[error(
        "nagios-api's response is larger than the limit of {limit} bytes \
         (raise it with ClientBuilder::max_response_bytes)"
    )]
    ResponseTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
        /// The `Content-Length` the server announced, when it sent one.
        content_length: Option<u64>,
    },
    /// Connect, TLS, timeout or body-read failure (a body cut off mid-way
    /// included, for an error status too). The request MAY have been sent (and a
    /// command written to Nagios), unless it is a connect error.
    #[error("request to nagios-api failed")]
    Transport(#[from] reqwest::Error),
    /// HTTP 200 but the body did not match the model: not JSON, not the
    /// `{"success", "content"}` envelope, or a value that could not be
    /// parsed. `path` names the offending field (e.g.
    /// `web01.services.Disk.current_state`). The request reached the server.
    #[error("could not decode nagios-api {what} response at `{path}`")]
    Decode {
        /// Which response was being decoded, e.g. `"state"`.
        what: &'static str,
        /// Path of the offending value inside `content` (`.` for its root), or the
        /// envelope's own field (`success`, `content`) when that is what is wrong.
        path: String,
        /// The underlying parse error (names the bad value).
        #[source]
        source: serde_json::Error,
    },
    /// A request field holds a value that would corrupt the Nagios external
    /// command line (a newline anywhere; a `;` in a host, service, hostgroup
    /// or author), or a name that cannot be one URL path segment (empty, `.`,
    /// `..`, or containing `/`, `\`, `?`, `#` or a control character). Nothing
    /// was sent.
    #[error("invalid request field `{field}`: {reason}")]
    InvalidRequest {
        /// The request field.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A `*_and_wait` helper gave up before Nagios showed the expected
    /// change in `/state`. The command itself was accepted.
    #[error("gave up after {waited:?} waiting for {what}")]
    WaitTimeout {
        /// What was awaited.
        what: &'static str,
        /// How long we waited.
        waited: Duration,
    },
    /// The client could not be built from the given configuration.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// Messages nagios-api 1.2.2 and later use for an unknown host or service.
const UNKNOWN_HOSTNAME: &str = "Unknown hostname.";
const NO_HOSTNAME: &str = "No hostname provided.";
const HOST_OR_SERVICE: [&str; 3] = [
    "Host or service not found.",
    "Failed to find host or service to update.",
    "Failed to get host or service for downtime.",
];

impl Error {
    /// The server's message for [`Error::Api`].
    pub fn api_message(&self) -> Option<&str> {
        match self {
            Error::Api { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The HTTP status of an [`Error::UnexpectedStatus`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::UnexpectedStatus { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            _ => None,
        }
    }

    /// nagios-api does not know the host (`/host`, `/service`, or a command
    /// that named only a host).
    pub fn is_unknown_host(&self) -> bool {
        match self {
            Error::Api {
                message,
                named_service,
                ..
            } => {
                message == UNKNOWN_HOSTNAME
                    || message == NO_HOSTNAME
                    || (!named_service && HOST_OR_SERVICE.contains(&message.as_str()))
            }
            _ => false,
        }
    }

    /// A command named a service that nagios-api does not know. nagios-api
    /// uses one message for "unknown host" and "unknown service on a known
    /// host" here, so this is also true when the host itself is unknown.
    pub fn is_unknown_service(&self) -> bool {
        match self {
            Error::Api {
                message,
                named_service,
                ..
            } => *named_service && HOST_OR_SERVICE.contains(&message.as_str()),
            _ => false,
        }
    }

    /// The server does not have this endpoint (`"Verb … not supported"`):
    /// e.g. `/status` or `/disable_checks` against nagios-api 1.2.2.
    pub fn is_unsupported_endpoint(&self) -> bool {
        matches!(self, Error::Api { message, .. }
            if message.starts_with("Verb ") && message.ends_with(" not supported"))
    }

    /// nagios-api runs without a command file (`"External commands not
    /// enabled on nagios-api."`).
    pub fn is_commands_disabled(&self) -> bool {
        matches!(self, Error::Api { message, .. } if message.starts_with("External commands not enabled"))
    }

    /// A proxy in front of nagios-api rejected the credentials (HTTP 401/403).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }

    /// HTTP 429 from a proxy.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// `Retry-After` sent with an [`Error::UnexpectedStatus`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::UnexpectedStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
