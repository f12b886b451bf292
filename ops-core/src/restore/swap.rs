//! The swap (block, terminate, rename in one transaction), pruning, rollback,
//! and the advisory lock shared by restore and rollback.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

use super::catalog::{Catalog, Session};
use super::error::{Guard, RestoreError, StuckReason, StuckSession};
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

/// How often [`clear_sessions`] looks again while terminated sessions exit: each look costs
/// one short catalog query, and QA refuses connections meanwhile.
const POLL: Duration = Duration::from_millis(5);

/// The sessions among `sessions` the connected role may not terminate: waiting for them is
/// pointless, so the swap stops at once and names them.
fn unterminable(sessions: &[Session]) -> Vec<StuckSession> {
    sessions
        .iter()
        .filter(|s| !s.may_terminate)
        .map(|s| {
            stuck(
                s,
                if s.superuser {
                    StuckReason::Superuser
                } else {
                    StuckReason::NotPermitted
                },
            )
        })
        .collect()
}

fn stuck(s: &Session, reason: StuckReason) -> StuckSession {
    StuckSession {
        pid: s.pid,
        user: s.user.clone(),
        application_name: s.application_name.clone(),
        state: s.state.clone(),
        reason,
    }
}

/// Refuse when the connected role may not terminate every session on `database`, before
/// anything is changed.
pub(crate) async fn refuse_unterminable(
    catalog: &dyn Catalog,
    database: &str,
) -> Result<(), RestoreError> {
    let stuck = unterminable(&catalog.sessions(database).await?);
    if stuck.is_empty() {
        Ok(())
    } else {
        Err(RestoreError::SessionsRemain {
            database: database.to_owned(),
            sessions: stuck,
        })
    }
}

/// Refuse when `database` has prepared transactions: no terminate ends them and Postgres
/// will not rename or drop a database that has one.
pub(crate) async fn refuse_prepared(
    catalog: &dyn Catalog,
    database: &str,
) -> Result<(), RestoreError> {
    let transactions = catalog.prepared_transactions(database).await?;
    if transactions.is_empty() {
        Ok(())
    } else {
        Err(RestoreError::PreparedTransactions {
            database: database.to_owned(),
            transactions,
        })
    }
}

/// End every other session on `database` (which must already refuse new connections):
/// terminate them all in one statement, then look every [`POLL`] until none is left,
/// terminating any that appeared meanwhile in the same statement. Fails at once, naming
/// them, if the role may not terminate some session; fails naming those left when `timeout`
/// passes (`Duration::ZERO`: nobody is terminated, any session fails it). Returns how many
/// sessions were terminated.
pub(crate) async fn clear_sessions(
    client: &Client,
    database: &str,
    timeout: Duration,
) -> Result<usize, RestoreError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut terminated: Vec<i32> = Vec::new();
    let mut looks = 0u32;
    loop {
        let now = Instant::now();
        looks += 1;
        let sessions = if now < deadline {
            let rows = client
                .query(sql::TERMINATE_SESSIONS, &[&database, &terminated])
                .await
                .map_err(|e| {
                    RestoreError::pg(format!("terminate the sessions on `{database}`"), e)
                })?;
            for row in &rows {
                if row.get::<_, Option<bool>>(6) == Some(true) {
                    terminated.push(row.get(0));
                }
            }
            rows.iter().map(Session::from_row).collect()
        } else {
            client.sessions(database).await?
        };
        if sessions.is_empty() {
            tracing::debug!(
                database,
                sessions = terminated.len(),
                looks,
                took = ?started.elapsed(),
                "sessions gone"
            );
            return Ok(terminated.len());
        }
        let mut remaining = unterminable(&sessions);
        if remaining.is_empty() && now >= deadline {
            let waited = now - started;
            remaining = sessions
                .iter()
                .map(|s| stuck(s, StuckReason::StillRunning { waited }))
                .collect();
        }
        if !remaining.is_empty() {
            return Err(RestoreError::SessionsRemain {
                database: database.to_owned(),
                sessions: remaining,
            });
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Put `incoming` in place of `qa`. If `outgoing` is set, the current `qa` is
/// renamed to it (and keeps `ALLOW_CONNECTIONS false`); otherwise `qa` must
/// not exist. `incoming` must already refuse connections. Returns how long QA
/// refused connections.
///
/// Before QA is closed: refused if QA or `incoming` has a prepared transaction, or QA a
/// session the role may not terminate. Then QA is closed to new connections, its sessions
/// ended ([`clear_sessions`], at most `terminate_timeout`) and both renames and the reopening
/// committed in one transaction. On failure QA is reopened as it was.
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
    refuse_prepared(&client, incoming).await?;
    if outgoing.is_some() {
        refuse_prepared(&client, qa).await?;
        refuse_unterminable(&client, qa).await?;
    }
    let started = Instant::now();
    let deadline = started + terminate_timeout;
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
                let left = deadline.saturating_duration_since(Instant::now());
                let n = clear_sessions(&client, qa, left).await?;
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
            // A session that was still starting when the block was committed (not yet
            // listed), or one slow to leave the server's process list, makes RENAME fail
            // with "being accessed by other users" (after Postgres' own 5 s wait).
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
    /// How long the swap waits, in all, for QA's sessions to exit once terminated (default
    /// 5 s); see [`RestoreOptions::terminate_timeout`](super::RestoreOptions::terminate_timeout).
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
    use super::super::error::PreparedTransaction;
    use super::*;

    fn session(pid: i32, user: &str, may_terminate: bool, superuser: bool) -> Session {
        Session {
            pid,
            user: user.to_owned(),
            application_name: format!("app{pid}"),
            state: Some("idle".to_owned()),
            may_terminate,
            superuser,
        }
    }

    #[tokio::test]
    async fn sessions_the_role_may_not_terminate_are_refused_with_their_reason() {
        let mut cat = Memory {
            sessions: vec![
                ("qa".to_owned(), session(10, "app", true, false)),
                ("qa".to_owned(), session(11, "postgres", false, true)),
                ("qa".to_owned(), session(12, "other", false, false)),
                ("qa2".to_owned(), session(13, "postgres", false, true)),
            ],
            ..Memory::default()
        };
        let err = refuse_unterminable(&cat, "qa").await.unwrap_err();
        let RestoreError::SessionsRemain { database, sessions } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(database, "qa");
        assert_eq!(
            sessions
                .iter()
                .map(|s| (s.pid, s.reason))
                .collect::<Vec<_>>(),
            [
                (11, StuckReason::Superuser),
                (12, StuckReason::NotPermitted)
            ]
        );
        assert_eq!(sessions[0].application_name, "app11");
        assert!(
            err.to_string()
                .contains("pid 11 (user `postgres`, application `app11`, idle): only a superuser"),
            "{err}"
        );
        cat.sessions.retain(|(_, s)| s.may_terminate);
        refuse_unterminable(&cat, "qa").await.unwrap();
        assert_eq!(cat.reads(), ["sessions(qa)", "sessions(qa)"]);
    }

    #[tokio::test]
    async fn prepared_transactions_are_refused_with_gid_and_owner() {
        let mut cat = Memory::default();
        refuse_prepared(&cat, "qa").await.unwrap();
        cat.prepared.push((
            "qa".to_owned(),
            PreparedTransaction {
                gid: "tx-42".to_owned(),
                owner: "app".to_owned(),
                prepared: "2026-01-01 00:00:00+00".to_owned(),
            },
        ));
        let err = refuse_prepared(&cat, "qa").await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, RestoreError::PreparedTransactions { database, transactions }
                if database == "qa" && transactions[0].gid == "tx-42"),
            "{err:?}"
        );
        for part in [
            "gid `tx-42`",
            "owner `app`",
            "COMMIT PREPARED",
            "ROLLBACK PREPARED",
        ] {
            assert!(text.contains(part), "{text}");
        }
        refuse_prepared(&cat, "qa_next").await.unwrap();
    }

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
