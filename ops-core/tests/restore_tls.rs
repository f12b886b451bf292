//! The restore workflow over TLS against a real Postgres (a throwaway cluster with `ssl = on`
//! and a `pg_hba.conf` that rejects unencrypted TCP): libpq's `sslmode=require` without
//! verification, `verify-full` against the right and a wrong CA, `sslmode=disable` refused by
//! the server, and a missing CA file refused before any connection.
//!
//! Needs the PostgreSQL server binaries (like `restore.rs`) and the `openssl` command to make
//! the certificates (`.ci/run` installs it); fails with a hint when either is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod restore_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};

use ops_core::Error;
use ops_core::restore::{CheckQuery, DumpSource, PgServer, RestoreError, RestoreJob};
use restore_support::Cluster;

const PW: &str = "tls-test-very-secret";

/// Held by each test; the last one to end stops the cluster, then the certificates go.
struct TlsCluster {
    // Declared (so dropped) before `_certs`: the server is stopped before its key goes.
    c: Cluster,
    ca: PathBuf,
    other_ca: PathBuf,
    _certs: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `openssl` ({e}): install the Debian package `openssl`")
        });
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA that signed nothing of this server's: verification against it must fail.
fn make_other_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "other-ca.key",
            "-out",
            "other-ca.pem",
            "-subj",
            "/CN=ops-core test other-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

fn tls_cluster() -> Arc<TlsCluster> {
    static CLUSTER: Mutex<Weak<TlsCluster>> = Mutex::new(Weak::new());
    restore_support::shared(&CLUSTER, || {
        let certs_dir = tempfile::Builder::new()
            .prefix("ops-restore-tls-")
            .tempdir()
            .unwrap();
        // If this process is killed before the cluster is dropped, removed all the same.
        restore_support::remove_after_exit(certs_dir.path());
        make_other_ca(certs_dir.path());
        // The server's CA, certificate and key, `ssl = on` and unencrypted TCP refused: the
        // launcher's TLS option (the unix socket, trust, stays for the fixtures).
        let c = Cluster::start_tls("fsync = off");
        c.psql(
            "postgres",
            &format!("CREATE ROLE tls_su LOGIN SUPERUSER PASSWORD '{PW}'"),
        );
        c.psql("postgres", "CREATE DATABASE src");
        c.psql(
            "src",
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
        );
        TlsCluster {
            ca: c.ca_file(),
            c,
            other_ca: certs_dir.path().join("other-ca.pem"),
            _certs: certs_dir,
        }
    })
}

fn server(t: &TlsCluster, host: &str, sslmode: &str) -> PgServer {
    PgServer::new(format!(
        "host={host} port={} user=tls_su password={PW} dbname=postgres sslmode={sslmode}",
        t.c.port
    ))
    .unwrap()
}

/// The new database is checked over the workflow's own connection: it must be encrypted.
fn job(server: PgServer, qa: &str) -> RestoreJob {
    let mut options = tls_cluster().c.options();
    options.checks = vec![CheckQuery::new(
        "this connection is encrypted",
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )];
    RestoreJob::new(
        server.clone(),
        qa,
        DumpSource::Database {
            server,
            database: "src".into(),
        },
    )
    .options(options)
}

fn chain(err: &Error) -> String {
    let mut s = format!("{err:?} {err}");
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(e) = src {
        s.push_str(&format!(" | {e}"));
        src = e.source();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_over_tls_as_libpq_require_then_verify_full() {
    let t = tls_cluster();
    t.c.psql("postgres", "CREATE DATABASE qa_tls");

    // sslmode=require: encrypted, certificate not verified (libpq's meaning). pg_dump and
    // pg_restore get PGSSLMODE=require; the server refuses any unencrypted TCP connection.
    let s = server(&t, "127.0.0.1", "require");
    assert_eq!(s.sslmode(), "require");
    assert!(!format!("{s:?}").contains(PW));
    job(s, "qa_tls").run().await.unwrap();
    assert_eq!(t.c.psql("qa_tls", "SELECT count(*) FROM items"), "500");

    // verify-full against the CA that signed the server certificate, by name and by address.
    for host in ["localhost", "127.0.0.1"] {
        let s = server(&t, host, "prefer").verify_tls_with(&t.ca).unwrap();
        assert_eq!(s.sslmode(), "verify-full");
        job(s, "qa_tls").run().await.unwrap();
    }
    assert_eq!(t.c.psql("qa_tls", "SELECT count(*) FROM items"), "500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverifiable_or_unencrypted_connections_change_nothing() {
    let t = tls_cluster();
    t.c.psql("postgres", "CREATE DATABASE qa_tls_refused");
    t.c.psql(
        "qa_tls_refused",
        "CREATE TABLE old (x int); INSERT INTO old VALUES (1);",
    );
    let before = t.c.checksums("qa_tls_refused");

    // A CA that did not sign the server certificate.
    let s = server(&t, "127.0.0.1", "require")
        .verify_tls_with(&t.other_ca)
        .unwrap();
    let err = job(s, "qa_tls_refused").run().await.unwrap_err();
    let text = chain(&err);
    eprintln!("refused as expected: {text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(!text.contains(PW), "{text}");

    // No TLS at all: the server's pg_hba.conf refuses it.
    let err = job(server(&t, "127.0.0.1", "disable"), "qa_tls_refused")
        .run()
        .await
        .unwrap_err();
    let text = chain(&err);
    eprintln!("refused as expected: {text}");
    assert!(
        text.contains("pg_hba.conf") || text.contains("no encryption"),
        "{text}"
    );
    assert_eq!(t.c.checksums("qa_tls_refused"), before, "QA untouched");
    assert!(!t.c.db_exists("qa_tls_refused_next"));
}

#[test]
fn a_missing_or_empty_ca_file_is_refused_before_connecting() {
    let s = PgServer::new("host=127.0.0.1 port=1 user=x").unwrap();
    let err = s
        .clone()
        .verify_tls_with("/nonexistent/ca.pem")
        .err()
        .unwrap();
    assert!(matches!(err, RestoreError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    let empty = tempfile::NamedTempFile::new().unwrap();
    let err = s.verify_tls_with(empty.path()).err().unwrap();
    assert!(
        err.to_string().contains("no usable CA certificate"),
        "{err}"
    );
    // verify-full in the connection string is not silently ignored.
    let err = PgServer::new("host=db sslmode=verify-full sslrootcert=/ca.pem")
        .err()
        .unwrap();
    assert!(err.to_string().contains("verify_tls_with"), "{err}");
}
