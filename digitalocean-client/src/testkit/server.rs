use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::edge::{self, EdgeValue};
use super::state::{Reply, State};
use crate::{Client, ClientBuilder, RetryConfig};

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Time from a droplet create (or power action) until its action completes and
    /// the droplet is `active` with addresses. Default 200 ms.
    pub activation_delay: Duration,
    /// The only bearer token accepted; `None` accepts any non-empty token.
    pub token: Option<String>,
    /// `RateLimit-Limit` announced; `RateLimit-Remaining` counts down from it and a
    /// request beyond it is answered 429. Default 5000.
    pub rate_limit: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            activation_delay: Duration::from_millis(200),
            token: None,
            rate_limit: 5000,
        }
    }
}

/// How many of each resource of issue #22 exist in a fake; see
/// [`FakeDigitalOcean::cloud_counts`]. `CloudCounts::default()` is an account with none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloudCounts {
    /// Cloud firewalls.
    pub firewalls: usize,
    /// VPCs (the fake has no default VPCs of its own).
    pub vpcs: usize,
    /// Reserved IPs.
    pub reserved_ips: usize,
    /// Projects besides the account's default project.
    pub projects: usize,
    /// Block storage volumes.
    pub volumes: usize,
    /// Monitoring alert policies.
    pub alert_policies: usize,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/v2/droplets/3`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Body as UTF-8 (lossy); empty when none.
    pub body: String,
    /// Status the fake answered (0 when the connection was dropped).
    pub status: u16,
    /// When the fake counted it (after any injected latency).
    pub at: std::time::Instant,
}

#[derive(Debug)]
enum Fault {
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
}

#[derive(Debug, Default)]
struct FaultState {
    latency: Duration,
    queued: VecDeque<Fault>,
    drop_connections: usize,
    /// `(requests, window)` of [`Faults::set_window_limit`], and the requests in the window.
    window_limit: Option<(u32, Duration)>,
    window: VecDeque<std::time::Instant>,
}

/// Fault injection for a running fake; obtain it with [`FakeDigitalOcean::faults`].
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

impl Faults {
    /// Delay every answer by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.inner.faults).latency = latency;
    }

    /// Enforce DigitalOcean's per-minute limit the way the API does: beyond `requests` in
    /// any sliding `window` (250 in 60 s for a real token; a shorter window scales time
    /// for a benchmark), answer 429 `too_many_requests` with `Retry-After` (the window,
    /// rounded up to a second). The refused requests do not count. `None` turns it off.
    pub fn set_window_limit(&self, limit: Option<(u32, Duration)>) {
        let mut f = lock(&self.inner.faults);
        f.window_limit = limit;
        f.window.clear();
    }

    /// Answer the next `count` requests with 429 `too_many_requests` and `Retry-After`.
    pub fn rate_limit_next(&self, count: usize, retry_after_secs: u64) {
        let mut f = lock(&self.inner.faults);
        for _ in 0..count {
            f.queued.push_back(Fault::Status {
                status: 429,
                retry_after: Some(retry_after_secs),
            });
        }
    }

    /// Answer the next `count` requests with `status` (e.g. 500, 503) and DO's error body.
    pub fn fail_next(&self, count: usize, status: u16) {
        let mut f = lock(&self.inner.faults);
        for _ in 0..count {
            f.queued.push_back(Fault::Status {
                status,
                retry_after: None,
            });
        }
    }

    /// Close the next `count` connections right after accepting them, before any answer.
    pub fn drop_next_connections(&self, count: usize) {
        lock(&self.inner.faults).drop_connections += count;
    }

    /// Keep new droplets out of `GET /v2/droplets` listings (by tag, by name, or all) for
    /// `lag` after their create, as DigitalOcean's listing can lag; `GET /v2/droplets/{id}`
    /// sees them at once. Zero turns it off. Not reset by [`clear`](Self::clear).
    pub fn set_list_lag(&self, lag: Duration) {
        lock(&self.inner.state).list_lag = lag;
    }

    /// Answer with the spec-valid edge values `modes` from now on (an empty slice turns
    /// them off); see [`EdgeValue`]. Not reset by [`clear`](Self::clear).
    pub fn set_edge_values(&self, modes: &[EdgeValue]) {
        lock(&self.inner.state).edge_values = modes.to_vec();
    }

    /// Remove every queued fault and the latency.
    pub fn clear(&self) {
        *lock(&self.inner.faults) = FaultState::default();
    }
}

#[derive(Debug)]
struct Inner {
    config: FakeConfig,
    base: String,
    state: Mutex<State>,
    faults: Mutex<FaultState>,
    log: Mutex<Vec<RecordedRequest>>,
    requests_served: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running fake DigitalOcean API on `127.0.0.1`. Stops when dropped.
#[derive(Debug)]
pub struct FakeDigitalOcean {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FakeDigitalOcean {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDigitalOcean {
    /// Start a fake with [`FakeConfig::default`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeConfig::default()).await
    }

    /// Start a fake on a free loopback port. Needs a Tokio runtime.
    pub async fn start_with(config: FakeConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new(config.activation_delay)),
            config,
            base,
            faults: Mutex::new(FaultState::default()),
            log: Mutex::new(Vec::new()),
            requests_served: Mutex::new(0),
        });
        let accept_inner = inner.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                {
                    let mut f = lock(&accept_inner.faults);
                    if f.drop_connections > 0 {
                        f.drop_connections -= 1;
                        drop(f);
                        lock(&accept_inner.log).push(RecordedRequest {
                            method: String::new(),
                            path: String::new(),
                            query: None,
                            body: String::new(),
                            status: 0,
                            at: std::time::Instant::now(),
                        });
                        drop(stream);
                        continue;
                    }
                }
                let conn_inner = accept_inner.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let inner = conn_inner.clone();
                        async move { Ok::<_, Infallible>(handle(&inner, req).await) }
                    });
                    // One request per connection, so connection faults hit exactly
                    // the request they are meant for.
                    let _ = http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self { addr, inner, task })
    }

    /// The loopback address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the fake, e.g. `http://127.0.0.1:43123`.
    pub fn uri(&self) -> String {
        self.inner.base.clone()
    }

    /// A client builder pointed at the fake, with the configured (or a dummy) token
    /// and fast retries (1–5 ms backoff).
    pub fn client_builder(&self) -> ClientBuilder {
        let token = self
            .inner
            .config
            .token
            .clone()
            .unwrap_or_else(|| "fake-token".to_owned());
        Client::builder(token)
            .base_url(self.uri())
            .retry(RetryConfig {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            })
    }

    /// A ready client for the fake.
    pub fn client(&self) -> crate::Result<Client> {
        self.client_builder().build()
    }

    /// Fault injection.
    pub fn faults(&self) -> Faults {
        Faults {
            inner: self.inner.clone(),
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.log).clone()
    }

    /// Requests with this method whose path starts with `path_prefix`.
    pub fn requests_matching(&self, method: &str, path_prefix: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .collect()
    }

    /// How many of the networking, storage, project and monitoring resources exist now.
    pub fn cloud_counts(&self) -> CloudCounts {
        let [
            firewalls,
            vpcs,
            reserved_ips,
            projects,
            volumes,
            alert_policies,
        ] = lock(&self.inner.state).cloud_counts();
        CloudCounts {
            firewalls,
            vpcs,
            reserved_ips,
            projects,
            volumes,
            alert_policies,
        }
    }

    /// Number of droplets that exist now.
    pub fn droplet_count(&self) -> usize {
        lock(&self.inner.state).droplet_count()
    }
}

async fn handle(inner: &Inner, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let auth = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };

    let (latency, fault) = {
        let mut f = lock(&inner.faults);
        (f.latency, f.queued.pop_front())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let at = std::time::Instant::now();
    let over_window = {
        let mut f = lock(&inner.faults);
        match f.window_limit {
            None => None,
            Some((limit, window)) => {
                while f
                    .window
                    .front()
                    .is_some_and(|t| at.saturating_duration_since(*t) >= window)
                {
                    f.window.pop_front();
                }
                if f.window.len() >= limit as usize {
                    Some(window.as_secs() + u64::from(window.subsec_nanos() > 0))
                } else {
                    f.window.push_back(at);
                    None
                }
            }
        }
    };
    let served = {
        let mut n = lock(&inner.requests_served);
        *n += 1;
        *n
    };
    let remaining = inner.config.rate_limit.saturating_sub(served);

    let reply = if let Some(Fault::Status {
        status,
        retry_after,
    }) = fault
    {
        Reply::fault(status, retry_after)
    } else if !authorized(&inner.config, auth.as_deref()) {
        Reply::error(401, "unauthorized", "Unable to authenticate you")
    } else if let Some(retry_after) = over_window {
        let mut r = Reply::error(429, "too_many_requests", "API Rate limit exceeded.");
        r.retry_after = Some(retry_after);
        r
    } else if served > inner.config.rate_limit {
        let mut r = Reply::error(429, "too_many_requests", "API Rate limit exceeded.");
        r.retry_after = Some(60);
        r
    } else if !body.is_empty()
        && !content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
    {
        Reply::error(
            415,
            "unsupported_media_type",
            "Content-Type must be application/json",
        )
    } else {
        let json = if body.is_empty() {
            Ok(None)
        } else {
            serde_json::from_slice::<serde_json::Value>(&body).map(Some)
        };
        match json {
            Err(_) => Reply::error(400, "bad_request", "The request body is not valid JSON"),
            Ok(json) => {
                let mut state = lock(&inner.state);
                let mut reply =
                    state.route(&inner.base, &method, &path, query.as_deref(), json.as_ref());
                if (200..300).contains(&reply.status)
                    && let Some(body) = reply.body.as_mut()
                {
                    edge::apply(body, &state.edge_values);
                }
                reply
            }
        }
    };

    lock(&inner.log).push(RecordedRequest {
        method,
        path,
        query,
        body: String::from_utf8_lossy(&body).into_owned(),
        status: reply.status,
        at,
    });

    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() + 60)
        .unwrap_or(0);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("ratelimit-limit", inner.config.rate_limit.to_string())
        .header("ratelimit-remaining", remaining.to_string())
        .header("ratelimit-reset", reset.to_string())
        .header("x-request-id", format!("fake-{served:08}"));
    if let Some(ra) = reply.retry_after {
        builder = builder.header("retry-after", ra.to_string());
    }
    let body = match reply.body {
        Some(v) => {
            builder = builder.header("content-type", "application/json; charset=utf-8");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn authorized(config: &FakeConfig, header: Option<&str>) -> bool {
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    match &config.token {
        Some(expected) => token == expected,
        None => !token.trim().is_empty(),
    }
}
