//! A throwaway PostgreSQL cluster for the restore tests and benchmark.
//!
//! Started from the installed server binaries (`pg_config --bindir` or
//! `/usr/lib/postgresql/*/bin`), as the `postgres` (else `nobody`) user when
//! run as root, on a free port with its unix socket in a temp dir.
//!
//! Dropping the [`Cluster`] stops the server and deletes its directory and its dumps (also
//! when a test panics). Tests share one cluster through [`shared`]: it is dropped when the
//! last test holding it ends. A watchdog does the same if the test process is killed
//! before that (Ctrl-C, a CI timeout), when no destructor runs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ops_core::restore::{PgServer, RestoreOptions};

/// A running throwaway cluster: stopped, and its directory and dumps deleted, on drop.
pub(crate) struct Cluster {
    /// Socket directory (and cluster root).
    pub(crate) dir: PathBuf,
    /// TCP port on 127.0.0.1.
    pub(crate) port: u16,
    /// Server and client binaries.
    pub(crate) bin: PathBuf,
    /// A directory for dumps.
    pub(crate) dumps: PathBuf,
    /// The server (`ops_proptest::postgres`, the one launcher): stopped and its folder
    /// removed when dropped, before `_dumps` (fields drop in order).
    _server: ops_core::restore::local::Cluster,
    _dumps: tempfile::TempDir,
}

/// The value in `slot` if a test still holds it, else a new one from `start`: tests running
/// at the same time share one, and it is dropped (and cleaned up) when the last of them ends,
/// even by a panic.
pub(crate) fn shared<T>(slot: &'static Mutex<Weak<T>>, start: impl FnOnce() -> T) -> Arc<T> {
    // A test that panicked while starting one poisons the lock; the slot is still valid.
    let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = guard.upgrade() {
        return v;
    }
    let v = Arc::new(start());
    *guard = Arc::downgrade(&v);
    v
}

pub(crate) fn find_bin() -> PathBuf {
    ops_core::restore::local::find_bin().unwrap_or_else(|e| panic!("{e}"))
}

/// `(uid, gid)` to run the server as when we are root.
pub(crate) fn server_user() -> Option<(u32, u32)> {
    ops_core::restore::local::server_user().unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn as_server_user(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = server_user() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

pub(crate) fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Removes `path` once this test process has exited, if it is still there: the safety net
/// for a process killed before its destructors ran (they normally remove it first).
pub(crate) fn remove_after_exit(path: &Path) {
    ops_core::restore::local::remove_after_exit(path).unwrap_or_else(|e| panic!("{e}"));
}

impl Cluster {
    /// Start a throwaway cluster; `extra_conf` is appended to postgresql.conf.
    pub(crate) fn start(extra_conf: &str) -> Cluster {
        Self::start_with(extra_conf, false)
    }

    /// [`Cluster::start`], serving TLS only over TCP (`ops_core::restore::local::Options::tls`:
    /// its CA is [`Cluster::ca_file`]).
    pub(crate) fn start_tls(extra_conf: &str) -> Cluster {
        Self::start_with(extra_conf, true)
    }

    fn start_with(extra_conf: &str, tls: bool) -> Cluster {
        let dumps_dir = tempfile::Builder::new()
            .prefix("ops-restore-dumps-")
            .tempdir()
            .unwrap();
        // If this process is killed before the cluster is dropped, its dumps go all the same.
        remove_after_exit(dumps_dir.path());
        let server = ops_core::restore::local::Cluster::start(&ops_core::restore::local::Options {
            prefix: "ops-restore-test-".into(),
            // Room for the swap tests' 150 open QA sessions beside the other tests' sessions.
            extra_conf: format!("max_connections = 300\n{extra_conf}"),
            tls,
            // The same server under more spellings (the source-is-target guard's test).
            extra_listen: vec!["127.0.0.2".into(), "::1".into()],
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let c = Cluster {
            dir: server.dir().to_path_buf(),
            port: server.port(),
            bin: server.bin().to_path_buf(),
            dumps: dumps_dir.path().to_path_buf(),
            _server: server,
            _dumps: dumps_dir,
        };
        c.psql("postgres", "SELECT 1");
        c
    }
}

impl Cluster {
    /// The CA of a [`Cluster::start_tls`] cluster.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self._server
            .ca_file()
            .expect("a cluster started with start_tls")
    }

    pub(crate) fn conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.dir.display(),
            self.port
        )
    }

    pub(crate) fn server(&self) -> PgServer {
        PgServer::new(self.conninfo("postgres")).unwrap()
    }

    pub(crate) fn server_as(&self, role: &str) -> PgServer {
        PgServer::new(format!(
            "host={} port={} user={role} dbname=postgres",
            self.dir.display(),
            self.port
        ))
        .unwrap()
    }

    pub(crate) fn libpq_env(&self, cmd: &mut Command) {
        cmd.env("PGHOST", &self.dir)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", "postgres")
            .env_remove("PGPASSWORD")
            .env_remove("PGDATABASE");
    }

    /// Run SQL with psql (synchronous: usable from fixtures).
    pub(crate) fn psql(&self, db: &str, sql: &str) -> String {
        let mut cmd = Command::new(self.bin.join("psql"));
        self.libpq_env(&mut cmd);
        let out = cmd
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {db}: {sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Run an SQL file with psql.
    pub(crate) fn psql_file(&self, db: &str, file: &Path) {
        let mut cmd = Command::new(self.bin.join("psql"));
        self.libpq_env(&mut cmd);
        run_ok(
            cmd.args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-o",
                "/dev/null",
                "-d",
                db,
                "-f",
            ])
            .arg(file),
            "psql -f",
        );
    }

    pub(crate) fn pg_dump(&self, db: &str, path: &Path) {
        let mut cmd = Command::new(self.bin.join("pg_dump"));
        self.libpq_env(&mut cmd);
        run_ok(
            cmd.args(["-Fc", "-Z1", "-d", db, "-f"]).arg(path),
            "pg_dump",
        );
    }

    pub(crate) async fn client(&self, db: &str) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.conninfo(db), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c
    }

    pub(crate) fn options(&self) -> RestoreOptions {
        RestoreOptions {
            jobs: 2,
            bin_dir: Some(self.bin.clone()),
            progress_interval: Duration::from_millis(100),
            terminate_timeout: Duration::from_secs(2),
            ..RestoreOptions::default()
        }
    }

    pub(crate) fn db_exists(&self, db: &str) -> bool {
        self.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        ) == "1"
    }

    /// Waits (up to 60 s) until no session is connected to `db`.
    pub(crate) async fn wait_no_sessions(&self, db: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let n = self.psql(
                "postgres",
                &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'"),
            );
            if n == "0" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "after 60 s, {n} sessions still on {db}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits (up to 60 s) until no server process `pid` is left.
    pub(crate) async fn wait_gone(&self, pid: u32) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let n = self.psql(
                "postgres",
                &format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"),
            );
            if n == "0" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "after 60 s, server process {pid} is still there"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub(crate) fn allow_conn(&self, db: &str) -> String {
        self.psql(
            "postgres",
            &format!("SELECT datallowconn FROM pg_database WHERE datname = '{db}'"),
        )
    }

    /// Per-table checksums of every user table (and the table list itself).
    pub(crate) fn checksums(&self, db: &str) -> BTreeMap<String, String> {
        let tables = self.psql(
            db,
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        );
        tables
            .lines()
            .map(|t| {
                let sum = self.psql(
                    db,
                    &format!(
                        "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
                    ),
                );
                (t.to_owned(), sum)
            })
            .collect()
    }
}

/// Sessions held open on a database by [`Cluster::open_sessions`].
pub(crate) struct OpenSessions {
    /// Their server pids.
    pub(crate) pids: Vec<i32>,
    pub(crate) clients: Vec<Arc<tokio_postgres::Client>>,
    /// The connection tasks: each ends when the server closes its session.
    pub(crate) conns: Vec<tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>>,
    /// The long queries: each ends (with an error) when its session is terminated.
    pub(crate) queries: Vec<tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>>,
}

impl Cluster {
    /// Open `n` sessions on `db` (which has a `customers` table with a row `id = 1`), as an
    /// application would hold them: a third idle, a third running a long query
    /// (`pg_sleep(3600)`), a third idle in a transaction holding locks (`FOR SHARE` on a
    /// row of `customers`). Returns once the server shows them in those states (waits up to
    /// 60 s). Their `application_name` is `session_<i>`.
    pub(crate) async fn open_sessions(&self, db: &str, n: usize) -> OpenSessions {
        let mut s = OpenSessions {
            pids: Vec::new(),
            clients: Vec::new(),
            conns: Vec::new(),
            queries: Vec::new(),
        };
        let (mut long, mut in_tx) = (0, 0);
        for i in 0..n {
            let conninfo = format!("{} application_name=session_{i}", self.conninfo(db));
            let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("session {i} of {n} on {db}: {e}"));
            s.conns.push(tokio::spawn(conn));
            let client = Arc::new(client);
            s.pids.push(
                client
                    .query_one("SELECT pg_backend_pid()", &[])
                    .await
                    .unwrap()
                    .get(0),
            );
            match i % 3 {
                0 => {}
                1 => {
                    long += 1;
                    let cl = Arc::clone(&client);
                    s.queries.push(tokio::spawn(async move {
                        cl.simple_query("SELECT pg_sleep(3600)").await.map(|_| ())
                    }));
                }
                _ => {
                    in_tx += 1;
                    client
                        .batch_execute("BEGIN; SELECT id FROM customers WHERE id = 1 FOR SHARE")
                        .await
                        .unwrap();
                }
            }
            s.clients.push(client);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let want = format!("{long},{in_tx}");
        loop {
            let got = self.psql(
                "postgres",
                &format!(
                    "SELECT count(*) FILTER (WHERE state = 'active' AND query LIKE '%pg_sleep%') \
                     || ',' || count(*) FILTER (WHERE state = 'idle in transaction') \
                     FROM pg_stat_activity WHERE datname = '{db}' AND application_name LIKE 'session\\_%'"
                ),
            );
            if got == want {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "after 60 s, {got} (long queries, idle in transaction) on {db}, want {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
