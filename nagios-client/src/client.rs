//! [`Client`], [`ClientBuilder`] and the one request/decode path.

use std::time::Duration;

use reqwest::{Method, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::body::{self, DEFAULT_MAX_RESPONSE_BYTES};
use crate::commands::Wire;
use crate::error::{Error, Result};
use crate::retry::{Idempotency, RetryConfig, should_retry};
use ops_http_retry::Verdict;

/// The port nagios-api listens on by default.
pub const DEFAULT_PORT: u16 = 6315;

const BODY_SNIPPET: usize = 512;

/// Refuse a value that cannot be exactly one URL path segment. The `url` crate drops `.`
/// and `..` (so `host("..")` would ask for `/`) and strips tab, CR and LF; `/`, `\`, `?`
/// and `#` would change the path or end it. nagios-api's own URL grammar
/// (`/<verb>/<[\w.+\-\s]+>`) allows none of them in an object id; spaces and anything
/// else are percent-encoded.
fn check_segment(field: &'static str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value == "." || value == ".." {
        "must not be `.` or `..` (URL normalisation would address the parent instead)"
    } else if value.contains(['/', '\\']) {
        "must not contain `/` or `\\` (it would change the URL path)"
    } else if value.contains(['?', '#']) {
        "must not contain `?` or `#` (it would end the URL path)"
    } else if value.chars().any(char::is_control) {
        "must not contain control characters (tab, CR, LF, …)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidRequest { field, reason })
}

/// Credentials for a proxy in front of nagios-api (nagios-api itself has no
/// authentication).
#[derive(Debug, Clone)]
struct BasicAuth {
    username: String,
    password: SecretString,
}

/// A nagios-api client. Cheap to clone (the connection pool is shared).
///
/// `Debug` is safe to print: the basic-auth password shows as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    auth: Option<BasicAuth>,
    retry: RetryConfig,
    max_response_bytes: usize,
    pub(crate) poll_interval: Duration,
}

/// Builds a [`Client`]; see [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    auth: Option<BasicAuth>,
    retry: RetryConfig,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
    poll_interval: Duration,
    max_response_bytes: usize,
}

impl Client {
    /// Start building a client for the nagios-api at `base_url`, e.g.
    /// `http://nagios.example:6315/` (a path prefix is kept, for proxies).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            auth: None,
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            user_agent: concat!("nagios-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
            poll_interval: Duration::from_secs(1),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The base URL requests are sent to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `base + segments`; every segment is checked ([`check_segment`]) and
    /// percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<Url> {
        for (i, s) in segments.iter().enumerate() {
            let field = match (segments.first().copied(), i) {
                (_, 0) => "endpoint",
                (Some("host" | "service"), 1) => "host",
                (Some("cancel_downtime"), 1) => "downtime_id",
                _ => "path segment",
            };
            check_segment(field, s)?;
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("base URL cannot be a base".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A `GET` of a read endpoint.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        what: &'static str,
        segments: &[&str],
    ) -> Result<T> {
        let call = Call {
            method: Method::GET,
            endpoint: what,
            segments,
            body: None,
            idem: Idempotency::Idempotent,
            named_service: false,
        };
        self.send(&call).await
    }

    /// A `POST` of a command endpoint; returns the success `content`.
    pub(crate) async fn command(
        &self,
        endpoint: &'static str,
        segments: &[&str],
        wire: Wire,
        idem: Idempotency,
    ) -> Result<Value> {
        let named_service = wire.named_service;
        let call = Call {
            method: Method::POST,
            endpoint,
            segments,
            body: Some(wire.into_value()),
            idem,
            named_service,
        };
        self.send(&call).await
    }

    pub(crate) async fn send_raw<T: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &'static str,
        idem: Idempotency,
    ) -> Result<T> {
        let call = Call {
            method,
            endpoint,
            segments: &[endpoint],
            body: None,
            idem,
            named_service: false,
        };
        self.send(&call).await
    }

    async fn send<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T> {
        let url = self.url(call.segments)?;
        ops_http_retry::retry_loop(
            &self.retry,
            |_| self.attempt(call, &url),
            |err: &Error| {
                if should_retry(err, call.idem) {
                    Verdict::retry(err.retry_after())
                } else {
                    Verdict::Stop
                }
            },
            |delay, err: &Error, attempt| {
                // A retry that recovers needs no human: debug. If it does not recover, the
                // caller gets the error.
                tracing::debug!(
                    endpoint = call.endpoint,
                    status = ?err.status(),
                    attempt,
                    ?delay,
                    "retrying nagios-api request"
                );
                tokio::time::sleep(delay)
            },
        )
        .await
    }

    async fn attempt<T: DeserializeOwned>(&self, call: &Call<'_>, url: &Url) -> Result<T> {
        let mut req = self
            .http
            .request(call.method.clone(), url.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(body) = &call.body {
            // `.json` also sets `Content-Type: application/json`, without
            // which nagios-api refuses the body.
            req = req.json(body);
        }
        if let Some(auth) = &self.auth {
            // The only place the password is exposed; reqwest marks the
            // header sensitive.
            req = req.basic_auth(&auth.username, Some(auth.password.expose_secret()));
        }
        let mut resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            let retry_after = ops_http_retry::retry_after(resp.headers());
            // Only the snippet is kept, so only the snippet is read. A body cut off
            // mid-way is a transport error, not an empty snippet.
            let limit = BODY_SNIPPET.min(self.max_response_bytes);
            let bytes = ops_http_retry::body::read_at_most(&mut resp, limit)
                .await?
                .bytes;
            // A server or proxy that echoes the refused request (its `Authorization:
            // Basic …` header) must not put the password into the error.
            let bytes = match &self.auth {
                Some(auth) => {
                    let password = auth.password.expose_secret();
                    let basic = basic_credentials(&auth.username, password);
                    ops_http_retry::scrub(&bytes, &[password, &basic]).into_owned()
                }
                None => bytes,
            };
            return Err(Error::UnexpectedStatus {
                status,
                body_snippet: String::from_utf8_lossy(&bytes).into_owned(),
                retry_after,
            });
        }
        let bytes = body::read_limited(&mut resp, self.max_response_bytes).await?;
        decode(call.endpoint, call.named_service, &bytes)
    }
}

/// `user:password` in base64, as the `Authorization: Basic` header carries it.
fn basic_credentials(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

struct Call<'a> {
    method: Method,
    endpoint: &'static str,
    segments: &'a [&'a str],
    body: Option<Value>,
    idem: Idempotency,
    named_service: bool,
}

#[derive(Deserialize)]
struct Envelope {
    success: bool,
    #[serde(default)]
    content: Value,
}

/// Decode nagios-api's `{"success": bool, "content": …}` envelope.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: &'static str,
    named_service: bool,
    bytes: &[u8],
) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let env: Envelope = serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        what: endpoint,
        path: e.path().to_string(),
        source: e.into_inner(),
    })?;
    // As `from_slice` does: nothing but whitespace after the envelope.
    de.end().map_err(|source| Error::Decode {
        what: endpoint,
        path: ".".into(),
        source,
    })?;
    if !env.success {
        let message = match env.content {
            Value::String(s) => s,
            other => other.to_string(),
        };
        return Err(Error::Api {
            endpoint,
            message,
            named_service,
        });
    }
    // A payload that is missing or null is the envelope's fault: say `content`.
    let whole = env.content.is_null();
    serde_path_to_error::deserialize(env.content).map_err(|e| Error::Decode {
        what: endpoint,
        path: if whole {
            "content".into()
        } else {
            e.path().to_string()
        },
        source: e.into_inner(),
    })
}

impl ClientBuilder {
    /// Send HTTP basic auth on every request (for a proxy in front of
    /// nagios-api). The password stays a [`SecretString`].
    pub fn basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.auth = Some(BasicAuth {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Retry policy (default: 3 attempts, 1 s → 20 s backoff).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// TCP connect timeout (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Timeout for one attempt (default 30 s). Keep it: nagios-api blocks
    /// on the command pipe when Nagios is not running.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// `User-Agent` header (default `nagios-client/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Use this `reqwest::Client` (its own timeouts, proxy and TLS settings
    /// apply; `connect_timeout`, `timeout` and `user_agent` are ignored).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`],
    /// 32 MiB; `/state` of a large Nagios can be several MiB). A longer body fails with
    /// [`Error::ResponseTooLarge`] without being read further (at once when its
    /// `Content-Length` says so; the limit applies to the decompressed body). Of an error
    /// body (a proxy's) only the 512-byte snippet is read. Must be at least 1.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How often the `*_and_wait` helpers poll `/state` (default 1 s;
    /// nagios-api re-reads `status.dat` at most once a second).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }

    /// Build the client. Fails on an invalid base URL or TLS setup; never
    /// panics.
    pub fn build(self) -> Result<Client> {
        let mut base_url = Url::parse(&self.base_url)
            .map_err(|e| Error::Config(format!("invalid base URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(Error::Config("base URL must be http or https".into()));
        }
        if !base_url.username().is_empty() || base_url.password().is_some() {
            return Err(Error::Config(
                "credentials in the base URL are not allowed; use basic_auth()".into(),
            ));
        }
        if base_url.cannot_be_a_base() {
            return Err(Error::Config("base URL cannot be a base".into()));
        }
        if !base_url.path().ends_with('/') {
            let p = format!("{}/", base_url.path());
            base_url.set_path(&p);
        }
        base_url.set_query(None);
        base_url.set_fragment(None);
        if self.max_response_bytes == 0 {
            return Err(Error::Config(
                "max_response_bytes must be at least 1".into(),
            ));
        }
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?,
        };
        Ok(Client {
            http,
            base_url,
            auth: self.auth,
            retry: self.retry,
            max_response_bytes: self.max_response_bytes,
            poll_interval: self.poll_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "hunter2-very-secret";

    #[test]
    fn debug_redacts_the_password() {
        let b = Client::builder("http://127.0.0.1:6315").basic_auth("ops", PASSWORD);
        assert!(!format!("{b:?}").contains(PASSWORD));
        let c = b.build().unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(PASSWORD), "{dbg}");
        assert!(dbg.contains("ops"));
    }

    #[test]
    fn base_url_is_normalised() {
        let c = Client::builder("http://h:6315/prefix").build().unwrap();
        assert_eq!(c.base_url().as_str(), "http://h:6315/prefix/");
        assert_eq!(
            c.url(&["host", "web 01"]).unwrap().as_str(),
            "http://h:6315/prefix/host/web%2001"
        );
        assert!(matches!(
            Client::builder("not a url").build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::builder("http://u:p@h/").build(),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn envelope_failure_is_typed() {
        let e = decode::<Value>(
            "host",
            false,
            br#"{"content": "Unknown hostname.", "success": false}"#,
        )
        .unwrap_err();
        assert!(e.is_unknown_host());
        assert_eq!(e.api_message(), Some("Unknown hostname."));
        let e = decode::<Value>("state", false, b"<html>").unwrap_err();
        assert!(matches!(e, Error::Decode { what: "state", .. }));
        let e = decode::<Value>("state", false, br#"{"content": 1}"#).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }));
    }
}
