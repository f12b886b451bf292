//! The `restore` binary run as a process: the sandbox (a throwaway local PostgreSQL cluster
//! started from the installed server binaries) and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_restore");

/// A temp folder for one run of the binary (its `TMPDIR`): the sandbox cluster and the dump of
/// a live source go there, and whatever a run leaves (even one ended by a signal) goes with
/// it. Searchable by all: as root, the sandbox's server runs as the `postgres` user.
fn binary_tmp() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::Builder::new()
        .prefix("restore-cli-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// What is in `dir` (names).
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn restore() -> Command {
    let mut c = Command::new(BIN);
    for v in [
        "QA_DATABASE_URL",
        "SOURCE_DATABASE_URL",
        "PGHOST",
        "PGPASSWORD",
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "RUST_LOG",
        "RESTORE_GUARD_ALLOW",
        "RESTORE_SPACE_CHECK",
    ] {
        c.env_remove(v);
    }
    c
}

#[test]
fn sandbox_restore_json_carries_the_databases() {
    let tmp = binary_tmp();
    let out = restore()
        .args(["--sandbox", "--json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    assert_eq!(v["qa_database"], "qa");
    assert!(
        v["previous"].as_str().unwrap().starts_with("qa_prev_"),
        "{v}"
    );
    assert_eq!(v["tables_counted"], 2);
    assert!(v["swap_window_ms"].as_f64().unwrap() < 5000.0);
    // The sandbox cluster and the dump of its `shop` database are gone with the run.
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

#[test]
fn sandbox_rollback() {
    let tmp = binary_tmp();
    let out = restore()
        .args(["rollback", "--sandbox", "--json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["restored_from"].as_str().unwrap().starts_with("qa_prev_"),
        "{v}"
    );
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// Ctrl-C while the sandbox restore dumps its source: the run stops with one error line and
/// exit 130, and before the process exits it has removed the dump folder and the sandbox
/// cluster.
#[test]
fn sigint_mid_restore_leaves_nothing_in_the_temp_folder() {
    let tmp = binary_tmp();
    let mut child = restore()
        .args(["--sandbox", "--json"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The dump of the live source has started once its folder is there (never a fixed sleep:
    // on a loaded machine the sandbox takes from one to many seconds to get there).
    let deadline = Instant::now() + Duration::from_secs(120);
    while !entries(tmp.path())
        .iter()
        .any(|n| n.starts_with("ops-restore-"))
    {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the restore ended ({status}) before its dump folder was seen:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "after 120 s, no dump folder in {}: {:?}",
            tmp.path().display(),
            entries(tmp.path())
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "128 + SIGINT: {err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or_default()
            .starts_with("error: interrupted"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no report of an interrupted run");
    assert_eq!(entries(tmp.path()), Vec::<String>::new(), "{err}");
}

#[test]
fn no_server_is_bad_input() {
    let out = restore()
        .args(["--dump", "/nonexistent.dump"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("set QA_DATABASE_URL"), "{err}");
}

#[test]
fn tls_environment_is_read_like_libpq() {
    let run = |vars: &[(&str, &str)]| {
        let out = restore()
            .args(["--dump", "/nonexistent.dump"])
            .env("PGHOST", "127.0.0.1")
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    // verify-full needs a CA file to verify with: refused before any connection.
    let err = run(&[("PGSSLMODE", "verify-full")]);
    assert!(
        err.contains("PGSSLMODE=verify-full needs PGSSLROOTCERT"),
        "{err}"
    );
    // A CA file that is not there is named.
    let err = run(&[("PGSSLROOTCERT", "/nonexistent/root.crt")]);
    assert!(err.contains("fix PGSSLROOTCERT"), "{err}");
    assert!(err.contains("/nonexistent/root.crt"), "{err}");
}

#[test]
fn unreachable_server_is_a_provider_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("prod.dump");
    std::fs::write(&dump, b"PGDMP").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = restore()
        .arg("--dump")
        .arg(&dump)
        .env(
            "QA_DATABASE_URL",
            format!("host=127.0.0.1 port={port} user=qa password=s3cr3t-qa-pw"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("s3cr3t-qa-pw"), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: the restore into QA failed"),
        "{err}"
    );
}

/// A dry run runs the preflight's reads (guards, source identity, locale, free space) and
/// writes nothing: with the server unreachable it fails like a run would (exit 3), without
/// the password.
#[test]
fn dry_run_needs_the_server_and_never_shows_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("prod.dump");
    std::fs::write(&dump, b"PGDMP").unwrap();
    let out = restore()
        .args(["--dry-run", "--json", "--dump"])
        .arg(&dump)
        .env(
            "QA_DATABASE_URL",
            "host=127.0.0.1 port=1 user=qa password=s3cr3t-qa-pw",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dry run's preflight failed"), "{stderr}");
    assert!(!stderr.contains("s3cr3t-qa-pw") && out.stdout.is_empty());
}

/// The steps of a run with the stream engine (issue #24), with a sanitise script and a
/// check query (as the sandbox has).
const STREAM_STEPS: &[&str] = &[
    "preflight",
    "schema",
    "inspect",
    "prepare",
    "copy",
    "post-data",
    "verify",
    "sanitize",
    "analyze",
    "checks",
    "carry-settings",
    "swap",
    "prune",
];

/// Issue #19: the dry run's plan shows the working copy's locale (QA's), how the source's
/// differs, and the free-space check (the sandbox's data directory is local).
#[test]
fn dry_run_shows_the_locale_and_the_free_space() {
    let tmp = binary_tmp();
    let out = restore()
        .args(["--sandbox", "--dry-run", "--json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["working_copy"], "qa_next");
    assert_eq!(v["qa_exists"], true);
    assert_eq!(v["locale_from"], "QA");
    assert!(
        v["working_copy_locale"]
            .as_str()
            .unwrap()
            .starts_with("encoding UTF8"),
        "{v}"
    );
    assert_eq!(v["locale_differences"], serde_json::json!([]));
    // The steps the run would make, as the workflow's own table has them (a live source:
    // the stream engine; the sandbox's sanitise script and check query).
    assert_eq!(v["steps"], serde_json::json!(STREAM_STEPS), "{v}");
    assert_eq!(v["free_space"]["checked"], true, "{v}");
    assert!(v["free_space"]["available_bytes"].as_u64().unwrap() > 0);
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// Issue #19: a QA named like production is refused (exit 2) unless allowed by name.
#[test]
fn a_production_looking_qa_needs_the_allow_list() {
    let tmp = binary_tmp();
    let out = restore()
        .args(["--sandbox", "--dry-run", "--qa-db", "qa_live2"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("looks like production") && stderr.contains("RESTORE_GUARD_ALLOW"),
        "{stderr}"
    );
    let out = restore()
        .args(["--sandbox", "--dry-run", "--qa-db", "qa_live2"])
        .env("RESTORE_GUARD_ALLOW", "other,qa_live2")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("from the source"), "{text}");
    assert!(text.contains("free space: about"), "{text}");
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// Issue #17 item 2: the binary built the README's way (`cargo … -p ops-examples`, no
/// workspace feature unification: `.ci/run` runs this file so) speaks TLS to Postgres. A live
/// restore with `sslmode=require` against a server that refuses unencrypted TCP, the check
/// run on the new database confirming the workflow's own connection is encrypted; then
/// verified against the server's CA (`PGSSLROOTCERT`); `sslmode=disable` is refused by the
/// server.
#[test]
fn restore_over_tls_in_the_binary_as_built() {
    use ops_core::restore::local::{Cluster, Options};
    let tmp = binary_tmp();
    let c = Cluster::start(&Options {
        prefix: "restore-cli-tls-".into(),
        parent: Some(tmp.path().to_path_buf()),
        extra_conf: "fsync = off".into(),
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let psql = |db: &str, sql: &str| -> String {
        let out = Command::new(c.bin().join("psql"))
            .arg("-h")
            .arg(c.dir())
            .args(["-p", &c.port().to_string(), "-U", "postgres", "-d", db])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    const PW: &str = "tls-cli-very-secret";
    psql(
        "postgres",
        &format!("CREATE ROLE tls_su LOGIN SUPERUSER PASSWORD '{PW}'"),
    );
    psql("postgres", "CREATE DATABASE src");
    psql("postgres", "CREATE DATABASE qa");
    psql(
        "src",
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100)",
    );
    let url = |mode: &str| {
        format!(
            "host=127.0.0.1 port={} user=tls_su password={PW} dbname=postgres sslmode={mode}",
            c.port()
        )
    };
    let live_restore = |mode: &str, ca: Option<&Path>| {
        let mut cmd = restore();
        cmd.args(["--json", "--source-db", "src", "--qa-db", "qa", "--check"])
            .arg("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .env("SOURCE_DATABASE_URL", url(mode))
            .env("QA_DATABASE_URL", url(mode))
            .env("TMPDIR", tmp.path());
        if let Some(ca) = ca {
            cmd.env("PGSSLROOTCERT", ca);
        }
        cmd.output().unwrap()
    };

    let out = live_restore("require", None);
    assert!(
        out.status.success(),
        "sslmode=require: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(psql("qa", "SELECT count(*) FROM items"), "100");

    let ca = c.ca_file().unwrap();
    // The binary's way to verify (README): PGSSLROOTCERT makes it verify-full.
    let out = live_restore("require", Some(&ca));
    assert!(
        out.status.success(),
        "PGSSLROOTCERT (verify-full): {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = live_restore("disable", None);
    assert_eq!(
        out.status.code(),
        Some(3),
        "sslmode=disable must be refused"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains(PW), "{err}");
}

/// Issue #19, "interrupts are clean": SIGINT and SIGTERM at every step of a live restore,
/// and a run killed with `kill -9` whose leftovers the next run removes. Each test has its
/// own throwaway cluster (`ops_core::restore::local`) and temp folders, removed when it ends,
/// also by a panic; a binary still running then is killed with its process group.
mod interrupts {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use ops_core::restore::local::{Cluster, Options};

    use super::{binary_tmp, entries, restore};

    const DEADLINE: Duration = Duration::from_secs(180);

    fn cluster(tmp: &Path, prefix: &str) -> Cluster {
        Cluster::start(&Options {
            prefix: prefix.into(),
            parent: Some(tmp.to_path_buf()),
            extra_conf: "fsync = off\nsynchronous_commit = off\nfull_page_writes = off".into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn psql(c: &Cluster, db: &str, sql: &str) -> String {
        let out = Command::new(c.bin().join("psql"))
            .arg("-h")
            .arg(c.dir())
            .args(["-p", &c.port().to_string(), "-U", "postgres", "-d", db])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The "production" database every run dumps.
    fn seed_source(c: &Cluster) {
        psql(c, "postgres", "CREATE DATABASE src");
        psql(
            c,
            "src",
            "CREATE TABLE items (id int PRIMARY KEY, email text);
             INSERT INTO items SELECT i, 'p' || i || '@gmail.com' FROM generate_series(1, 2000) i;
             CREATE TABLE orders (id int PRIMARY KEY, item int REFERENCES items(id));
             INSERT INTO orders SELECT i, i FROM generate_series(1, 2000) i;",
        );
    }

    /// A QA database with content of its own, to tell "unchanged" from "swapped".
    fn seed_qa(c: &Cluster, qa: &str) -> String {
        psql(c, "postgres", &format!("CREATE DATABASE {qa}"));
        psql(
            c,
            "postgres",
            &format!("COMMENT ON DATABASE {qa} IS 'the old qa'"),
        );
        psql(
            c,
            qa,
            "CREATE TABLE old_marker (v int); INSERT INTO old_marker VALUES (42)",
        );
        oid(c, qa)
    }

    fn oid(c: &Cluster, db: &str) -> String {
        psql(
            c,
            "postgres",
            &format!("SELECT oid FROM pg_database WHERE datname = '{db}'"),
        )
    }

    fn exists(c: &Cluster, db: &str) -> bool {
        psql(
            c,
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        ) == "1"
    }

    /// A running `restore` binary, in a process group of its own (signalled like a
    /// terminal's Ctrl-C signals its foreground group), with its stderr collected line by
    /// line. Dropped while running: its group is killed.
    struct Running {
        child: Child,
        stderr: Arc<Mutex<Vec<String>>>,
        reader: Option<std::thread::JoinHandle<()>>,
    }

    impl Running {
        fn spawn(c: &Cluster, qa: &str, tmp: &Path, pause: Option<(&str, &Path)>) -> Running {
            Self::spawn_with(c, qa, tmp, pause, "dump")
        }

        /// [`Running::spawn`] with `--engine <engine>`.
        fn spawn_with(
            c: &Cluster,
            qa: &str,
            tmp: &Path,
            pause: Option<(&str, &Path)>,
            engine: &str,
        ) -> Running {
            use std::os::unix::process::CommandExt;
            let url = format!(
                "host={} port={} user=postgres dbname=postgres",
                c.dir().display(),
                c.port()
            );
            let mut cmd = restore();
            cmd.args(["--json", "--source-db", "src", "--qa-db", qa, "--jobs", "2"])
                .args(["--engine", engine])
                .args(["--check", "SELECT count(*) > 0 FROM items"])
                .arg("--sanitize")
                .arg(sanitize_script(tmp))
                .arg("--bin-dir")
                .arg(c.bin())
                .env("SOURCE_DATABASE_URL", &url)
                .env("QA_DATABASE_URL", &url)
                .env("TMPDIR", tmp)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0);
            if let Some((step, release)) = pause {
                cmd.env("OPS_RESTORE_TEST_PAUSE", step)
                    .env("OPS_RESTORE_TEST_RELEASE", release);
            }
            let mut child = cmd.spawn().unwrap();
            let stderr = Arc::new(Mutex::new(Vec::new()));
            let (pipe, lines) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push(line);
                }
            });
            Running {
                child,
                stderr,
                reader: Some(reader),
            }
        }

        fn stderr_text(&self) -> String {
            self.stderr.lock().unwrap().join("\n")
        }

        /// The first stderr line containing `prefix`, waiting for it (the run must not
        /// end first).
        fn wait_line(&mut self, prefix: &str) -> String {
            let deadline = Instant::now() + DEADLINE;
            loop {
                if let Some(l) = self
                    .stderr
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|l| l.contains(prefix))
                {
                    return l.clone();
                }
                if let Some(status) = self.child.try_wait().unwrap() {
                    panic!(
                        "the restore ended ({status}) before printing `{prefix}`:\n{}",
                        self.stderr_text()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "no `{prefix}` on stderr after {DEADLINE:?}:\n{}",
                    self.stderr_text()
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }

        fn signal(&self, sig: &str, group: bool) {
            let target = if group {
                format!("-{}", self.child.id())
            } else {
                self.child.id().to_string()
            };
            let ok = Command::new("kill")
                .args([&format!("-{sig}"), "--", &target])
                .status()
                .unwrap();
            assert!(ok.success(), "kill -{sig} {target}");
        }

        /// Exit code, stdout, stderr (waits up to the deadline).
        fn finish(mut self) -> (Option<i32>, String, String) {
            let deadline = Instant::now() + DEADLINE;
            let status = loop {
                if let Some(s) = self.child.try_wait().unwrap() {
                    break s;
                }
                assert!(
                    Instant::now() < deadline,
                    "the restore did not end within {DEADLINE:?} of the signal:\n{}",
                    self.stderr_text()
                );
                std::thread::sleep(Duration::from_millis(5));
            };
            if let Some(r) = self.reader.take() {
                r.join().unwrap();
            }
            let mut out = String::new();
            if let Some(mut o) = self.child.stdout.take() {
                use std::io::Read;
                o.read_to_string(&mut out).unwrap();
            }
            (status.code(), out, self.stderr_text())
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", self.child.id())])
                    .status();
                let _ = self.child.wait();
            }
        }
    }

    /// Kills a tool's process group when dropped (a test that fails must not leave a
    /// stopped `pg_restore` behind).
    struct KillGroup(Option<u32>);

    impl Drop for KillGroup {
        fn drop(&mut self) {
            if let Some(pid) = self.0 {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }

    fn sanitize_script(tmp: &Path) -> PathBuf {
        let p = tmp.join("mask.sql");
        if !p.exists() {
            std::fs::write(
                &p,
                "UPDATE items SET email = 'c' || id || '@example.invalid'",
            )
            .unwrap();
        }
        p
    }

    /// The run's dump folders left in `tmp`.
    fn dump_folders(tmp: &Path) -> Vec<String> {
        entries(tmp)
            .into_iter()
            .filter(|n| n.starts_with("ops-restore-"))
            .collect()
    }

    /// Whether `pid` is a live (non-zombie) process.
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            let state = s[s.rfind(')').unwrap() + 1..].split_whitespace().next();
            state != Some("Z")
        })
    }

    const STEPS: &[&str] = &[
        "preflight",
        "dump",
        "inspect",
        "prepare",
        "restore",
        "verify",
        "sanitize",
        "analyze",
        "checks",
        "carry-settings",
        "swap",
        "prune",
    ];

    use super::STREAM_STEPS;

    /// `sig` at every step: the documented code, one `error:` line saying the step and
    /// QA's state, no working copy, no dump folder, tools dead, QA unchanged (or, from the
    /// swap on, fully swapped and open).
    fn at_every_step(sig: &str, code: i32, group: bool) {
        at_every_step_of("dump", STEPS, sig, code, group);
    }

    /// [`at_every_step`] with `engine`, whose steps are `steps`.
    fn at_every_step_of(engine: &str, steps: &[&str], sig: &str, code: i32, group: bool) {
        let tmp = binary_tmp();
        let c = cluster(tmp.path(), &format!("restore-cli-{sig}-{engine}-"));
        seed_source(&c);
        for step in steps {
            let qa = format!("q_{}_{}", sig.to_lowercase(), step.replace('-', "_"));
            let old = seed_qa(&c, &qa);
            let run_tmp = tmp.path().join(&qa);
            std::fs::create_dir(&run_tmp).unwrap();
            let release = run_tmp.join("release");
            let mut run = Running::spawn_with(&c, &qa, &run_tmp, Some((step, &release)), engine);
            let line = run.wait_line("test hook: paused in step ");
            assert!(
                line.ends_with(step) || line.contains(&format!("{step} (tool pid")),
                "{line}"
            );
            // In `copy` the pid is the worker's session on the source (a server process),
            // not a tool of ours.
            let tool = line
                .split("(tool pid ")
                .nth(1)
                .map(|p| p.trim_end_matches(')').parse::<u32>().unwrap())
                .filter(|_| *step != "copy");
            let _tool_group = KillGroup(tool);
            run.signal(sig, group);
            if *step == "swap" {
                // The swap is never cut short: it goes on once released, then the run stops.
                // A second signal meanwhile changes nothing: logged, the swap still ends
                // whole.
                run.wait_line(&format!("SIG{sig} received: stopping"));
                run.signal(sig, group);
                run.wait_line(&format!("SIG{sig} received again"));
                std::fs::write(&release, "").unwrap();
            }
            let (status, out, err) = run.finish();
            let ctx = format!("{sig} at `{step}`:\n{err}");
            assert_eq!(status, Some(code), "{ctx}");
            assert!(
                out.is_empty(),
                "no report of an interrupted run: {out}\n{ctx}"
            );
            let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
            assert_eq!(errors.len(), 1, "{ctx}");
            assert_eq!(err.lines().last(), Some(errors[0]), "{ctx}");
            let want =
                format!("error: interrupted by SIG{sig} during step `{step}` of the restore: ");
            assert!(errors[0].starts_with(&want), "{ctx}");
            assert!(
                errors[0].ends_with("the working copy and the dump folder are removed"),
                "{ctx}"
            );
            assert!(
                !exists(&c, &format!("{qa}_next")),
                "working copy left: {ctx}"
            );
            assert_eq!(dump_folders(&run_tmp), Vec::<String>::new(), "{ctx}");
            if let Some(pid) = tool {
                assert!(!alive(pid), "the tool (pid {pid}) still runs: {ctx}");
            }
            assert_eq!(
                psql(
                    &c,
                    "postgres",
                    &format!("SELECT datallowconn FROM pg_database WHERE datname = '{qa}'")
                ),
                "t",
                "QA is open: {ctx}"
            );
            assert_eq!(
                psql(
                    &c,
                    "postgres",
                    &format!(
                        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{qa}'"
                    )
                ),
                "the old qa",
                "QA keeps its comment: {ctx}"
            );
            let swapped = matches!(*step, "swap" | "prune");
            if swapped {
                assert!(
                    errors[0].contains(&format!("`{qa}` is the new copy, fully")),
                    "{ctx}"
                );
                assert_ne!(oid(&c, &qa), old, "{ctx}");
                assert_eq!(psql(&c, &qa, "SELECT count(*) FROM items"), "2000", "{ctx}");
                assert_eq!(
                    psql(
                        &c,
                        &qa,
                        "SELECT count(*) FROM items WHERE email NOT LIKE '%@example.invalid'"
                    ),
                    "0",
                    "sanitised: {ctx}"
                );
                // The old QA, whole, is the previous copy (closed to connections).
                let prev = psql(
                    &c,
                    "postgres",
                    &format!("SELECT oid FROM pg_database WHERE datname LIKE '{qa}\\_prev\\_%'"),
                );
                assert_eq!(prev, old, "{ctx}");
            } else {
                assert!(errors[0].contains(&format!("`{qa}` is unchanged")), "{ctx}");
                assert_eq!(oid(&c, &qa), old, "QA is the same database: {ctx}");
                assert_eq!(psql(&c, &qa, "SELECT v FROM old_marker"), "42", "{ctx}");
            }
        }
    }

    #[test]
    fn sigint_to_the_process_group_at_every_step() {
        at_every_step("INT", 130, true);
    }

    #[test]
    fn sigterm_at_every_step() {
        at_every_step("TERM", 143, false);
    }

    /// The same with the stream engine (issue #24): SIGINT to the group at each of its steps.
    #[test]
    fn sigint_at_every_step_of_the_stream_engine() {
        at_every_step_of("stream", STREAM_STEPS, "INT", 130, true);
    }

    /// `kill -9` mid-restore leaves the marked working copy and dump folder; the next run
    /// removes them (and says so) and succeeds. While the run was alive, a second run of the
    /// same QA was refused and one of another QA left its things alone. An unmarked
    /// `<qa>_next` is never dropped.
    #[test]
    fn kill_9_leftovers_are_removed_by_the_next_run() {
        let tmp = binary_tmp();
        let c = cluster(tmp.path(), "restore-cli-kill9-");
        seed_source(&c);
        let qa = "q_killed";
        seed_qa(&c, qa);
        let run_tmp = tmp.path().join(qa);
        std::fs::create_dir(&run_tmp).unwrap();
        let release = run_tmp.join("release");
        let mut run = Running::spawn(&c, qa, &run_tmp, Some(("restore", &release)));
        let line = run.wait_line("test hook: paused in step restore");
        let tool: u32 = line
            .split("(tool pid ")
            .nth(1)
            .unwrap()
            .trim_end_matches(')')
            .parse()
            .unwrap();
        let tool_group = KillGroup(Some(tool));
        let folder = dump_folders(&run_tmp);
        assert_eq!(folder.len(), 1, "{folder:?}");

        // Two runners at once. The same QA: refused by the advisory lock, before it looks for
        // leftovers. Another QA, same temp folder: it runs, and leaves the live run's working
        // copy and dump folder alone.
        let (status, _, err) = Running::spawn(&c, qa, &run_tmp, None).finish();
        assert_eq!(status, Some(1), "{err}");
        assert!(
            err.lines()
                .last()
                .unwrap()
                .contains("is running (advisory lock is held)"),
            "{err}"
        );
        seed_qa(&c, "q_beside");
        let (status, out, err) = Running::spawn(&c, "q_beside", &run_tmp, None).finish();
        assert_eq!(status, Some(0), "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["leftovers_removed"], serde_json::json!([]), "{v}");
        assert!(exists(&c, &format!("{qa}_next")));
        assert_eq!(dump_folders(&run_tmp), folder);

        run.signal("KILL", false);
        let (status, _, err) = run.finish();
        assert_eq!(status, None, "killed by the signal: {err}");
        // `kill -9` of the binary alone leaves its tool running (in a group of its own); a
        // service manager stopping the unit kills it too: so does this test.
        drop(tool_group);
        assert!(
            exists(&c, &format!("{qa}_next")),
            "the marked working copy is left"
        );
        let comment = psql(
            &c,
            "postgres",
            &format!(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{qa}_next'"
            ),
        );
        assert!(
            comment.starts_with("ops-core restore working copy of `q_killed`: run="),
            "{comment}"
        );
        let left = dump_folders(&run_tmp);
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(run_tmp.join(&left[0]).join("ops-restore-owner").exists());
        // The killed run's session (and its advisory lock) ends when the server notices.
        let deadline = Instant::now() + DEADLINE;
        while psql(
            &c,
            "postgres",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
        ) != "0"
        {
            assert!(
                Instant::now() < deadline,
                "the killed run's lock is still held"
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        let (status, out, err) = Running::spawn(&c, qa, &run_tmp, None).finish();
        assert_eq!(status, Some(0), "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let removed: Vec<String> = v["leftovers_removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(
            removed[0].starts_with(&format!("working copy `{qa}_next` of interrupted run ")),
            "{removed:?}"
        );
        assert!(
            removed[1].starts_with("dump folder ") && removed[1].contains(&left[0]),
            "{removed:?}"
        );
        assert!(
            err.contains("removed the working copy of an interrupted run"),
            "{err}"
        );
        assert_eq!(dump_folders(&run_tmp), Vec::<String>::new());
        assert!(!exists(&c, &format!("{qa}_next")));
        assert_eq!(psql(&c, qa, "SELECT count(*) FROM items"), "2000");

        // A `<qa>_next` nobody marked: refused, and left alone.
        let other = "q_unmarked";
        seed_qa(&c, other);
        psql(&c, "postgres", &format!("CREATE DATABASE {other}_next"));
        psql(
            &c,
            &format!("{other}_next"),
            "CREATE TABLE precious (v int)",
        );
        let (status, _, err) = Running::spawn(&c, other, &run_tmp, None).finish();
        assert_eq!(status, Some(2), "{err}");
        let last = err.lines().last().unwrap();
        assert!(
            last.contains(&format!(
                "`{other}_next` exists but no restore run marked it"
            )),
            "{last}"
        );
        assert_eq!(
            psql(
                &c,
                &format!("{other}_next"),
                "SELECT count(*) FROM precious"
            ),
            "0"
        );
    }
}
