//! A throwaway PostgreSQL cluster started from the installed server binaries: the workspace's
//! one launcher, `ops_proptest::postgres` (also used by ops-core's restore tests), with the
//! sandbox's data and its errors as the binaries report them.
//!
//! Run as root, the server runs as the `postgres` (else `nobody`) user. The cluster is stopped
//! and deleted when [`Cluster`] is dropped, and by a watchdog if this process dies first; a
//! start that fails deletes what it made.

use std::path::Path;

use ops_core::restore::PgServer;
use ops_core::restore::local as postgres;
use tokio_postgres::NoTls;

use crate::cli::CliError;

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    server: postgres::Cluster,
}

fn launch_error(e: &postgres::Error) -> CliError {
    if e.to_string().contains("not found via") {
        CliError::bad_input(e.to_string())
    } else {
        CliError::other(format!(
            "the sandbox PostgreSQL cluster could not start: {e}"
        ))
    }
}

/// Where the server binaries are.
pub fn find_bin() -> Result<std::path::PathBuf, CliError> {
    postgres::find_bin().map_err(|e| launch_error(&e))
}

impl Cluster {
    /// Start a cluster (takes 1–3 s) in the system temp folder.
    pub fn start() -> Result<Cluster, CliError> {
        let server = postgres::Cluster::start(&postgres::Options {
            prefix: "ops-sandbox-pg-".into(),
            // Disposable demo data: no durability needed.
            extra_conf: "fsync = off\nsynchronous_commit = off\nfull_page_writes = off".into(),
            ..Default::default()
        })
        .map_err(|e| launch_error(&e))?;
        tracing::info!(port = server.port(), dir = %server.dir().display(), "sandbox PostgreSQL cluster started");
        Ok(Cluster { server })
    }

    /// The server binaries' directory (also has `pg_dump`/`pg_restore`).
    pub fn bin_dir(&self) -> &Path {
        self.server.bin()
    }

    /// A libpq connection string for `db` as the superuser over the unix socket.
    pub fn conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.server.dir().display(),
            self.server.port()
        )
    }

    /// The server as the restore workflow wants it (maintenance database `postgres`).
    pub fn server(&self) -> Result<PgServer, CliError> {
        PgServer::new(self.conninfo("postgres"))
            .map_err(|e| CliError::other("sandbox connection string").with_source(e))
    }

    /// Run SQL statements in `db`.
    pub async fn exec(&self, db: &str, sql: &str) -> Result<(), CliError> {
        let client = self.connect(db).await?;
        client
            .batch_execute(sql)
            .await
            .map_err(|e| CliError::other(format!("sandbox SQL on `{db}` failed")).with_source(e))
    }

    /// Run one query returning a single `bigint`/`text` cell as text.
    pub async fn query_one(&self, db: &str, sql: &str) -> Result<String, CliError> {
        let client = self.connect(db).await?;
        let row = client.query_one(sql, &[]).await.map_err(|e| {
            CliError::other(format!("sandbox query on `{db}` failed")).with_source(e)
        })?;
        Ok(row.try_get::<_, String>(0).unwrap_or_else(|_| {
            row.try_get::<_, i64>(0)
                .map(|v| v.to_string())
                .unwrap_or_default()
        }))
    }

    async fn connect(&self, db: &str) -> Result<tokio_postgres::Client, CliError> {
        let (client, conn) = tokio_postgres::connect(&self.conninfo(db), NoTls)
            .await
            .map_err(|e| {
                CliError::other(format!("cannot connect to the sandbox database `{db}`"))
                    .with_source(e)
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Create and fill a small "production" database `shop` (customers with real-looking
    /// emails, orders) and an old `qa` copy that the restore will replace.
    pub async fn seed(&self, customers: u32) -> Result<(), CliError> {
        self.exec("postgres", "CREATE DATABASE shop").await?;
        self.exec("postgres", "CREATE DATABASE qa").await?;
        let orders = customers * 4;
        self.exec(
            "shop",
            &format!(
                "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE);
                 CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id),
                                      total_cents bigint NOT NULL, created_at timestamptz NOT NULL);
                 CREATE INDEX orders_customer ON orders (customer_id);
                 INSERT INTO customers SELECT i, 'Customer ' || i, 'person' || i || '@gmail.com'
                   FROM generate_series(1, {customers}) i;
                 INSERT INTO orders SELECT i, 1 + i % {customers}, (i * 37) % 50000,
                   now() - (i || ' minutes')::interval FROM generate_series(1, {orders}) i;
                 ANALYZE;"
            ),
        )
        .await?;
        self.exec(
            "qa",
            "CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text);
             INSERT INTO customers VALUES (1, 'stale QA row', 'old@example.invalid');",
        )
        .await
    }
}
