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
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
    /// Own `dir` and `dumps`: removed after the server is stopped (fields drop after
    /// `Drop::drop`).
    _root: tempfile::TempDir,
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
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && p.join("initdb").exists() && p.join("pg_ctl").exists() {
            return p;
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_restore) not found via \
             `pg_config --bindir` or /usr/lib/postgresql/*/bin: install them, e.g. \
             `apt-get install postgresql` (Debian/Ubuntu)"
        ),
    }
}

/// `(uid, gid)` to run the server as when we are root.
pub(crate) fn server_user() -> Option<(u32, u32)> {
    if std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
        != 0
    {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3 && f[0] == wanted {
                return Some((f[2].parse().unwrap(), f[3].parse().unwrap()));
            }
        }
    }
    panic!("running as root but neither a `postgres` nor a `nobody` user exists to run initdb as");
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
#[allow(clippy::zombie_processes)] // the watcher outlives this process on purpose
pub(crate) fn remove_after_exit(path: &Path) {
    let script = "while [ -d \"/proc/$0\" ]; do sleep 0.3; done; rm -rf \"$1\"";
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(std::process::id().to_string())
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .spawn()
        .expect("spawn the temp folder watcher");
}

impl Cluster {
    /// Start a throwaway cluster; `extra_conf` is appended to postgresql.conf.
    // The watchdog is meant to outlive this process; nobody waits for it.
    #[allow(clippy::zombie_processes)]
    pub(crate) fn start(extra_conf: &str) -> Cluster {
        let bin = find_bin();
        let root = tempfile::Builder::new()
            .prefix("ops-restore-test-")
            .tempdir()
            .unwrap();
        let dumps_dir = tempfile::Builder::new()
            .prefix("ops-restore-dumps-")
            .tempdir()
            .unwrap();
        // If this process is killed before the cluster is dropped, its dumps go all the same.
        remove_after_exit(dumps_dir.path());
        let dir = root.path().to_path_buf();
        if let Some((uid, gid)) = server_user() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.join("data");
        run_ok(
            as_server_user(
                Command::new(bin.join("initdb"))
                    .arg("-D")
                    .arg(&data)
                    .args([
                        "-U",
                        "postgres",
                        "--auth-local=trust",
                        "--auth-host=scram-sha-256",
                    ])
                    .args(["-E", "UTF8", "--locale=C", "--no-sync"])
                    .current_dir(&dir),
            ),
            "initdb",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 200\n{extra_conf}\n",
            dir.display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).unwrap();
        text.push_str(&conf);
        std::fs::write(&conf_path, text).unwrap();
        // From here on a panic drops the cluster, which stops the server if it started.
        let c = Cluster {
            dir,
            port,
            bin,
            dumps: dumps_dir.path().to_path_buf(),
            _root: root,
            _dumps: dumps_dir,
        };
        // If this process is killed before the cluster is dropped, stop and delete it once the
        // process is gone (nothing to do when the drop did it).
        let script = "while [ -d \"/proc/$0\" ]; do sleep 0.3; done; [ -d \"$2/data\" ] || exit 0; \
                      \"$1/pg_ctl\" -D \"$2/data\" -m immediate -w stop >/dev/null 2>&1; rm -rf \"$2\"";
        as_server_user(
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(std::process::id().to_string())
                .arg(&c.bin)
                .arg(&c.dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .current_dir("/"),
        )
        .spawn()
        .expect("spawn the cluster watchdog");
        run_ok(
            as_server_user(
                Command::new(c.bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(c.dir.join("server.log"))
                    .args(["-w", "-t", "60", "start"])
                    .stdout(Stdio::null())
                    .current_dir(&c.dir),
            ),
            "pg_ctl start",
        );
        c.psql("postgres", "SELECT 1");
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Immediate: the data is disposable. `-w` waits until the server has exited, so
        // nothing writes into the directory while it is removed.
        let _ = as_server_user(
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "-t", "60", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .current_dir("/"),
        )
        .status();
    }
}

impl Cluster {
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
