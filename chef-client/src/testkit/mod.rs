//! A stateful fake Chef Infra Server, served over HTTP on loopback (feature `testkit`).
//!
//! It verifies every request's signature like a real server (protocol 1.0, 1.1 and 1.3,
//! 15 minutes of clock skew) and answers in Chef's wire format: nodes, API clients (with key
//! generation), roles, environments, data bags and items, search and partial search with
//! `start`/`rows` paging, users and `/_status`. Endpoints are served both under
//! `/organizations/ORG/` and at the root. Each fake starts on its own port in a few
//! milliseconds (the admin key is generated once per process and shared by all fakes), so
//! many can run in one test process. Keys for clients created through the API are
//! generated on demand (RSA-2048, typically 50–200 ms).
//!
//! Test hooks: [`FakeChefServer::requests`] (a request log), [`FakeChefServer::inject`]
//! (latency, HTTP errors with `Retry-After`, dropped connections) and direct state access
//! ([`FakeChefServer::node`], [`FakeChefServer::register_client`]).
//!
//! For conformance against a real server, [`Goiardi`] starts goiardi (a Chef server
//! implementation) on loopback.
//!
//! Search supports the query forms ops tooling uses: `*:*`, `field:value` with `*`/`?`
//! wildcards, joined with `AND` / `OR` (`AND` binds tighter) and prefixed with `NOT`. Node
//! fields are `name`, `chef_environment`, `role`, `recipe`, `run_list`, `policy_name`,
//! `policy_group`, plus every attribute by leaf name or by its path joined with `_`
//! (`ipaddress`, `kernel_release`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use chef_client::Node;
//! use chef_client::testkit::FakeChefServer;
//!
//! let fake = FakeChefServer::start().await?;
//! let client = fake.client()?;
//! client.nodes().create(&Node::new("web1")).await?;
//! assert_eq!(client.search().nodes("name:web*").collect_all().await?.len(), 1);
//! assert_eq!(fake.requests().len(), 2);
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::SecretString;

use crate::resources::nodes::Node;
use crate::{Client, ProtocolVersion, RetryConfig};

mod goiardi;
mod server;
mod state;

pub use goiardi::Goiardi;

use state::State;

/// Organization name used in [`FakeChefServer::url`].
pub const ORG: &str = "testorg";
/// Name of the admin client the fake creates.
pub const ADMIN: &str = "admin";

/// A fault to inject into the next matching request(s).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and a Chef error body, optionally with `Retry-After`.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Answer with this status and a non-JSON body (proxy pages, goiardi's 413 text).
    Text {
        /// HTTP status.
        status: u16,
        /// Body text.
        body: String,
    },
    /// Wait this long before handling the request normally.
    Latency(Duration),
    /// Start a response and break the connection mid-body.
    DropConnection,
}

#[derive(Debug, Clone)]
pub(crate) struct Injection {
    fault: Fault,
    remaining: u32,
    path_contains: Option<String>,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path as received.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// `X-Ops-Userid` when the signature verified.
    pub user: Option<String>,
    /// Signing protocol version when the signature verified.
    pub version: Option<ProtocolVersion>,
    /// Status answered.
    pub status: u16,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Mutex<VecDeque<Injection>>,
    pub(crate) log: Mutex<Vec<RecordedRequest>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake Chef server. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeChefServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    admin_key: SecretString,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeChefServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl FakeChefServer {
    /// Start a fake on a free loopback port, with an admin client named [`ADMIN`] and the
    /// `_default` environment. Must be called inside a Tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        // The first fake of a process generates the admin key (RSA-2048) off the runtime.
        let (state, admin_key) = tokio::task::spawn_blocking(State::new)
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared), addr);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            admin_key,
            shutdown: Some(tx),
        })
    }

    /// The organization URL, `http://127.0.0.1:PORT/organizations/testorg`.
    pub fn url(&self) -> String {
        format!("http://{}/organizations/{ORG}", self.addr)
    }

    /// The server root, `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin client's private key (PEM).
    pub fn admin_key(&self) -> SecretString {
        self.admin_key.clone()
    }

    /// A client signed as the admin, with fast retries (1 ms to 5 ms backoff).
    pub fn client(&self) -> crate::Result<Client> {
        self.client_builder().build()
    }

    /// A builder preset for the admin (URL, name, key, fast retries), to adjust further.
    pub fn client_builder(&self) -> crate::ClientBuilder {
        Client::builder(self.url(), ADMIN)
            .key_pem(self.admin_key())
            .retry(RetryConfig {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            })
    }

    /// Register (or replace) an API client with this public key (SPKI PEM).
    pub fn register_client(&self, name: &str, public_key_pem: &str, admin: bool) {
        lock(&self.shared.state).register_client(name, public_key_pem, admin);
    }

    /// Adds a cookbook version (metadata only, no files), as `knife cookbook upload` would:
    /// it is then listed by `GET /cookbooks` and `GET /cookbooks/NAME`.
    pub fn add_cookbook(&self, name: &str, version: &str) {
        lock(&self.shared.state).add_cookbook(name, version);
    }

    /// A node as stored, if it exists.
    pub fn node(&self, name: &str) -> Option<Node> {
        lock(&self.shared.state).node(name)
    }

    /// Stops the search index where it is, as on a real server whose index lags behind
    /// writes (Chef Infra Server indexes through a queue, goiardi in a goroutine per saved
    /// object): until [`thaw_search_index`](Self::thaw_search_index), search finds only
    /// the objects that exist now — ones created later are not found, a data bag created
    /// later has no index (404) — while what it returns for a found object is current (both
    /// servers read result rows from the datastore). Plain GETs and listings are unaffected.
    pub fn freeze_search_index(&self) {
        lock(&self.shared.state).freeze_search_index();
    }

    /// Lets search see every object again (the index has caught up).
    pub fn thaw_search_index(&self) {
        lock(&self.shared.state).thaw_search_index();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Apply `fault` to the next `times` requests.
    pub fn inject(&self, fault: Fault, times: u32) {
        self.inject_matching(fault, times, None);
    }

    /// Apply `fault` to the next `times` requests whose path contains `path_contains`.
    pub fn inject_matching(&self, fault: Fault, times: u32, path_contains: Option<&str>) {
        lock(&self.shared.faults).push_back(Injection {
            fault,
            remaining: times,
            path_contains: path_contains.map(str::to_owned),
        });
    }
}
