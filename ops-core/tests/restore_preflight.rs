//! The restore's preflight against a real PostgreSQL (issue #19): a live source that is QA
//! under another spelling of the host, the working copy's encoding and locale (an ICU QA),
//! and the free-space check. One throwaway cluster for this file (`restore_support`),
//! listening on 127.0.0.1, 127.0.0.2, ::1 and a unix socket; each test uses its own
//! databases; the last test to end stops the cluster and removes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use ops_core::Error;
use ops_core::restore::{
    DumpSource, Guard, LocaleFrom, LocaleProvider, PgServer, RestoreError, RestoreJob,
    RestoreOptions, SpaceCheck, SpaceOutcome,
};

mod restore_support;
use restore_support::Cluster;

struct Shared {
    c: Cluster,
    dump: OnceLock<PathBuf>,
}

impl std::ops::Deref for Shared {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.c
    }
}

fn cluster() -> Arc<Shared> {
    static CLUSTER: Mutex<Weak<Shared>> = Mutex::new(Weak::new());
    restore_support::shared(&CLUSTER, || Shared {
        c: Cluster::start("fsync = off\nsynchronous_commit = off\nfull_page_writes = off"),
        dump: OnceLock::new(),
    })
}

/// A small source database `pf_shop` and its custom-format dump.
fn dump(c: &Shared) -> &PathBuf {
    c.dump.get_or_init(|| {
        c.psql("postgres", "CREATE DATABASE pf_shop");
        c.psql(
            "pf_shop",
            "CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL);
             INSERT INTO customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 500) g;",
        );
        let path = c.dumps.join("pf_shop.dump");
        c.pg_dump("pf_shop", &path);
        path
    })
}

/// A QA database with old content.
fn make_qa(c: &Cluster, name: &str) {
    c.psql("postgres", &format!("CREATE DATABASE {name}"));
    c.psql(
        name,
        "CREATE TABLE qa_only (note text); INSERT INTO qa_only VALUES ('old qa');",
    );
}

fn restore_err(e: Error) -> RestoreError {
    match e {
        Error::Restore(r) => *r,
        other => panic!("expected a restore error, got {other:?}"),
    }
}

fn options(c: &Cluster) -> RestoreOptions {
    RestoreOptions {
        keep_previous: 0,
        ..c.options()
    }
}

/// `host` spelled as given, over TCP with a password (or a unix socket folder).
fn server_at(c: &Cluster, host: &str) -> PgServer {
    PgServer::new(format!(
        "host={host} port={} user=pf_su password=pf-su-pw dbname=postgres",
        c.port
    ))
    .unwrap()
}

/// `localhost`, `127.0.0.1`, `::1`, the unix socket and a second listen address all reach
/// the same server: a live source that is QA under any of them is refused before anything is
/// written. QA itself is reached over TCP (or the socket, for the TCP spellings' mirror), so
/// no two connection strings have the same host text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_is_the_target_under_every_spelling_of_the_host() {
    let c = cluster();
    c.psql(
        "postgres",
        "CREATE ROLE pf_su LOGIN SUPERUSER PASSWORD 'pf-su-pw'",
    );
    let qa = "pf_id_qa";
    make_qa(&c, qa);
    let before = c.checksums(qa);
    let socket = c.dir.display().to_string();
    let cases: [(&str, &str); 6] = [
        ("127.0.0.1", "localhost"),
        ("127.0.0.1", "::1"),
        ("127.0.0.1", &socket),
        ("127.0.0.1", "127.0.0.2"),
        (&socket, "127.0.0.1"),
        ("::1", "127.0.0.2"),
    ];
    for (qa_host, source_host) in cases {
        let job = RestoreJob::new(
            server_at(&c, qa_host),
            qa,
            DumpSource::Database {
                server: server_at(&c, source_host),
                database: qa.into(),
            },
        )
        .options(options(&c));
        let err = restore_err(job.run().await.unwrap_err());
        assert!(
            matches!(&err, RestoreError::Refused { guard: Guard::SourceIsTarget, detail }
                if detail.contains("system identifier") && detail.contains("oid")),
            "QA at {qa_host}, source at {source_host}: {err:?}"
        );
        assert!(
            err.to_string().contains("another QA database"),
            "says what to do: {err}"
        );
    }
    assert_eq!(c.checksums(qa), before, "QA untouched");
    assert!(!c.db_exists(&format!("{qa}_next")), "nothing was created");

    // Another database on the same server is a fine source, under any spelling.
    dump(&c);
    let plan = RestoreJob::new(
        server_at(&c, "127.0.0.1"),
        qa,
        DumpSource::Database {
            server: server_at(&c, "localhost"),
            database: "pf_shop".into(),
        },
    )
    .options(options(&c))
    .plan()
    .await
    .unwrap();
    assert!(plan.qa_exists);
}

/// The working copy is created with the encoding, provider and ICU locale of the QA it
/// replaces: an ICU (`en`) QA restored from a libc `C` production stays ICU, and `ORDER BY`
/// gives the ICU order; the plan names the difference. A QA that does not exist yet takes the
/// live source's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_icu_qa_keeps_its_locale_and_its_order() {
    let c = cluster();
    // Production: the cluster default, libc `C` (byte order: upper case first).
    c.psql("postgres", "CREATE DATABASE pf_words");
    c.psql(
        "pf_words",
        "CREATE TABLE words (w text); INSERT INTO words VALUES ('b'), ('B'), ('a'), ('A'), ('c');",
    );
    let by_w = "SELECT string_agg(w, ',' ORDER BY w) FROM words";
    assert_eq!(
        c.psql("pf_words", by_w),
        "A,B,a,b,c",
        "C order at the source"
    );
    let qa = "pf_icu_qa";
    c.psql(
        "postgres",
        &format!("CREATE DATABASE {qa} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en'"),
    );
    c.psql(
        qa,
        "CREATE TABLE words (w text); INSERT INTO words VALUES ('old');",
    );
    let source = || DumpSource::Database {
        server: c.server(),
        database: "pf_words".into(),
    };

    let job = RestoreJob::new(c.server(), qa, source()).options(options(&c));
    let plan = job.plan().await.unwrap();
    assert_eq!(plan.locale_from, LocaleFrom::Qa);
    let kept = plan.working_copy_locale.clone().unwrap();
    assert_eq!(kept.provider, LocaleProvider::Icu);
    assert_eq!(kept.icu_locale.as_deref(), Some("en"));
    assert_eq!(
        plan.source_locale.as_ref().unwrap().provider,
        LocaleProvider::Libc
    );
    assert!(
        plan.locale_differences
            .iter()
            .any(|d| d == "locale provider: libc (source) vs icu (QA)"),
        "{:?}",
        plan.locale_differences
    );

    job.run().await.unwrap();
    assert_eq!(
        c.psql(
            "postgres",
            &format!("SELECT datlocprovider::text || ':' || daticulocale || ':' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '{qa}'")
        ),
        "i:en:UTF8"
    );
    assert_eq!(
        c.psql(qa, by_w),
        "a,A,b,B,c",
        "ICU order in the restored QA"
    );

    // No QA yet: the working copy takes the live source's locale (an ICU `de` source here).
    c.psql(
        "postgres",
        "CREATE DATABASE pf_words_de TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'de'",
    );
    c.psql(
        "pf_words_de",
        "CREATE TABLE words (w text); INSERT INTO words VALUES ('x');",
    );
    let fresh = "pf_icu_fresh";
    let job = RestoreJob::new(
        c.server(),
        fresh,
        DumpSource::Database {
            server: c.server(),
            database: "pf_words_de".into(),
        },
    )
    .options(options(&c));
    let plan = job.plan().await.unwrap();
    assert!(!plan.qa_exists);
    assert_eq!(plan.locale_from, LocaleFrom::Source);
    assert!(plan.locale_differences.is_empty());
    job.run().await.unwrap();
    assert_eq!(
        c.psql(
            "postgres",
            &format!("SELECT datlocprovider::text || ':' || daticulocale FROM pg_database WHERE datname = '{fresh}'")
        ),
        "i:de"
    );

    // A dump file and no QA: the cluster's defaults.
    let plan = RestoreJob::new(
        c.server(),
        "pf_nothing_yet",
        DumpSource::File(dump(&c).clone()),
    )
    .options(options(&c))
    .plan()
    .await
    .unwrap();
    assert_eq!(plan.locale_from, LocaleFrom::ClusterDefault);
    assert_eq!(plan.working_copy_locale, None);
}

/// This cluster's data directory is readable here (the test runs as its owner or root): the
/// check measures it. A working copy estimated larger than what is free is refused before
/// anything is written, with both figures; the free figure is injected (the disk is not
/// filled). A role that may not read `data_directory` gets the check skipped, said in the
/// plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_working_copy_must_fit() {
    let c = cluster();
    let dump = dump(&c).clone();
    let qa = "pf_space_qa";
    make_qa(&c, qa);
    let before = c.checksums(qa);
    let dump_bytes = std::fs::metadata(&dump).unwrap().len();

    let plan = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(options(&c))
        .plan()
        .await
        .unwrap();
    let data_dir = c.dir.join("data");
    match &plan.space {
        SpaceOutcome::Enough {
            location,
            needed,
            available,
        } => {
            assert_eq!(
                std::fs::canonicalize(location).unwrap(),
                std::fs::canonicalize(&data_dir).unwrap()
            );
            assert_eq!(*needed, dump_bytes * ops_core::restore::space::DUMP_FACTOR);
            assert!(*available > *needed);
        }
        other => panic!("the local data directory was not measured: {other:?}"),
    }

    // Less free than the estimate: refused before anything is written.
    let free = dump_bytes; // < dump × factor
    let err = RestoreJob::new(c.server(), qa, DumpSource::File(dump.clone()))
        .options(RestoreOptions {
            space_check: SpaceCheck::Available(free),
            ..options(&c)
        })
        .run()
        .await
        .unwrap_err();
    let err = restore_err(err);
    match &err {
        RestoreError::InsufficientSpace {
            working_copy,
            needed,
            available,
            ..
        } => {
            assert_eq!(working_copy, "pf_space_qa_next");
            assert_eq!(*needed, dump_bytes * ops_core::restore::space::DUMP_FACTOR);
            assert_eq!(*available, free);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    let needed = dump_bytes * ops_core::restore::space::DUMP_FACTOR;
    for figure in [needed, free] {
        assert!(
            text.contains(&format!("{figure} bytes")) || text.contains(&format!("{figure} B")),
            "{figure} in {text}"
        );
    }
    assert!(!c.db_exists(&format!("{qa}_next")));
    assert_eq!(c.checksums(qa), before);

    // A live source is estimated from its size; the same refusal.
    let err = RestoreJob::new(
        c.server(),
        qa,
        DumpSource::Database {
            server: c.server(),
            database: "pf_shop".into(),
        },
    )
    .options(RestoreOptions {
        space_check: SpaceCheck::Available(1024),
        ..options(&c)
    })
    .run()
    .await
    .unwrap_err();
    assert!(
        matches!(restore_err(err), RestoreError::InsufficientSpace { estimated_from, .. }
            if estimated_from.contains("source database's size")),
    );
    assert!(!c.db_exists(&format!("{qa}_next")));

    // A least-privilege role cannot read data_directory: skipped, and the plan says why.
    c.psql(
        "postgres",
        &format!(
            "CREATE ROLE pf_admin LOGIN CREATEDB IN ROLE pg_signal_backend; \
             ALTER DATABASE {qa} OWNER TO pf_admin"
        ),
    );
    let plan = RestoreJob::new(c.server_as("pf_admin"), qa, DumpSource::File(dump))
        .options(options(&c))
        .plan()
        .await
        .unwrap();
    assert!(
        matches!(&plan.space, SpaceOutcome::Skipped(why) if why.contains("pg_read_all_settings")),
        "{:?}",
        plan.space
    );
}

/// Where `pg_control_system()` was revoked, a live source cannot be told apart from QA: the
/// run stops with the privilege it needs rather than guess; a dump file needs no such check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_identity_that_cannot_be_read_stops_the_run() {
    let c = cluster();
    dump(&c);
    let qa = "pf_noid_qa";
    make_qa(&c, qa);
    // Revoked in the maintenance database (function privileges are per database), where QA's
    // side is read; superusers (every other test here) are not affected.
    c.psql(
        "postgres",
        &format!(
            "CREATE ROLE pf_noid LOGIN CREATEDB IN ROLE pg_signal_backend; \
             ALTER DATABASE {qa} OWNER TO pf_noid; \
             REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC"
        ),
    );
    let live = RestoreJob::new(
        c.server_as("pf_noid"),
        qa,
        DumpSource::Database {
            server: c.server_as("pf_noid"),
            database: "pf_shop".into(),
        },
    )
    .options(options(&c))
    .plan()
    .await;
    let file = RestoreJob::new(
        c.server_as("pf_noid"),
        qa,
        DumpSource::File(dump(&c).clone()),
    )
    .options(options(&c))
    .plan()
    .await;
    c.psql(
        "postgres",
        "GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC",
    );
    let err = restore_err(live.unwrap_err());
    assert!(
        matches!(&err, RestoreError::MissingPrivilege { privilege: ops_core::restore::Privilege::ServerIdentity { server }, .. }
            if server == "QA"),
        "{err:?}"
    );
    assert!(err.to_string().contains("pg_control_system()"), "{err}");
    assert!(file.is_ok(), "{file:?}");
}
