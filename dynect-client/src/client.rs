//! [`Client`], [`ClientBuilder`] and the one request path (retries, jobs, session renewal).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{self, Credentials};
use crate::body::{self, DEFAULT_MAX_RESPONSE_BYTES};
use crate::envelope::{Envelope, Message, ResponseStatus};
use crate::error::{ApiErrorBody, Error, Result};
use crate::ratelimit::RateLimiter;
use crate::resources::records::Records;
use crate::resources::zones::Zones;
use crate::retry::{PollConfig, RetryConfig, should_retry};
use ops_http_retry::{Verdict, retry_after};

/// Smallest wait after a rate-limit answer without `Retry-After`.
const RATE_LIMIT_MIN_BACKOFF: Duration = Duration::from_secs(5);

/// The production endpoint. Paths are `REST/<Resource>/…` below it.
pub const DEFAULT_BASE_URL: &str = "https://api.dynect.net/";

/// A Dyn Managed DNS client holding one API session.
///
/// Cheap to clone: clones share the session (token, pending-change tracking) and the limiter.
/// `Debug` is safe: the password and token print as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_url: Url,
    credentials: Credentials,
    api_version: Option<String>,
    retry: RetryConfig,
    poll: PollConfig,
    limiter: Option<RateLimiter>,
    max_response_bytes: usize,
    session: Mutex<SessionState>,
    login_lock: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
pub(crate) struct SessionState {
    pub(crate) token: Option<SecretString>,
    /// Bumped on every login, so a stale expiry does not drop a fresh session.
    pub(crate) generation: u64,
    /// Zones written in this session and not yet published or discarded.
    pub(crate) pending: BTreeSet<String>,
    pub(crate) version: Option<String>,
}

/// Builds a [`Client`]. Obtain one with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: String,
    retry: RetryConfig,
    poll: PollConfig,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
    api_version: Option<String>,
    per_minute: Option<u32>,
    max_response_bytes: usize,
}

impl ClientBuilder {
    /// Override the endpoint (tests, proxies). Default [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Retry policy. Default [`RetryConfig::default`].
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Job and task polling. Default [`PollConfig::default`] (1 s → 5 s, 120 s deadline).
    pub fn poll(mut self, poll: PollConfig) -> Self {
        self.poll = poll;
        self
    }

    /// TCP/TLS connect timeout. Default 5 s. Ignored with [`ClientBuilder::http_client`].
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Per-attempt timeout. Default 30 s. Ignored with [`ClientBuilder::http_client`].
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// `User-Agent`. Default `dynect-client/<version>`. Ignored with [`ClientBuilder::http_client`].
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Use this `reqwest::Client`. It **must** be built with
    /// `.redirect(reqwest::redirect::Policy::none())`: the client handles Dyn's 307 job
    /// redirects itself (a redirect follower would poll without the session token).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Send `API-Version: <v>` on every call (e.g. `"3.7.13"`). Not sent by default.
    pub fn api_version(mut self, v: impl Into<String>) -> Self {
        self.api_version = Some(v.into());
        self
    }

    /// Keep this client under `n` requests per minute (Dyn's account limit is 300 for all users
    /// together). Job and task polls count. `0` is rejected by [`ClientBuilder::build`].
    pub fn rate_limit_per_minute(mut self, n: u32) -> Self {
        self.per_minute = Some(n);
        self
    }

    /// Largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB).
    /// A longer body fails with [`Error::ResponseTooLarge`] without being read further (at
    /// once when its `Content-Length` says so). Of an error body at most 64 KiB are read and
    /// 512 bytes kept. `0` is rejected by [`ClientBuilder::build`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Build the client. Does not log in: the first call (or [`Client::login`]) does.
    pub fn build(self) -> Result<Client> {
        let mut base_url = Url::parse(&self.base_url)
            .map_err(|e| Error::Config(format!("invalid base URL {:?}: {e}", self.base_url)))?;
        if base_url.cannot_be_a_base() || !matches!(base_url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL {:?} must be an http(s) URL",
                self.base_url
            )));
        }
        if !base_url.path().ends_with('/') {
            let p = format!("{}/", base_url.path());
            base_url.set_path(&p);
        }
        let limiter =
            match self.per_minute {
                None => None,
                Some(n) => Some(RateLimiter::per_minute(n).ok_or_else(|| {
                    Error::Config("rate_limit_per_minute must be at least 1".into())
                })?),
            };
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .user_agent(self.user_agent)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("could not build HTTP client: {e}")))?,
        };
        if self.retry.max_attempts == 0 {
            return Err(Error::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        if self.max_response_bytes == 0 {
            return Err(Error::Config(
                "max_response_bytes must be at least 1".into(),
            ));
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                credentials: self.credentials,
                api_version: self.api_version,
                retry: self.retry,
                poll: self.poll,
                limiter,
                max_response_bytes: self.max_response_bytes,
                session: Mutex::new(SessionState::default()),
                login_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// One logical API call, rebuilt on every attempt.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) segments: Vec<String>,
    /// JSON body bytes. For `POST Session` this holds the password: never log it.
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) what: &'static str,
    /// Repeat transparently after renewing an expired session.
    pub(crate) renew: bool,
    /// The zone this call changes (tracked as pending until published or discarded).
    pub(crate) writes_zone: Option<String>,
}

impl Call {
    pub(crate) fn new(method: Method, segments: &[&str], what: &'static str) -> Self {
        let renew = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        Self {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            body: None,
            what,
            renew,
            writes_zone: None,
        }
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| {
            Error::InvalidInput(format!("could not encode {} request: {e}", self.what))
        })?);
        Ok(self)
    }

    pub(crate) fn writes(mut self, zone: &str) -> Self {
        self.writes_zone = Some(zone.to_owned());
        self
    }

    pub(crate) fn no_renew(mut self) -> Self {
        self.renew = false;
        self
    }
}

/// A successful envelope.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) data: serde_json::Value,
    #[allow(dead_code)]
    pub(crate) job_id: Option<u64>,
    #[allow(dead_code)]
    pub(crate) msgs: Vec<Message>,
}

impl Reply {
    pub(crate) fn decode<T: DeserializeOwned>(self, what: &'static str) -> Result<T> {
        serde_json::from_value(self.data).map_err(|source| Error::Decode { what, source })
    }
}

enum Step {
    Done(Reply),
    /// `redirect`: from a 307 `Location` (follow it); otherwise from an `incomplete` body.
    Job {
        job_id: u64,
        url: Url,
        redirect: bool,
    },
}

struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// Start building a client for `customer` / `user` with `password`.
    ///
    /// ```no_run
    /// # async fn run() -> dynect_client::Result<()> {
    /// let client = dynect_client::Client::builder("acme", "ops-bot", "s3cret".to_string()).build()?;
    /// client.login().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(
        customer: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> ClientBuilder {
        ClientBuilder {
            credentials: Credentials {
                customer: customer.into(),
                user: user.into(),
                password: password.into(),
            },
            base_url: DEFAULT_BASE_URL.to_owned(),
            retry: RetryConfig::default(),
            poll: PollConfig::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            user_agent: concat!("dynect-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
            api_version: None,
            per_minute: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Records (A, AAAA, CNAME, TXT, MX, SRV).
    pub fn records(&self) -> Records<'_> {
        Records::new(self)
    }

    /// Zones: get, publish, pending changes, tasks.
    pub fn zones(&self) -> Zones<'_> {
        Zones::new(self)
    }

    /// The customer (account) name this client logs in to: Dyn counts its limit of 300
    /// requests a minute per account, so this keys a rate budget shared across processes.
    pub fn customer_name(&self) -> &str {
        &self.inner.credentials.customer
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    pub(crate) fn poll_config(&self) -> &PollConfig {
        &self.inner.poll
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, SessionState> {
        match self.inner.session.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) fn login_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.login_lock
    }

    /// Zones changed in the current session and not yet published or discarded, sorted.
    pub fn pending_zones(&self) -> Vec<String> {
        self.state().pending.iter().cloned().collect()
    }

    /// The API version the server reported at the last login (e.g. `"3.7.9"`).
    pub fn server_version(&self) -> Option<String> {
        self.state().version.clone()
    }

    /// Whether the client currently holds a session token.
    pub fn has_session(&self) -> bool {
        self.state().token.is_some()
    }

    /// Forget `zone` as pending (after publish or discard) if still in `generation`.
    pub(crate) fn clear_pending(&self, zone: &str) {
        self.state().pending.remove(zone);
    }

    /// Get a usable token, logging in when there is none.
    async fn current_token(&self) -> Result<(SecretString, u64)> {
        {
            let st = self.state();
            if let Some(t) = &st.token {
                return Ok((t.clone(), st.generation));
            }
        }
        let _guard = self.inner.login_lock.lock().await;
        {
            let st = self.state();
            if let Some(t) = &st.token {
                return Ok((t.clone(), st.generation));
            }
        }
        auth::login_locked(self).await?;
        let st = self.state();
        match &st.token {
            Some(t) => Ok((t.clone(), st.generation)),
            None => Err(Error::Config("login did not produce a session".into())),
        }
    }

    /// Drop the session of `generation` after an expiry; returns the zones whose unpublished
    /// changes were lost with it.
    fn expire(&self, generation: u64) -> Vec<String> {
        let mut st = self.state();
        if st.generation != generation {
            return Vec::new();
        }
        st.token = None;
        std::mem::take(&mut st.pending).into_iter().collect()
    }

    /// Run an authenticated call: session, retries, jobs, one transparent renewal.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply> {
        let mut renewed = false;
        loop {
            let (token, generation) = self.current_token().await?;
            match self.execute_with_retries(call, Some(&token)).await {
                Ok(reply) => {
                    if let Some(zone) = &call.writes_zone {
                        let mut st = self.state();
                        if st.generation == generation {
                            st.pending.insert(zone.clone());
                        }
                    }
                    return Ok(reply);
                }
                Err(Error::Api {
                    status,
                    body,
                    retry_after,
                }) if body.is_session_expired() => {
                    let lost = self.expire(generation);
                    if !lost.is_empty() {
                        tracing::warn!(zones = ?lost, "Dyn session expired with unpublished changes");
                        return Err(Error::SessionExpiredWithPendingChanges { zones: lost, body });
                    }
                    if renewed || !call.renew {
                        return Err(Error::Api {
                            status,
                            body,
                            retry_after,
                        });
                    }
                    tracing::info!(what = call.what, "Dyn session expired; logging in again");
                    renewed = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The retry loop (no session handling). `token` is `None` only for `POST Session`.
    pub(crate) async fn execute_with_retries(
        &self,
        call: &Call,
        token: Option<&SecretString>,
    ) -> Result<Reply> {
        let url = self.url(&call.segments)?;
        let step = ops_http_retry::retry_loop(
            &self.inner.retry,
            |_| async {
                let raw = self
                    .send_raw(&call.method, &url, call.body.as_deref(), token)
                    .await?;
                self.interpret(&raw, call.what)
            },
            |e: &Error| {
                if !should_retry(e, &call.method) {
                    return Verdict::Stop;
                }
                // Dyn locks the account out for up to 60 s: after a rate limit without
                // Retry-After, wait at least 5 s (capped by max_backoff) rather than burning
                // attempts.
                let at_least = if e.is_rate_limited() && e.retry_after().is_none() {
                    RATE_LIMIT_MIN_BACKOFF
                } else {
                    Duration::ZERO
                };
                Verdict::Retry {
                    retry_after: e.retry_after(),
                    at_least,
                }
            },
            |delay, e: &Error, attempt| {
                // A retry that recovers needs no human: debug. If it does not recover, the
                // caller gets the error.
                tracing::debug!(
                    what = call.what,
                    status = e.status().map(|s| s.as_u16()),
                    rate_limited = e.is_rate_limited(),
                    blocked = e.is_blocked(),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "retrying Dyn request"
                );
                tokio::time::sleep(delay)
            },
        )
        .await?;
        match step {
            Step::Done(reply) => Ok(reply),
            Step::Job { job_id, url, .. } => self.wait_job(job_id, url, token, call.what).await,
        }
    }

    /// `base + segments`, each percent-encoded. A segment that is not exactly one path
    /// segment is refused (a last empty segment is the trailing slash Dyn's job URLs use).
    /// Zone and FQDN are validated as DNS names before they get here; this is the safety
    /// net for every path, so `.`/`..` (dropped by the `url` crate), tab/CR/LF (stripped by
    /// it), `/`, `\`, `?` and `#` can never reshape a request.
    fn url(&self, segments: &[String]) -> Result<Url> {
        for (i, s) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            check_segment(segment_field(segments, i), s, last)?;
        }
        let mut url = self.inner.base_url.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| Error::Config("base URL cannot be a base".into()))?;
            segs.pop_if_empty();
            segs.extend(segments);
        }
        Ok(url)
    }

    async fn send_raw(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        token: Option<&SecretString>,
    ) -> Result<RawResponse> {
        if let Some(l) = &self.inner.limiter {
            l.acquire().await;
        }
        tracing::debug!(method = %method, path = url.path(), "Dyn request");
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(CONTENT_TYPE, "application/json");
        if let Some(v) = &self.inner.api_version {
            req = req.header("API-Version", v.as_str());
        }
        if let Some(t) = token {
            req = req.header(auth::AUTH_TOKEN, auth::token_header(t)?);
        }
        if let Some(b) = body {
            req = req.body(b.to_vec());
        }
        let limit = self.inner.max_response_bytes;
        let result = async {
            let mut resp = req.send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = if status.is_success() {
                body::read_limited(&mut resp, limit).await?
            } else {
                // Failure envelopes, 307 job redirects, proxy pages: a bounded read, with
                // the password and the session token scrubbed out (a server or proxy may
                // echo the refused request; its message is kept in the error).
                let raw = body::read_error_body(&mut resp, limit).await?;
                let password = self.inner.credentials.password.expose_secret();
                let token = token.map_or("", |t| t.expose_secret());
                ops_http_retry::scrub(&raw, &[password, token]).into_owned()
            };
            Ok::<_, Error>(RawResponse {
                status,
                headers,
                body,
            })
        }
        .await;
        if let Some(l) = &self.inner.limiter {
            l.record_response(tokio::time::Instant::now());
        }
        let raw = result?;
        tracing::debug!(status = raw.status.as_u16(), "Dyn response");
        Ok(raw)
    }

    fn interpret(&self, raw: &RawResponse, what: &'static str) -> Result<Step> {
        let status = raw.status;
        if status.is_redirection() {
            let location = raw
                .headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return match location.as_deref().and_then(|l| self.job_url(l)) {
                Some((job_id, url)) if status == StatusCode::TEMPORARY_REDIRECT => {
                    tracing::debug!(job_id, "Dyn call promoted to a job (307)");
                    Ok(Step::Job {
                        job_id,
                        url,
                        redirect: true,
                    })
                }
                _ => Err(Error::UnexpectedRedirect { status, location }),
            };
        }
        let retry_after = retry_after(&raw.headers);
        let env = match Envelope::parse(&raw.body) {
            Ok(env) => env,
            Err(source) if status.is_success() => return Err(Error::Decode { what, source }),
            Err(_) => {
                let end = raw.body.len().min(512);
                return Err(Error::UnexpectedStatus {
                    status,
                    body_snippet: String::from_utf8_lossy(&raw.body[..end]).into_owned(),
                    retry_after,
                });
            }
        };
        match env.status {
            ResponseStatus::Success => Ok(Step::Done(Reply {
                data: env.data,
                job_id: env.job_id,
                msgs: env.msgs,
            })),
            ResponseStatus::Incomplete if env.job_id.is_some() => {
                let job_id = env.job_id.unwrap_or_default();
                let url = self.url(&[
                    "REST".into(),
                    "Job".into(),
                    job_id.to_string(),
                    String::new(),
                ])?;
                tracing::debug!(job_id, "Dyn call incomplete; polling the job");
                Ok(Step::Job {
                    job_id,
                    url,
                    redirect: false,
                })
            }
            _ => Err(Error::Api {
                status,
                body: ApiErrorBody {
                    status: env.status,
                    job_id: env.job_id,
                    msgs: env.msgs,
                },
                retry_after,
            }),
        }
    }

    /// Resolve a `Location` to a job URL on the same origin as the base URL.
    fn job_url(&self, location: &str) -> Option<(u64, Url)> {
        let url = self.inner.base_url.join(location).ok()?;
        let base = &self.inner.base_url;
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return None;
        }
        let segs: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
        match segs.as_slice() {
            [.., "REST", "Job", id] => Some((id.parse().ok()?, url)),
            _ => None,
        }
    }

    /// Poll a job until it is no longer `incomplete`, with the session token. Not a retry.
    async fn wait_job(
        &self,
        mut job_id: u64,
        mut url: Url,
        token: Option<&SecretString>,
        what: &'static str,
    ) -> Result<Reply> {
        let poll = self.inner.poll;
        let start = tokio::time::Instant::now();
        let mut n: u32 = 0;
        loop {
            let delay = poll.interval(n);
            n = n.saturating_add(1);
            if start.elapsed() + delay > poll.timeout {
                return Err(Error::JobTimeout {
                    job_id,
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(delay).await;
            let raw = self.send_raw(&Method::GET, &url, None, token).await?;
            match self.interpret(&raw, what) {
                Ok(Step::Done(reply)) => {
                    tracing::debug!(job_id, polls = n, "Dyn job finished");
                    return Ok(reply);
                }
                // A new redirect is followed; `incomplete` keeps polling the same job.
                Ok(Step::Job {
                    job_id: j,
                    url: next,
                    redirect: true,
                }) => {
                    job_id = j;
                    url = next;
                }
                Ok(Step::Job { .. }) => {}
                Err(e) if e.is_rate_limited() => {
                    tracing::debug!(job_id, "rate limited while polling a job; waiting");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Wait for a job started elsewhere (`GET /REST/Job/{job_id}/`) and return its `data`.
    ///
    /// ```no_run
    /// # async fn run(client: dynect_client::Client) -> dynect_client::Result<()> {
    /// let data = client.wait_for_job(4342593710).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_job(&self, job_id: u64) -> Result<serde_json::Value> {
        let (token, _) = self.current_token().await?;
        let url = self.url(&[
            "REST".into(),
            "Job".into(),
            job_id.to_string(),
            String::new(),
        ])?;
        let reply = self.wait_job(job_id, url, Some(&token), "job").await?;
        Ok(reply.data)
    }
}

/// What a path segment of `REST/<Resource>/<zone>/<fqdn>/<id>` holds, for error messages.
fn segment_field(segments: &[String], i: usize) -> &'static str {
    match (segments.get(1).map(String::as_str), i) {
        (_, 0 | 1) => "resource",
        (Some("Job"), 2) => "job id",
        (Some("Task"), 2) => "task id",
        (_, 2) => "zone",
        (_, 3) => "FQDN",
        (_, 4) => "record id",
        _ => "path segment",
    }
}

/// Refuse a value that cannot be exactly one URL path segment.
fn check_segment(field: &str, value: &str, last: bool) -> Result<()> {
    let why = if value.is_empty() {
        if last {
            return Ok(());
        }
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
    Err(Error::InvalidInput(format!(
        "{field} {value:?} cannot be used in a URL path: {why}; nothing was sent"
    )))
}

#[cfg(test)]
#[path = "proptests.rs"]
mod proptests;

#[cfg(test)]
#[path = "shape_walk.rs"]
mod shape_walk;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_refuses_segments_that_would_reshape_the_path() {
        let c = Client::builder("c", "u", "p".to_string())
            .base_url("http://h/")
            .build()
            .unwrap();
        let seg = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let u = c
            .url(&seg(&[
                "REST",
                "ARecord",
                "example.com",
                "a b.example.com",
                "",
            ]))
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://h/REST/ARecord/example.com/a%20b.example.com/"
        );
        for bad in ["..", ".", "a/b", "a\\b", "a?b", "a#b", "a\tb", "a\nb", ""] {
            let err = c
                .url(&seg(&["REST", "ARecord", "example.com", bad, "1"]))
                .unwrap_err();
            let Error::InvalidInput(msg) = &err else {
                panic!("{err:?}")
            };
            assert!(msg.starts_with("FQDN "), "{msg}");
        }
        let err = c.url(&seg(&["REST", "Zone", ".."])).unwrap_err();
        assert!(err.to_string().contains("zone \"..\""), "{err}");
    }
}
