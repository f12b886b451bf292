//! A stateful fake of nagios-api, served over HTTP on loopback (feature
//! `testkit`).
//!
//! It speaks nagios-api's wire format (every answer HTTP 200 with
//! `{"success": …, "content": …}`, values as strings, downtimes and
//! comments keyed by id) and keeps a small Nagios in memory: hosts and
//! services with states, downtimes, acknowledgements (normal and sticky,
//! cleared the way Nagios clears them), comments, notification and check
//! flags, passive results with performance data, and a `nagios.log` of the
//! external commands it "received". Each fake starts in about a
//! millisecond on its own port, so many can run in one test process.
//!
//! Test hooks: [`FakeNagios::requests`] (a request log),
//! [`FakeNagios::inject`] (latency, HTTP errors with `Retry-After`, dropped
//! connections, `success: false` answers), direct state changes
//! ([`FakeNagios::set_service_state`], …) and an optional delay before
//! changes become visible, like Nagios's `status_update_interval`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use nagios_client::testkit::FakeNagios;
//! use nagios_client::{HostStatus, ServiceStatus, Target};
//!
//! let fake = FakeNagios::builder()
//!     .host("web01", HostStatus::Up)
//!     .service("web01", "Disk", ServiceStatus::Critical, "DISK CRITICAL")
//!     .start()
//!     .await?;
//! let client = fake.client()?;
//! client.disable_notifications(Target::service("web01", "Disk")).await?;
//! assert!(!client.state().await?["web01"].services["Disk"].notifications_enabled);
//! assert_eq!(fake.requests().len(), 2);
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::model::{HostStatus, ServiceStatus, Timestamp};
use crate::{Client, RetryConfig};

mod world;

use world::World;

/// Which nagios-api the fake imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// The PyPI release: no `status`, `problems`, `*_checks`,
    /// `schedule_hostgroup_downtime`, `raw_command`, `restart_nagios`;
    /// downtime is always fixed, from now, 60 s to one week.
    V1_2_2,
    /// The later git version with every endpoint (the default).
    #[default]
    Latest,
}

/// A fault to inject into the next matching requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer normally, after this delay.
    Latency(Duration),
    /// Answer with this HTTP status (as a proxy would), optional
    /// `Retry-After` seconds, without touching the state.
    Status {
        /// The HTTP status code.
        status: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u64>,
    },
    /// Send the headers, then break the connection mid-body. The request
    /// is not applied.
    DropConnection,
    /// Answer `{"success": false, "content": message}` without touching
    /// the state.
    ApiError(String),
}

#[derive(Debug, Clone)]
struct FaultRule {
    fault: Fault,
    path: Option<String>,
    remaining: usize,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET` or `POST` (or anything else a test sent).
    pub method: String,
    /// The path, e.g. `/schedule_downtime`.
    pub path: String,
    /// The JSON body, when there was one that parsed.
    pub body: Option<Value>,
}

struct Shared {
    world: World,
    /// What `/state` and friends show (the last "status.dat").
    published: World,
    dirty_since: Option<Instant>,
    update_delay: Duration,
    version: ApiVersion,
    requests: Vec<RecordedRequest>,
    faults: VecDeque<FaultRule>,
}

impl Shared {
    /// Publish the world if the update delay has passed.
    fn refresh(&mut self) {
        if let Some(t) = self.dirty_since {
            if t.elapsed() >= self.update_delay {
                self.published = self.world.clone();
                self.dirty_since = None;
            }
        }
    }

    fn touched(&mut self) {
        if self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
        self.refresh();
    }
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(s: &SharedRef) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves consistent data: keep going.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds a [`FakeNagios`].
#[derive(Debug, Default)]
pub struct FakeNagiosBuilder {
    world: World,
    version: ApiVersion,
    update_delay: Duration,
}

impl FakeNagiosBuilder {
    /// Add a host (checked, HARD state, output `"<STATE> - fake"`).
    pub fn host(mut self, name: &str, state: HostStatus) -> Self {
        self.world.add_host(name, state.code());
        self
    }

    /// Add an actively checked service; its host is added (UP) if missing.
    pub fn service(
        mut self,
        host: &str,
        service: &str,
        state: ServiceStatus,
        output: &str,
    ) -> Self {
        self.world
            .add_service(host, service, state.code(), output, true);
        self
    }

    /// Add a passive-only service (active checks off, never checked).
    pub fn passive_service(mut self, host: &str, service: &str) -> Self {
        self.world.add_service(host, service, 0, "", false);
        self
    }

    /// Add a hostgroup (for `schedule_hostgroup_downtime`).
    pub fn hostgroup(mut self, name: &str, members: &[&str]) -> Self {
        self.world.hostgroups.insert(
            name.to_owned(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
        self
    }

    /// Imitate this nagios-api version (default [`ApiVersion::Latest`]).
    pub fn version(mut self, v: ApiVersion) -> Self {
        self.version = v;
        self
    }

    /// Delay before a change shows in the read endpoints (Nagios's
    /// `status_update_interval` plus nagios-api's poll). Default: none.
    pub fn update_delay(mut self, d: Duration) -> Self {
        self.update_delay = d;
        self
    }

    /// Bind `127.0.0.1:0` and serve on a task of the current tokio runtime
    /// (call it from inside one, e.g. a `#[tokio::test]`).
    pub async fn start(self) -> std::io::Result<FakeNagios> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut world = self.world;
        world.log("Nagios 4.4.6 starting... (PID=4242)");
        let shared = Arc::new(Mutex::new(Shared {
            published: world.clone(),
            world,
            dirty_since: None,
            update_delay: self.update_delay,
            version: self.version,
            requests: Vec::new(),
            faults: VecDeque::new(),
        }));
        let app_state = shared.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = app_state.clone();
                async move { handle(s, method, uri, headers, body).await }
            },
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "fake nagios-api server stopped");
            }
        });
        Ok(FakeNagios {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }
}

/// A running fake nagios-api. Stops when dropped.
#[derive(Debug)]
pub struct FakeNagios {
    addr: SocketAddr,
    shared: SharedRef,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("hosts", &self.world.hosts.len())
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

impl Drop for FakeNagios {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl FakeNagios {
    /// Start building a fake.
    pub fn builder() -> FakeNagiosBuilder {
        FakeNagiosBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234/`.
    pub fn uri(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client for this fake with fast retries (1–5 ms backoff) and a
    /// 50 ms poll interval.
    pub fn client(&self) -> crate::Result<Client> {
        Client::builder(self.uri())
            .retry(RetryConfig {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            })
            .poll_interval(Duration::from_millis(50))
            .build()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// Forget the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared).requests.clear();
    }

    /// Apply `fault` to the next `times` requests (to `path`, e.g.
    /// `"/state"`, or to any path when `None`).
    pub fn inject(&self, fault: Fault, path: Option<&str>, times: usize) {
        lock(&self.shared).faults.push_back(FaultRule {
            fault,
            path: path.map(str::to_owned),
            remaining: times,
        });
    }

    /// Remove all pending faults.
    pub fn clear_faults(&self) {
        lock(&self.shared).faults.clear();
    }

    /// Set a host's state as if a check had returned it.
    pub fn set_host_state(&self, host: &str, state: HostStatus, output: &str) -> bool {
        let mut s = lock(&self.shared);
        let ok = s
            .world
            .hosts
            .get_mut(host)
            .map(|h| h.obj.check_result(state.code(), output, true))
            .is_some();
        s.touched();
        ok
    }

    /// Set a service's state as if a check had returned it (`output` may
    /// carry performance data after `|`).
    pub fn set_service_state(
        &self,
        host: &str,
        service: &str,
        state: ServiceStatus,
        output: &str,
    ) -> bool {
        let mut s = lock(&self.shared);
        let ok = s
            .world
            .hosts
            .get_mut(host)
            .and_then(|h| h.services.get_mut(service))
            .map(|o| o.check_result(state.code(), output, false))
            .is_some();
        s.touched();
        ok
    }

    /// Publish pending changes now, ignoring the update delay.
    pub fn publish_now(&self) {
        let mut s = lock(&self.shared);
        s.published = s.world.clone();
        s.dirty_since = None;
    }

    /// The lines of the fake `nagios.log` (what `/log` serves), including
    /// `EXTERNAL COMMAND: …` lines for every command applied.
    pub fn log_lines(&self) -> Vec<String> {
        lock(&self.shared).world.log.clone()
    }

    /// The external commands applied so far (`"SCHEDULE_HOST_DOWNTIME;db01;…"`).
    pub fn external_commands(&self) -> Vec<String> {
        lock(&self.shared)
            .world
            .log
            .iter()
            .filter_map(|l| {
                l.split_once("EXTERNAL COMMAND: ")
                    .map(|(_, c)| c.to_owned())
            })
            .collect()
    }
}

fn envelope(success: bool, content: &Value) -> Response {
    let body = json!({"content": content, "success": success}).to_string();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::SERVER, "diesel-http-server"),
        ],
        body,
    )
        .into_response()
}

fn err(msg: &str) -> Response {
    envelope(false, &Value::from(msg))
}

async fn handle(
    shared: SharedRef,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let parsed_body: Option<Value> = serde_json::from_slice(&body).ok();
    let fault = {
        let mut s = lock(&shared);
        s.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            body: parsed_body.clone(),
        });
        take_fault(&mut s.faults, &path)
    };
    match fault {
        Some(Fault::Latency(d)) => tokio::time::sleep(d).await,
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = (code, "<html>injected fault</html>").into_response();
            if let Some(secs) = retry_after {
                if let Ok(v) = secs.to_string().parse() {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return resp;
        }
        Some(Fault::DropConnection) => {
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("injected dropped connection"))
            });
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response();
        }
        Some(Fault::ApiError(msg)) => return err(&msg),
        None => {}
    }

    // nagios-api's URL grammar: /<verb>[/<objid>].
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let verb = parts.next().unwrap_or_default().to_owned();
    let objid = parts.next().filter(|s| !s.is_empty()).map(percent_decode);
    if verb.is_empty() || !verb.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return err("Invalid request URI");
    }
    let mut req = Map::new();
    if method == Method::POST {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return err("No JSON detected, did you set the Content-Type to application/json?");
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => req = m,
            Ok(_) | Err(_) => return err("Invalid JSON body"),
        }
    } else if method != Method::GET {
        return err(&format!("Method {method} not supported"));
    }

    let mut s = lock(&shared);
    s.refresh();
    let version = s.version;
    let latest_only = matches!(
        verb.as_str(),
        "status"
            | "problems"
            | "restart_nagios"
            | "disable_checks"
            | "enable_checks"
            | "raw_command"
            | "schedule_hostgroup_downtime"
    );
    let is_get = matches!(
        verb.as_str(),
        "state" | "objects" | "host" | "service" | "log" | "status" | "problems" | "restart_nagios"
    );
    let known = is_get
        || matches!(
            verb.as_str(),
            "schedule_downtime"
                | "schedule_hostgroup_downtime"
                | "cancel_downtime"
                | "acknowledge_problem"
                | "remove_acknowledgement"
                | "enable_notifications"
                | "disable_notifications"
                | "enable_checks"
                | "disable_checks"
                | "submit_result"
                | "add_comment"
                | "delete_comment"
                | "schedule_check"
                | "raw_command"
        );
    if !known || (latest_only && version == ApiVersion::V1_2_2) || is_get != (method == Method::GET)
    {
        return err(&format!("Verb {verb} (method {method}) not supported"));
    }
    if is_get {
        return read(&mut s, &verb, objid.as_deref());
    }
    let now = Timestamp::now().0;
    let shared_state = &mut *s;
    let result = world::command(
        &mut shared_state.world,
        &shared_state.published,
        version,
        &verb,
        objid.as_deref(),
        &req,
        now,
    );
    s.touched();
    match result {
        Ok(content) => envelope(true, &Value::from(content)),
        Err(msg) => err(&msg),
    }
}

fn take_fault(faults: &mut VecDeque<FaultRule>, path: &str) -> Option<Fault> {
    let i = faults
        .iter()
        .position(|r| r.remaining > 0 && r.path.as_deref().is_none_or(|p| p == path))?;
    let rule = faults.get_mut(i)?;
    rule.remaining -= 1;
    let fault = rule.fault.clone();
    if rule.remaining == 0 {
        faults.remove(i);
    }
    Some(fault)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read(s: &mut Shared, verb: &str, objid: Option<&str>) -> Response {
    let w = &s.published;
    let no_id = |r: Response| {
        if objid.is_some() {
            err("Unexpected object ID.")
        } else {
            r
        }
    };
    match verb {
        "state" => no_id(envelope(true, &w.state_json(false))),
        "problems" => no_id(envelope(true, &w.state_json(true))),
        "objects" => no_id(envelope(true, &w.objects_json())),
        "log" => no_id(envelope(true, &json!(w.log))),
        "status" => no_id(envelope(true, &w.status_json())),
        "host" => match objid {
            None => err("No hostname provided."),
            Some(h) => match w.host_detail_json(h) {
                Some(v) => envelope(true, &v),
                None => err("Unknown hostname."),
            },
        },
        "service" => match objid {
            None => err("No hostname provided."),
            Some(h) => match w.services_detail_json(h) {
                Some(v) => envelope(true, &v),
                None => err("Unknown hostname."),
            },
        },
        "restart_nagios" => {
            s.world.log("EXTERNAL COMMAND: RESTART_PROGRAM");
            s.touched();
            envelope(true, &Value::from("Restart successful"))
        }
        _ => err("Invalid request URI"),
    }
}
