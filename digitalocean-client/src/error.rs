//! The crate's single error type and its predicates.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

/// Result alias used by every fallible function of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error body DigitalOcean documents for every non-2xx answer.
///
/// `id` is a machine-readable code such as `not_found`, `unauthorized`,
/// `too_many_requests` or `unprocessable_entity`. It is kept (godo drops it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ApiErrorBody {
    /// Machine-readable error code (`not_found`, `unprocessable_entity`, …).
    ///
    /// Empty when the server answered with the legacy `{"error": "…"}` shape
    /// that a few endpoints (e.g. `POST /v2/tags` with bad characters) use.
    pub id: String,
    /// Human-readable message.
    pub message: String,
    /// Request id from the body, or from the `x-request-id` header when the body has none.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// Everything that can go wrong when talking to DigitalOcean.
///
/// Each variant says whether the request may have reached the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with its documented error body. The request reached the server.
    #[error("DigitalOcean API error {status} ({}): {}", body.id, body.message)]
    Api {
        /// HTTP status of the answer.
        status: StatusCode,
        /// The decoded error body.
        body: ApiErrorBody,
        /// Parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// A non-2xx answer whose body is not the documented error JSON (a proxy's
    /// HTML page, for instance). The request reached *a* server.
    #[error("unexpected HTTP {status} from DigitalOcean")]
    UnexpectedStatus {
        /// HTTP status of the answer.
        status: StatusCode,
        /// The first 512 bytes of the body, decoded as lossy UTF-8.
        body_snippet: String,
        /// Parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// Connect, TLS, timeout or body-read failure. The request MAY have been sent
    /// (it certainly was not when [`reqwest::Error::is_connect`] is true).
    #[error("request to DigitalOcean failed")]
    Transport(#[from] reqwest::Error),
    /// A 2xx answer whose JSON did not match the model. The request was processed.
    #[error("could not decode {what} response")]
    Decode {
        /// Which response was being decoded.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A request body could not be serialised. Nothing was sent.
    #[error("could not encode {what} request")]
    Encode {
        /// Which request was being encoded.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The client configuration is invalid (empty token, malformed base URL, …).
    /// Nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An argument was rejected before any request was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending argument or field.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A response body was larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// (default 32 MiB); reading stopped at the limit. The request reached the server and
    /// may have been processed.
    #[error(
        "DigitalOcean's response is larger than the limit of {limit} bytes \
         (raise it with ClientBuilder::max_response_bytes)"
    )]
    ResponseTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
        /// The `Content-Length` the server announced, when it sent one.
        content_length: Option<u64>,
    },
    /// A [`Pager`](crate::Pager) reached its page limit and the server still sent a `next`
    /// link: [`Pager::max_pages`](crate::Pager::max_pages) (default 10,000), or fewer when
    /// `meta.total` says the list is shorter. Either the list really is that long or the
    /// server keeps inventing pages. The pages fetched so far were returned by earlier calls.
    #[error(
        "{what}: stopped after {pages} pages while the server still sent a next link \
         (limit {limit}; raise it with Pager::max_pages)"
    )]
    TooManyPages {
        /// Which listing.
        what: &'static str,
        /// Pages fetched.
        pages: u32,
        /// The limit in force: `max_pages`, or the page count `meta.total` implies plus
        /// slack when that is smaller.
        limit: u32,
    },
    /// An action reached the `errored` state. The request that started it was processed.
    #[error("DigitalOcean {} ({action_type}) errored", match .action_id {
        Some(id) => format!("action {id}"),
        None => "action (no id given)".to_string(),
    })]
    ActionErrored {
        /// The action's id, when known (the server may leave it out of the answer).
        action_id: Option<u64>,
        /// The action's type, e.g. `create` or `power_on`.
        action_type: String,
    },
    /// A `wait_*` helper hit its deadline before the resource reached the wanted state.
    /// The resource may still reach it later.
    #[error("timed out after {waited:?} waiting for {what}")]
    WaitTimedOut {
        /// What was being waited for, e.g. `action 36804636`.
        what: String,
        /// How long the helper waited.
        waited: Duration,
        /// The last status seen, if any.
        last_status: Option<String>,
    },
}

impl Error {
    /// HTTP status of an error answer, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            _ => None,
        }
    }

    /// The provider's error `id` (`not_found`, `unprocessable_entity`, …), if any.
    pub fn api_error_id(&self) -> Option<&str> {
        match self {
            Error::Api { body, .. } if !body.id.is_empty() => Some(&body.id),
            _ => None,
        }
    }

    /// The provider's error message, if any.
    pub fn api_message(&self) -> Option<&str> {
        match self {
            Error::Api { body, .. } => Some(&body.message),
            _ => None,
        }
    }

    /// The request id DigitalOcean assigned, useful for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { body, .. } => body.request_id.as_deref(),
            _ => None,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } | Error::UnexpectedStatus { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// True for HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True for HTTP 429.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// True for HTTP 401 (missing, invalid or revoked token).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// True for HTTP 422 (the API rejected the request's content).
    pub fn is_unprocessable(&self) -> bool {
        self.status() == Some(StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// True for any 5xx answer.
    pub fn is_server_error(&self) -> bool {
        self.status().is_some_and(|s| s.is_server_error())
    }

    /// True for a transport-level timeout or a `wait_*` deadline.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_timeout(),
            Error::WaitTimedOut { .. } => true,
            _ => false,
        }
    }

    /// True when the request failed in a way that does not say whether it took effect: a
    /// transport failure after the connection was made (a timeout, a cut-off body), a 5xx
    /// answer, or a 2xx answer that could not be read ([`Error::Decode`],
    /// [`Error::ResponseTooLarge`]). A write (`POST` above all: a create, an action) that
    /// failed this way may have been carried out: look the resource up before repeating it.
    ///
    /// False for errors the server answered with a 4xx (the request was refused, nothing
    /// changed), for connect failures (nothing was sent) and for client-side errors.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport(e) => !e.is_connect(),
            Error::Decode { .. } | Error::ResponseTooLarge { .. } => true,
            _ => self.is_server_error(),
        }
    }

    /// True when the error was raised before any request was sent
    /// (bad configuration or bad input).
    pub fn is_client_side(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::InvalidInput { .. } | Error::Encode { .. }
        )
    }
}
