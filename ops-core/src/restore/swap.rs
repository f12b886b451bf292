//! The swap (block, terminate, rename in one transaction), pruning, rollback,
//! and the advisory lock shared by restore and rollback.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

use super::catalog::Catalog;
use super::error::{Guard, RestoreError};
use super::server::PgServer;
use super::sql::{self, exec};
use super::{Downtime, ProductionGuard, guards};

/// Class id of the advisory lock (`pg_try_advisory_lock(class, hashtext(qa))`).
const LOCK_CLASS: i32 = 0x5eed_0c0e;

/// Take the advisory lock for `qa` on `client`'s session, or fail at once.
pub(crate) async fn lock(client: &Client, qa: &str) -> Result<(), RestoreError> {
    let key = format!("ops-core restore {qa}");
    let row = client
        .query_one(sql::TRY_LOCK, &[&LOCK_CLASS, &key])
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
    if let Err(e) = client.query_one(sql::UNLOCK, &[&LOCK_CLASS, &key]).await {
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
    catalog: &dyn Catalog,
    qa: &str,
) -> Result<Vec<String>, RestoreError> {
    Ok(copies_of(qa, catalog.database_names().await?))
}

/// The `<qa>_prev_<ms>` names among `names`, newest first.
fn copies_of(qa: &str, names: Vec<String>) -> Vec<String> {
    let prefix = format!("{qa}_prev_");
    let mut copies: Vec<(u128, String)> = names
        .into_iter()
        .filter_map(|name| {
            let n = name.strip_prefix(&prefix)?.parse::<u128>().ok()?;
            Some((n, name))
        })
        .collect();
    copies.sort_by_key(|c| std::cmp::Reverse(c.0));
    copies.into_iter().map(|(_, n)| n).collect()
}

/// Terminate every other session on `database`, waiting up to `timeout` for each.
pub(crate) async fn terminate_sessions(
    client: &Client,
    database: &str,
    timeout: Duration,
) -> Result<usize, RestoreError> {
    let sessions = client.sessions(database).await?;
    let timeout_ms = i64::try_from(timeout.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let mut remaining = Vec::new();
    for session in &sessions {
        let (pid, user) = (session.pid, &session.user);
        match client.query_one(sql::TERMINATE, &[&pid, &timeout_ms]).await {
            Ok(r) if r.get::<_, bool>(0) => {}
            Ok(_) => {
                // false: gone already, or still exiting after the timeout
                let alive = client
                    .query_opt(sql::SESSION_ALIVE, &[&pid])
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
        Ok(sessions.len())
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
            &sql::allow_connections(qa, false),
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
                    &sql::rename_database(qa, out),
                    &format!("rename `{qa}` to `{out}`"),
                )
                .await?;
            }
            exec(
                &tx,
                &sql::rename_database(incoming, qa),
                &format!("rename `{incoming}` to `{qa}`"),
            )
            .await?;
            exec(
                &tx,
                &sql::allow_connections(qa, qa_allow_conn),
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
                &sql::allow_connections(qa, true),
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
    match client.is_template(database).await? {
        None => Ok(false),
        Some(true) => Err(RestoreError::refused(
            Guard::Template,
            format!("`{database}` is a template database; not dropping it"),
        )),
        Some(false) => {
            exec(
                client,
                &sql::drop_database(database),
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
    guards::target(&options.production_guard, qa, server)?;
    let admin = server.connect_admin().await?;
    lock(&admin, qa).await?;
    // Released explicitly before returning: a lock left to the closing connection is
    // still held for a moment after "done", and a rollback or restore started right
    // then is refused as "already running" (seen on a loaded machine).
    let result = async {
        let Some(prev) = previous_copies(&admin, qa).await?.into_iter().next() else {
            return Err(RestoreError::NoPrevious(qa.to_owned()));
        };
        let qa_exists = admin.is_template(qa).await?;
        guards::not_template(qa, qa_exists == Some(true))?;
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

#[cfg(test)]
mod tests {
    use super::super::catalog::Memory;
    use super::*;

    #[tokio::test]
    async fn previous_copies_newest_first_and_only_ours() {
        let mut cat = Memory::default();
        for name in [
            "qa",
            "qa_next",
            "qa_prev_1700000000000",
            "qa_prev_1800000000000",
            "qa_prev_x",
            "qa_main_prev_1900000000000",
            "qa_rolledback_1750000000000",
        ] {
            cat.databases.insert(name.to_owned(), Default::default());
        }
        assert_eq!(
            previous_copies(&cat, "qa").await.unwrap(),
            ["qa_prev_1800000000000", "qa_prev_1700000000000"]
        );
        assert_eq!(
            previous_copies(&cat, "qa_main").await.unwrap(),
            ["qa_main_prev_1900000000000"]
        );
    }
}
