//! The swap (block, terminate, rename in one transaction), pruning, rollback,
//! and the advisory lock shared by restore and rollback.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_postgres::{Client, GenericClient};

use super::error::RestoreError;
use super::server::{PgServer, ident};
use super::{Downtime, ProductionGuard, validate_name};

/// Class id of the advisory lock (`pg_try_advisory_lock(class, hashtext(qa))`).
const LOCK_CLASS: i32 = 0x5eed_0c0e;

/// Take the advisory lock for `qa` on `client`'s session, or fail at once.
pub(crate) async fn lock(client: &Client, qa: &str) -> Result<(), RestoreError> {
    let key = format!("ops-core restore {qa}");
    let row = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, hashtext($2))",
            &[&LOCK_CLASS, &key],
        )
        .await
        .map_err(|e| RestoreError::pg("take the advisory lock", e))?;
    if row.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(RestoreError::AlreadyRunning {
            database: qa.to_owned(),
        })
    }
}

/// Release the advisory lock taken by [`lock`] on the same session (best effort: if the
/// session is gone, so is its lock).
pub(crate) async fn unlock(client: &Client, qa: &str) {
    let key = format!("ops-core restore {qa}");
    if let Err(e) = client
        .query_one(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&LOCK_CLASS, &key],
        )
        .await
    {
        tracing::warn!(database = qa, error = %e, "could not release the restore lock; it goes with the session");
    }
}

/// Milliseconds since the epoch, for copy names that sort by age.
pub(crate) fn stamp() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// `<qa>_prev_<ms>` copies, newest first.
pub(crate) async fn previous_copies(
    client: &Client,
    qa: &str,
) -> Result<Vec<String>, RestoreError> {
    let prefix = format!("{qa}_prev_");
    let rows = client
        .query("SELECT datname FROM pg_database", &[])
        .await
        .map_err(|e| RestoreError::pg("list databases", e))?;
    let mut copies: Vec<(u128, String)> = rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            let n = name.strip_prefix(&prefix)?.parse::<u128>().ok()?;
            Some((n, name))
        })
        .collect();
    copies.sort_by_key(|c| std::cmp::Reverse(c.0));
    Ok(copies.into_iter().map(|(_, n)| n).collect())
}

async fn exec(client: &impl GenericClient, sql: &str, step: &str) -> Result<(), RestoreError> {
    tracing::debug!(sql, "executing");
    client
        .batch_execute(sql)
        .await
        .map_err(|e| RestoreError::pg(step, e))
}

/// Terminate every other session on `database`, waiting up to `timeout` for each.
pub(crate) async fn terminate_sessions(
    client: &Client,
    database: &str,
    timeout: Duration,
) -> Result<usize, RestoreError> {
    let rows = client
        .query(
            "SELECT pid, coalesce(usename::text, '?') FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&database],
        )
        .await
        .map_err(|e| RestoreError::pg(format!("list the sessions on `{database}`"), e))?;
    let timeout_ms = i64::try_from(timeout.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let mut remaining = Vec::new();
    for row in &rows {
        let pid: i32 = row.get(0);
        let user: String = row.get(1);
        match client
            .query_one("SELECT pg_terminate_backend($1, $2)", &[&pid, &timeout_ms])
            .await
        {
            Ok(r) if r.get::<_, bool>(0) => {}
            Ok(_) => {
                // false: gone already, or still exiting after the timeout
                let alive = client
                    .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
                    .await
                    .map_err(|e| RestoreError::pg("check a terminated session", e))?
                    .is_some();
                if alive {
                    remaining.push(format!(
                        "pid {pid} ({user}): still running after {timeout:?}"
                    ));
                }
            }
            Err(e) => {
                let why = e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned());
                remaining.push(format!("pid {pid} ({user}): {why}"));
            }
        }
    }
    if remaining.is_empty() {
        Ok(rows.len())
    } else {
        Err(RestoreError::SessionsRemain {
            database: database.to_owned(),
            sessions: remaining,
        })
    }
}

/// Put `incoming` in place of `qa`. If `outgoing` is set, the current `qa` is
/// renamed to it (and keeps `ALLOW_CONNECTIONS false`); otherwise `qa` must
/// not exist. `incoming` must already refuse connections. Returns how long QA
/// refused connections. On failure QA is reopened as it was.
pub(crate) async fn swap_in(
    server: &PgServer,
    qa: &str,
    incoming: &str,
    outgoing: Option<&str>,
    qa_allow_conn: bool,
    terminate_timeout: Duration,
) -> Result<Duration, RestoreError> {
    // A fresh connection: a long-lived one may have idled out during the restore.
    let mut client = server.connect_admin().await?;
    let started = Instant::now();
    if outgoing.is_some() {
        exec(
            &client,
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", ident(qa)),
            &format!("block new connections to `{qa}`"),
        )
        .await?;
    }
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let outcome = async {
            if outgoing.is_some() {
                let n = terminate_sessions(&client, qa, terminate_timeout).await?;
                tracing::info!(database = qa, sessions = n, "terminated QA sessions");
            }
            let tx = client
                .transaction()
                .await
                .map_err(|e| RestoreError::pg("begin the swap transaction", e))?;
            if let Some(out) = outgoing {
                exec(
                    &tx,
                    &format!("ALTER DATABASE {} RENAME TO {}", ident(qa), ident(out)),
                    &format!("rename `{qa}` to `{out}`"),
                )
                .await?;
            }
            exec(
                &tx,
                &format!("ALTER DATABASE {} RENAME TO {}", ident(incoming), ident(qa)),
                &format!("rename `{incoming}` to `{qa}`"),
            )
            .await?;
            exec(
                &tx,
                &format!(
                    "ALTER DATABASE {} ALLOW_CONNECTIONS {qa_allow_conn}",
                    ident(qa)
                ),
                &format!("reopen `{qa}`"),
            )
            .await?;
            tx.commit()
                .await
                .map_err(|e| RestoreError::pg("commit the swap", e))
        }
        .await;
        match outcome {
            Ok(()) => break Ok(()),
            // A session that reconnected before the block was committed, or was
            // slow to exit, makes RENAME fail with "being accessed by other users".
            Err(RestoreError::Postgres { step, source })
                if attempt < 3
                    && source.as_db_error().is_some_and(|d| {
                        *d.code() == tokio_postgres::error::SqlState::OBJECT_IN_USE
                    }) =>
            {
                tracing::info!(attempt, %step, "database still in use, retrying the swap");
            }
            Err(e) => break Err(e),
        }
    };
    if let Err(e) = result {
        if outgoing.is_some() && qa_allow_conn {
            // The transaction rolled back: `qa` is still the old database.
            if let Err(e2) = exec(
                &client,
                &format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", ident(qa)),
                "reopen QA after a failed swap",
            )
            .await
            {
                tracing::error!(error = %e2, database = qa, "could not reopen QA after a failed swap");
            }
        }
        return Err(e);
    }
    Ok(started.elapsed())
}

/// Drop `database` (closing any session on it). Templates are refused.
pub(crate) async fn drop_database(client: &Client, database: &str) -> Result<bool, RestoreError> {
    let row = client
        .query_opt(
            "SELECT datistemplate FROM pg_database WHERE datname = $1",
            &[&database],
        )
        .await
        .map_err(|e| RestoreError::pg(format!("look up `{database}`"), e))?;
    match row {
        None => Ok(false),
        Some(r) if r.get::<_, bool>(0) => Err(RestoreError::Refused(format!(
            "`{database}` is a template database; not dropping it"
        ))),
        Some(_) => {
            exec(
                client,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(database)),
                &format!("drop `{database}`"),
            )
            .await?;
            Ok(true)
        }
    }
}

/// Options of [`rollback`].
#[derive(Clone)]
pub struct RollbackOptions {
    /// How long to wait for each QA session to terminate (default 5 s).
    pub terminate_timeout: Duration,
    /// Drop the rolled-back copy afterwards (default `true`); otherwise it is
    /// kept as `<qa>_rolledback_<ms>`, refusing connections.
    pub drop_rolled_back: bool,
    /// Production-lookalike guard (same default as restores).
    pub production_guard: ProductionGuard,
    /// Optional monitoring downtime around the swap.
    pub downtime: Option<Arc<dyn Downtime>>,
}

impl std::fmt::Debug for RollbackOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollbackOptions")
            .field("terminate_timeout", &self.terminate_timeout)
            .field("drop_rolled_back", &self.drop_rolled_back)
            .field("production_guard", &self.production_guard)
            .field("downtime", &self.downtime.is_some())
            .finish()
    }
}

impl Default for RollbackOptions {
    fn default() -> Self {
        Self {
            terminate_timeout: Duration::from_secs(5),
            drop_rolled_back: true,
            production_guard: ProductionGuard::default(),
            downtime: None,
        }
    }
}

/// What [`rollback`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RollbackReport {
    /// The previous copy that is QA again.
    pub restored_from: String,
    /// The name the rolled-back QA got (dropped if `drop_rolled_back`).
    pub rolled_back_to: String,
    /// Whether that copy was dropped.
    pub dropped: bool,
    /// How long QA refused connections.
    pub swap_window: Duration,
}

/// Swap the newest previous copy (`<qa>_prev_<ms>`) back in as `qa`.
pub async fn rollback(
    server: &PgServer,
    qa: &str,
    options: &RollbackOptions,
) -> crate::Result<RollbackReport> {
    rollback_inner(server, qa, options)
        .await
        .map_err(Into::into)
}

async fn rollback_inner(
    server: &PgServer,
    qa: &str,
    options: &RollbackOptions,
) -> Result<RollbackReport, RestoreError> {
    validate_name("QA database", qa)?;
    options.production_guard.check("database", qa)?;
    for host in server.host_names() {
        options.production_guard.check("host", &host)?;
    }
    if server.maintenance_db() == qa {
        return Err(RestoreError::Refused(format!(
            "`{qa}` is the maintenance database the workflow is connected to"
        )));
    }
    let admin = server.connect_admin().await?;
    lock(&admin, qa).await?;
    // Released explicitly before returning: a lock left to the closing connection is
    // still held for a moment after "done", and a rollback or restore started right
    // then is refused as "already running" (seen on a loaded machine).
    let result = async {
        let Some(prev) = previous_copies(&admin, qa).await?.into_iter().next() else {
            return Err(RestoreError::NoPrevious(qa.to_owned()));
        };
        let qa_exists = admin
            .query_opt(
                "SELECT datistemplate FROM pg_database WHERE datname = $1",
                &[&qa],
            )
            .await
            .map_err(|e| RestoreError::pg("look up QA", e))?;
        if qa_exists.as_ref().is_some_and(|r| r.get::<_, bool>(0)) {
            return Err(RestoreError::Refused(format!(
                "`{qa}` is a template database"
            )));
        }
        let rolled = format!("{qa}_rolledback_{}", stamp());
        let downtime_id = schedule_downtime(
            options.downtime.as_deref(),
            qa,
            "rollback",
            Duration::from_secs(300),
        )
        .await;
        tracing::info!(database = qa, from = %prev, "rolling back");
        let swapped = swap_in(
            server,
            qa,
            &prev,
            qa_exists.is_some().then_some(rolled.as_str()),
            true,
            options.terminate_timeout,
        )
        .await;
        cancel_downtime(options.downtime.as_deref(), downtime_id).await;
        let window = swapped?;
        let mut dropped = false;
        if options.drop_rolled_back && qa_exists.is_some() {
            dropped = drop_database(&admin, &rolled).await?;
        }
        Ok(RollbackReport {
            restored_from: prev,
            rolled_back_to: rolled,
            dropped,
            swap_window: window,
        })
    }
    .await;
    unlock(&admin, qa).await;
    result
}

pub(crate) async fn schedule_downtime(
    downtime: Option<&dyn Downtime>,
    qa: &str,
    what: &str,
    window: Duration,
) -> Option<String> {
    let d = downtime?;
    let comment = format!("ops-core: {what} of QA database {qa}");
    match d.schedule(qa, window, &comment).await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!(error = %e, database = qa, "could not schedule monitoring downtime; swapping anyway");
            None
        }
    }
}

pub(crate) async fn cancel_downtime(downtime: Option<&dyn Downtime>, id: Option<String>) {
    if let (Some(d), Some(id)) = (downtime, id) {
        if let Err(e) = d.cancel(&id).await {
            tracing::warn!(error = %e, downtime = %id, "could not cancel monitoring downtime");
        }
    }
}
