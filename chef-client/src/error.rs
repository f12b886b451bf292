//! The crate's error type.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::api_version::{INVALID_VERSION_ERROR, ServerApiVersions};

/// Everything that can go wrong talking to a Chef server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status and a JSON error body
    /// (`{"error": [...]}` or `{"error": "...", "message": ...}`). The request reached the
    /// server.
    #[error("Chef API error {status}: {}{}", body.summary(), hint(*status, body, server_api.as_ref()))]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The parsed error body.
        body: ApiErrorBody,
        /// `Retry-After` in seconds, when the server sent one.
        retry_after: Option<Duration>,
        /// The server's `X-Ops-Server-API-Version` response header, when it sent a valid
        /// one (see [`crate::api_version`]).
        server_api: Option<ServerApiVersions>,
    },
    /// Non-2xx with a body that is not Chef's error JSON (a proxy page, goiardi's plain-text
    /// 413, an empty 401…). The request reached something on the way to the server.
    #[error("unexpected HTTP {status} from the Chef server")]
    UnexpectedStatus {
        /// HTTP status.
        status: StatusCode,
        /// The first 512 bytes of the body, lossy UTF-8.
        body_snippet: String,
        /// `Retry-After` in seconds, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// Connect, TLS, timeout or body-read failure. The request MAY have been sent.
    #[error("request to the Chef server failed")]
    Transport(#[from] reqwest::Error),
    /// A 2xx response whose JSON did not match the model. The request was processed.
    #[error("could not decode {what} response")]
    Decode {
        /// Which response.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A response body was larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// (default 32 MiB); reading stopped at the limit. The request reached the server and
    /// may have been processed.
    #[error(
        "the Chef server's response is larger than the limit of {limit} bytes \
         (raise it with ClientBuilder::max_response_bytes)"
    )]
    ResponseTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
        /// The `Content-Length` the server announced, when it sent one.
        content_length: Option<u64>,
    },
    /// A pager fetched its page limit and the server still had more
    /// ([`SearchPager::max_pages`](crate::SearchPager::max_pages), default 10,000 pages):
    /// either the result set is that large or the server keeps sending full pages. The
    /// pages fetched so far were returned by earlier calls.
    #[error(
        "{what} stopped after {limit} pages while the server still had more \
         (raise it with SearchPager::max_pages, or ask for more rows per page)"
    )]
    TooManyPages {
        /// Which listing.
        what: &'static str,
        /// The page limit that was reached.
        limit: u32,
    },
    /// A request body could not be serialized. Nothing was sent.
    #[error("could not encode {what} request body")]
    Encode {
        /// Which request.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The request could not be signed (e.g. protocol 1.0 with a too long path). Nothing
    /// was sent.
    #[error("could not sign the request: {0}")]
    Signing(String),
    /// The request was rejected before sending (an empty name, a name that cannot be one
    /// URL path segment such as `..` or `a/b`, a data bag item without `id`). Nothing was
    /// sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Bad client configuration: URL, key, credentials file. Nothing was sent. The message
    /// names the file and setting at fault and never contains key material.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// Result alias using [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A Chef server error body.
///
/// Chef servers answer `{"error": ["msg", ...]}`; API-version negotiation failures (406) use
/// `{"error": "invalid-x-ops-server-api-version", "message": ..., "min_version": 0,
/// "max_version": 2}`. Both shapes land here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ApiErrorBody {
    /// The `error` messages (a string `error` becomes one element).
    #[serde(default, deserialize_with = "string_or_vec")]
    pub error: Vec<String>,
    /// The `message` field, when present (406 responses).
    #[serde(default)]
    pub message: Option<String>,
    /// Lowest API version the server supports (406 responses; `min_version` or
    /// `min_api_version`).
    #[serde(default, alias = "min_api_version", deserialize_with = "lenient_u32")]
    pub min_version: Option<u32>,
    /// Highest API version the server supports (406 responses).
    #[serde(default, alias = "max_api_version", deserialize_with = "lenient_u32")]
    pub max_version: Option<u32>,
}

impl ApiErrorBody {
    /// All messages joined with `"; "`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<&str> = self.error.iter().map(String::as_str).collect();
        if let Some(m) = &self.message {
            parts.push(m);
        }
        if parts.is_empty() {
            "(no message)".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// Whether the server blamed the request timestamp (clock skew).
    pub fn mentions_time(&self) -> bool {
        self.error.iter().chain(self.message.iter()).any(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("clock") || m.contains("time")
        })
    }
}

const CLOCK_HINT: &str = " (hint: the server rejected the request time; check that this machine's clock is \
     synchronised, Chef servers allow about 15 minutes of skew)";

fn hint(status: StatusCode, body: &ApiErrorBody, header: Option<&ServerApiVersions>) -> String {
    if status == StatusCode::UNAUTHORIZED && body.mentions_time() {
        return CLOCK_HINT.to_owned();
    }
    if status == StatusCode::NOT_ACCEPTABLE {
        let range = header
            .map(|h| (Some(h.min_version), Some(h.max_version)))
            .unwrap_or((body.min_version, body.max_version));
        if let (Some(lo), Some(hi)) = range {
            let ours = crate::api_version::SUPPORTED_SERVER_API_VERSIONS;
            return format!(
                " (hint: the server supports API versions {lo} to {hi}, this client {} to {} \
                 and the configured one; set ClientBuilder::server_api_version to one in both)",
                ours.start(),
                ours.end()
            );
        }
    }
    String::new()
}

fn string_or_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        One(String),
        Many(Vec<serde_json::Value>),
        Null(()),
    }
    Ok(match Shape::deserialize(d)? {
        Shape::One(s) => vec![s],
        Shape::Many(v) => v
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Shape::Null(()) => Vec::new(),
    })
}

fn lenient_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

impl Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            _ => None,
        }
    }

    /// The server's error messages (empty when there was no JSON error body).
    pub fn messages(&self) -> &[String] {
        match self {
            Error::Api { body, .. } => &body.error,
            _ => &[],
        }
    }

    /// 404: the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// 409: the object already exists (create) or conflicts.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// 401: the signature, key, user or timestamp was rejected.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// 401 and the server blamed the timestamp: the local clock is probably off.
    pub fn is_clock_skew(&self) -> bool {
        matches!(self, Error::Api { status, body, .. }
            if *status == StatusCode::UNAUTHORIZED && body.mentions_time())
    }

    /// 403: authenticated but not allowed.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    /// 429: rate limited.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// The `Retry-After` the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } | Error::UnexpectedStatus { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// A `406` refusing the `X-Ops-Server-API-Version` the request carried: the server did
    /// not process the request (the body's error is `invalid-x-ops-server-api-version`, or
    /// the response header's `response_version` is `-1`).
    pub fn is_api_version_rejected(&self) -> bool {
        match self {
            Error::Api {
                status,
                body,
                server_api,
                ..
            } if *status == StatusCode::NOT_ACCEPTABLE => {
                body.error.iter().any(|e| e == INVALID_VERSION_ERROR)
                    || server_api.is_some_and(|h| h.response_version == Some(-1))
            }
            _ => false,
        }
    }

    /// The server API versions the server supports, `(min, max)`, from a `406` version
    /// refusal: the response header, else the body's `min_api_version`/`max_api_version`.
    pub fn server_api_range(&self) -> Option<(u32, u32)> {
        let Error::Api {
            body, server_api, ..
        } = self
        else {
            return None;
        };
        if let Some(h) = server_api {
            return Some((h.min_version, h.max_version));
        }
        match (body.min_version, body.max_version) {
            (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
            _ => None,
        }
    }

    /// Attach the `X-Ops-Server-API-Version` response header to an [`Error::Api`].
    pub(crate) fn with_server_api(mut self, header: Option<ServerApiVersions>) -> Self {
        if let Error::Api { server_api, .. } = &mut self {
            *server_api = header;
        }
        self
    }

    /// Build the error for a non-2xx response.
    pub(crate) fn from_response(
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        #[derive(Deserialize)]
        struct Probe {
            error: Option<serde_json::Value>,
        }
        let is_error_json = serde_json::from_slice::<Probe>(body)
            .map(|p| p.error.is_some())
            .unwrap_or(false);
        if is_error_json {
            if let Ok(parsed) = serde_json::from_slice::<ApiErrorBody>(body) {
                return Error::Api {
                    status,
                    body: parsed,
                    retry_after,
                    server_api: None,
                };
            }
        }
        let cut = body.len().min(512);
        Error::UnexpectedStatus {
            status,
            body_snippet: String::from_utf8_lossy(&body[..cut]).into_owned(),
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_and_string_error_shapes() {
        let e = Error::from_response(
            StatusCode::NOT_FOUND,
            None,
            br#"{"error":["node 'x' not found"]}"#,
        );
        assert!(e.is_not_found());
        assert_eq!(e.messages(), ["node 'x' not found"]);
        assert_eq!(
            e.to_string(),
            "Chef API error 404 Not Found: node 'x' not found"
        );

        let e = Error::from_response(
            StatusCode::NOT_ACCEPTABLE,
            None,
            br#"{"error":"invalid-x-ops-server-api-version","message":"Specified version 9 not supported","min_version":0,"max_version":"2"}"#,
        );
        let Error::Api { body, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(body.error, ["invalid-x-ops-server-api-version"]);
        assert_eq!(body.min_version, Some(0));
        assert_eq!(body.max_version, Some(2));
        assert!(e.to_string().contains("Specified version 9 not supported"));

        let e = Error::from_response(
            StatusCode::NOT_ACCEPTABLE,
            None,
            br#"{"error":"x","min_api_version":1,"max_api_version":3}"#,
        );
        let Error::Api { body, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((body.min_version, body.max_version), (Some(1), Some(3)));
    }

    #[test]
    fn non_json_bodies() {
        let e = Error::from_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            b"Content-length too long!",
        );
        let Error::UnexpectedStatus { body_snippet, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(body_snippet, "Content-length too long!");
        let e = Error::from_response(StatusCode::BAD_GATEWAY, None, &[b'x'; 2000]);
        let Error::UnexpectedStatus { body_snippet, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(body_snippet.len(), 512);
        let e = Error::from_response(StatusCode::OK, None, br#"{"rows":[]}"#);
        assert!(matches!(e, Error::UnexpectedStatus { .. }));
    }

    #[test]
    fn clock_skew_hint() {
        let e = Error::from_response(
            StatusCode::UNAUTHORIZED,
            None,
            br#"{"error":["Authentication failed. Please check your system's clock."]}"#,
        );
        assert!(e.is_unauthorized() && e.is_clock_skew());
        assert!(e.to_string().contains("hint"), "{e}");
        let e = Error::from_response(
            StatusCode::UNAUTHORIZED,
            None,
            br#"{"error":["Failed to authenticate as 'x'. Ensure that your node_name and client key are correct."]}"#,
        );
        assert!(e.is_unauthorized() && !e.is_clock_skew());
        assert!(!e.to_string().contains("hint"));
        let e = Error::from_response(StatusCode::FORBIDDEN, None, br#"{"error":["nope"]}"#);
        assert!(e.is_forbidden());
        let e = Error::from_response(
            StatusCode::CONFLICT,
            None,
            br#"{"error":["Node already exists"]}"#,
        );
        assert!(e.is_conflict());
    }
}
