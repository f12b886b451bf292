//! Where the workflows keep what outlives a process: documents (run journals), leases and
//! a shared rate budget, behind one small trait with two backends (issue #21).
//!
//! - [`FileStore`], the default: the local state folder (`OPS_STATE_DIR`, `.ops-state`),
//!   embedded, nothing to run. Documents are files written atomically (temp file, fsync,
//!   rename; 0600 in a 0700 folder); a run journal keeps its path `<dir>/<run id>.json`.
//!   Leases are files guarded by an exclusive `flock`, so they hold between processes on
//!   **one** machine. The rate budget stays in each process (the file backend is for one
//!   operator): [`StateStore::take_budget`] always grants.
//! - [`PgStore`]: a Postgres database (`OPS_STATE_URL=postgres://…`), for teams whose runs
//!   start on several machines (CI runners, laptops, a scheduler): a run started on one
//!   machine can be resumed, rolled back or audited from another; leases and the rate
//!   budget are shared by every runner. The schema is created and migrated by the binary
//!   (versioned, one transaction, serialised by an advisory lock so two runners starting at
//!   once do not race); TLS as the restore does it ([`PgServer`]).
//!
//! Why Postgres and not a home-made coordinator: the team already runs it (the restore
//! workflow needs one), it gives transactions, row locks and one clock (`now()` on the
//! server, so runners' clocks never disagree about an expiry), and it is what an operator
//! can inspect with `psql` when something is stuck.
//!
//! ## Leases
//!
//! A run holds a lease on each name it must not share (a host name, the QA database, the
//! users bag) with an expiry and a **fencing token** that grows with every grant. A second
//! runner gets [`StateError::Held`] ("held by run R on host H since T"); after the expiry
//! (a runner that died) anyone may take it, with a larger token, and the old holder's
//! [`StateStore::renew`] and fenced writes fail with [`StateError::LeaseLost`]. The holder
//! renews well before the expiry.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ops_core::state::StateError> {
//! use std::time::Duration;
//! use ops_core::state::{open, Holder, Kind, StateLocation};
//!
//! let store = open(&StateLocation::Dir(".ops-state".into())).await?;
//! let me = Holder::this_process("run-20261205-abcd");
//! let lease = store.acquire("host:web-01", &me, Duration::from_secs(60)).await?;
//! store.put(Kind::Journal, "run-20261205-abcd", b"{}", Some(&lease)).await?;
//! store.release(&lease).await?;
//! # Ok(()) }
//! ```

mod file;
mod postgres;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use file::FileStore;
pub use postgres::{DEFAULT_POOL_SIZE, PgStore, SCHEMA_VERSION};

use crate::restore::PgServer;

/// What a document is; each kind has its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A provision run's journal (key: the run id).
    Journal,
    /// Key-sync's local state (key: the users bag name).
    KeySync,
}

impl Kind {
    /// The kind's name in the database and in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Journal => "journal",
            Kind::KeySync => "key-sync",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds (or asks for) a lease: the run, and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The run id (or another name of the work: `restore qa`).
    pub run: String,
    /// The machine's host name.
    pub host: String,
    /// The process id on that machine.
    pub pid: u32,
}

impl Holder {
    /// This process, working on `run`.
    pub fn this_process(run: impl Into<String>) -> Self {
        Holder {
            run: run.into(),
            host: crate::restore::leftovers::host_name(),
            pid: std::process::id(),
        }
    }
}

/// A granted lease. Its `token` is larger than any earlier grant of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased name.
    pub name: String,
    /// Who holds it.
    pub holder: Holder,
    /// The fencing token of this grant.
    pub token: u64,
    /// When it expires unless renewed (by the store's clock).
    pub expires_at: SystemTime,
}

/// One limit of a shared rate budget: `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// How many requests.
    pub requests: u32,
    /// In how long.
    pub per: Duration,
}

impl Limit {
    /// DigitalOcean's documented limits per token: 250 a minute, 5,000 an hour.
    pub const DIGITALOCEAN: [Limit; 2] = [
        Limit {
            requests: 250,
            per: Duration::from_secs(60),
        },
        Limit {
            requests: 5_000,
            per: Duration::from_secs(3_600),
        },
    ];
    /// Dyn's documented limit per account: 300 a minute.
    pub const DYN: [Limit; 1] = [Limit {
        requests: 300,
        per: Duration::from_secs(60),
    }];
}

/// The budget a credential's requests share: a name for the provider and a digest of the
/// credential (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetKey(String);

impl BudgetKey {
    /// `provider` plus the first 16 hex digits of SHA-256 over `credential` (a token, or an
    /// account name: whatever the provider's limit is counted by).
    pub fn new(provider: &str, credential: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(credential);
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        BudgetKey(format!("{provider}:{hex}"))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The lease is held by someone else and has not expired.
    #[error(
        "`{name}` is held by run {} on host {} (pid {}) since {}, until {} unless renewed; \
         wait for it (--wait) or check that run",
        holder.run, holder.host, holder.pid, crate::status::rfc3339(*since),
        crate::status::rfc3339(*expires_at)
    )]
    Held {
        /// The leased name.
        name: String,
        /// Its holder.
        holder: Holder,
        /// Since when.
        since: SystemTime,
        /// Until when, unless renewed.
        expires_at: SystemTime,
    },
    /// This process's lease was taken over (it expired) or released: stop writing.
    #[error(
        "the lease on `{name}` (token {token}) is no longer held: it expired and another run \
         may have taken it; stop, and check that run before resuming"
    )]
    LeaseLost {
        /// The leased name.
        name: String,
        /// The token that is no longer valid.
        token: u64,
    },
    /// A key or name that cannot be stored.
    #[error(
        "invalid state key `{0}`: use 1-128 of a-z, A-Z, 0-9, `.`, `_`, `-`, `:` (not starting with `.`)"
    )]
    InvalidKey(String),
    /// The folder backend failed.
    #[error("state folder {}: could not {action}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// What was being done.
        action: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The Postgres backend failed.
    #[error("state database: could not {action}")]
    Postgres {
        /// What was being done.
        action: &'static str,
        /// Why (the driver's error; it never holds the password).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database holds a schema newer than this binary knows.
    #[error(
        "the state database has schema version {found}, newer than this binary's \
         {SCHEMA_VERSION}: upgrade the binary (never downgrade a shared state database)"
    )]
    SchemaTooNew {
        /// The version found.
        found: i32,
    },
}

impl StateError {
    /// The same error again (for reporting one refusal on each host of a batch); a cause
    /// is kept as its text.
    pub(crate) fn duplicate(&self) -> StateError {
        match self {
            StateError::Held {
                name,
                holder,
                since,
                expires_at,
            } => StateError::Held {
                name: name.clone(),
                holder: holder.clone(),
                since: *since,
                expires_at: *expires_at,
            },
            StateError::LeaseLost { name, token } => StateError::LeaseLost {
                name: name.clone(),
                token: *token,
            },
            StateError::InvalidKey(k) => StateError::InvalidKey(k.clone()),
            StateError::Io {
                path,
                action,
                source,
            } => StateError::Io {
                path: path.clone(),
                action,
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            StateError::Postgres { action, source } => StateError::Postgres {
                action,
                source: source.to_string().into(),
            },
            StateError::SchemaTooNew { found } => StateError::SchemaTooNew { found: *found },
        }
    }
}

/// Where the state lives.
#[derive(Debug, Clone)]
pub enum StateLocation {
    /// The local folder.
    Dir(std::path::PathBuf),
    /// A Postgres database (the connection's `dbname`).
    Postgres(PgServer),
}

/// Opens the store at `location` (for Postgres: connects, creates or migrates the schema).
pub async fn open(location: &StateLocation) -> Result<Arc<dyn StateStore>, StateError> {
    Ok(match location {
        StateLocation::Dir(dir) => Arc::new(FileStore::new(dir.clone())),
        StateLocation::Postgres(server) => Arc::new(PgStore::connect(server).await?),
    })
}

/// The state store: documents, leases and the shared rate budget.
#[async_trait]
pub trait StateStore: Send + Sync + fmt::Debug {
    /// Where the state lives, for messages (never a password).
    fn describe(&self) -> String;

    /// Writes a document atomically. With `fence`, only while that lease is still held
    /// (else [`StateError::LeaseLost`] and nothing is written).
    async fn put(
        &self,
        kind: Kind,
        key: &str,
        doc: &[u8],
        fence: Option<&Lease>,
    ) -> Result<(), StateError>;

    /// Reads a document.
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StateError>;

    /// Every document of a kind, by key.
    async fn list(&self, kind: Kind) -> Result<Vec<(String, Vec<u8>)>, StateError>;

    /// Deletes a document; `false` when there was none.
    async fn delete(&self, kind: Kind, key: &str) -> Result<bool, StateError>;

    /// Takes the lease on `name` for `ttl`, or fails with [`StateError::Held`]. A holder
    /// that asks again (same run, host and pid) renews.
    async fn acquire(
        &self,
        name: &str,
        holder: &Holder,
        ttl: Duration,
    ) -> Result<Lease, StateError>;

    /// Extends a held lease; [`StateError::LeaseLost`] when it is no longer ours.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError>;

    /// Gives the lease up (nothing happens when it is no longer ours).
    async fn release(&self, lease: &Lease) -> Result<(), StateError>;

    /// Takes the lease on every name of `names` for `ttl`, all or none: the first refusal
    /// ([`StateError::Held`]) gives back the ones taken. A fleet's hosts in one go (the
    /// Postgres backend does it in one transaction instead of a round trip per host).
    async fn acquire_all(
        &self,
        names: &[(String, Holder)],
        ttl: Duration,
    ) -> Result<Vec<Lease>, StateError> {
        let mut taken = Vec::with_capacity(names.len());
        for (name, holder) in names {
            match self.acquire(name, holder, ttl).await {
                Ok(l) => taken.push(l),
                Err(e) => {
                    for l in &taken {
                        let _ = self.release(l).await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(taken)
    }

    /// [`renew`](Self::renew) for each of `leases`, one outcome each, in order (the
    /// Postgres backend renews them in one statement: a fleet's renewal must not queue
    /// behind its own journal writes for each host).
    async fn renew_all(&self, leases: &[Lease], ttl: Duration) -> Vec<Result<Lease, StateError>> {
        let mut out = Vec::with_capacity(leases.len());
        for l in leases {
            out.push(self.renew(l, ttl).await);
        }
        out
    }

    /// [`release`](Self::release) for each of `leases` (in one statement on Postgres).
    async fn release_all(&self, leases: &[Lease]) -> Result<(), StateError> {
        let mut first = None;
        for l in leases {
            if let Err(e) = self.release(l).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Takes one request from the budget `key` under every limit in `limits`: `None` when
    /// granted, else how long to wait before asking again (nothing is taken then).
    async fn take_budget(
        &self,
        key: &BudgetKey,
        limits: &[Limit],
    ) -> Result<Option<Duration>, StateError>;
}

/// Keys and lease names: short, printable, and safe as a file name.
pub(crate) fn check_key(key: &str) -> Result<(), StateError> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && !key.starts_with('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidKey(key.chars().take(140).collect()))
    }
}

/// Waits for a lease: asks every `poll` until granted or `deadline` passes (then the last
/// [`StateError::Held`]). For `--wait`.
pub async fn acquire_waiting(
    store: &dyn StateStore,
    name: &str,
    holder: &Holder,
    ttl: Duration,
    poll: Duration,
    deadline: Duration,
) -> Result<Lease, StateError> {
    let start = tokio::time::Instant::now();
    loop {
        match store.acquire(name, holder, ttl).await {
            Err(StateError::Held { .. }) if start.elapsed() + poll <= deadline => {
                tokio::time::sleep(poll).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for ok in ["run-1", "host:web-01", "qa.db_1", "A"] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "a/b", "..", "a b", "é", &"x".repeat(129)] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_budget_key_never_holds_the_credential() {
        let k = BudgetKey::new("digitalocean", b"dop_v1_secret-token");
        assert!(k.as_str().starts_with("digitalocean:"));
        assert!(!k.as_str().contains("secret"));
        assert_eq!(k.as_str().len(), "digitalocean:".len() + 16);
        assert_eq!(k, BudgetKey::new("digitalocean", b"dop_v1_secret-token"));
        assert_ne!(k, BudgetKey::new("digitalocean", b"another"));
    }
}
