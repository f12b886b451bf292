//! The restore workflow proper.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::error::RestoreError;
use super::server::{PgServer, ident};
use super::settings::{self, DbSettings};
use super::swap::{self, cancel_downtime, schedule_downtime};
use super::toc::{self, Toc};
use super::tools;
use super::verify::{self, RowCountManifest};
use super::{DumpSource, Progress, RestoreJob, RestoreReport, RowCounts, Step, validate_name};

/// Expected row counts and how strictly to compare them.
struct Expected {
    counts: BTreeMap<String, i64>,
    tolerance: f64,
    bytes: Option<u64>,
}

struct Run<'a> {
    job: &'a RestoreJob,
    next: String,
    steps: Vec<(Step, Duration)>,
}

impl Run<'_> {
    fn emit(&self, p: &Progress) {
        if let Some(f) = &self.job.progress {
            f(p);
        }
    }

    fn begin(&self, step: Step) -> Instant {
        tracing::info!(%step, database = %self.job.qa, "step started");
        self.emit(&Progress::StepStarted(step));
        Instant::now()
    }

    fn end(&mut self, step: Step, started: Instant) {
        let elapsed = started.elapsed();
        tracing::info!(%step, ?elapsed, database = %self.job.qa, "step finished");
        self.emit(&Progress::StepFinished { step, elapsed });
        self.steps.push((step, elapsed));
    }
}

pub(super) async fn run(job: &RestoreJob) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let mut run = Run {
        job,
        next: job.next_name(),
        steps: Vec::new(),
    };
    let t = run.begin(Step::Preflight);
    let (admin, qa_settings, current_user) = preflight(job).await?;
    run.end(Step::Preflight, t);

    // From here on the working copy may exist: drop it on any failure.
    let outcome = build_and_swap(&mut run, &admin, qa_settings, &current_user).await;
    let result = match outcome {
        Ok(mut report) => {
            report.total = started.elapsed();
            report.steps = std::mem::take(&mut run.steps);
            tracing::info!(
                database = %job.qa,
                total = ?report.total,
                swap_window = ?report.swap_window,
                "restore finished"
            );
            Ok(report)
        }
        Err(e) => {
            tracing::error!(database = %job.qa, error = %e, "restore failed; QA left untouched, dropping the working copy");
            let cleanup = async {
                // A fresh connection: `admin` may be the reason we failed.
                let c = job.server.connect_admin().await?;
                swap::drop_database(&c, &run.next).await
            };
            if let Err(e2) = cleanup.await {
                tracing::error!(database = %run.next, error = %e2, "could not drop the working copy");
            }
            Err(e)
        }
    };
    // Released before returning, after any cleanup (not left to the closing connection,
    // whose lock outlives "done" for a moment: a rollback started right then was refused as
    // "already running" on a loaded machine).
    swap::unlock(&admin, &job.qa).await;
    result
}

/// Guards, privileges and the advisory lock. Returns the lock-holding admin
/// connection, QA's settings (if QA exists) and the current role.
async fn preflight(job: &RestoreJob) -> Result<(Client, Option<DbSettings>, String), RestoreError> {
    let qa = job.qa.as_str();
    let opts = &job.options;
    validate_name("QA database", qa)?;
    opts.production_guard.check("database", qa)?;
    for host in job.server.host_names() {
        opts.production_guard.check("host", &host)?;
    }
    if job.server.maintenance_db() == qa {
        return Err(RestoreError::Refused(format!(
            "`{qa}` is the maintenance database the workflow connects to; use another (e.g. `postgres`)"
        )));
    }
    if let DumpSource::Database { server, database } = &job.source {
        if database == qa && server.host_label() == job.server.host_label() {
            return Err(RestoreError::Refused(format!(
                "the target `{qa}` on {} is the source database",
                server.host_label()
            )));
        }
    }
    if let DumpSource::File(path) = &job.source {
        if !path.exists() {
            return Err(RestoreError::InvalidDump(format!(
                "{} does not exist",
                path.display()
            )));
        }
    }

    let admin = job.server.connect_admin().await?;
    let row = admin
        .query_one(
            "SELECT current_user::text, current_database()::text, r.rolsuper, r.rolcreatedb, r.rolcreaterole, \
             pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') \
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(|e| RestoreError::pg("read the current role's privileges", e))?;
    let user: String = row.get(0);
    let current_db: String = row.get(1);
    let (is_super, createdb, createrole, signal): (bool, bool, bool, bool) =
        (row.get(2), row.get(3), row.get(4), row.get(5));
    if current_db == qa {
        return Err(RestoreError::Refused(format!(
            "`{qa}` is the database this session is connected to"
        )));
    }
    if !is_super && !createdb {
        return Err(RestoreError::MissingPrivilege {
            privilege: format!("CREATEDB (role `{user}`)"),
            needed_for: format!("create the working copy `{}`", job.next_name()),
        });
    }
    if !is_super && !signal {
        return Err(RestoreError::MissingPrivilege {
            privilege: format!("membership in pg_signal_backend (role `{user}`)"),
            needed_for: format!("terminate the sessions on `{qa}` during the swap"),
        });
    }
    let qa_settings = settings::snapshot(&admin, qa).await?;
    if let Some(s) = &qa_settings {
        if s.is_template {
            return Err(RestoreError::Refused(format!(
                "`{qa}` is a template database"
            )));
        }
        if !is_super {
            let owner_ok: bool = admin
                .query_one(
                    "SELECT pg_has_role(current_user, $1::text::name, 'MEMBER')",
                    &[&s.owner],
                )
                .await
                .map_err(|e| RestoreError::pg("check ownership of QA", e))?
                .get(0);
            if !owner_ok {
                return Err(RestoreError::MissingPrivilege {
                    privilege: format!("ownership of `{qa}` (membership in role `{}`)", s.owner),
                    needed_for: format!("rename `{qa}` and give the new copy the same owner"),
                });
            }
            let other_roles = s
                .role_settings
                .iter()
                .any(|(r, _)| r.as_deref().is_some_and(|r| r != user));
            if other_roles && !createrole {
                return Err(RestoreError::MissingPrivilege {
                    privilege: format!("CREATEROLE (role `{user}`)"),
                    needed_for: format!("carry `ALTER ROLE … IN DATABASE {qa} SET` settings"),
                });
            }
        }
    } else {
        tracing::warn!(
            database = qa,
            "QA does not exist yet; it will be created by the swap"
        );
    }
    swap::lock(&admin, qa).await?;
    Ok((admin, qa_settings, user))
}

async fn build_and_swap(
    run: &mut Run<'_>,
    admin: &Client,
    qa_before: Option<DbSettings>,
    current_user: &str,
) -> Result<RestoreReport, RestoreError> {
    let job = run.job;
    let opts = &job.options;
    let qa = job.qa.as_str();
    let next = run.next.clone();
    let bin = opts.bin_dir.as_deref();

    // Dump a live source first, with counts from the same snapshot.
    let mut workdir: Option<tempfile::TempDir> = None;
    let mut snapshot_manifest: Option<RowCountManifest> = None;
    let dump_path: PathBuf = match &job.source {
        DumpSource::File(p) => p.clone(),
        DumpSource::Database { server, database } => {
            let t = run.begin(Step::Dump);
            let mut b = tempfile::Builder::new();
            b.prefix("ops-restore-");
            let dir = match &opts.work_dir {
                Some(w) => b.tempdir_in(w),
                None => b.tempdir(),
            }
            .map_err(|e| RestoreError::io("create the work directory", e))?;
            let path = dir.path().join("dump");
            let manifest = dump_live(run, server, database, &path).await?;
            manifest.save(&dir.path().join("rowcounts.json"))?;
            snapshot_manifest = Some(manifest);
            workdir = Some(dir);
            run.end(Step::Dump, t);
            path
        }
    };

    let t = run.begin(Step::Inspect);
    let toc = Toc::parse(&tools::list_toc(bin, &dump_path).await?);
    let items = toc.item_ids(opts.no_acl);
    if toc.entries.is_empty() {
        return Err(RestoreError::InvalidDump(format!(
            "{} has an empty table of contents",
            dump_path.display()
        )));
    }
    let expected = expected_counts(job, &dump_path, snapshot_manifest).await?;
    run.end(Step::Inspect, t);

    let t = run.begin(Step::Prepare);
    swap::drop_database(admin, &next).await?;
    exec(
        admin,
        &format!("CREATE DATABASE {} TEMPLATE template0", ident(&next)),
        "create the working copy",
    )
    .await?;
    run.end(Step::Prepare, t);

    let t = run.begin(Step::Restore);
    let items_restored = restore(
        run,
        admin,
        &dump_path,
        &items,
        expected.as_ref().and_then(|e| e.bytes),
    )
    .await?;
    run.end(Step::Restore, t);
    drop(workdir);

    let t = run.begin(Step::Verify);
    let client = job.server.connect(&next).await?;
    let present = verify::user_tables(&client).await?;
    let mut failures = verify::missing_tables(&toc, &present);
    let mut tables_counted = 0;
    if let Some(exp) = &expected {
        let wanted: Vec<(String, String)> = present
            .iter()
            .filter(|(s, t)| exp.counts.contains_key(&verify::key(s, t)))
            .cloned()
            .collect();
        let actual = verify::count_rows(&job.server, &next, &wanted, opts.jobs).await?;
        tables_counted = actual.len();
        failures.extend(verify::compare_counts(&exp.counts, &actual, exp.tolerance));
    }
    if !failures.is_empty() {
        return Err(RestoreError::Verification(failures));
    }
    run.end(Step::Verify, t);

    if !opts.sanitize.is_empty() {
        let t = run.begin(Step::Sanitize);
        for script in &opts.sanitize {
            tracing::info!(script = %script.name, "running sanitise script");
            client.batch_execute(&script.sql).await.map_err(|e| {
                RestoreError::pg(format!("run sanitise script `{}`", script.name), e)
            })?;
        }
        run.end(Step::Sanitize, t);
    }

    if opts.analyze {
        let t = run.begin(Step::Analyze);
        let tables = verify::toc_tables_resolved(&toc, &present);
        analyze(&job.server, &next, &tables, opts.jobs).await?;
        run.end(Step::Analyze, t);
    }

    if !opts.checks.is_empty() {
        let t = run.begin(Step::Checks);
        let failures = verify::run_checks(&client, &opts.checks).await;
        if !failures.is_empty() {
            return Err(RestoreError::Verification(failures));
        }
        run.end(Step::Checks, t);
    }
    drop(client);

    let t = run.begin(Step::CarrySettings);
    // Re-read QA's settings: they may have changed during a long restore.
    let qa_now = match qa_before {
        Some(_) => settings::snapshot(admin, qa).await?,
        None => None,
    };
    if let Some(s) = &qa_now {
        for sql in settings::apply_statements(s, &next, current_user) {
            exec(
                admin,
                &sql,
                &format!("carry QA's settings to `{next}` ({sql})"),
            )
            .await?;
        }
    }
    // Nobody may use the copy between now and the swap; our own sessions must be gone.
    exec(
        admin,
        &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", ident(&next)),
        "block connections to the working copy",
    )
    .await?;
    swap::terminate_sessions(admin, &next, opts.terminate_timeout).await?;
    run.end(Step::CarrySettings, t);

    let t = run.begin(Step::Swap);
    let prev = qa_now
        .as_ref()
        .map(|_| format!("{qa}_prev_{}", swap::stamp()));
    let downtime_id =
        schedule_downtime(job.downtime.as_deref(), qa, "restore", opts.downtime_window).await;
    let swapped = swap::swap_in(
        &job.server,
        qa,
        &next,
        prev.as_deref(),
        qa_now.as_ref().is_none_or(|s| s.allow_conn),
        opts.terminate_timeout,
    )
    .await;
    cancel_downtime(job.downtime.as_deref(), downtime_id).await;
    let swap_window = swapped?;
    tracing::info!(database = qa, previous = ?prev, ?swap_window, "swapped");
    run.end(Step::Swap, t);

    // After the swap nothing may fail the run: QA is already the new copy.
    let t = run.begin(Step::Prune);
    let mut dropped = Vec::new();
    let mut previous = prev.clone();
    match swap::previous_copies(admin, qa).await {
        Ok(copies) => {
            for old in copies.into_iter().skip(opts.keep_previous) {
                match swap::drop_database(admin, &old).await {
                    Ok(_) => {
                        if previous.as_deref() == Some(old.as_str()) {
                            previous = None;
                        }
                        dropped.push(old);
                    }
                    Err(e) => {
                        tracing::warn!(database = %old, error = %e, "could not drop an old copy")
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list old copies"),
    }
    run.end(Step::Prune, t);

    Ok(RestoreReport {
        qa_database: qa.to_owned(),
        previous,
        dropped,
        items_restored,
        tables_counted,
        swap_window,
        total: Duration::ZERO,
        steps: Vec::new(),
    })
}

async fn exec(client: &Client, sql: &str, step: &str) -> Result<(), RestoreError> {
    tracing::debug!(sql, "executing");
    client
        .batch_execute(sql)
        .await
        .map_err(|e| RestoreError::pg(step, e))
}

/// Resolve [`RowCounts`] into expected counts (or `None`: presence check only).
async fn expected_counts(
    job: &RestoreJob,
    dump: &Path,
    snapshot: Option<RowCountManifest>,
) -> Result<Option<Expected>, RestoreError> {
    let exact = |m: RowCountManifest| Expected {
        counts: m.tables,
        tolerance: 0.0,
        bytes: m.database_bytes,
    };
    match &job.options.row_counts {
        RowCounts::Off => Ok(None),
        RowCounts::Manifest(p) => Ok(Some(exact(RowCountManifest::load(p)?))),
        RowCounts::Auto => {
            if let Some(m) = snapshot {
                return Ok(Some(exact(m)));
            }
            let mut side = dump.as_os_str().to_owned();
            side.push(".rowcounts.json");
            let side = PathBuf::from(side);
            if side.exists() {
                Ok(Some(exact(RowCountManifest::load(&side)?)))
            } else {
                tracing::warn!(
                    manifest = %side.display(),
                    "no row-count manifest next to the dump: only table presence and checks gate the swap"
                );
                Ok(None)
            }
        }
        RowCounts::Production {
            server,
            database,
            tolerance,
            fallback,
        } => match RowCountManifest::collect(server, database, job.options.jobs).await {
            Ok(m) => Ok(Some(Expected {
                counts: m.tables,
                tolerance: *tolerance,
                bytes: m.database_bytes,
            })),
            Err(e) => match fallback {
                Some(p) => {
                    tracing::warn!(error = %e, manifest = %p.display(), "production not reachable; using the manifest");
                    Ok(Some(exact(RowCountManifest::load(p)?)))
                }
                None => Err(RestoreError::Verification(vec![format!(
                    "production row counts unavailable ({e}) and no fallback manifest is configured"
                )])),
            },
        },
    }
}

/// `pg_dump -Fd -Z<n> -j N` of a live database, with exact row counts taken
/// in the same exported snapshot while the dump runs.
async fn dump_live(
    run: &Run<'_>,
    server: &PgServer,
    database: &str,
    dir: &Path,
) -> Result<RowCountManifest, RestoreError> {
    let opts = &run.job.options;
    let mut holder = server.connect(database).await?;
    let tx = holder
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| RestoreError::pg("open the dump snapshot", e))?;
    let snap: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .map_err(|e| RestoreError::pg("export the dump snapshot", e))?
        .get(0);
    let cmd = tools::dump_command(
        opts.bin_dir.as_deref(),
        server,
        database,
        dir,
        opts.jobs,
        opts.dump_compression,
        Some(&snap),
    );
    let dump = tools::run_streaming(cmd, "pg_dump", |_| {});
    let counts = async {
        let tables = verify::user_tables(&tx).await?;
        let mut out = BTreeMap::new();
        for (s, t) in &tables {
            out.insert(verify::key(s, t), verify::count_one(&tx, s, t).await?);
        }
        let bytes = verify::database_size(&tx, database).await?;
        Ok::<_, RestoreError>(RowCountManifest {
            database: database.to_owned(),
            database_bytes: bytes,
            tables: out,
        })
    };
    let (dumped, manifest) = tokio::join!(dump, counts);
    dumped?;
    let manifest = manifest?;
    tx.commit()
        .await
        .map_err(|e| RestoreError::pg("close the dump snapshot", e))?;
    Ok(manifest)
}

/// Run `pg_restore` into the working copy, reporting progress.
async fn restore(
    run: &Run<'_>,
    admin: &Client,
    dump: &Path,
    items: &std::collections::HashSet<u32>,
    bytes_expected: Option<u64>,
) -> Result<usize, RestoreError> {
    let job = run.job;
    let opts = &job.options;
    let total = items.len();
    let done = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut seen = std::collections::HashSet::new();
    let cmd = tools::restore_command(&job.server, &run.next, dump, opts);
    let report = |items_done: usize, b: u64| {
        let p = Progress::Restore {
            items_done,
            items_total: total,
            bytes: b,
            bytes_expected,
        };
        run.emit(&p);
    };
    let done_l = Arc::clone(&done);
    let bytes_l = Arc::clone(&bytes);
    let child = tools::run_streaming(cmd, "pg_restore", |line| {
        if let Some(id) = toc::done_item(line) {
            if items.contains(&id) && seen.insert(id) {
                let n = done_l.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(items_done = n, items_total = total, "{line}");
                report(n, bytes_l.load(Ordering::Relaxed));
            }
        }
    });
    tokio::pin!(child);
    let mut tick = tokio::time::interval(opts.progress_interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            r = &mut child => break r,
            _ = tick.tick() => {
                if let Ok(Some(b)) = verify::database_size(admin, &run.next).await {
                    bytes.store(b, Ordering::Relaxed);
                    let n = done.load(Ordering::Relaxed);
                    tracing::info!(items_done = n, items_total = total, bytes = b, bytes_expected, "restore progress");
                    report(n, b);
                }
            }
        }
    };
    result?;
    let b = verify::database_size(admin, &run.next).await?.unwrap_or(0);
    report(total, b);
    Ok(total)
}

/// `ANALYZE` the restored tables over `jobs` connections.
async fn analyze(
    server: &PgServer,
    database: &str,
    tables: &[(String, String)],
    jobs: u32,
) -> Result<(), RestoreError> {
    let jobs = usize::try_from(jobs.max(1))
        .unwrap_or(1)
        .min(tables.len().max(1));
    let mut buckets: Vec<Vec<&(String, String)>> = vec![Vec::new(); jobs];
    for (i, t) in tables.iter().enumerate() {
        buckets[i % jobs].push(t);
    }
    let futs = buckets.into_iter().map(|bucket| async move {
        if bucket.is_empty() {
            return Ok(());
        }
        let c = server.connect(database).await?;
        for (s, t) in bucket {
            exec(
                &c,
                &format!("ANALYZE {}.{}", ident(s), ident(t)),
                "analyze the working copy",
            )
            .await?;
        }
        Ok::<_, RestoreError>(())
    });
    for r in futures_util::future::join_all(futs).await {
        r?;
    }
    Ok(())
}
