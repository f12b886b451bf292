//! Restore a production Postgres dump into QA with near-zero QA downtime.
//!
//! The workflow never touches the live QA database until the very end:
//!
//! 1. **Preflight** — guards (target is not the source, does not look like
//!    production, is not a template nor the connected database), privileges
//!    (`CREATEDB`, ownership of QA, `pg_signal_backend`), the [`Plan`] (is a live
//!    source QA itself; the working copy's encoding and locale; does it fit), and a
//!    Postgres advisory lock so that two restores of the same QA cannot overlap; then what
//!    killed runs left is removed (see [Interrupts](#interrupts)). Nothing is written
//!    before all of these pass; [`RestoreJob::plan`] runs the same reads for a dry run.
//! 2. **Dump** (only for [`DumpSource::Database`] with [`Engine::Dump`]) — `pg_dump -Fd -Z1
//!    -j N` to local disk, row counts taken in the same snapshot. With [`Engine::Stream`] (the
//!    default for a live source) steps 2 and 3 are **Schema**, **Copy** and **PostData**
//!    instead: the rows are streamed between the servers with `COPY` in one exported
//!    snapshot, no dump of the data is written (see [`Engine`]).
//! 3. **Restore** into `<qa>_next`, created from `template0` with QA's encoding and
//!    locale (see below), with
//!    `pg_restore --exit-on-error -j N --no-owner --no-acl`. Progress (items
//!    of the table of contents, bytes) goes to `tracing` and to the callback
//!    set with [`RestoreJob::on_progress`].
//! 4. **Verify, sanitise, analyse, check** — every table of the dump is
//!    present and row counts match ([`RowCounts`]); then the sanitise scripts
//!    run, `ANALYZE`, then the user [`CheckQuery`]s must all return `true`.
//!    Counts are compared *before* sanitising (scripts may delete rows), the
//!    checks run *after* (they can assert that masking happened).
//! 5. **Carry settings** — QA's owner, grants, connection limit, comment,
//!    `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET` are
//!    re-applied to the new database (they stay with the old database's OID).
//! 6. **Swap** — optional monitoring downtime ([`Downtime`]), then
//!    `ALTER DATABASE qa ALLOW_CONNECTIONS false`, terminate QA's sessions,
//!    and in one transaction rename `qa` → `qa_prev_<ms>` and
//!    `qa_next` → `qa`. QA is unavailable only for this step (see
//!    [the swap window](#the-swap-window-what-applications-see)).
//! 7. **Prune** — keep [`RestoreOptions::keep_previous`] previous copies;
//!    [`rollback`] swaps the newest one back.
//!
//! Any failure before the swap drops `<qa>_next` and leaves QA exactly as it
//! was; a failure during the swap rolls the renames back and reopens QA.
//!
//! ## Interrupts
//! A run given a [`CancelToken`] ([`RestoreJob::cancel_on`]; the `restore` binary trips it
//! on SIGINT and SIGTERM) stops cleanly at any step:
//! - the token is checked before each step and raced against it; `pg_dump` and
//!   `pg_restore` run in process groups of their own and, when it fires, the whole group
//!   (with the `-j` workers) is killed with `SIGKILL` and reaped before their step returns;
//! - then the working copy is dropped over a fresh connection (`DROP … WITH (FORCE)` ends
//!   the sessions the abandoned step used) and the dump folder is removed (after the tools
//!   are gone), and the run returns [`RestoreError::Interrupted`] saying the step, whether
//!   the swap had committed and what could not be removed;
//! - the swap is never raced: stopped midway it could leave QA closed to connections. It
//!   commits (QA is then fully the new copy) or fails and reopens QA unchanged, and the
//!   interrupt is honoured right after it. QA is never half swapped.
//!
//! Dropping the future of [`RestoreJob::run`] instead (no token) kills the tools' process
//! groups and deletes the dump folder synchronously, but cannot drop the working copy: the
//! next run does. A process killed outright (`kill -9`) leaves the working copy and the
//! dump folder, both marked with the run id, host, pid and the process's start time (a
//! `COMMENT ON DATABASE` on `<qa>_next`, QA's own comment being applied only after the
//! swap; a file `ops-restore-owner` in `ops-restore-*` folders). The next run's preflight,
//! holding QA's advisory lock (so no other run of that QA is live), drops a marked
//! `<qa>_next` unless its owner is a live process on this host, refuses an unmarked one
//! ([`Guard::WorkingCopy`]: it never drops what it did not create), removes marked dump
//! folders in the work folder whose owner on this host is gone (never unmarked ones, nor
//! another host's), logs each and lists them in [`RestoreReport::leftovers_removed`]. A
//! run killed inside the swap (QA closed to connections, the renames not committed) marked
//! its copy as being swapped in just before closing QA: the next run reopens QA first.
//!
//! ## Same server, any spelling
//! A live source ([`DumpSource::Database`]) that is QA itself is refused
//! ([`Guard::SourceIsTarget`]) before anything is written. Servers are compared by their
//! system identifier (`pg_control_system()`) and databases by oid, not by the host text of the
//! connection strings: `localhost`, `127.0.0.1`, `::1`, the unix socket folder and a second
//! listen address are one server. A physical replica shares its primary's identifier and
//! oids, so a replica of QA counts as QA. A dump file comes from no server: nothing to
//! compare. `pg_control_system()` is executable by every role on a stock server (checked on
//! PostgreSQL 15); where it was revoked the run stops with
//! [`Privilege::ServerIdentity`] rather than guess.
//!
//! ## Encoding and locale
//! `CREATE DATABASE` alone sets a database's encoding, locale provider, `LC_COLLATE`,
//! `LC_CTYPE` and ICU (or builtin) locale, and `ORDER BY` on text, unique indexes on text and
//! `lower()`/`upper()` follow them. The working copy gets **QA's** ([`LocaleFrom::Qa`]), not
//! production's: QA's applications and tests were written against QA's ordering, and a
//! restore that changed it under them (an ICU `en` QA turned into libc `C.UTF-8`) breaks them
//! silently. `pg_restore` loads any source into it (text is converted to QA's encoding; a
//! character QA's encoding cannot hold fails the restore, QA untouched). When QA does not exist
//! yet the copy takes the live source's ([`LocaleFrom::Source`]), or the cluster's defaults
//! for a dump file ([`LocaleFrom::ClusterDefault`]). A difference between the source's and
//! QA's is listed in [`Plan::locale_differences`], logged as a warning by a run and shown by
//! the restore binary's `--dry-run`.
//!
//! ## Free space
//! When QA's server is local (its data directory is readable from this process and is that
//! server's), the run refuses to start if the data directory's file system has less room
//! than the working copy is estimated to take ([`RestoreError::InsufficientSpace`], with both
//! figures): the live source's size or the dump's size times a documented factor (see
//! [`space`]). Otherwise the check is skipped and [`Plan::space`] says why;
//! [`RestoreOptions::space_check`] gives the free bytes for a remote server, or turns the
//! check off.
//!
//! ## The swap window: what applications see
//! The swap terminates every other session on QA in one statement
//! (`pg_terminate_backend`, which signals and returns at once), then looks at
//! `pg_stat_activity` every 5 ms until they are gone, so the window does not grow
//! with the number of sessions: idle ones, one running a long query, one idle in a
//! transaction holding locks (its transaction is rolled back) all end the same
//! way. If some are still there after [`RestoreOptions::terminate_timeout`]
//! (5 s by default; `Duration::ZERO` terminates nobody and swaps only a QA
//! without sessions), QA is reopened unchanged and the run fails with
//! [`RestoreError::SessionsRemain`] naming each (pid, user, application, state).
//!
//! During the window an application sees:
//! - its open connections to QA closed: the next statement fails with SQLSTATE
//!   `57P01` (`terminating connection due to administrator command`), or the
//!   driver reports the connection closed;
//! - new connections refused with SQLSTATE `55000`, `database "qa" is not
//!   currently accepting connections`;
//! - rarely, a connection that was starting at the moment of the rename fails
//!   with `3D000`, `database "qa" does not exist` (Postgres re-checks the name
//!   after locking the database, and the old QA has just been renamed).
//!
//! All three are retryable: a new connection a moment later reaches the new QA.
//! A pool rides the window out when it retries a failed connect with backoff for
//! longer than the window (e.g. 50 ms doubling up to 1 s, for a few seconds in
//! all), validates a connection before handing it out (test-on-borrow: a cheap
//! `SELECT 1`, or the driver's `is_closed`) so that the terminated ones are
//! dropped instead of failing the first query, and gives connections a maximum
//! lifetime so that none outlives a restore for long. A statement that was
//! running on QA when the swap began fails and is not retried by the pool: the
//! application decides (a read can be repeated; a transaction must be run again
//! as a whole).
//!
//! ## Privileges
//! A superuser works. The least privilege is a role with `CREATEDB`, member of
//! `pg_signal_backend`, owning QA (or member of its owner role) and `CONNECT`
//! on the maintenance database. `ALTER ROLE … IN DATABASE` settings of other
//! roles also need `CREATEROLE`. The free-space check reads `data_directory`, which needs
//! superuser or `pg_read_all_settings` (without it the check is skipped, said in the plan). Such a role cannot terminate superuser
//! sessions: the swap then fails with [`RestoreError::SessionsRemain`] naming
//! them, and QA is reopened unchanged.
//!
//! roles also need `CREATEROLE`. Such a role cannot terminate superuser
//! sessions: the swap then refuses, before closing QA, with
//! [`RestoreError::SessionsRemain`] naming them.
//!
//! ## Prepared transactions
//! A prepared transaction (`PREPARE TRANSACTION`) on QA belongs to no session,
//! so no terminate ends it, and Postgres refuses to rename a database that has
//! one. The run refuses at the preflight and again just before closing QA, with
//! [`RestoreError::PreparedTransactions`] naming each gid and owner: finish it
//! with `COMMIT PREPARED 'gid'` or `ROLLBACK PREPARED 'gid'` (connected to QA,
//! as its owner or a superuser) and run again.
//!
//! ## Ownership and ACLs
//! By default the restore uses `--no-owner --no-acl`: objects belong to the
//! restoring role and production grants (to production roles) are not
//! replayed. Put the grants QA's application needs into a sanitise script
//! (`GRANT SELECT, INSERT … ON ALL TABLES IN SCHEMA public TO qa_app`), or
//! turn the flags off in [`RestoreOptions`] when QA has the same roles.
//!
//! ```no_run
//! use ops_core::restore::{CheckQuery, DumpSource, PgServer, RestoreJob, RestoreOptions, SqlScript};
//! # async fn demo() -> ops_core::Result<()> {
//! let qa_server = PgServer::new("host=/var/run/postgresql user=postgres dbname=postgres")?;
//! let report = RestoreJob::new(qa_server, "qa", DumpSource::File("/backups/prod.dump".into()))
//!     .options(RestoreOptions {
//!         jobs: 2,
//!         sanitize: vec![SqlScript::new("mask emails", "UPDATE customers SET email = id || '@example.invalid'")],
//!         checks: vec![CheckQuery::new("no real emails",
//!             "SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'")],
//!         ..RestoreOptions::default()
//!     })
//!     .on_progress(|p| tracing::info!(?p, "restore progress"))
//!     .run()
//!     .await?;
//! println!("QA was unavailable for {:?}", report.swap_window);
//! # Ok(()) }
//! ```

mod cancel;
mod catalog;
mod error;
mod guards;
pub(crate) mod leftovers;
pub mod local;
mod plan;
mod server;
mod settings;
pub mod space;
mod sql;
mod steps;
mod swap;
mod toc;
mod tools;
mod verify;
mod workflow;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use cancel::CancelToken;
pub use error::{Guard, PreparedTransaction, Privilege, RestoreError, StuckReason, StuckSession};
pub use plan::{LocaleFrom, Plan};
pub use server::PgServer;
pub use settings::{DatabaseLocale, LocaleProvider};
pub use space::{SpaceCheck, SpaceOutcome};
pub use swap::{RollbackOptions, RollbackReport, rollback};
pub use verify::{CheckQuery, RowCountManifest};

impl From<RestoreError> for crate::Error {
    fn from(e: RestoreError) -> Self {
        crate::Error::Restore(Box::new(e))
    }
}

/// Where the data comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DumpSource {
    /// A custom-format (`pg_dump -Fc`) file or a directory-format dump on local disk.
    File(PathBuf),
    /// Dump a live database first (`pg_dump -Fd -Z1 -j N` into the work
    /// directory), then restore from that directory in parallel.
    Database {
        /// The production server (read access is enough).
        server: PgServer,
        /// The database to dump.
        database: String,
    },
}

/// The expected row counts the verification gate compares against.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum RowCounts {
    /// [`DumpSource::Database`]: exact counts taken in the dump's snapshot.
    /// [`DumpSource::File`]: the manifest `<dump>.rowcounts.json` if it
    /// exists; otherwise only the table-presence check runs (logged as a warning).
    #[default]
    Auto,
    /// Compare exactly with a manifest (see [`RowCountManifest`]).
    Manifest(PathBuf),
    /// Compare with live counts on production, within `tolerance` (a fraction:
    /// the dump is older than the live data). When production is not
    /// reachable, fall back to `fallback` if set, else fail the gate.
    Production {
        /// The production server.
        server: PgServer,
        /// The production database.
        database: String,
        /// Allowed relative difference per table, e.g. `0.05`.
        tolerance: f64,
        /// A manifest to use when production cannot be reached.
        fallback: Option<PathBuf>,
    },
    /// No row-count comparison (tables and checks still gate the swap).
    Off,
}

/// An SQL script run on the new database before the swap (masking PII, resetting secrets…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlScript {
    /// A short name for logs and errors.
    pub name: String,
    /// The SQL; several statements run as one implicit transaction unless the script has its own.
    pub sql: String,
}

impl SqlScript {
    /// A named script.
    pub fn new(name: impl Into<String>, sql: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sql: sql.into(),
        }
    }

    /// Read a script from a file; its file name becomes its name.
    pub fn from_file(path: impl Into<PathBuf>) -> Result<Self, RestoreError> {
        let path = path.into();
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| RestoreError::io(format!("read {}", path.display()), e))?;
        Ok(Self {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            sql,
        })
    }
}

/// Refuses targets whose database name or host looks like production.
///
/// A name is split into tokens on every non-alphanumeric character and at every boundary
/// between letters and digits (`db-prod01.example.com` → `db`, `prod`, `01`, `example`,
/// `com`), lower-cased. A token matches a deny token when it **is** one or **starts with**
/// one (`proddb`, `prodeu`, `livedata`, `prdapp`): `prod1`, `prod01`, `proddb`,
/// `production2`, `app_live` and `orders-prd` are refused. Only a token's start counts, so
/// `reproduction` passes; ordinary words that merely begin like a deny token
/// ([`ProductionGuard::ORDINARY_WORDS`]: `product`, `products`, `produce`, `liver`…) pass
/// too, because a QA database of a shop is often named after its products and refusing
/// those would teach people to switch the guard off. A name that still matches and is
/// really QA goes into [`allow`](Self::allow) (the restore binary: `--guard-allow` or
/// `RESTORE_GUARD_ALLOW`). Unix socket directories are not checked: they name a local
/// folder (often a random temp folder), not a server.
///
/// ```
/// use ops_core::restore::ProductionGuard;
/// let guard = ProductionGuard::default();
/// assert!(guard.check("database", "proddb").is_err());
/// assert!(guard.check("database", "products_qa").is_ok());
/// let guard = ProductionGuard { allow: vec!["qa_live_demo".into()], ..ProductionGuard::default() };
/// assert!(guard.check("database", "qa_live_demo").is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionGuard {
    /// `false` disables the guard.
    pub enabled: bool,
    /// Tokens that mark production (matched as whole tokens or token prefixes).
    pub deny_tokens: Vec<String>,
    /// Names (a database or host, compared whole and case-insensitively) that pass although
    /// they match: the odd QA database named like production.
    pub allow: Vec<String>,
}

impl Default for ProductionGuard {
    fn default() -> Self {
        Self {
            enabled: true,
            deny_tokens: ["prod", "production", "prd", "live", "primary"]
                .map(String::from)
                .to_vec(),
            allow: Vec::new(),
        }
    }
}

impl ProductionGuard {
    /// Ordinary words that begin like a deny token and do not mark production.
    pub const ORDINARY_WORDS: &'static [&'static str] = &[
        "product",
        "products",
        "productive",
        "productivity",
        "produce",
        "producer",
        "producers",
        "prodigy",
        "liver",
        "lively",
        "livelihood",
        "livestock",
        "livery",
    ];

    /// The first token of `value` that marks production, with the deny token it matched.
    pub fn matching_token(&self, value: &str) -> Option<(String, String)> {
        if !self.enabled || self.allow.iter().any(|a| a.eq_ignore_ascii_case(value)) {
            return None;
        }
        tokens(value).into_iter().find_map(|token| {
            if Self::ORDINARY_WORDS.contains(&token.as_str()) {
                return None;
            }
            self.deny_tokens
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .find(|d| !d.is_empty() && token.starts_with(d.as_str()))
                .map(|d| (token, d))
        })
    }

    /// Fail if `value` (a database or host name) has a token that marks production.
    pub fn check(&self, what: &str, value: &str) -> Result<(), RestoreError> {
        match self.matching_token(value) {
            None => Ok(()),
            Some((token, deny)) => Err(RestoreError::refused(
                Guard::Production,
                format!(
                    "the target {what} `{value}` looks like production (token `{token}` matches \
                     `{deny}`); if it really is QA, allow it by name \
                     (RestoreOptions::production_guard.allow; the restore binary: --guard-allow \
                     or RESTORE_GUARD_ALLOW)"
                ),
            )),
        }
    }
}

/// `value` lower-cased and split on non-alphanumerics and at letter/digit boundaries.
fn tokens(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut token = String::new();
        for c in part.chars() {
            if token
                .chars()
                .last()
                .is_some_and(|l| l.is_ascii_digit() != c.is_ascii_digit())
            {
                out.push(std::mem::take(&mut token));
            }
            token.push(c.to_ascii_lowercase());
        }
        if !token.is_empty() {
            out.push(token);
        }
    }
    out
}

/// Tuning and policy of a restore. Build with `..RestoreOptions::default()`.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Parallel jobs for `pg_dump`, `pg_restore`, counting and `ANALYZE` (default: CPUs).
    pub jobs: u32,
    /// `pg_restore --no-owner` (default `true`).
    pub no_owner: bool,
    /// `pg_restore --no-acl` (default `true`).
    pub no_acl: bool,
    /// Extra `pg_restore` arguments, e.g. `--no-subscriptions`.
    pub extra_restore_args: Vec<String>,
    /// `pg_dump` compression level for [`DumpSource::Database`] (default 1: gzip dominates dump time).
    pub dump_compression: u8,
    /// Where `pg_restore`/`pg_dump` live (default: `PATH`).
    pub bin_dir: Option<PathBuf>,
    /// Where a dump from a live database is written (default: the system temp dir).
    pub work_dir: Option<PathBuf>,
    /// Scripts run on the new database before verification checks and the swap.
    pub sanitize: Vec<SqlScript>,
    /// Queries that must all return `true` on the new database.
    pub checks: Vec<CheckQuery>,
    /// Row-count gate.
    pub row_counts: RowCounts,
    /// Run `ANALYZE` after sanitising (default `true`; `pg_restore` does not). The stream
    /// engine, when there is no sanitise script, analyzes each plain table as soon as its
    /// indexes are built, and the Analyze step then does only the others.
    pub analyze: bool,
    /// Previous copies kept for [`rollback`] (default 1).
    pub keep_previous: usize,
    /// Production-lookalike guard.
    pub production_guard: ProductionGuard,
    /// How long the swap waits, in all, for QA's sessions to exit once terminated (default
    /// 5 s); QA refuses connections meanwhile. Past it, QA is reopened unchanged and the run
    /// fails with [`RestoreError::SessionsRemain`]. `Duration::ZERO` terminates nobody: the
    /// swap goes ahead only if QA has no session.
    pub terminate_timeout: Duration,
    /// Length of the monitoring downtime scheduled around the swap (default 5 min).
    pub downtime_window: Duration,
    /// The free-space check before anything is written (default [`SpaceCheck::Auto`]; see
    /// [`space`]).
    pub space_check: SpaceCheck,
    /// How often restore progress (bytes) is polled and reported (default 1 s).
    pub progress_interval: Duration,
    /// How a live source is copied (default [`Engine::Auto`]; see [`Engine`]).
    pub engine: Engine,
}

/// How a live source ([`DumpSource::Database`]) gets into the working copy.
///
/// - [`Engine::Dump`]: `pg_dump -Fd -Z<n> -j N` to a folder on local disk, then
///   `pg_restore -j N` from it (steps [`Step::Dump`], [`Step::Restore`]).
/// - [`Engine::Stream`]: no dump of the data. One repeatable-read snapshot is exported by
///   the source; the schema (`pg_dump --section=pre-data --section=post-data` in that
///   snapshot, a small uncompressed file) is written to the work folder ([`Step::Schema`]);
///   its pre-data is restored, then every table's rows are streamed with `COPY … TO STDOUT`
///   on the source into `COPY … FROM STDIN` on the working copy by `jobs` workers, each in
///   the same snapshot (binary format between servers of one major version for tables of
///   built-in column types, else text), the most work waiting on a table first (its size
///   with indexes, plus the tables whose foreign keys point to it), partitioned tables per
///   leaf, generated columns left out; each plain table's own indexes and primary/unique
///   keys are built (one `pg_restore -L` each, by N indexers) as soon as its rows are in,
///   then it is analyzed (not when sanitise scripts will run: [`Step::Analyze`] does all
///   then), and a foreign key between plain tables is added as soon as both its tables are
///   built, while other tables are still copied; large objects and sequence values follow
///   ([`Step::Copy`]); then the rest of the post-data (foreign keys of partitioned tables,
///   triggers, policies, partitioned indexes, materialized views refreshed) with
///   `pg_restore -j N` ([`Step::PostData`]). Memory is bounded per worker (a 256 KiB
///   batch). Row counts are those the copy read in the snapshot; the verify, sanitise,
///   check and swap steps are the same as for the dump engine.
/// - [`Engine::Auto`] (default): the stream engine for a live source whose snapshot can be
///   exported and imported (the preflight has reached both servers by then), else the dump
///   engine (logged); a dump file always uses the dump engine.
///
/// [`Plan::engine`] says which one a run uses. The stream engine with a dump file is refused
/// by the preflight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// The stream engine for a live source, the dump engine otherwise.
    #[default]
    Auto,
    /// `pg_dump` to disk, then `pg_restore`.
    Dump,
    /// Table data streamed between the servers, no dump of the data.
    Stream,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Auto => "auto",
            Self::Dump => "dump",
            Self::Stream => "stream",
        })
    }
}

impl std::str::FromStr for Engine {
    type Err = RestoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "dump" => Ok(Self::Dump),
            "stream" => Ok(Self::Stream),
            other => Err(RestoreError::Config(format!(
                "unknown engine `{other}`: use `auto`, `dump` or `stream`"
            ))),
        }
    }
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism()
                .ok()
                .and_then(|n| u32::try_from(n.get()).ok())
                .unwrap_or(2),
            no_owner: true,
            no_acl: true,
            extra_restore_args: Vec::new(),
            dump_compression: 1,
            bin_dir: None,
            work_dir: None,
            sanitize: Vec::new(),
            checks: Vec::new(),
            row_counts: RowCounts::Auto,
            analyze: true,
            keep_previous: 1,
            production_guard: ProductionGuard::default(),
            terminate_timeout: Duration::from_secs(5),
            downtime_window: Duration::from_secs(300),
            space_check: SpaceCheck::Auto,
            progress_interval: Duration::from_secs(1),
            engine: Engine::Auto,
        }
    }
}

/// Schedules monitoring downtime for QA's database checks around the swap.
///
/// An adapter over `nagios-client` implements it; failures are logged as
/// warnings and never block the restore (the swap window is sub-second).
#[async_trait::async_trait]
pub trait Downtime: Send + Sync {
    /// Schedule downtime for `database` lasting `window`; returns an id for [`Downtime::cancel`].
    async fn schedule(
        &self,
        database: &str,
        window: Duration,
        comment: &str,
    ) -> crate::Result<String>;
    /// Cancel a downtime returned by [`Downtime::schedule`].
    async fn cancel(&self, id: &str) -> crate::Result<()>;
}

/// A workflow step, as reported in [`Progress`] and [`RestoreReport::steps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Guards, privileges, advisory lock.
    Preflight,
    /// `pg_dump` of a live source (dump engine).
    Dump,
    /// The stream engine's snapshot and `pg_dump` of the source's schema.
    Schema,
    /// `pg_restore -l` and expected counts.
    Inspect,
    /// Create the new database.
    Prepare,
    /// `pg_restore` into the new database (dump engine).
    Restore,
    /// The stream engine: pre-data restored, rows streamed with `COPY`, large objects and
    /// sequence values copied.
    Copy,
    /// The stream engine: post-data (indexes, constraints, triggers…) with `pg_restore -j N`.
    PostData,
    /// Tables present and row counts.
    Verify,
    /// Sanitise scripts.
    Sanitize,
    /// `ANALYZE`.
    Analyze,
    /// User check queries.
    Checks,
    /// Re-apply QA's database-level settings and grants.
    CarrySettings,
    /// Block, terminate, rename.
    Swap,
    /// Drop previous copies beyond the limit.
    Prune,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Preflight => "preflight",
            Self::Dump => "dump",
            Self::Schema => "schema",
            Self::Inspect => "inspect",
            Self::Prepare => "prepare",
            Self::Restore => "restore",
            Self::Copy => "copy",
            Self::PostData => "post-data",
            Self::Verify => "verify",
            Self::Sanitize => "sanitize",
            Self::Analyze => "analyze",
            Self::Checks => "checks",
            Self::CarrySettings => "carry-settings",
            Self::Swap => "swap",
            Self::Prune => "prune",
        };
        f.pad(s)
    }
}

/// A progress event for binaries to render.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// A step began.
    StepStarted(Step),
    /// A step ended successfully.
    StepFinished {
        /// The step.
        step: Step,
        /// How long it took.
        elapsed: Duration,
    },
    /// `pg_restore` progress.
    Restore {
        /// Table-of-contents items processed.
        items_done: usize,
        /// Items in the table of contents (ACL items excluded under `--no-acl`).
        items_total: usize,
        /// Current size of the new database.
        bytes: u64,
        /// Size of the source database, when known.
        bytes_expected: Option<u64>,
    },
}

/// What a successful run did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoreReport {
    /// The QA database now serving the restored data.
    pub qa_database: String,
    /// The previous QA, kept for [`rollback`] (`None` if QA did not exist or `keep_previous` is 0).
    pub previous: Option<String>,
    /// Older copies dropped by pruning.
    pub dropped: Vec<String>,
    /// The engine the run used ([`Engine::Dump`] or [`Engine::Stream`]).
    pub engine: Engine,
    /// Table-of-contents items restored.
    pub items_restored: usize,
    /// Tables whose row counts were verified.
    pub tables_counted: usize,
    /// How long QA refused connections (block → renames committed).
    pub swap_window: Duration,
    /// Wall time of the whole run.
    pub total: Duration,
    /// Time per step.
    pub steps: Vec<(Step, Duration)>,
    /// What killed runs had left and this run removed (a working copy, dump folders), one
    /// line each.
    pub leftovers_removed: Vec<String>,
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// One restore of a dump into a QA database. See the [module docs](self).
#[derive(Clone)]
pub struct RestoreJob {
    server: PgServer,
    qa: String,
    source: DumpSource,
    options: RestoreOptions,
    downtime: Option<Arc<dyn Downtime>>,
    progress: Option<ProgressFn>,
    cancel: Option<CancelToken>,
    pause: Option<cancel::PauseFn>,
}

impl fmt::Debug for RestoreJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreJob")
            .field("server", &self.server)
            .field("qa", &self.qa)
            .field("source", &self.source)
            .field("options", &self.options)
            .field("downtime", &self.downtime.is_some())
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl RestoreJob {
    /// Restore `source` into database `qa` on `server` (the QA server; its
    /// connection string names the maintenance database, not QA).
    pub fn new(server: PgServer, qa: impl Into<String>, source: DumpSource) -> Self {
        Self {
            server,
            qa: qa.into(),
            source,
            options: RestoreOptions::default(),
            downtime: None,
            progress: None,
            cancel: None,
            pause: None,
        }
    }

    /// Replace the options.
    #[must_use]
    pub fn options(mut self, options: RestoreOptions) -> Self {
        self.options = options;
        self
    }

    /// Schedule monitoring downtime around the swap.
    #[must_use]
    pub fn downtime(mut self, downtime: Arc<dyn Downtime>) -> Self {
        self.downtime = Some(downtime);
        self
    }

    /// Receive [`Progress`] events (called inline: keep it quick, e.g. send on a channel).
    #[must_use]
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Stop when `token` is cancelled (a signal handler's): see [Interrupts](self#interrupts).
    #[must_use]
    pub fn cancel_on(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Test hook, not for use: `hook(step, tool_pid)` is awaited where `step` can be
    /// interrupted (inside the swap's shield for the swap; with `pg_dump`/`pg_restore`
    /// stopped by `SIGSTOP` in `dump`/`restore`/`schema`/`post-data`; in `copy`, once, by the
    /// first worker to receive rows, with its source session's server pid, the copy of that
    /// table held meanwhile). The process tests use it to signal the
    /// binary at each step deterministically.
    #[doc(hidden)]
    #[must_use]
    pub fn test_pause(
        mut self,
        hook: impl Fn(Step, Option<u32>) -> futures_util::future::BoxFuture<'static, ()>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.pause = Some(Arc::new(hook));
        self
    }

    /// The steps a run of this job makes with `engine` (the one [`Plan::engine`] names), in
    /// order, preflight first: what a dry run shows and what [`Progress`] will report. The
    /// one list the runner follows, so a binary never keeps its own.
    pub fn steps(&self, engine: Engine) -> Vec<Step> {
        steps::planned(self, engine)
    }

    /// The name of the working copy: `<qa>_next`.
    pub fn next_name(&self) -> String {
        format!("{}_next", self.qa)
    }

    /// What a run would find, with reads only and without the advisory lock: the guards and
    /// privilege checks of the preflight (the same refusals as [`Self::run`]), whether a live
    /// source is QA itself, the working copy's encoding and locale and how the source's
    /// differ from QA's, and the free-space check. For dry runs.
    pub async fn plan(&self) -> crate::Result<Plan> {
        async {
            guards::target(&self.options.production_guard, &self.qa, &self.server)?;
            guards::source_is_not_target(&self.qa, &self.server, &self.source)?;
            let admin = self.server.connect_admin().await?;
            let checked = guards::check_catalog(&admin, &self.qa, &self.next_name()).await?;
            plan::plan(self, &admin, checked.qa.is_some()).await
        }
        .await
        .map_err(Into::into)
    }

    /// Run the workflow. On error before the swap QA is untouched and the
    /// working copy has been dropped.
    pub async fn run(&self) -> crate::Result<RestoreReport> {
        workflow::run(self).await.map_err(Into::into)
    }
}

/// Database names the workflow accepts: 1–40 bytes of ASCII letters, digits, `_` and `-`
/// (room for the `_prev_<ms>` suffix within Postgres' 63-byte limit).
pub(crate) fn validate_name(what: &str, name: &str) -> Result<(), RestoreError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(RestoreError::Config(format!(
            "{what} `{name}` must be 1-40 ASCII letters, digits, `_` or `-`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_guard_tokens() {
        let g = ProductionGuard::default();
        // (name, refused?)
        let table = [
            ("app_prod", true),
            ("db-PROD-1.example.com", true),
            ("prod", true),
            ("prod1", true),
            ("prod01", true),
            ("proddb", true),
            ("ProdDB", true),
            ("production", true),
            ("production2", true),
            ("orders-prd", true),
            ("prdapp", true),
            ("live", true),
            ("app_live", true),
            ("live2", true),
            ("qa-livedata", true),
            ("primary", true),
            ("shop_primary_2", true),
            ("qa1_prod", true),
            ("product_qa", false),
            ("products", false),
            ("products_qa", false),
            ("produce_qa", false),
            ("reproduction", false),
            ("reproduction_qa", false),
            ("deliver", false),
            ("qa", false),
            ("qa_next", false),
            ("shop_qa_2", false),
            ("127.0.0.1", false),
            ("::1", false),
            ("localhost", false),
            ("olive", false),
        ];
        for (name, refused) in table {
            assert_eq!(g.check("database", name).is_err(), refused, "{name}");
        }
        let err = g.check("database", "prod01").unwrap_err();
        assert!(
            matches!(&err, RestoreError::Refused { guard: Guard::Production, detail }
                if detail.contains("token `prod` matches `prod`")),
            "{err}"
        );
        assert!(err.to_string().contains("RESTORE_GUARD_ALLOW"), "{err}");
        let off = ProductionGuard {
            enabled: false,
            ..ProductionGuard::default()
        };
        assert!(off.check("database", "prod").is_ok());
        let allowed = ProductionGuard {
            allow: vec!["QA_Live_Demo".into()],
            ..ProductionGuard::default()
        };
        assert!(allowed.check("database", "qa_live_demo").is_ok());
        assert!(allowed.check("database", "qa_live_demo2").is_err());
        assert_eq!(tokens("db-prod01.x"), ["db", "prod", "01", "x"]);
    }

    #[test]
    fn names() {
        assert!(validate_name("QA", "qa-main_1").is_ok());
        assert!(validate_name("QA", "").is_err());
        assert!(validate_name("QA", "a b").is_err());
        assert!(validate_name("QA", &"x".repeat(41)).is_err());
    }

    #[test]
    fn job_debug_hides_password() {
        let s = PgServer::new("host=h user=u password=hunter2").unwrap();
        let job = RestoreJob::new(
            s.clone(),
            "qa",
            DumpSource::Database {
                server: s,
                database: "p".into(),
            },
        );
        assert!(!format!("{job:?}").contains("hunter2"));
    }
}
