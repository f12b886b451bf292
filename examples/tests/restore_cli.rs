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

/// Ctrl-C while the sandbox restore dumps its source: the run stops with one error line, and
/// before the process exits it has removed the dump folder and the sandbox cluster.
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
    assert_eq!(out.status.code(), Some(1), "{err}");
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
