//! A stateful fake of the Dyn REST API, served over HTTP on loopback (feature `testkit`).
//!
//! It speaks the same wire format as the real API (envelopes, string TTLs in requests and
//! integer TTLs in responses, `record_id: 0` until publish, per-session pending changes,
//! publish tasks, 307 jobs) so downstream code can test against something better than
//! hand-written mocks. Each [`FakeDyn`] binds its own port on `127.0.0.1` and starts in
//! milliseconds; many can run in parallel.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use dynect_client::testkit::{FakeDyn, Fault, FaultRule};
//! use dynect_client::RecordData;
//!
//! let fake = FakeDyn::start().await?;
//! fake.add_zone("example.com");
//! let client = fake.client()?;
//! client.records().create("example.com", "www.example.com", &RecordData::a("192.0.2.1")?, 0).await?;
//! fake.inject(FaultRule::new(Fault::Job { polls: 2 }).path_prefix("/REST/Zone/"));
//! client.zones().publish("example.com", None).await?;
//! assert_eq!(fake.records("example.com").len(), 1);
//! # Ok(()) }
//! ```
//!
//! Faults ([`Fault`]): latency, 429 with `Retry-After`, 5xx, dropped connections, session
//! expiry, "Operation blocked by current task", and turning an answer into a 307 job or an
//! `incomplete` job. Every request is logged ([`FakeDyn::requests`]) without bodies, tokens
//! or passwords.

mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::client::{Client, ClientBuilder};
use crate::error::Result;
use crate::retry::{PollConfig, RetryConfig};

use state::State;

/// One fault to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally (combines with one other fault).
    Latency(Duration),
    /// HTTP 429 with a `RATE_LIMIT_EXCEEDED` message and, if given, `Retry-After: <secs>`.
    RateLimited {
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
    /// This status with an HTML body (e.g. 502, 503).
    ServerError(u16),
    /// Close the connection without answering.
    DropConnection,
    /// End the caller's session, answering `login: inactivity logout` (HTTP 400). Its pending
    /// changes are lost, as on the real service.
    ExpireSession,
    /// "Operation blocked by current task" (HTTP 400, `ILLEGAL_OPERATION`, with a `task_id`).
    Blocked,
    /// Process the request, but answer `307` to `/REST/Job/<id>/`; the job answers
    /// `incomplete` `polls` times, then the real answer.
    Job {
        /// Polls answered `incomplete` before the result.
        polls: u32,
    },
    /// Process the request, but answer `200` `"status": "incomplete"` with a `job_id`.
    Incomplete {
        /// Polls answered `incomplete` before the result.
        polls: u32,
    },
}

/// A fault with the requests it applies to and how many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Only this method (`"GET"`, …); `None` = any.
    pub method: Option<String>,
    /// Only paths starting with this (e.g. `"/REST/Zone/"`). `None` = any path **except**
    /// logins (`/REST/Session`) and job polls (`/REST/Job/`).
    pub path_prefix: Option<String>,
    /// How many matching requests it applies to.
    pub remaining: usize,
}

impl FaultRule {
    /// Apply `fault` once to the next matching request.
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            method: None,
            path_prefix: None,
            remaining: 1,
        }
    }

    /// Apply to `n` matching requests.
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = n;
        self
    }

    /// Only for this HTTP method.
    pub fn method(mut self, m: impl Into<String>) -> Self {
        self.method = Some(m.into().to_ascii_uppercase());
        self
    }

    /// Only for paths starting with `p`.
    pub fn path_prefix(mut self, p: impl Into<String>) -> Self {
        self.path_prefix = Some(p.into());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        match &self.path_prefix {
            Some(p) => path.starts_with(p.as_str()),
            None => !path.starts_with("/REST/Session") && !path.starts_with("/REST/Job/"),
        }
    }
}

/// A published record in the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRecord {
    /// Id assigned at publish.
    pub record_id: u64,
    /// Node.
    pub fqdn: String,
    /// Type mnemonic (`"A"`, `"MX"`, …).
    pub record_type: String,
    /// `rdata` as sent.
    pub rdata: serde_json::Value,
    /// TTL.
    pub ttl: u32,
}

/// One request seen by the fake. Bodies, tokens and passwords are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Whether an `Auth-Token` header was present.
    pub had_token: bool,
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
    /// When the request arrived.
    pub at: std::time::Instant,
}

/// The fake server. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct FakeDyn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDyn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDyn {
    /// Customer name of the account the fake starts with.
    pub const CUSTOMER: &'static str = "testkit";
    /// User name of that account.
    pub const USER: &'static str = "tester";
    /// Password of that account (a test value, not a secret).
    pub const PASSWORD: &'static str = "testkit-password";

    /// Start a fake on `127.0.0.1` with a random port and one account
    /// ([`FakeDyn::CUSTOMER`], [`FakeDyn::USER`], [`FakeDyn::PASSWORD`]) and no zones.
    /// Needs a Tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State::new(
            Self::CUSTOMER,
            Self::USER,
            Self::PASSWORD,
        )));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state)));
        Ok(Self { addr, state, task })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234/`.
    pub fn uri(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// A client builder for the default account, pointing at the fake, with fast polling
    /// (5–50 ms, 10 s deadline) and fast retries (3 attempts, 1–10 ms).
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder(Self::CUSTOMER, Self::USER, Self::PASSWORD.to_owned())
            .base_url(self.uri())
            .poll(PollConfig {
                initial_interval: Duration::from_millis(5),
                max_interval: Duration::from_millis(50),
                timeout: Duration::from_secs(10),
            })
            .retry(RetryConfig {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(10),
            })
    }

    /// `client_builder().build()`.
    pub fn client(&self) -> Result<Client> {
        self.client_builder().build()
    }

    /// Add another account.
    pub fn add_account(&self, customer: &str, user: &str, password: &str) {
        self.state().add_account(customer, user, password);
    }

    /// Create an (empty, published) zone.
    pub fn add_zone(&self, zone: &str) {
        self.state().add_zone(zone);
    }

    /// Published records of a zone.
    pub fn records(&self, zone: &str) -> Vec<FakeRecord> {
        self.state().records(zone)
    }

    /// Current serial of a zone.
    pub fn serial(&self, zone: &str) -> Option<u64> {
        self.state().serial(zone)
    }

    /// Unpublished changes across all sessions.
    pub fn pending_changes(&self) -> usize {
        self.state().pending_changes()
    }

    /// Open sessions.
    pub fn active_sessions(&self) -> usize {
        self.state().active_sessions()
    }

    /// End every session (their pending changes are lost); the next call with an old token
    /// gets `login: Bad or expired credentials`.
    pub fn expire_all_sessions(&self) {
        self.state().expire_all_sessions();
    }

    /// Publish tasks answer `running` this many times before `complete` (default 0).
    pub fn set_publish_task_polls(&self, polls: u32) {
        self.state().task_polls = polls;
    }

    /// Enforce an account-wide limit: beyond `per_minute` requests in a sliding minute the
    /// fake answers 429 with `Retry-After: 60`. `None` (default) disables it.
    pub fn set_rate_limit_per_minute(&self, per_minute: Option<u32>) {
        self.state()
            .set_rate_limit(per_minute.map(|n| (n, std::time::Duration::from_secs(60))));
    }

    /// [`FakeDyn::set_rate_limit_per_minute`] over any sliding `window` (a shorter one
    /// scales time for a benchmark): beyond `requests` in it, 429 with `Retry-After` (the
    /// window, rounded up to a second).
    pub fn set_rate_limit(&self, limit: Option<(u32, std::time::Duration)>) {
        self.state().set_rate_limit(limit);
    }

    /// Add a fault rule. Rules are checked in order; latency rules add up, and the first
    /// other matching rule fires.
    pub fn inject(&self, rule: FaultRule) {
        self.state().faults.push(rule);
    }

    /// Every request seen so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        self.state().log.clear();
    }
}
