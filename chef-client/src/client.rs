//! [`Client`], [`ClientBuilder`] and the one request path every endpoint goes through.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::api_version::{self, ServerApiVersions};
use crate::auth::{self, ProtocolVersion, SigningKey, SigningRequest};
use crate::body::{self, DEFAULT_MAX_RESPONSE_BYTES};
use crate::credentials::{Profile, ProfileKey};
use crate::error::{Error, Result};
use crate::resources::{
    clients::Clients, cookbooks::Cookbooks, data_bags::DataBags, environments::Environments,
    nodes::Nodes, roles::Roles, search::Search, status::ServerStatus, users::Users,
};
use crate::retry::{RetryConfig, should_retry};
use ops_http_retry::Verdict;

/// `X-Ops-Server-API-Version` sent (and signed) unless configured otherwise.
pub const DEFAULT_SERVER_API_VERSION: u32 = 1;
/// `X-Chef-Version` sent unless configured otherwise (Chef servers require the header).
pub const DEFAULT_CHEF_VERSION: &str = "18.0.0";

/// A Chef Infra Server API client. Cheap to clone (shared state behind an `Arc`).
///
/// `Debug` is safe: the signing key prints as `SigningKey { bits: 2048, .. }`.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_url: Url,
    root_url: Url,
    client_name: String,
    key: SigningKey,
    version: ProtocolVersion,
    /// The `X-Ops-Server-API-Version` the builder asked for.
    preferred_api_version: u32,
    /// The version sent now: the preferred one until a `406` renegotiated it.
    server_api_version: AtomicU32,
    chef_version: HeaderValue,
    retry: RetryConfig,
    max_response_bytes: usize,
}

/// Which URL an endpoint hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `https://chef/organizations/ORG/…` (nodes, roles, search, …).
    Org,
    /// `https://chef/…` (users, `_status`).
    Root,
}

impl Client {
    /// Start building a client for `server_url` (with the organization,
    /// e.g. `https://chef.example.com/organizations/acme`; a trailing slash is optional)
    /// acting as `client_name`. Set the key with [`ClientBuilder::key_pem`],
    /// [`ClientBuilder::key_file`] or [`ClientBuilder::signing_key`].
    pub fn builder(server_url: impl Into<String>, client_name: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            server_url: server_url.into(),
            client_name: client_name.into(),
            key: None,
            version: ProtocolVersion::default(),
            server_api_version: DEFAULT_SERVER_API_VERSION,
            chef_version: DEFAULT_CHEF_VERSION.to_owned(),
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            user_agent: concat!("chef-client-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Build a client from a profile of the Chef credentials file (`~/.chef/credentials`).
    /// `profile` `None` honours `CHEF_PROFILE`, then `~/.chef/context`, then `default`.
    pub fn from_credentials(profile: Option<&str>) -> Result<Client> {
        let creds = crate::credentials::Credentials::load_default()?;
        ClientBuilder::from_profile(&creds.profile(profile)?).build()
    }

    /// Nodes (`/nodes`).
    pub fn nodes(&self) -> Nodes<'_> {
        Nodes::new(self)
    }

    /// API clients (`/clients`).
    pub fn clients(&self) -> Clients<'_> {
        Clients::new(self)
    }

    /// Cookbooks and their versions (`/cookbooks`).
    pub fn cookbooks(&self) -> Cookbooks<'_> {
        Cookbooks::new(self)
    }

    /// Roles (`/roles`).
    pub fn roles(&self) -> Roles<'_> {
        Roles::new(self)
    }

    /// Environments (`/environments`).
    pub fn environments(&self) -> Environments<'_> {
        Environments::new(self)
    }

    /// Data bags and their items (`/data`).
    pub fn data_bags(&self) -> DataBags<'_> {
        DataBags::new(self)
    }

    /// Search and partial search (`/search`).
    pub fn search(&self) -> Search<'_> {
        Search::new(self)
    }

    /// Users (`/users`, a global endpoint resolved against the server root).
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Health check: `GET /_status` on the server root.
    ///
    /// Chef Infra Server answers `{"status":"pong","upstreams":{…}}`; goiardi has no health
    /// endpoint and answers 200 with an empty body (its catch-all handler), which counts as
    /// healthy. A non-2xx answer (503 when an upstream is down) is an error.
    pub async fn status(&self) -> Result<ServerStatus> {
        let url = self.url(Scope::Root, &["_status"])?;
        let bytes = self.execute(Method::GET, url, None).await?;
        ServerStatus::from_body(&bytes)
    }

    /// The organization-scoped base URL (always ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The server root used for global endpoints (always ends with `/`).
    pub fn server_root(&self) -> &Url {
        &self.inner.root_url
    }

    /// The client or user name requests are signed as.
    pub fn client_name(&self) -> &str {
        &self.inner.client_name
    }

    /// The signing protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The `X-Ops-Server-API-Version` requests carry now: the configured one
    /// ([`ClientBuilder::server_api_version`]), or the one a `406` renegotiated (shared by
    /// this client's clones; see [`crate::api_version`]).
    pub fn server_api_version(&self) -> u32 {
        self.inner.server_api_version.load(Ordering::Relaxed)
    }

    /// Build an endpoint URL; every segment is checked ([`check_segment`]) and
    /// percent-encoded.
    pub(crate) fn url(&self, scope: Scope, segments: &[&str]) -> Result<Url> {
        for (i, segment) in segments.iter().enumerate() {
            check_segment(segment_field(segments, i), segment)?;
        }
        let mut url = match scope {
            Scope::Org => self.inner.base_url.clone(),
            Scope::Root => self.inner.root_url.clone(),
        };
        url.path_segments_mut()
            .map_err(|()| Error::Config("the server URL cannot be a base".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Serialize a request body.
    pub(crate) fn encode<B: Serialize + ?Sized>(what: &'static str, body: &B) -> Result<Vec<u8>> {
        serde_json::to_vec(body).map_err(|source| Error::Encode { what, source })
    }

    /// Send and decode JSON.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        what: &'static str,
    ) -> Result<T> {
        let bytes = self.execute(method, url, body).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode { what, source })
    }

    /// Sends a request: the retry loop, and once more with a renegotiated server API
    /// version when the server refused the one sent (`406`, see [`crate::api_version`]).
    ///
    /// Repeating after such a `406` is safe whatever the method: the server checks the
    /// version before anything else and did not process the request.
    pub(crate) async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let sent = self.server_api_version();
        match self
            .execute_with(&method, &url, body.as_deref(), sent)
            .await
        {
            Err(e) if e.is_api_version_rejected() => {
                let Some(next) = e.server_api_range().and_then(|range| {
                    api_version::renegotiate(self.inner.preferred_api_version, sent, range)
                }) else {
                    tracing::warn!(
                        sent,
                        server_range = ?e.server_api_range(),
                        "Chef server refused the API version and no other fits"
                    );
                    return Err(e);
                };
                tracing::info!(
                    from = sent,
                    to = next,
                    method = %method,
                    path = url.path(),
                    "Chef server refused the API version: renegotiated, repeating the request once"
                );
                self.inner.server_api_version.store(next, Ordering::Relaxed);
                self.execute_with(&method, &url, body.as_deref(), next)
                    .await
            }
            r => r,
        }
    }

    /// The retry loop at one server API version: each attempt is rebuilt and signed afresh.
    async fn execute_with(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        api_version: u32,
    ) -> Result<Vec<u8>> {
        let api_version = api_version.to_string();
        ops_http_retry::retry_loop(
            &self.inner.retry,
            |_| self.attempt(method, url, body, &api_version),
            |err: &Error| {
                if should_retry(err, method) {
                    Verdict::retry(err.retry_after())
                } else {
                    Verdict::Stop
                }
            },
            |delay, err: &Error, attempt| {
                // A retry that recovers needs no human: debug. If it does not recover, the
                // caller gets the error.
                tracing::debug!(
                    status = ?err.status(),
                    attempt,
                    ?delay,
                    method = %method,
                    path = url.path(),
                    "retrying Chef request"
                );
                tokio::time::sleep(delay)
            },
        )
        .await
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        api_version: &str,
    ) -> Result<Vec<u8>> {
        let inner = &self.inner;
        let timestamp = auth::timestamp_now();
        let signed = auth::sign(
            &inner.key,
            &SigningRequest {
                method: method.as_str(),
                path: url.path(),
                body: body.unwrap_or_default(),
                user_id: &inner.client_name,
                timestamp: &timestamp,
                server_api_version: api_version,
                version: inner.version,
            },
        )?;
        let mut req = inner
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header("X-Chef-Version", inner.chef_version.clone())
            .headers(signed.to_header_map()?);
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.to_vec());
        }
        let mut resp = req.send().await?;
        let status = resp.status();
        let retry_after = ops_http_retry::retry_after(resp.headers());
        tracing::debug!(%method, path = url.path(), status = status.as_u16(), "Chef response");
        if status.is_success() {
            body::read_limited(&mut resp, inner.max_response_bytes).await
        } else {
            let server_api = resp
                .headers()
                .get("x-ops-server-api-version")
                .and_then(|v| v.to_str().ok())
                .and_then(ServerApiVersions::from_header);
            let bytes = body::read_error_body(&mut resp, inner.max_response_bytes).await?;
            Err(Error::from_response(status, retry_after, &bytes).with_server_api(server_api))
        }
    }

    /// `HEAD`: `Ok(true)` on 2xx, `Ok(false)` on 404.
    pub(crate) async fn exists(&self, url: Url) -> Result<bool> {
        match self.execute(Method::HEAD, url, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

enum KeySource {
    Pem(SecretString),
    File(PathBuf),
    Key(SigningKey),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Pem(_) => f.write_str("Pem([REDACTED])"),
            KeySource::File(p) => f.debug_tuple("File").field(p).finish(),
            KeySource::Key(k) => f.debug_tuple("Key").field(k).finish(),
        }
    }
}

/// Configures a [`Client`]. Created by [`Client::builder`] or [`ClientBuilder::from_profile`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    server_url: String,
    client_name: String,
    key: Option<KeySource>,
    version: ProtocolVersion,
    server_api_version: u32,
    chef_version: String,
    retry: RetryConfig,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
    max_response_bytes: usize,
}

impl ClientBuilder {
    /// Start from a credentials-file profile (server URL, client name and key).
    pub fn from_profile(profile: &Profile) -> ClientBuilder {
        let b = Client::builder(profile.chef_server_url.clone(), profile.client_name.clone());
        match &profile.client_key {
            ProfileKey::Path(p) => b.key_file(p.clone()),
            ProfileKey::Inline(pem) => b.key_pem(pem.clone()),
        }
    }

    /// The private key as PEM text (PKCS#1 or PKCS#8).
    pub fn key_pem(mut self, pem: impl Into<SecretString>) -> Self {
        self.key = Some(KeySource::Pem(pem.into()));
        self
    }

    /// Read the private key from a PEM file when [`build`](Self::build) runs.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = Some(KeySource::File(path.into()));
        self
    }

    /// Use an already parsed key.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.key = Some(KeySource::Key(key));
        self
    }

    /// Replace the server URL (tests, proxies).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = url.into();
        self
    }

    /// Signing protocol version (default 1.3).
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.version = version;
        self
    }

    /// `X-Ops-Server-API-Version` to send and sign (default 1; modern servers also accept 2).
    /// When the server refuses it (`406`), the client renegotiates once within the
    /// server's range and keeps the version it settled on ([`crate::api_version`]).
    pub fn server_api_version(mut self, version: u32) -> Self {
        self.server_api_version = version;
        self
    }

    /// `X-Chef-Version` header value (default [`DEFAULT_CHEF_VERSION`]).
    pub fn chef_version(mut self, version: impl Into<String>) -> Self {
        self.chef_version = version.into();
        self
    }

    /// Retry policy (default: 3 attempts, 1 s initial backoff, 20 s cap).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// TCP connect timeout (default 5 s). Ignored with [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Per-attempt timeout (default 30 s). Ignored with [`http_client`](Self::http_client).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// `User-Agent` header. Ignored with [`http_client`](Self::http_client).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Use a preconfigured reqwest client (proxies, custom TLS roots).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB).
    /// A longer body fails with [`Error::ResponseTooLarge`] without being read further (at
    /// once when its `Content-Length` says so). Of an error body, at most 64 KiB are read
    /// and 512 bytes kept. Raise it for very large searches, or lower `rows`. Must be at
    /// least 1.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Validate everything and build the client. Never panics.
    pub fn build(self) -> Result<Client> {
        let (base_url, root_url) = parse_server_url(&self.server_url)?;
        if self.client_name.trim().is_empty() {
            return Err(Error::Config("the client name is empty".into()));
        }
        if self.max_response_bytes == 0 {
            return Err(Error::Config(
                "max_response_bytes must be at least 1".into(),
            ));
        }
        let key = match self.key {
            None => {
                return Err(Error::Config(
                    "no client key configured (use key_pem, key_file or signing_key)".into(),
                ));
            }
            Some(KeySource::Pem(pem)) => SigningKey::from_pem(pem)?,
            Some(KeySource::File(path)) => SigningKey::from_file(path)?,
            Some(KeySource::Key(key)) => key,
        };
        let chef_version = HeaderValue::from_str(&self.chef_version).map_err(|_| {
            Error::Config(format!("invalid X-Chef-Version {:?}", self.chef_version))
        })?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                root_url,
                client_name: self.client_name,
                key,
                version: self.version,
                preferred_api_version: self.server_api_version,
                server_api_version: AtomicU32::new(self.server_api_version),
                chef_version,
                retry: RetryConfig {
                    max_attempts: self.retry.max_attempts.max(1),
                    ..self.retry
                },
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

/// What a path segment holds, for error messages: `nodes/NAME` holds a node name, and so on.
fn segment_field(segments: &[&str], i: usize) -> &'static str {
    match (segments.first().copied(), i) {
        (Some("nodes"), 1) => "node name",
        (Some("roles"), 1) => "role name",
        (Some("environments"), 1) => "environment name",
        (Some("clients"), 1) => "client name",
        (Some("users"), 1) => "user name",
        (Some("cookbooks"), 1) => "cookbook name",
        (Some("cookbooks"), 2) => "cookbook version",
        (Some("data"), 1) => "data bag name",
        (Some("data"), 2) => "data bag item id",
        (Some("search"), 1) => "search index",
        _ => "path segment",
    }
}

/// Refuse a value that cannot be exactly one URL path segment.
///
/// The `url` crate drops `.` and `..` segments (so `delete_item("users", "..")` would
/// delete the whole bag) and strips tab, CR and LF; `/`, `\`, `?` and `#` would change the
/// path, the query or the fragment (a `\` is a `/` to many servers). Chef object names
/// allow only `A-Z a-z 0-9 _ - . :`, so none of these is a legal name anyway. Anything
/// else (a space, non-ASCII) is percent-encoded and left to the server to judge.
pub(crate) fn check_segment(field: &str, value: &str) -> Result<()> {
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
    Err(Error::InvalidRequest(format!(
        "invalid {field} {value:?}: {why}; nothing was sent"
    )))
}

/// Normalise the server URL: `(org base, server root)`, both ending in exactly one `/`.
///
/// The root is the base with a trailing `/organizations/ORG` removed, so global endpoints
/// keep any path prefix a reverse proxy adds.
pub(crate) fn parse_server_url(raw: &str) -> Result<(Url, Url)> {
    let mut url = Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("invalid Chef server URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "invalid Chef server URL {raw:?}: expected an http or https URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "invalid Chef server URL {raw:?}: it must not carry a query or fragment"
        )));
    }
    let path = auth::canonical_path(url.path());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let with_slash = |segs: &[&str]| {
        if segs.is_empty() {
            "/".to_owned()
        } else {
            format!("/{}/", segs.join("/"))
        }
    };
    url.set_path(&with_slash(&segments));
    let mut root = url.clone();
    let n = segments.len();
    if n >= 2 && segments[n - 2] == "organizations" {
        root.set_path(&with_slash(&segments[..n - 2]));
    }
    Ok((url, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_urls_with_and_without_trailing_slash() {
        for raw in [
            "https://chef.example.com/organizations/acme",
            "https://chef.example.com/organizations/acme/",
            "https://chef.example.com/organizations/acme//",
            " https://chef.example.com//organizations/acme ",
        ] {
            let (base, root) = parse_server_url(raw).unwrap();
            assert_eq!(
                base.as_str(),
                "https://chef.example.com/organizations/acme/",
                "{raw}"
            );
            assert_eq!(root.as_str(), "https://chef.example.com/", "{raw}");
        }
        let (base, root) = parse_server_url("http://127.0.0.1:4545").unwrap();
        assert_eq!(base.as_str(), "http://127.0.0.1:4545/");
        assert_eq!(root, base);
        let (base, root) = parse_server_url("https://proxy/chef/organizations/acme").unwrap();
        assert_eq!(base.as_str(), "https://proxy/chef/organizations/acme/");
        assert_eq!(root.as_str(), "https://proxy/chef/");
        for bad in [
            "chef.example.com",
            "ftp://x/",
            "https://x/?a=b",
            "mailto:a@b",
        ] {
            assert!(
                matches!(parse_server_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }
}
