//! [`Client`], [`ClientBuilder`] and the single send/decode path.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::body::{self, DEFAULT_MAX_RESPONSE_BYTES};
use crate::error::{ApiErrorBody, Error, Result};
use crate::resources::{
    Account, Actions, DomainRecords, Domains, DropletActions, Droplets, Images, Regions, Sizes,
    SshKeys, Tags,
};
use crate::retry::{RetryConfig, should_retry};
use ops_http_retry::Verdict;

/// The public DigitalOcean API endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.digitalocean.com/";

/// How much of a non-JSON error body is kept in [`Error::UnexpectedStatus`].
const SNIPPET_BYTES: usize = 512;

const DEFAULT_USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// The rate-limit state reported by the last response (`RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `RateLimit-Limit`: requests allowed per window (5000/hour for a token).
    pub limit: u64,
    /// `RateLimit-Remaining`: requests left in the current window.
    pub remaining: u64,
    /// `RateLimit-Reset`: Unix time (seconds) at which the oldest request leaves the window.
    pub reset_epoch_secs: u64,
}

/// 9999-12-31T23:59:59Z.
const LATEST_EPOCH_SECS: u64 = 253_402_300_799;

impl RateLimit {
    /// [`RateLimit::reset_epoch_secs`] as a [`SystemTime`] (a value past year 9999, which
    /// only a broken server sends, is read as 9999-12-31).
    pub fn reset_at(&self) -> SystemTime {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(
                self.reset_epoch_secs.min(LATEST_EPOCH_SECS),
            ))
            .unwrap_or(UNIX_EPOCH)
    }

    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(Self {
            limit: num("ratelimit-limit")?,
            remaining: num("ratelimit-remaining")?,
            reset_epoch_secs: num("ratelimit-reset")?,
        })
    }
}

/// An async DigitalOcean API v2 client.
///
/// Cheap to clone (clones share the connection pool and the rate-limit state).
/// `Debug` is safe to print: the token shows as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    token: SecretString,
    retry: RetryConfig,
    user_agent: HeaderValue,
    timeout: Duration,
    max_response_bytes: usize,
    rate_limit: Arc<Mutex<Option<RateLimit>>>,
}

/// Builder for [`Client`]; obtain one with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    token: SecretString,
    base_url: String,
    retry: RetryConfig,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    max_response_bytes: usize,
}

impl ClientBuilder {
    /// Override the API endpoint (tests, proxies). A trailing `/` is added if missing,
    /// so a path prefix such as `http://proxy/do` is kept.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Retry policy (default: [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// TCP/TLS connect timeout (default 5 s). Ignored with [`ClientBuilder::http_client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout for one attempt, from sending the request to reading the body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A product token prepended to the default `User-Agent`
    /// (`"<yours> digitalocean-client/<version>"`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Use a caller-built `reqwest::Client` (proxies, custom TLS, default headers).
    /// Its own connect timeout applies; the per-attempt timeout is still set per request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB).
    /// A longer body fails with [`Error::ResponseTooLarge`] without being read further (at
    /// once when its `Content-Length` says so). Of an error body at most 64 KiB are read and
    /// 512 bytes kept. Must be at least 1.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Validate the configuration and build the client. Never panics.
    pub fn build(self) -> Result<Client> {
        let mut raw = self.base_url.trim().to_owned();
        if !raw.ends_with('/') {
            raw.push('/');
        }
        let base_url = Url::parse(&raw)
            .map_err(|e| Error::Config(format!("malformed base URL {raw:?}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "base URL {raw:?} must be an http(s) URL"
            )));
        }
        if base_url.host_str().is_none_or(str::is_empty) {
            return Err(Error::Config(format!("base URL {raw:?} has no host")));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(Error::Config(format!(
                "base URL {raw:?} must not have a query or fragment"
            )));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::Config(
                "retry.max_attempts must be at least 1".to_owned(),
            ));
        }
        if self.max_response_bytes == 0 {
            return Err(Error::Config(
                "max_response_bytes must be at least 1".to_owned(),
            ));
        }
        // Validates the token (non-empty, header-safe) without keeping a copy.
        bearer_header(&self.token)?;
        let ua = match &self.user_agent {
            Some(prefix) => format!("{} {DEFAULT_USER_AGENT}", prefix.trim()),
            None => DEFAULT_USER_AGENT.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&ua)
            .map_err(|_| Error::Config("user agent contains invalid characters".to_owned()))?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .build()
                .map_err(|e| Error::Config(format!("could not build HTTP client: {e}")))?,
        };
        Ok(Client {
            http,
            base_url,
            token: self.token,
            retry: self.retry,
            user_agent,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            rate_limit: Arc::new(Mutex::new(None)),
        })
    }
}

/// The only place the token is sent: the `Authorization` header, marked sensitive (the
/// other use is scrubbing it out of error bodies that echo it).
fn bearer_header(token: &SecretString) -> Result<HeaderValue> {
    let raw = token.expose_secret().trim();
    if raw.is_empty() {
        return Err(Error::Config("the API token is empty".to_owned()));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {raw}"))
        .map_err(|_| Error::Config("the API token contains invalid characters".to_owned()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// A successful raw answer.
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Client {
    /// Start building a client authenticated with a personal access token.
    pub fn builder(token: impl Into<SecretString>) -> ClientBuilder {
        ClientBuilder {
            token: token.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            user_agent: None,
            http: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// A client with every default, pointed at the public API.
    pub fn new(token: impl Into<SecretString>) -> Result<Self> {
        Self::builder(token).build()
    }

    /// The configured base URL (always ends in `/`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The token this client sends, still wrapped: for a caller that must tell tokens apart
    /// without storing them (a digest of it keys a rate budget shared across processes,
    /// since DigitalOcean counts its limits per token). Never log what it exposes.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The rate-limit headers of the most recent response (errors included),
    /// or `None` before the first response or if the server sent none.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        match self.rate_limit.lock() {
            Ok(guard) => *guard,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Droplets: create, get, list, delete.
    pub fn droplets(&self) -> Droplets<'_> {
        Droplets::new(self)
    }

    /// Droplet actions: power on/off, shutdown, reboot, resize, rebuild, rename, snapshot,
    /// backups, IPv6, and waiting on them.
    pub fn droplet_actions(&self) -> DropletActions<'_> {
        DropletActions::new(self)
    }

    /// Actions: get and wait for completion.
    pub fn actions(&self) -> Actions<'_> {
        Actions::new(self)
    }

    /// Account SSH keys.
    pub fn ssh_keys(&self) -> SshKeys<'_> {
        SshKeys::new(self)
    }

    /// Tags and tagging of resources.
    pub fn tags(&self) -> Tags<'_> {
        Tags::new(self)
    }

    /// DNS domains.
    pub fn domains(&self) -> Domains<'_> {
        Domains::new(self)
    }

    /// DNS records of one domain.
    pub fn domain_records<'c>(&'c self, domain: &str) -> DomainRecords<'c> {
        DomainRecords::new(self, domain)
    }

    /// Regions (read-only catalog).
    pub fn regions(&self) -> Regions<'_> {
        Regions::new(self)
    }

    /// Droplet sizes (read-only catalog).
    pub fn sizes(&self) -> Sizes<'_> {
        Sizes::new(self)
    }

    /// Images (read-only catalog).
    pub fn images(&self) -> Images<'_> {
        Images::new(self)
    }

    /// The account the token belongs to: its details and limits, and its balance.
    pub fn account(&self) -> Account<'_> {
        Account::new(self)
    }

    /// Build `base + segments` (each segment checked by [`check_segment`] and
    /// percent-encoded) `+ ?query` (encoded by `url`).
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url> {
        for (i, s) in segments.iter().enumerate() {
            let field = match i.checked_sub(1).map(|p| segments[p]) {
                Some("droplets") => "droplet_id",
                Some("actions") => "action_id",
                Some("tags") => "tag",
                Some("domains") => "domain",
                Some("records") => "record_id",
                Some("images") => "image",
                Some("keys") => "ssh_key",
                Some("firewalls") => "firewall_id",
                Some("reserved_ips") => "reserved_ip",
                Some("vpcs") => "vpc_id",
                Some("volumes") => "volume_id",
                Some("projects") => "project_id",
                Some("alerts") => "alert_uuid",
                Some("snapshots") => "snapshot_id",
                Some("load_balancers") => "lb_id",
                Some("certificates") => "certificate_id",
                _ => "path segment",
            };
            check_segment(field, s)?;
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("base URL cannot be a base".to_owned()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Resolve a server-provided link (`links.pages.next`, an action `href`) by keeping
    /// only its path and query and applying them to the configured base URL, so a
    /// mock or proxy base URL is honoured (the absolute host is never followed).
    pub(crate) fn resolve_link(&self, href: &str) -> Result<Url> {
        let parsed = Url::parse(href)
            .or_else(|_| Url::parse("http://placeholder.invalid/")?.join(href))
            .map_err(|e| Error::InvalidInput {
                field: "href",
                reason: format!("not a URL: {e}"),
            })?;
        let relative = parsed.path().trim_start_matches('/');
        let mut url = self
            .base_url
            .join(relative)
            .map_err(|e| Error::InvalidInput {
                field: "href",
                reason: format!("cannot resolve against the base URL: {e}"),
            })?;
        url.set_query(parsed.query());
        Ok(url)
    }

    /// Send a request and decode a JSON answer.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        what: &'static str,
    ) -> Result<T> {
        let raw = self.execute(method, url, encode(body, what)?).await?;
        decode(&raw.body, what)
    }

    /// Send a request whose success answer has no useful body (204).
    pub(crate) async fn send_no_content(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        what: &'static str,
    ) -> Result<()> {
        self.execute(method, url, encode(body, what)?).await?;
        Ok(())
    }

    /// Like [`Client::send`], for a request whose body carries a secret other than the
    /// token (a certificate's private key): an error body that echoes any of `secrets` is
    /// scrubbed of them before it becomes an [`Error`].
    pub(crate) async fn send_scrubbing<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        what: &'static str,
        secrets: &[&str],
    ) -> Result<T> {
        let raw = self
            .execute_scrubbing(method, url, encode(body, what)?, secrets)
            .await?;
        decode(&raw.body, what)
    }

    /// The retry loop (STYLE §6): the request is rebuilt for every attempt.
    pub(crate) async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse> {
        self.execute_scrubbing(method, url, body, &[]).await
    }

    /// [`Client::execute`], scrubbing `secrets` (besides the token) out of error bodies.
    #[tracing::instrument(
        name = "digitalocean.request",
        skip_all,
        fields(method = %method, path = %url.path(), status = tracing::field::Empty)
    )]
    async fn execute_scrubbing(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        secrets: &[&str],
    ) -> Result<RawResponse> {
        let result = ops_http_retry::retry_loop(
            &self.retry,
            |_| self.attempt(&method, &url, body.as_deref(), secrets),
            |err: &Error| {
                if should_retry(err, &method) {
                    Verdict::retry(err.retry_after())
                } else {
                    Verdict::Stop
                }
            },
            |delay, err: &Error, attempt| {
                // A retry that recovers needs no human: debug. If it does not recover, the
                // caller gets the error.
                tracing::debug!(
                    status = err.status().map(|s| s.as_u16()),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "retrying DigitalOcean request"
                );
                tokio::time::sleep(delay)
            },
        )
        .await;
        let status = match &result {
            Ok(raw) => Some(raw.status),
            Err(err) => err.status(),
        };
        if let Some(status) = status {
            tracing::Span::current().record("status", status.as_u16());
        }
        result
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        secrets: &[&str],
    ) -> Result<RawResponse> {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, bearer_header(&self.token)?)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.user_agent.clone())
            .timeout(self.timeout);
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let mut resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if let Some(rl) = RateLimit::from_headers(&headers) {
            match self.rate_limit.lock() {
                Ok(mut guard) => *guard = Some(rl),
                Err(poisoned) => *poisoned.into_inner() = Some(rl),
            }
        }
        if status.is_success() {
            let body = body::read_limited(&mut resp, self.max_response_bytes).await?;
            return Ok(RawResponse { status, body });
        }
        let bytes = body::read_error_body(&mut resp, self.max_response_bytes).await?;
        // A server or proxy that echoes the refused request must not put the token into
        // the error the caller prints or logs.
        let mut all = vec![self.token.expose_secret().trim()];
        all.extend_from_slice(secrets);
        let bytes = ops_http_retry::scrub(&bytes, &all);
        Err(error_from_response(status, &headers, &bytes))
    }
}

/// Refuse a value that cannot be exactly one URL path segment: empty, `.`, `..` (the `url`
/// crate drops those, addressing the parent collection instead), or containing `/`, `\`,
/// `?`, `#` or a control character (tab, CR and LF are silently stripped by `url`). No
/// DigitalOcean name allows any of these (droplet names `[A-Za-z0-9.-]`, tags
/// `[A-Za-z0-9_:-]`, domains, image slugs, key fingerprints); anything else is
/// percent-encoded.
fn check_segment(field: &'static str, value: &str) -> Result<()> {
    let why = if value.is_empty() {
        "it is empty"
    } else if value == "." || value == ".." {
        "`.` and `..` are not names (URL normalisation would address the parent instead)"
    } else if value.contains(['/', '\\']) {
        "it contains `/` or `\\`, which would change the URL path"
    } else if value.contains(['?', '#']) {
        "it contains `?` or `#`, which would end the URL path"
    } else if value.chars().any(char::is_control) {
        "it contains a control character (tab, CR, LF, …)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        field,
        reason: format!("{value:?} cannot be used in a URL path: {why}; nothing was sent"),
    })
}

fn encode(body: Option<&(impl Serialize + ?Sized)>, what: &'static str) -> Result<Option<Vec<u8>>> {
    body.map(|b| serde_json::to_vec(b).map_err(|source| Error::Encode { what, source }))
        .transpose()
}

pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| Error::Decode { what, source })
}

/// Legacy error shape some endpoints still use (`{"error": "...", ...}`).
#[derive(serde::Deserialize)]
struct LegacyErrorBody {
    error: String,
}

/// A 429 without `Retry-After` whose `RateLimit-Remaining` is 0: the wait until
/// `RateLimit-Reset`, the moment the oldest request leaves DigitalOcean's sliding window
/// (measured against the response's `Date` when present). `None` when the headers say
/// nothing useful or the reset is already past.
fn rate_limit_reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if text("ratelimit-remaining")? != "0" {
        return None;
    }
    let reset =
        UNIX_EPOCH.checked_add(Duration::from_secs(text("ratelimit-reset")?.parse().ok()?))?;
    let now = text("date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or_else(SystemTime::now);
    reset.duration_since(now).ok().filter(|d| !d.is_zero())
}

pub(crate) fn error_from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let retry_after = ops_http_retry::retry_after(headers).or_else(|| {
        (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| rate_limit_reset_wait(headers))
            .flatten()
    });
    let header_request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed = serde_json::from_slice::<ApiErrorBody>(body)
        .ok()
        .or_else(|| {
            serde_json::from_slice::<LegacyErrorBody>(body)
                .ok()
                .map(|legacy| ApiErrorBody {
                    id: String::new(),
                    message: legacy.error,
                    request_id: None,
                })
        });
    match parsed {
        Some(mut body) => {
            if body.request_id.as_deref().is_none_or(str::is_empty) {
                body.request_id = header_request_id;
            }
            Error::Api {
                status,
                body,
                retry_after,
            }
        }
        None => {
            let cut = &body[..body.len().min(SNIPPET_BYTES)];
            Error::UnexpectedStatus {
                status,
                body_snippet: String::from_utf8_lossy(cut).into_owned(),
                retry_after,
            }
        }
    }
}

#[cfg(test)]
#[path = "proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "dop_v1_supersecret0123456789";

    /// Issue #16: a `RateLimit-Reset` beyond what a `SystemTime` holds used to panic.
    #[test]
    fn any_rate_limit_reset_is_read_without_panic() {
        for reset in ["18446744073709551615", "253402300800", "0", "-1", "x"] {
            let mut h = HeaderMap::new();
            h.insert("ratelimit-limit", "5000".parse().unwrap());
            h.insert("ratelimit-remaining", "0".parse().unwrap());
            h.insert("ratelimit-reset", reset.parse().unwrap());
            let _ = rate_limit_reset_wait(&h);
            if let Some(rl) = RateLimit::from_headers(&h) {
                let _ = rl.reset_at();
            }
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::builder(TOKEN).build().unwrap();
        let dbg = format!("{client:?}");
        assert!(!dbg.contains(TOKEN), "{dbg}");
        assert!(!dbg.contains("supersecret"));
        let builder = Client::builder(TOKEN);
        assert!(!format!("{builder:?}").contains(TOKEN));
    }

    #[test]
    fn base_url_gets_a_trailing_slash_and_prefix_is_kept() {
        let c = Client::builder("t")
            .base_url("http://127.0.0.1:9/do")
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:9/do/");
        let u = c.url(&["v2", "droplets", "1"], &[("a", "b c")]).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9/do/v2/droplets/1?a=b+c");
    }

    #[test]
    fn user_segments_are_percent_encoded() {
        let c = Client::builder("t").base_url("http://h/").build().unwrap();
        let u = c.url(&["v2", "domains", "bücher.example d%"], &[]).unwrap();
        assert_eq!(u.as_str(), "http://h/v2/domains/b%C3%BCcher.example%20d%25");
        let u = c.url(&["v2", "tags", "env:prod"], &[]).unwrap();
        assert_eq!(u.as_str(), "http://h/v2/tags/env:prod");
        for bad in ["..", ".", "", "a/b", "a\\b", "a?b", "a#b", "a\tb", "a\nb"] {
            let err = c.url(&["v2", "domains", bad], &[]).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        field: "domain",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn links_keep_only_path_and_query() {
        let c = Client::builder("t")
            .base_url("http://127.0.0.1:9/prefix")
            .build()
            .unwrap();
        let u = c
            .resolve_link("https://api.digitalocean.com/v2/droplets?page=2&per_page=1")
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/prefix/v2/droplets?page=2&per_page=1"
        );
        let u = c.resolve_link("/v2/actions/7").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9/prefix/v2/actions/7");
    }

    #[test]
    fn bad_configuration_is_rejected() {
        for bad in ["", "not a url", "ftp://x/", "mailto:a@b", "http://h/?q=1"] {
            let err = Client::builder("t").base_url(bad).build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}: {err:?}");
        }
        assert!(matches!(Client::builder("").build(), Err(Error::Config(_))));
        assert!(matches!(
            Client::builder("  ").build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::builder("a\nb").build(),
            Err(Error::Config(_))
        ));
        let err = Client::builder("t")
            .retry(RetryConfig {
                max_attempts: 0,
                ..RetryConfig::default()
            })
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }

    #[test]
    fn error_bodies_are_classified() {
        let h = HeaderMap::new();
        let e = error_from_response(
            StatusCode::NOT_FOUND,
            &h,
            br#"{"id":"not_found","message":"gone"}"#,
        );
        assert!(e.is_not_found());
        assert_eq!(e.api_error_id(), Some("not_found"));
        let e = error_from_response(StatusCode::BAD_GATEWAY, &h, &[b'x'; 2000]);
        match e {
            Error::UnexpectedStatus { body_snippet, .. } => assert_eq!(body_snippet.len(), 512),
            other => panic!("{other:?}"),
        }
        let e = error_from_response(
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"error":"bad tag","messages":null}"#,
        );
        assert_eq!(e.api_message(), Some("bad tag"));
        assert_eq!(e.api_error_id(), None);
    }
}
