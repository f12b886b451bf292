//! A throwaway PostgreSQL cluster started from the installed server binaries.
//!
//! `initdb` + `pg_ctl` from `pg_config --bindir` or the newest `/usr/lib/postgresql/*/bin`,
//! in a fresh temp directory (also the unix socket directory), on a free loopback port,
//! local `trust` authentication. Run as root, the server runs as the `postgres` (else
//! `nobody`) user, since Postgres refuses to run as root. The cluster is stopped and deleted
//! when [`Cluster`] is dropped, and by a watchdog if this process dies first; a start that
//! fails deletes what it made.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ops_core::restore::PgServer;
use tokio_postgres::NoTls;

use crate::cli::CliError;

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    /// Owns `dir`: removed after [`Drop`] has stopped the server (fields drop afterwards).
    _root: tempfile::TempDir,
}

fn missing_binaries() -> CliError {
    CliError::bad_input(
        "PostgreSQL server binaries (initdb, pg_ctl, pg_dump, pg_restore) not found via \
         `pg_config --bindir` or /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: \
         `apt-get install postgresql`)",
    )
}

/// Where the server binaries are.
pub fn find_bin() -> Result<PathBuf, CliError> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && p.join("initdb").exists() && p.join("pg_ctl").exists() {
            return Ok(p);
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
    found.pop().map(|(_, b)| b).ok_or_else(missing_binaries)
}

fn server_user() -> Result<Option<(u32, u32)>, CliError> {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if uid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| CliError::other("cannot read /etc/passwd").with_source(e))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3 && f[0] == wanted {
                if let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse()) {
                    return Ok(Some((u, g)));
                }
            }
        }
    }
    Err(CliError::other(
        "running as root but there is no `postgres` or `nobody` user to run the sandbox server as",
    ))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), CliError> {
    let out = cmd
        .output()
        .map_err(|e| CliError::other(format!("could not run {what}")).with_source(e))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        Err(CliError::other(format!(
            "{what} failed ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )))
    }
}

impl Cluster {
    /// Start a cluster (takes 1–3 s) in the system temp folder.
    pub fn start() -> Result<Cluster, CliError> {
        Self::start_in(find_bin()?, &std::env::temp_dir())
    }

    /// Start a cluster from the server binaries in `bin`, in a new folder under `parent`.
    fn start_in(bin: PathBuf, parent: &Path) -> Result<Cluster, CliError> {
        let user = server_user()?;
        // Owned until the cluster is: any failure below removes it.
        let root = tempfile::Builder::new()
            .prefix("ops-sandbox-pg-")
            .tempdir_in(parent)
            .map_err(|e| CliError::other("cannot create a temp dir").with_source(e))?;
        let dir = root.path().to_path_buf();
        let as_user = |cmd: &mut Command| {
            if let Some((u, g)) = user {
                cmd.uid(u).gid(g);
            }
        };
        if let Some((u, g)) = user {
            std::os::unix::fs::chown(&dir, Some(u), Some(g))
                .map_err(|e| CliError::other("cannot chown the sandbox dir").with_source(e))?;
        }
        let data = dir.join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["-E", "UTF8", "--locale=C", "--no-sync"])
            .current_dir(&dir);
        as_user(&mut initdb);
        run(&mut initdb, "initdb")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| CliError::other("cannot find a free port").with_source(e))?
            .port();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            dir.display()
        );
        let conf_path = data.join("postgresql.conf");
        let write_conf = || -> std::io::Result<()> {
            let mut text = std::fs::read_to_string(&conf_path)?;
            text.push_str(&conf);
            std::fs::write(&conf_path, text)
        };
        write_conf().map_err(|e| CliError::other("cannot write postgresql.conf").with_source(e))?;
        // From here on, dropping the cluster stops the server (if it started) and removes it.
        let cluster = Cluster {
            dir,
            port,
            bin,
            user,
            _root: root,
        };
        // If this process dies without dropping the cluster, stop and delete it anyway.
        let script = "while [ -d \"/proc/$0\" ]; do sleep 0.5; done; \
                      [ -d \"$2/data\" ] && \"$1/pg_ctl\" -D \"$2/data\" -m immediate -w stop >/dev/null 2>&1; rm -rf \"$2\"";
        let mut watchdog = Command::new("sh");
        watchdog
            .arg("-c")
            .arg(script)
            .arg(std::process::id().to_string())
            .arg(&cluster.bin)
            .arg(&cluster.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/");
        as_user(&mut watchdog);
        // Nobody waits for the watchdog: it outlives this process on purpose.
        #[allow(clippy::zombie_processes)]
        let _ = watchdog.spawn();
        let mut start = Command::new(cluster.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .current_dir(&cluster.dir);
        as_user(&mut start);
        run(&mut start, "pg_ctl start")?;
        tracing::info!(port, dir = %cluster.dir.display(), "sandbox PostgreSQL cluster started");
        Ok(cluster)
    }

    /// The server binaries' directory (also has `pg_dump`/`pg_restore`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// A libpq connection string for `db` as the superuser over the unix socket.
    pub fn conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.dir.display(),
            self.port
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

impl Drop for Cluster {
    fn drop(&mut self) {
        // `-w`: wait until the server is gone, so nothing writes into the folder while
        // `_root` removes it.
        let mut stop = Command::new(self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/");
        if let Some((u, g)) = self.user {
            stop.uid(u).gid(g);
        }
        let _ = stop.status();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A start that fails (here: an `initdb` that exits 1) leaves no folder behind.
    #[test]
    fn a_failed_start_leaves_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let initdb = bin.path().join("initdb");
        std::fs::write(
            &initdb,
            "#!/bin/sh\necho 'initdb: no space left' >&2\nexit 1\n",
        )
        .unwrap();
        // Readable and searchable by the server user the sandbox switches to as root.
        std::fs::set_permissions(&initdb, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let parent = tempfile::tempdir().unwrap();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Cluster::start_in(bin.path().to_path_buf(), parent.path()).unwrap_err();
        assert!(err.to_string().contains("initdb"), "{err}");
        let left: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
