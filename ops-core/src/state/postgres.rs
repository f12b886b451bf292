//! The Postgres backend: documents, leases and rate budgets in four tables of one database.
//!
//! ```sql
//! ops_state_schema (version)                                  -- the schema's version
//! ops_state_doc    (kind, key, doc bytea, updated_at)         -- journals, key-sync state
//! ops_state_lease  (name, run, host, pid, token, since, expires_at)
//! ops_state_budget (key, per_ms, capacity, tokens, updated_at) -- one token bucket per limit
//! ```
//!
//! Every time is the server's clock (`now()`; `clock_timestamp()` for the rate budget, read
//! once the budget's rows are locked): runners on machines whose clocks differ agree on
//! every expiry and refill. Documents are stored as the exact bytes written (`bytea`; for a
//! look with psql: `SELECT convert_from(doc, 'UTF8')::jsonb FROM ops_state_doc`).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool::managed::{self, Metrics, Object, Pool, RecycleError, RecycleResult};
use tokio_postgres::{Client, GenericClient};

use super::{BudgetKey, Holder, Kind, Lease, Limit, StateError, StateStore, check_key};
use crate::restore::PgServer;

/// The schema version this binary creates and reads.
pub const SCHEMA_VERSION: i32 = 1;

/// Serialises schema creation and migration between runners starting at once.
const MIGRATION_LOCK: i64 = 0x6f70_735f_7374_6174; // "ops_stat"

/// Migrations, in order: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["CREATE TABLE ops_state_doc (
         kind text NOT NULL, key text NOT NULL, doc bytea NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (kind, key));
     CREATE TABLE ops_state_lease (
         name text PRIMARY KEY, run text NOT NULL, host text NOT NULL, pid integer NOT NULL,
         token bigint NOT NULL, since timestamptz NOT NULL, expires_at timestamptz NOT NULL);
     CREATE SEQUENCE ops_state_lease_token;
     CREATE TABLE ops_state_budget (
         key text NOT NULL, per_ms bigint NOT NULL, capacity integer NOT NULL,
         tokens double precision NOT NULL, updated_at timestamptz NOT NULL,
         PRIMARY KEY (key, per_ms));"];

/// How many connections a [`PgStore`] opens at most by default (see
/// [`PgStore::connect_with`]).
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The Postgres backend; see the [module docs](super).
///
/// It holds a pool of up to [`DEFAULT_POOL_SIZE`] connections (opened as needed, one per
/// concurrent operation): a fleet's hosts write their journals, take leases and draw on the
/// rate budget at the same time, and each write waits for its own commit. With one
/// connection those commits queued behind each other; with several, the server flushes the
/// commits that arrive together in one WAL write.
pub struct PgStore {
    server: PgServer,
    pool: Pool<Connector>,
}

/// Opens the pool's connections ([`PgServer::connect_admin`]: TLS as configured) and drops
/// the ones the server closed (a restart, an idle timeout) instead of handing them out.
struct Connector {
    server: PgServer,
}

impl managed::Manager for Connector {
    type Type = Client;
    type Error = StateError;

    async fn create(&self) -> Result<Client, StateError> {
        self.server
            .connect_admin()
            .await
            .map_err(|e| StateError::Postgres {
                action: "connect",
                source: Box::new(e),
            })
    }

    async fn recycle(&self, client: &mut Client, _: &Metrics) -> RecycleResult<StateError> {
        if client.is_closed() {
            Err(RecycleError::message("the server closed the connection"))
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

fn pg(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StateError {
    move |e| StateError::Postgres {
        action,
        source: Box::new(e),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl PgStore {
    /// Connects to the connection's database (its `dbname`), and creates or migrates the
    /// schema: versioned, in one transaction, under an advisory lock.
    pub async fn connect(server: &PgServer) -> Result<Self, StateError> {
        Self::connect_with(server, DEFAULT_POOL_SIZE).await
    }

    /// [`connect`](Self::connect) with at most `pool_size` connections (at least one).
    pub async fn connect_with(server: &PgServer, pool_size: usize) -> Result<Self, StateError> {
        let pool = Pool::builder(Connector {
            server: server.clone(),
        })
        .max_size(pool_size.max(1))
        .build()
        .map_err(|e| StateError::Postgres {
            action: "set up the connection pool",
            source: Box::new(e),
        })?;
        let store = PgStore {
            server: server.clone(),
            pool,
        };
        let mut client = store.client().await?;
        migrate(&mut client).await?;
        drop(client);
        Ok(store)
    }

    /// A connection of the pool (a new one when none is free and the pool is not full;
    /// otherwise the next one given back).
    async fn client(&self) -> Result<Object<Connector>, StateError> {
        self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => e,
            other => StateError::Postgres {
                action: "connect",
                source: Box::new(other),
            },
        })
    }
}

async fn migrate(client: &mut Client) -> Result<(), StateError> {
    let tx = client
        .transaction()
        .await
        .map_err(pg("begin the schema migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg("lock the schema migration"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS ops_state_schema (version integer NOT NULL)")
        .await
        .map_err(pg("create the schema version table"))?;
    let found: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM ops_state_schema",
            &[],
        )
        .await
        .map_err(pg("read the schema version"))?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StateError::SchemaTooNew { found });
    }
    let from = usize::try_from(found).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from) {
        tracing::info!(to = i + 1, "migrating the state database schema");
        tx.batch_execute(sql)
            .await
            .map_err(pg("migrate the schema"))?;
    }
    if found < SCHEMA_VERSION {
        tx.execute("DELETE FROM ops_state_schema", &[])
            .await
            .map_err(pg("record the schema version"))?;
        tx.execute(
            "INSERT INTO ops_state_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .await
        .map_err(pg("record the schema version"))?;
    }
    tx.commit().await.map_err(pg("commit the schema migration"))
}

fn token_u64(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

fn token_i64(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

#[async_trait]
impl StateStore for PgStore {
    fn describe(&self) -> String {
        format!(
            "state database `{}` on {}",
            self.server.maintenance_db(),
            self.server.host_label()
        )
    }

    #[tracing::instrument(level = "debug", skip(self, doc, fence), fields(kind = %kind))]
    async fn put(
        &self,
        kind: Kind,
        key: &str,
        doc: &[u8],
        fence: Option<&Lease>,
    ) -> Result<(), StateError> {
        check_key(key)?;
        let client = self.client().await?;
        match fence {
            None => {
                client
                    .execute(
                        "INSERT INTO ops_state_doc (kind, key, doc, updated_at)
                         VALUES ($1, $2, $3, now())
                         ON CONFLICT (kind, key)
                         DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()",
                        &[&kind.as_str(), &key, &doc],
                    )
                    .await
                    .map_err(pg("write a document"))?;
                Ok(())
            }
            Some(lease) => {
                // The lease row is locked (FOR SHARE) by the write: a takeover waits for it.
                let n = client
                    .execute(
                        "WITH held AS (
                             SELECT 1 FROM ops_state_lease
                             WHERE name = $4 AND token = $5 AND expires_at > now() FOR SHARE)
                         INSERT INTO ops_state_doc (kind, key, doc, updated_at)
                         SELECT $1, $2, $3, now() FROM held
                         ON CONFLICT (kind, key)
                         DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()",
                        &[
                            &kind.as_str(),
                            &key,
                            &doc,
                            &lease.name,
                            &token_i64(lease.token),
                        ],
                    )
                    .await
                    .map_err(pg("write a document"))?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(StateError::LeaseLost {
                        name: lease.name.clone(),
                        token: lease.token,
                    })
                }
            }
        }
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        check_key(key)?;
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT doc FROM ops_state_doc WHERE kind = $1 AND key = $2",
                &[&kind.as_str(), &key],
            )
            .await
            .map_err(pg("read a document"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn list(&self, kind: Kind) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key, doc FROM ops_state_doc WHERE kind = $1 ORDER BY key",
                &[&kind.as_str()],
            )
            .await
            .map_err(pg("list documents"))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn delete(&self, kind: Kind, key: &str) -> Result<bool, StateError> {
        check_key(key)?;
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM ops_state_doc WHERE kind = $1 AND key = $2",
                &[&kind.as_str(), &key],
            )
            .await
            .map_err(pg("delete a document"))?;
        Ok(n > 0)
    }

    #[tracing::instrument(level = "debug", skip(self, holder), fields(run = %holder.run))]
    async fn acquire(
        &self,
        name: &str,
        holder: &Holder,
        ttl: Duration,
    ) -> Result<Lease, StateError> {
        check_key(name)?;
        let client = self.client().await?;
        acquire_on(&*client, name, holder, ttl).await
    }

    /// All in one transaction on one connection: none taken unless all are.
    async fn acquire_all(
        &self,
        names: &[(String, Holder)],
        ttl: Duration,
    ) -> Result<Vec<Lease>, StateError> {
        for (name, _) in names {
            check_key(name)?;
        }
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg("begin taking leases"))?;
        let mut taken = Vec::with_capacity(names.len());
        for (name, holder) in names {
            // An error drops the transaction: rolled back, nothing taken.
            taken.push(acquire_on(&tx, name, holder, ttl).await?);
        }
        tx.commit().await.map_err(pg("commit the leases"))?;
        Ok(taken)
    }

    async fn renew_all(&self, leases: &[Lease], ttl: Duration) -> Vec<Result<Lease, StateError>> {
        let renewed = async {
            let client = self.client().await?;
            let names: Vec<&str> = leases.iter().map(|l| l.name.as_str()).collect();
            let tokens: Vec<i64> = leases.iter().map(|l| token_i64(l.token)).collect();
            let rows = client
                .query(
                    "UPDATE ops_state_lease l SET expires_at = now() + make_interval(secs => $3)
                     FROM unnest($1::text[], $2::bigint[]) AS v(name, token)
                     WHERE l.name = v.name AND l.token = v.token AND l.expires_at > now()
                     RETURNING l.name, l.expires_at",
                    &[&names, &tokens, &secs(ttl)],
                )
                .await
                .map_err(pg("renew leases"))?;
            Ok::<_, StateError>(
                rows.into_iter()
                    .map(|r| (r.get::<_, String>(0), r.get::<_, SystemTime>(1)))
                    .collect::<std::collections::HashMap<_, _>>(),
            )
        }
        .await;
        leases
            .iter()
            .map(|l| match &renewed {
                Ok(m) => match m.get(&l.name) {
                    Some(t) => Ok(Lease {
                        expires_at: *t,
                        ..l.clone()
                    }),
                    None => Err(StateError::LeaseLost {
                        name: l.name.clone(),
                        token: l.token,
                    }),
                },
                Err(e) => Err(e.duplicate()),
            })
            .collect()
    }

    async fn release_all(&self, leases: &[Lease]) -> Result<(), StateError> {
        let client = self.client().await?;
        let names: Vec<&str> = leases.iter().map(|l| l.name.as_str()).collect();
        let tokens: Vec<i64> = leases.iter().map(|l| token_i64(l.token)).collect();
        client
            .execute(
                "DELETE FROM ops_state_lease l USING unnest($1::text[], $2::bigint[]) AS v(name, token)
                 WHERE l.name = v.name AND l.token = v.token",
                &[&names, &tokens],
            )
            .await
            .map_err(pg("release leases"))?;
        Ok(())
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE ops_state_lease SET expires_at = now() + make_interval(secs => $3)
                 WHERE name = $1 AND token = $2 AND expires_at > now()
                 RETURNING expires_at",
                &[&lease.name, &token_i64(lease.token), &secs(ttl)],
            )
            .await
            .map_err(pg("renew a lease"))?;
        match row {
            Some(r) => Ok(Lease {
                expires_at: r.get(0),
                ..lease.clone()
            }),
            None => Err(StateError::LeaseLost {
                name: lease.name.clone(),
                token: lease.token,
            }),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM ops_state_lease WHERE name = $1 AND token = $2",
                &[&lease.name, &token_i64(lease.token)],
            )
            .await
            .map_err(pg("release a lease"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self, limits), fields(key = key.as_str()))]
    async fn take_budget(
        &self,
        key: &BudgetKey,
        limits: &[Limit],
    ) -> Result<Option<Duration>, StateError> {
        if limits.is_empty() {
            return Ok(None);
        }
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg("begin a budget take"))?;
        // A budget take need not wait for its commit to reach the disk: after a server crash
        // the last few takes may be forgotten, which lets at most those few calls through a
        // second time — the provider's own limit (and 429 handling) covers that, and no
        // journal depends on it. Every API call of a fleet makes a take: none waits for a flush.
        tx.batch_execute("SET LOCAL synchronous_commit = off")
            .await
            .map_err(pg("begin a budget take"))?;
        // Buckets locked in one order (per_ms) by every runner: no deadlock.
        let mut sorted: Vec<Limit> = limits.to_vec();
        sorted.sort_by_key(|l| l.per);
        // Every bucket is locked first, then the clock read: `clock_timestamp()` after the
        // locks, not `now()` (the transaction's start). A take that started before another
        // but got the lock after it would otherwise move `updated_at` back, and the next take
        // would be credited that interval's refill a second time (three runners then let
        // more than the limit through).
        let mut locked = Vec::with_capacity(sorted.len());
        for l in &sorted {
            let per_ms = i64::try_from(l.per.as_millis()).unwrap_or(i64::MAX).max(1);
            let cap = i32::try_from(l.requests).unwrap_or(i32::MAX);
            tx.execute(
                "INSERT INTO ops_state_budget (key, per_ms, capacity, tokens, updated_at)
                 VALUES ($1, $2, $3, $4, clock_timestamp()) ON CONFLICT DO NOTHING",
                &[&key.as_str(), &per_ms, &cap, &f64::from(l.requests)],
            )
            .await
            .map_err(pg("create a budget"))?;
            let row = tx
                .query_one(
                    "SELECT tokens, updated_at FROM ops_state_budget
                     WHERE key = $1 AND per_ms = $2 FOR UPDATE",
                    &[&key.as_str(), &per_ms],
                )
                .await
                .map_err(pg("read a budget"))?;
            let (tokens, updated_at): (f64, SystemTime) = (row.get(0), row.get(1));
            locked.push((l, per_ms, cap, tokens, updated_at));
        }
        let now: SystemTime = tx
            .query_one("SELECT clock_timestamp()", &[])
            .await
            .map_err(pg("read the clock"))?
            .get(0);
        let mut buckets = Vec::with_capacity(locked.len());
        for (l, per_ms, cap, tokens, updated_at) in locked {
            let elapsed = now
                .duration_since(updated_at)
                .unwrap_or(Duration::ZERO)
                .as_secs_f64();
            let capacity = f64::from(l.requests);
            let rate = capacity / (per_ms as f64 / 1000.0);
            let available = (tokens + elapsed * rate).min(capacity);
            buckets.push((per_ms, cap, available, rate));
        }
        let wait = buckets
            .iter()
            .filter(|b| b.2 < 1.0)
            .map(|b| (1.0 - b.2) / b.3)
            .fold(0.0_f64, f64::max);
        let granted = wait <= 0.0;
        for (per_ms, cap, available, _) in &buckets {
            let left = if granted { available - 1.0 } else { *available };
            tx.execute(
                "UPDATE ops_state_budget SET tokens = $3, capacity = $4, updated_at = $5
                 WHERE key = $1 AND per_ms = $2",
                &[&key.as_str(), per_ms, &left, cap, &now],
            )
            .await
            .map_err(pg("update a budget"))?;
        }
        tx.commit().await.map_err(pg("commit a budget take"))?;
        if granted {
            Ok(None)
        } else {
            // At least a millisecond: a caller that sleeps zero would spin.
            Ok(Some(
                Duration::try_from_secs_f64(wait)
                    .unwrap_or(Duration::from_secs(3600))
                    .max(Duration::from_millis(1)),
            ))
        }
    }
}

/// One lease on `client` (a connection or a transaction): see [`StateStore::acquire`].
async fn acquire_on(
    client: &impl GenericClient,
    name: &str,
    holder: &Holder,
    ttl: Duration,
) -> Result<Lease, StateError> {
    check_key(name)?;
    let pid = i32::try_from(holder.pid).unwrap_or(i32::MAX);
    // A lease released between the two statements: ask again (a few times at most).
    for _ in 0..3 {
        let granted = client
            .query_opt(
                "INSERT INTO ops_state_lease AS l (name, run, host, pid, token, since, expires_at)
                 VALUES ($1, $2, $3, $4, nextval('ops_state_lease_token'), now(),
                         now() + make_interval(secs => $5))
                 ON CONFLICT (name) DO UPDATE SET
                     run = EXCLUDED.run, host = EXCLUDED.host, pid = EXCLUDED.pid,
                     token = EXCLUDED.token, since = EXCLUDED.since,
                     expires_at = EXCLUDED.expires_at
                 WHERE l.expires_at <= now()
                    OR (l.run = EXCLUDED.run AND l.host = EXCLUDED.host AND l.pid = EXCLUDED.pid)
                 RETURNING token, expires_at",
                &[&name, &holder.run, &holder.host, &pid, &secs(ttl)],
            )
            .await
            .map_err(pg("take a lease"))?;
        if let Some(row) = granted {
            return Ok(Lease {
                name: name.to_owned(),
                holder: holder.clone(),
                token: token_u64(row.get(0)),
                expires_at: row.get(1),
            });
        }
        let held = client
            .query_opt(
                "SELECT run, host, pid, since, expires_at FROM ops_state_lease WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(pg("read a lease"))?;
        if let Some(r) = held {
            let pid: i32 = r.get(2);
            return Err(StateError::Held {
                name: name.to_owned(),
                holder: Holder {
                    run: r.get(0),
                    host: r.get(1),
                    pid: u32::try_from(pid).unwrap_or(0),
                },
                since: r.get::<_, SystemTime>(3),
                expires_at: r.get::<_, SystemTime>(4),
            });
        }
    }
    Err(StateError::Postgres {
        action: "take a lease",
        source: "the lease kept changing hands; try again".into(),
    })
}
