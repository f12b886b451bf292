//! Restore-to-QA benchmark on a generated database of about 1.8 GB in the
//! shape of `shared/reference/postgres/mkprod2.sql`.
//!
//! In one run, on one throwaway cluster (settings as in the reference notes):
//! raw `pg_restore -j2` into a fresh database (before and after the workflow,
//! to expose noise), this workflow's total time (a run of its own: the probe's
//! load would slow it, as it slows a raw restore), and QA's longest
//! unavailability during a first workflow run, seen by a probe that opens a new connection to QA every
//! 20 ms and checks the data (`1,1` = last order present and the FK built).
//! Unavailability is measured as in the reference notes (end of the last good
//! probe to the start of the next good one, around failed probes); the
//! longest interval between two good probes is printed too (an upper bound
//! that includes the probe period).
//!
//! Targets: total ≤ 1.15 × raw restore; unavailability ≤ 0.5 s.
//!
//! Run (several minutes; needs the PostgreSQL server binaries and ~10 GB free
//! in the temp dir): `cargo bench -p ops-workflows --bench restore`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/restore_support/mod.rs"]
mod restore_support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ops_core::restore::{DumpSource, RestoreJob, RestoreOptions, RowCountManifest};
use restore_support::Cluster;

/// The settings the reference timings were measured with (fsync on).
const BENCH_CONF: &str = "shared_buffers = 1GB\nmaintenance_work_mem = 512MB\n\
                          max_wal_size = 8GB\ncheckpoint_timeout = 30min";

const PROBE_SQL: &str = "SELECT (SELECT count(*) FROM orders WHERE id = 4000000) || ',' || \
                         (SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fkey')";

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn raw_restore(c: &Cluster, dump: &Path) -> Duration {
    c.psql("postgres", "CHECKPOINT");
    c.psql("postgres", "CREATE DATABASE raw TEMPLATE template0");
    let mut cmd = Command::new(c.bin.join("pg_restore"));
    c.libpq_env(&mut cmd);
    cmd.args(["-j2", "-d", "raw"]).arg(dump);
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "raw pg_restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.psql("postgres", "DROP DATABASE raw");
    took
}

struct Probe {
    start: Instant,
    end: Instant,
    ok: bool,
}

/// A probe that opens a new connection to QA every 20 ms and checks the data, until the
/// flag is set.
fn spawn_probe(conninfo: String) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<Probe>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let probe = tokio::spawn(async move {
        let mut probes = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while !stop2.load(Ordering::Relaxed) {
            tick.tick().await;
            let start = Instant::now();
            let ok = async {
                let (cl, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                let row = cl.query_one(PROBE_SQL, &[]).await.ok()?;
                Some(row.get::<_, String>(0) == "1,1")
            }
            .await
            .unwrap_or(false);
            probes.push(Probe {
                start,
                end: Instant::now(),
                ok,
            });
        }
        probes
    });
    (stop, probe)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let c = Cluster::start(BENCH_CONF);
    let mk = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/postgres/mkprod2.sql"
    ));
    println!(
        "cluster on port {} ({}), generating the source database…",
        c.port,
        c.bin.display()
    );
    let t = Instant::now();
    c.psql("postgres", "CREATE DATABASE source");
    c.psql_file("source", mk);
    let size: f64 = c
        .psql("postgres", "SELECT pg_database_size('source')")
        .parse()
        .unwrap();
    println!(
        "source: {:.2} GB generated in {:.1} s",
        size / 1e9,
        secs(t.elapsed())
    );
    assert!(size >= 1e9, "the benchmark needs at least 1 GB");

    let dump = c.dumps.join("source.dump");
    let t = Instant::now();
    c.pg_dump("source", &dump);
    let dump_size = std::fs::metadata(&dump).unwrap().len();
    println!(
        "dump: pg_dump -Fc -Z1 {:.0} MB in {:.1} s",
        dump_size as f64 / 1e6,
        secs(t.elapsed())
    );
    let manifest = RowCountManifest::collect(&c.server(), "source", 2)
        .await
        .unwrap();
    let mut side = dump.clone().into_os_string();
    side.push(".rowcounts.json");
    manifest.save(Path::new(&side)).unwrap();
    c.psql(
        "postgres",
        "CREATE DATABASE qa TEMPLATE source STRATEGY FILE_COPY",
    );

    let raw1 = raw_restore(&c, &dump);
    println!("raw pg_restore -j2 (before): {:.2} s", secs(raw1));

    // The workflow, with a probe on QA throughout.
    c.psql("postgres", "CHECKPOINT");
    let (stop, probe) = spawn_probe(c.conninfo("qa"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    let job = || {
        RestoreJob::new(c.server(), "qa", DumpSource::File(dump.clone())).options(RestoreOptions {
            jobs: 2,
            bin_dir: Some(c.bin.clone()),
            ..RestoreOptions::default()
        })
    };
    let report_probed = job().run().await.unwrap();
    let wall_probed = t.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let probes = probe.await.unwrap();

    let mut longest = Duration::ZERO;
    let mut longest_between_ok = Duration::ZERO;
    let mut last_ok: Option<Instant> = None;
    let mut pending_gap = false;
    for p in &probes {
        if p.ok {
            if let Some(end) = last_ok {
                longest_between_ok = longest_between_ok.max(p.end - end);
                if pending_gap {
                    longest = longest.max(p.start - end);
                }
            }
            last_ok = Some(p.end);
            pending_gap = false;
        } else {
            pending_gap = true;
        }
    }
    let failed = probes.iter().filter(|p| !p.ok).count();
    let max_latency = probes
        .iter()
        .filter(|p| p.ok)
        .map(|p| p.end - p.start)
        .max()
        .unwrap_or_default();

    // The workflow again without the probe: on a small machine the probe's 50 connections
    // a second slow any restore (raw or not), so the time ratio is measured without it.
    c.psql("postgres", "CHECKPOINT");
    let t = Instant::now();
    let report = job().run().await.unwrap();
    let wall = t.elapsed();

    let raw2 = raw_restore(&c, &dump);
    let raw = (raw1 + raw2) / 2;
    println!("raw pg_restore -j2 (after):  {:.2} s", secs(raw2));
    println!(
        "workflow under the QA probe: {:.2} s (swap window {:.0} ms)",
        secs(wall_probed),
        secs(report_probed.swap_window) * 1e3
    );
    println!();
    println!("steps:");
    for (step, d) in &report.steps {
        println!("  {step:<15} {:>8.3} s", secs(*d));
    }
    let ratio = secs(wall) / secs(raw);
    println!();
    println!("database size              {:.2} GB", size / 1e9);
    println!("raw pg_restore -j2 (mean)  {:.2} s", secs(raw));
    println!(
        "workflow total             {:.2} s  = {ratio:.3} x raw  (target <= 1.15: {})",
        secs(wall),
        if ratio <= 1.15 { "met" } else { "MISSED" }
    );
    println!(
        "swap window (server side)  {:.0} ms",
        secs(report_probed.swap_window) * 1e3
    );
    println!(
        "QA longest unavailability  {:.0} ms  (target <= 500 ms: {}); {failed} of {} probes failed; max probe latency {:.0} ms",
        secs(longest) * 1e3,
        if longest <= Duration::from_millis(500) {
            "met"
        } else {
            "MISSED"
        },
        probes.len(),
        secs(max_latency) * 1e3
    );
    println!(
        "longest interval between two good probes {:.0} ms",
        secs(longest_between_ok) * 1e3
    );
}
