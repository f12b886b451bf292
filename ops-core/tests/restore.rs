//! Restore-to-QA against a real PostgreSQL.
//!
//! The tests start ONE throwaway cluster for this file (initdb/pg_ctl from
//! `pg_config --bindir` or `/usr/lib/postgresql/*/bin`, as the `postgres` or
//! `nobody` user when run as root, on a free port, unix socket in a temp dir)
//! and never touch a server they did not start. Each test uses its own
//! databases. A watchdog stops the cluster and removes its directory when the
//! test process exits.

// Test support code outside #[test] functions: panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ops_core::Error;
use ops_core::restore::{
    CheckQuery, Downtime, DumpSource, PgServer, Progress, RestoreError, RestoreJob, RestoreOptions,
    RollbackOptions, RowCountManifest, RowCounts, SqlScript, Step, rollback,
};

// ---------------------------------------------------------------- cluster

struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    dumps: PathBuf,
}

fn find_bin() -> PathBuf {
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
fn server_user() -> Option<(u32, u32)> {
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

fn as_server_user(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = server_user() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// The watchdog is meant to outlive this process; nobody waits for it.
#[allow(clippy::zombie_processes)]
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("ops-restore-test-")
            .tempdir()
            .unwrap()
            .keep();
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
                    .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
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
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n",
            dir.display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).unwrap();
        text.push_str(&conf);
        std::fs::write(&conf_path, text).unwrap();
        run_ok(
            as_server_user(
                Command::new(bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.join("server.log"))
                    .args(["-w", "-t", "60", "start"])
                    .stdout(Stdio::null())
                    .current_dir(&dir),
            ),
            "pg_ctl start",
        );
        // Stop the cluster and delete it once this test process is gone.
        let script = "while [ -d \"/proc/$0\" ]; do sleep 0.3; done; \
                      \"$1/pg_ctl\" -D \"$2/data\" -m immediate -w stop >/dev/null 2>&1; rm -rf \"$2\"";
        as_server_user(
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(std::process::id().to_string())
                .arg(&bin)
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .current_dir("/"),
        )
        .spawn()
        .expect("spawn the cluster watchdog");
        let dumps = tempfile::Builder::new()
            .prefix("ops-restore-dumps-")
            .tempdir()
            .unwrap();
        let c = Cluster {
            dir,
            port,
            bin,
            dumps: dumps.keep(),
        };
        c.psql("postgres", "SELECT 1");
        c
    })
}

impl Cluster {
    fn conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.dir.display(),
            self.port
        )
    }

    fn server(&self) -> PgServer {
        PgServer::new(self.conninfo("postgres")).unwrap()
    }

    fn server_as(&self, role: &str) -> PgServer {
        PgServer::new(format!(
            "host={} port={} user={role} dbname=postgres",
            self.dir.display(),
            self.port
        ))
        .unwrap()
    }

    fn libpq_env(&self, cmd: &mut Command) {
        cmd.env("PGHOST", &self.dir)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", "postgres")
            .env_remove("PGPASSWORD")
            .env_remove("PGDATABASE");
    }

    /// Run SQL with psql (synchronous: usable from fixtures).
    fn psql(&self, db: &str, sql: &str) -> String {
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

    fn pg_dump(&self, db: &str, path: &Path) {
        let mut cmd = Command::new(self.bin.join("pg_dump"));
        self.libpq_env(&mut cmd);
        run_ok(
            cmd.args(["-Fc", "-Z1", "-d", db, "-f"]).arg(path),
            "pg_dump",
        );
    }

    async fn client(&self, db: &str) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.conninfo(db), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c
    }

    fn options(&self) -> RestoreOptions {
        RestoreOptions {
            jobs: 2,
            bin_dir: Some(self.bin.clone()),
            progress_interval: Duration::from_millis(100),
            terminate_timeout: Duration::from_secs(2),
            ..RestoreOptions::default()
        }
    }

    fn db_exists(&self, db: &str) -> bool {
        self.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        ) == "1"
    }

    fn allow_conn(&self, db: &str) -> String {
        self.psql(
            "postgres",
            &format!("SELECT datallowconn FROM pg_database WHERE datname = '{db}'"),
        )
    }

    /// Per-table checksums of every user table (and the table list itself).
    fn checksums(&self, db: &str) -> BTreeMap<String, String> {
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

const SOURCE_SQL: &str = "
CREATE TABLE customers (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  email text NOT NULL, full_name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO customers (email, full_name) SELECT md5(g::text) || '@example.com', 'Name ' || g FROM generate_series(1, {customers}) g;
CREATE UNIQUE INDEX customers_email_key ON customers(email);
CREATE TABLE orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers(id), amount numeric(12,2) NOT NULL, note text);
INSERT INTO orders (customer_id, amount, note)
  SELECT 1 + (g % {customers}), (g % 1000) / 10.0, md5(g::text) FROM generate_series(1, {orders}) g;
CREATE INDEX orders_customer_id_idx ON orders(customer_id);
CREATE TABLE settings (k text PRIMARY KEY, v text);
INSERT INTO settings SELECT 'k' || g, md5(g::text) FROM generate_series(1, 20) g;
CREATE TABLE \"Mixed Case\" (x int);
INSERT INTO \"Mixed Case\" VALUES (1), (2);
";

/// A production-like source database and its custom-format dump (built once per size).
fn fixture(big: bool) -> &'static PathBuf {
    static SMALL: OnceLock<PathBuf> = OnceLock::new();
    static BIG: OnceLock<PathBuf> = OnceLock::new();
    let cell = if big { &BIG } else { &SMALL };
    cell.get_or_init(|| {
        let c = cluster();
        let (name, customers, orders) = if big {
            ("fixture_big", 50_000, 600_000)
        } else {
            ("fixture_small", 2_000, 10_000)
        };
        c.psql("postgres", &format!("CREATE DATABASE {name}"));
        let sql = SOURCE_SQL
            .replace("{customers}", &customers.to_string())
            .replace("{orders}", &orders.to_string());
        c.psql(name, &sql);
        let path = c.dumps.join(format!("{name}.dump"));
        c.pg_dump(name, &path);
        path
    })
}

/// A QA database with different ("old") content.
fn make_qa(name: &str) {
    let c = cluster();
    c.psql("postgres", &format!("CREATE DATABASE {name}"));
    c.psql(
        name,
        "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, full_name text NOT NULL);
         INSERT INTO customers VALUES (1, 'old1@qa', 'Old One'), (2, 'old2@qa', 'Old Two'), (3, 'old3@qa', 'Old Three');
         CREATE TABLE qa_only (note text); INSERT INTO qa_only VALUES ('old qa');",
    );
}

fn restore_err(e: Error) -> RestoreError {
    match e {
        Error::Restore(r) => *r,
        other => panic!("expected a restore error, got {other:?}"),
    }
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "ops_core=info".into()),
        )
        .with_test_writer()
        .try_init();
}

#[derive(Default)]
struct FakeDowntime {
    calls: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Downtime for FakeDowntime {
    async fn schedule(
        &self,
        database: &str,
        window: Duration,
        _comment: &str,
    ) -> ops_core::Result<String> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("schedule {database} {}s", window.as_secs()));
        Ok("dt-1".to_owned())
    }
    async fn cancel(&self, id: &str) -> ops_core::Result<()> {
        self.calls.lock().unwrap().push(format!("cancel {id}"));
        Ok(())
    }
}

fn steps_of(report: &ops_core::restore::RestoreReport) -> Vec<Step> {
    report.steps.iter().map(|(s, _)| *s).collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restore_and_swap_with_a_concurrent_client() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t1_qa";
    make_qa(qa);

    // A client that opens a new connection to QA every ~10 ms throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let conninfo = c.conninfo(qa);
    let stop2 = Arc::clone(&stop);
    let prober = tokio::spawn(async move {
        let mut last_ok = Instant::now();
        let mut longest = Duration::ZERO;
        let (mut ok, mut failed) = (0u32, 0u32);
        let mut values = Vec::new();
        while !stop2.load(Ordering::Relaxed) {
            let res = async {
                let (cl, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                cl.query_one("SELECT count(*) FROM customers", &[]).await
            }
            .await;
            match res {
                Ok(row) => {
                    let now = Instant::now();
                    longest = longest.max(now - last_ok);
                    last_ok = now;
                    ok += 1;
                    let v: i64 = row.get(0);
                    if values.last() != Some(&v) {
                        values.push(v);
                    }
                }
                Err(_) => failed += 1,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (longest, ok, failed, values)
    });

    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = Arc::clone(&events);
    let downtime = Arc::new(FakeDowntime::default());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(c.options())
        .downtime(downtime.clone())
        .on_progress(move |p| ev.lock().unwrap().push(p.clone()))
        .run()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let (longest, ok, failed, values) = prober.await.unwrap();
    eprintln!(
        "QA longest gap between successful queries: {longest:?} ({ok} ok, {failed} failed); \
         swap window {:?}; total {:?}",
        report.swap_window, report.total
    );

    assert_eq!(
        values,
        [3, 2000],
        "the client saw old QA, then the new data, nothing in between"
    );
    assert!(
        longest < Duration::from_secs(2),
        "QA unavailable for {longest:?}"
    );
    assert!(report.swap_window < Duration::from_secs(2));
    assert_eq!(c.psql(qa, "SELECT count(*) FROM orders"), "10000");
    assert_eq!(c.psql(qa, "SELECT count(*) FROM \"Mixed Case\""), "2");
    assert_ne!(
        c.psql(
            qa,
            "SELECT count(*) FROM pg_stats WHERE tablename = 'orders'"
        ),
        "0",
        "analyzed"
    );
    assert_eq!(c.allow_conn(qa), "t");
    let prev = report.previous.clone().expect("previous copy kept");
    assert!(prev.starts_with("t1_qa_prev_"));
    assert_eq!(
        c.allow_conn(&prev),
        "f",
        "the previous copy refuses connections"
    );
    assert!(!c.db_exists("t1_qa_next"));
    assert_eq!(
        *downtime.calls.lock().unwrap(),
        ["schedule t1_qa 300s", "cancel dt-1"]
    );
    let events = events.lock().unwrap();
    let last_restore = events
        .iter()
        .rev()
        .find_map(|p| match p {
            Progress::Restore {
                items_done,
                items_total,
                bytes,
                ..
            } => Some((*items_done, *items_total, *bytes)),
            _ => None,
        })
        .unwrap();
    assert_eq!(last_restore.0, last_restore.1);
    assert!(
        last_restore.1 >= 10 && last_restore.2 > 0,
        "{last_restore:?}"
    );
    assert!(events.contains(&Progress::StepStarted(Step::Swap)));
    assert_eq!(
        steps_of(&report),
        [
            Step::Preflight,
            Step::Inspect,
            Step::Prepare,
            Step::Restore,
            Step::Verify,
            Step::Analyze,
            Step::CarrySettings,
            Step::Swap,
            Step::Prune
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_dump_leaves_qa_byte_identical() {
    init_tracing();
    let c = cluster();
    let dump = fixture(true);
    let qa = "t2_qa";
    make_qa(qa);
    let before = c.checksums(qa);

    // Truncated: the table of contents reads fine, the data does not.
    let bytes = std::fs::read(dump).unwrap();
    let truncated = c.dumps.join("t2_truncated.dump");
    std::fs::write(&truncated, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let err = RestoreJob::new(c.server(), qa, DumpSource::File(truncated))
        .options(c.options())
        .run()
        .await
        .unwrap_err();
    let err = restore_err(err);
    assert!(
        matches!(
            err,
            RestoreError::Tool { .. } | RestoreError::InvalidDump(_)
        ),
        "{err:?}"
    );
    assert_eq!(c.checksums(qa), before);
    assert_eq!(c.allow_conn(qa), "t");
    assert!(!c.db_exists("t2_qa_next"), "the half-built copy is dropped");

    // Not a dump at all.
    let garbage = c.dumps.join("t2_garbage.dump");
    std::fs::write(&garbage, b"this is not a pg_dump archive").unwrap();
    let err = restore_err(
        RestoreJob::new(c.server(), qa, DumpSource::File(garbage))
            .options(c.options())
            .run()
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RestoreError::InvalidDump(_)), "{err:?}");
    assert_eq!(c.checksums(qa), before);
}

/// Kill every `pg_restore` process restoring into `db`.
fn kill_pg_restore_into(db: &str) -> usize {
    let needle = format!("dbname='{db}'");
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("pg_restore") && cmdline.contains(&needle) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            killed += 1;
        }
    }
    killed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_pg_restore_leaves_qa_byte_identical() {
    init_tracing();
    let c = cluster();
    let dump = fixture(true);
    let qa = "t3_qa";
    make_qa(qa);
    let before = c.checksums(qa);
    let killed = Arc::new(AtomicUsize::new(0));
    let k = Arc::clone(&killed);
    let err = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(c.options())
        .on_progress(move |p| {
            if let Progress::Restore { items_done, .. } = p {
                if *items_done >= 1 && k.load(Ordering::SeqCst) == 0 {
                    k.store(kill_pg_restore_into("t3_qa_next").max(1), Ordering::SeqCst);
                }
            }
        })
        .run()
        .await
        .unwrap_err();
    let err = restore_err(err);
    assert!(killed.load(Ordering::SeqCst) >= 1);
    match &err {
        RestoreError::Tool {
            program, status, ..
        } => {
            assert_eq!(program, "pg_restore");
            eprintln!("pg_restore ended with: {status}");
        }
        other => panic!("expected pg_restore to fail, got {other:?}"),
    }
    assert_eq!(c.checksums(qa), before);
    assert_eq!(c.allow_conn(qa), "t");
    assert!(!c.db_exists("t3_qa_next"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sanitize_scripts_run_on_the_copy_before_the_swap() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t4_qa";
    make_qa(qa);
    let opts = RestoreOptions {
        sanitize: vec![
            SqlScript::new(
                "mask emails",
                "UPDATE customers SET email = 'user' || id || '@example.invalid', full_name = 'Customer ' || id",
            ),
            SqlScript::new("reset settings", "UPDATE settings SET v = 'redacted'"),
        ],
        checks: vec![
            CheckQuery::new(
                "emails masked",
                "SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'",
            ),
            CheckQuery::new("has customers", "SELECT count(*) > 0 FROM customers"),
        ],
        ..c.options()
    };
    let report = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(opts)
        .run()
        .await
        .unwrap();
    assert_eq!(
        c.psql(
            qa,
            "SELECT count(*) FROM customers WHERE email LIKE '%@example.invalid'"
        ),
        "2000"
    );
    assert_eq!(
        c.psql(qa, "SELECT string_agg(DISTINCT v, ',') FROM settings"),
        "redacted"
    );
    let steps = steps_of(&report);
    let pos = |s| steps.iter().position(|x| *x == s).unwrap();
    assert!(pos(Step::Verify) < pos(Step::Sanitize) && pos(Step::Sanitize) < pos(Step::Checks));
    assert!(pos(Step::Checks) < pos(Step::Swap));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_failures_block_the_swap() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t5_qa";
    make_qa(qa);
    let before = c.checksums(qa);

    // 1. A check returning false, one erroring, one returning no boolean.
    let opts = RestoreOptions {
        checks: vec![
            CheckQuery::new("ok", "SELECT true"),
            CheckQuery::new("too many customers", "SELECT count(*) < 10 FROM customers"),
            CheckQuery::new("broken", "SELECT 1/0 = 1"),
            CheckQuery::new("not a bool", "SELECT 42"),
        ],
        ..c.options()
    };
    let err = restore_err(
        RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
            .options(opts)
            .run()
            .await
            .unwrap_err(),
    );
    let RestoreError::Verification(failures) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures[0].contains("too many customers") && failures[0].contains("false"));
    assert!(failures[1].contains("division by zero"), "{failures:?}");
    assert_eq!(c.checksums(qa), before);
    assert!(!c.db_exists("t5_qa_next"));

    // 2. Row counts that do not match the manifest.
    let mut manifest = RowCountManifest::collect(&c.server(), "fixture_small", 2)
        .await
        .unwrap();
    assert_eq!(manifest.tables["public.orders"], 10_000);
    manifest.tables.insert("public.orders".into(), 10_001);
    let mpath = c.dumps.join("t5_manifest.json");
    manifest.save(&mpath).unwrap();
    let opts = RestoreOptions {
        row_counts: RowCounts::Manifest(mpath),
        ..c.options()
    };
    let err = restore_err(
        RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
            .options(opts)
            .run()
            .await
            .unwrap_err(),
    );
    let RestoreError::Verification(failures) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        failures,
        &["table public.orders has 10000 rows, expected 10001"]
    );
    assert_eq!(c.checksums(qa), before);
    assert!(!c.db_exists("t5_qa_next"));

    // 3. Production counts (the fixture database stands in for production) pass.
    let opts = RestoreOptions {
        row_counts: RowCounts::Production {
            server: c.server(),
            database: "fixture_small".into(),
            tolerance: 0.0,
            fallback: None,
        },
        ..c.options()
    };
    let report = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(opts)
        .run()
        .await
        .unwrap();
    assert_eq!(report.tables_counted, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_grants_are_carried_over() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t6_qa";
    make_qa(qa);
    c.psql("postgres", "CREATE ROLE t6_app LOGIN; CREATE ROLE t6_owner");
    for sql in [
        "ALTER DATABASE t6_qa OWNER TO t6_owner",
        "REVOKE ALL ON DATABASE t6_qa FROM PUBLIC",
        "GRANT CONNECT, TEMPORARY ON DATABASE t6_qa TO t6_app",
        "ALTER DATABASE t6_qa SET search_path = app, \"$user\", public",
        "ALTER DATABASE t6_qa SET work_mem = '8MB'",
        "ALTER ROLE t6_app IN DATABASE t6_qa SET statement_timeout = '30s'",
        "COMMENT ON DATABASE t6_qa IS 'QA''s database'",
        "ALTER DATABASE t6_qa CONNECTION LIMIT 50",
    ] {
        c.psql("postgres", sql);
    }
    let snapshot = |db: &str| {
        c.psql(
            "postgres",
            &format!(
                "SELECT pg_get_userbyid(datdba) || ' ' || datconnlimit || ' ' || coalesce(shobj_description(oid, 'pg_database'), '-') \
                 || ' ' || (SELECT string_agg(coalesce(pg_get_userbyid(nullif(a.grantee, 0)), 'PUBLIC') || ':' || a.privilege_type, ',' ORDER BY 1) \
                            FROM aclexplode(datacl) a) \
                 || ' ' || (SELECT string_agg(coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*') || '=' || array_to_string(s.setconfig, ';'), ',' ORDER BY 1) \
                            FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) \
                 FROM pg_database d WHERE datname = '{db}'"
            ),
        )
    };
    let before = snapshot(qa);
    assert!(
        before.contains("t6_app:CONNECT") && before.contains("statement_timeout=30s"),
        "{before}"
    );
    let report = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(c.options())
        .run()
        .await
        .unwrap();
    assert_eq!(
        snapshot(qa),
        before,
        "settings follow the name, not the OID"
    );
    // They really work: the app role connects and gets its settings.
    let app = format!(
        "host={} port={} user=t6_app dbname={qa}",
        c.dir.display(),
        c.port
    );
    let (cl, conn) = tokio_postgres::connect(&app, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = cl
        .query_one(
            "SELECT current_setting('search_path'), current_setting('statement_timeout'), current_setting('work_mem')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "app, \"$user\", public");
    assert_eq!(row.get::<_, String>(1), "30s");
    assert_eq!(row.get::<_, String>(2), "8MB");
    drop(cl);
    assert!(report.previous.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_swaps_the_previous_copy_back() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t7_qa";
    make_qa(qa);
    let before = c.checksums(qa);
    let report = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(c.options())
        .run()
        .await
        .unwrap();
    assert_ne!(c.checksums(qa), before);
    let rb = rollback(&c.server(), qa, &RollbackOptions::default())
        .await
        .unwrap();
    assert_eq!(Some(rb.restored_from.clone()), report.previous);
    assert!(rb.dropped && !c.db_exists(&rb.rolled_back_to));
    assert_eq!(c.checksums(qa), before);
    assert_eq!(c.allow_conn(qa), "t");
    let err = restore_err(
        rollback(&c.server(), qa, &RollbackOptions::default())
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RestoreError::NoPrevious(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_previous_limits_the_copies() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t8_qa";
    make_qa(qa);
    let prevs = || {
        c.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 't8\\_qa\\_prev\\_%'",
        )
    };
    for _ in 0..3 {
        RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
            .options(RestoreOptions {
                keep_previous: 2,
                ..c.options()
            })
            .run()
            .await
            .unwrap();
    }
    assert_eq!(prevs(), "2");
    let report = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(RestoreOptions {
            keep_previous: 0,
            ..c.options()
        })
        .run()
        .await
        .unwrap();
    assert_eq!(report.previous, None);
    assert_eq!(report.dropped.len(), 3);
    assert_eq!(prevs(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_refuse_before_touching_anything() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t9_qa";
    make_qa(qa);
    let before = c.checksums(qa);
    let run = |server: PgServer, qa: &str, source: DumpSource| {
        let job = RestoreJob::new(server, qa, source).options(c.options());
        async move { restore_err(job.run().await.unwrap_err()) }
    };
    let file = || DumpSource::File(dump.clone());

    // Looks like production.
    c.psql("postgres", "CREATE DATABASE t9_orders_prod");
    let err = run(c.server(), "t9_orders_prod", file()).await;
    assert!(
        matches!(&err, RestoreError::Refused(m) if m.contains("production")),
        "{err:?}"
    );
    // Target is the source.
    let err = run(
        c.server(),
        qa,
        DumpSource::Database {
            server: c.server(),
            database: qa.into(),
        },
    )
    .await;
    assert!(
        matches!(&err, RestoreError::Refused(m) if m.contains("source")),
        "{err:?}"
    );
    // Target is the connected (maintenance) database.
    let err = run(c.server().with_maintenance_db(qa), qa, file()).await;
    assert!(
        matches!(&err, RestoreError::Refused(m) if m.contains("maintenance")),
        "{err:?}"
    );
    // Target is a template.
    c.psql("postgres", "CREATE DATABASE t9_tpl");
    c.psql("postgres", "ALTER DATABASE t9_tpl IS_TEMPLATE true");
    let err = run(c.server(), "t9_tpl", file()).await;
    assert!(
        matches!(&err, RestoreError::Refused(m) if m.contains("template")),
        "{err:?}"
    );
    // Names we do not accept.
    let err = run(c.server(), "t9 qa; DROP", file()).await;
    assert!(matches!(err, RestoreError::Config(_)), "{err:?}");

    // Least privilege: say which privilege is missing.
    c.psql(
        "postgres",
        "CREATE ROLE t9_weak LOGIN; CREATE ROLE t9_creator LOGIN CREATEDB; \
         CREATE ROLE t9_signal LOGIN CREATEDB IN ROLE pg_signal_backend",
    );
    let err = run(c.server_as("t9_weak"), qa, file()).await;
    assert!(
        matches!(&err, RestoreError::MissingPrivilege { privilege, .. } if privilege.contains("CREATEDB")),
        "{err:?}"
    );
    let err = run(c.server_as("t9_creator"), qa, file()).await;
    assert!(
        matches!(&err, RestoreError::MissingPrivilege { privilege, .. } if privilege.contains("pg_signal_backend")),
        "{err:?}"
    );
    let err = run(c.server_as("t9_signal"), qa, file()).await;
    assert!(
        matches!(&err, RestoreError::MissingPrivilege { privilege, .. } if privilege.contains("ownership")),
        "{err:?}"
    );
    assert_eq!(c.checksums(qa), before);

    // Another restore of the same QA is running: the advisory lock refuses the second.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let first = RestoreJob::new(c.server(), qa, file())
        .options(RestoreOptions {
            keep_previous: 0,
            ..c.options()
        })
        .on_progress(move |p| {
            if matches!(p, Progress::StepStarted(Step::Restore)) {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
            }
        });
    let first = tokio::spawn(async move { first.run().await });
    rx.await.unwrap();
    let err = run(c.server(), qa, file()).await;
    assert!(
        matches!(err, RestoreError::AlreadyRunning { .. }),
        "{err:?}"
    );
    first.await.unwrap().unwrap();
    assert_ne!(c.checksums(qa), before, "the first restore went through");
    assert!(!c.db_exists("t9_orders_prod_next") && !c.db_exists("t9_tpl_next"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_privilege_role_and_superuser_sessions() {
    init_tracing();
    let c = cluster();
    let dump = fixture(false);
    let qa = "t10_qa";
    c.psql(
        "postgres",
        "CREATE ROLE t10_admin LOGIN CREATEDB IN ROLE pg_signal_backend; CREATE ROLE t10_app LOGIN",
    );
    make_qa(qa);
    c.psql("postgres", "ALTER DATABASE t10_qa OWNER TO t10_admin");
    let before = c.checksums(qa);
    let admin = c.server_as("t10_admin");

    // A superuser session on QA cannot be terminated by t10_admin: the swap
    // fails, names the session, and QA is reopened unchanged.
    let su = c.client(qa).await;
    su.query_one("SELECT 1", &[]).await.unwrap();
    let err = restore_err(
        RestoreJob::new(admin.clone(), qa, DumpSource::File(dump.clone()))
            .options(c.options())
            .run()
            .await
            .unwrap_err(),
    );
    match &err {
        RestoreError::SessionsRemain { sessions, .. } => assert!(
            sessions[0].contains("postgres") && sessions[0].contains("superuser"),
            "{sessions:?}"
        ),
        other => panic!("{other:?}"),
    }
    drop(su);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.allow_conn(qa), "t");
    assert_eq!(c.checksums(qa), before);
    assert!(!c.db_exists("t10_qa_next"));

    // An app session (another role) is terminated; the restore succeeds.
    let app = format!(
        "host={} port={} user=t10_app dbname={qa}",
        c.dir.display(),
        c.port
    );
    let (app_client, conn) = tokio_postgres::connect(&app, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    app_client.query_one("SELECT 1", &[]).await.unwrap();
    RestoreJob::new(admin, qa, DumpSource::File(dump.clone()))
        .options(c.options())
        .run()
        .await
        .unwrap();
    assert!(
        app_client.query_one("SELECT 1", &[]).await.is_err(),
        "the old session was terminated"
    );
    let _ = conn.await;
    assert_eq!(
        c.psql(
            qa,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ),
        "t10_admin"
    );
    assert_eq!(c.psql(qa, "SELECT count(*) FROM customers"), "2000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_from_a_live_database_over_tcp_with_a_password() {
    init_tracing();
    let c = cluster();
    fixture(false);
    let qa = "t11_qa";
    make_qa(qa);
    const PW: &str = "t11-very-secret-pw";
    c.psql(
        "postgres",
        &format!("CREATE ROLE t11_su LOGIN SUPERUSER PASSWORD '{PW}'"),
    );
    let tcp = |pw: &str| {
        PgServer::new(format!(
            "host=127.0.0.1 port={} user=t11_su password={pw} dbname=postgres",
            c.port
        ))
        .unwrap()
    };
    let server = tcp(PW);
    assert!(!format!("{server:?}").contains(PW));

    let report = RestoreJob::new(
        server.clone(),
        qa,
        DumpSource::Database {
            server: server.clone(),
            database: "fixture_small".into(),
        },
    )
    .options(c.options())
    .run()
    .await
    .unwrap();
    assert_eq!(
        report.tables_counted, 4,
        "exact counts from the dump snapshot"
    );
    assert!(report.steps.iter().any(|(s, _)| *s == Step::Dump));
    assert_eq!(c.psql(qa, "SELECT count(*) FROM orders"), "10000");

    // A wrong password fails without echoing it.
    let bad = "t11-wrong-pw-value";
    let err = RestoreJob::new(tcp(bad), qa, DumpSource::File(fixture(false).clone()))
        .options(c.options())
        .run()
        .await
        .unwrap_err();
    let mut chain = format!("{err:?} {err}");
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&err);
    while let Some(s) = src {
        chain.push_str(&format!(" {s}"));
        src = s.source();
    }
    assert!(!chain.contains(bad) && !chain.contains(PW), "{chain}");
}
