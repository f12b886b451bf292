//! What the `restore` and `restore_engines` benches share: the scale switch, the cluster's
//! settings, and the source database (the generated ~1.9 GB database in the shape of
//! `shared/reference/postgres/mkprod2.sql`, or a bench's own few-MB `small` source).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::restore_support::Cluster;

/// The settings the reference timings were measured with (fsync on).
const BENCH_CONF: &str = "shared_buffers = 1GB\nmaintenance_work_mem = 512MB\n\
                          max_wal_size = 8GB\ncheckpoint_timeout = 30min";

/// Settings of the small mode: the bench's, without the big buffers.
const SMALL_CONF: &str = "max_wal_size = 1GB";

/// Runs a bench's body on a two-worker runtime (the machine's cores).
pub(crate) fn block_on(bench: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench);
}

pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// `RESTORE_BENCH_SCALE`: `small` (true) or `full` (false, the default).
pub(crate) fn small() -> bool {
    match std::env::var("RESTORE_BENCH_SCALE").as_deref() {
        Ok("small") => true,
        Ok("full") | Err(_) => false,
        Ok(other) => panic!("RESTORE_BENCH_SCALE={other}: want `small` or `full`"),
    }
}

/// A throwaway cluster with the bench's settings (removed on drop).
pub(crate) fn cluster(small: bool) -> Cluster {
    Cluster::start(if small { SMALL_CONF } else { BENCH_CONF })
}

/// Creates the database `source` (`small_sql` in the small mode, else mkprod2), prints its
/// size and how long it took (after `note`, e.g. the tools' versions), and returns its size
/// in bytes.
pub(crate) fn make_source(c: &Cluster, small: bool, small_sql: &str, note: &str) -> u64 {
    println!(
        "cluster on port {} ({}){note}; generating the {} source database…",
        c.port,
        c.bin.display(),
        if small { "small" } else { "full-size" }
    );
    let t = Instant::now();
    c.psql("postgres", "CREATE DATABASE source");
    if small {
        c.psql("source", small_sql);
    } else {
        let mk = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/reference/postgres/mkprod2.sql"
        ));
        c.psql_file("source", mk);
    }
    let size: u64 = c
        .psql("postgres", "SELECT pg_database_size('source')")
        .parse()
        .unwrap();
    println!(
        "source: {:.3} GB generated in {:.1} s",
        size as f64 / 1e9,
        secs(t.elapsed())
    );
    size
}
