//! The `restore` command: restore a production Postgres dump into QA (and roll back).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand};
use ops_core::restore::{
    CancelToken, CheckQuery, DumpSource, Engine, LocaleFrom, PgServer, Plan,
    Progress as RestoreProgress, RestoreError, RestoreJob, RestoreOptions, RestoreReport,
    RollbackOptions, SpaceCheck, SpaceOutcome, SqlScript, rollback,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::cli::{CliError, Secrets};
use crate::progress::{Progress, human_bytes};

/// Connection flags shared by `restore` and `restore rollback`.
#[derive(Debug, Args, Clone, Default)]
pub struct QaArgs {
    /// The QA *server* as a libpq string or `postgres://` URL; its dbname is the maintenance
    /// database (default `postgres`), not QA. Prefer the environment: a password in argv is
    /// visible to every user of the machine. Default: built from PGHOST, PGPORT, PGUSER,
    /// PGPASSWORD, PGSSLMODE. TLS as libpq: set PGSSLROOTCERT to verify the server's
    /// certificate and host name (verify-full).
    #[arg(long, env = "QA_DATABASE_URL", hide_env_values = true)]
    pub qa_url: Option<String>,
    /// The QA database that gets replaced.
    #[arg(long, env = "QA_DATABASE", default_value = "qa")]
    pub qa_db: String,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run on a throwaway local PostgreSQL cluster with a seeded "production" database `shop`.
    #[arg(long)]
    pub sandbox: bool,
    /// A QA database or host name the production guard lets through although it looks like
    /// production (`qa_live_demo`); repeatable, or comma-separated in the environment.
    #[arg(
        long,
        value_name = "NAME",
        env = "RESTORE_GUARD_ALLOW",
        value_delimiter = ','
    )]
    pub guard_allow: Vec<String>,
}

/// Flags of `restore`.
#[derive(Debug, Args, Clone, Default)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RestoreArgs {
    /// Connection and output flags.
    #[command(flatten)]
    pub qa: QaArgs,
    /// Restore from this dump (custom `-Fc` file or directory format).
    #[arg(long, value_name = "FILE", conflicts_with = "source_url")]
    pub dump: Option<PathBuf>,
    /// Dump a live production server first (libpq string or URL; read access is enough).
    #[arg(long, env = "SOURCE_DATABASE_URL", hide_env_values = true)]
    pub source_url: Option<String>,
    /// The production database to dump (with `--source-url`).
    #[arg(long, env = "SOURCE_DATABASE")]
    pub source_db: Option<String>,
    /// Parallel `pg_restore`/`pg_dump` jobs (default: CPUs).
    #[arg(long)]
    pub jobs: Option<u32>,
    /// SQL script run on the new database before the swap (masking PII…); repeatable.
    #[arg(long, value_name = "FILE")]
    pub sanitize: Vec<PathBuf>,
    /// A query that must return true on the new database before the swap; repeatable.
    #[arg(long, value_name = "SQL")]
    pub check: Vec<String>,
    /// Previous QA copies kept for `rollback`.
    #[arg(long, default_value_t = 1)]
    pub keep_previous: usize,
    /// Directory of `pg_restore`/`pg_dump` (default: PATH).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Print what would be done and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The free-space check before anything is written: `auto` (measure the data directory
    /// when the server is local), `off`, or the free bytes where the copy will go.
    #[arg(long, value_name = "auto|off|BYTES", env = "RESTORE_SPACE_CHECK", default_value = "auto", value_parser = parse_space_check)]
    pub space_check: SpaceCheck,
    /// How a live source is copied: `stream` (rows streamed with COPY between the servers,
    /// no dump of the data), `dump` (pg_dump to disk, then pg_restore), or `auto` (stream
    /// for a live source that can export a snapshot, dump otherwise and for dump files).
    #[arg(long, value_name = "auto|dump|stream", env = "RESTORE_ENGINE", default_value = "auto", value_parser = parse_engine)]
    pub engine: Engine,
}

/// `auto`, `dump` or `stream`.
fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse().map_err(|e: RestoreError| e.to_string())
}

/// `auto`, `off` or a number of bytes.
fn parse_space_check(s: &str) -> Result<SpaceCheck, String> {
    match s {
        "auto" => Ok(SpaceCheck::Auto),
        "off" => Ok(SpaceCheck::Off),
        n => n
            .parse()
            .map(SpaceCheck::Available)
            .map_err(|_| format!("`{n}` is not `auto`, `off` or a number of bytes")),
    }
}

/// `restore` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum RestoreCommand {
    /// Swap the newest previous copy back in as QA.
    Rollback(QaArgs),
}

/// Build a libpq connection string from the PG* environment variables.
fn from_pg_env() -> Option<SecretString> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let host = get("PGHOST")?;
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut s = format!("host={}", quote(&host));
    if let Some(p) = get("PGPORT") {
        s.push_str(&format!(" port={}", quote(&p)));
    }
    if let Some(u) = get("PGUSER") {
        s.push_str(&format!(" user={}", quote(&u)));
    }
    if let Some(pw) = get("PGPASSWORD") {
        s.push_str(&format!(" password={}", quote(&pw)));
    }
    // verify-ca / verify-full become `require` here; PGSSLROOTCERT turns verification on
    // (see `server`).
    match get("PGSSLMODE").as_deref() {
        Some(m @ ("disable" | "prefer" | "require")) => s.push_str(&format!(" sslmode={m}")),
        Some("verify-ca" | "verify-full") => s.push_str(" sslmode=require"),
        _ => {}
    }
    Some(SecretString::from(s))
}

/// Parse a connection string into a server, remembering its password as a secret (also
/// the state database's, `OPS_STATE_URL`).
pub(crate) fn server(
    conn: SecretString,
    what: &str,
    flag: &str,
    secrets: &mut Secrets,
) -> Result<PgServer, CliError> {
    if let Ok(cfg) = conn.expose_secret().parse::<tokio_postgres::Config>() {
        if let Some(pw) = cfg.get_password() {
            secrets.add(&SecretString::from(
                String::from_utf8_lossy(pw).into_owned(),
            ));
        }
    }
    secrets.add(&conn);
    let server = PgServer::new(conn).map_err(|e| {
        CliError::bad_input(format!(
            "the {what} connection string is invalid: fix {flag}"
        ))
        .with_source(e)
    })?;
    // libpq's variables for certificate verification (verify-full when a CA file is set).
    let mode = std::env::var("PGSSLMODE").unwrap_or_default();
    match std::env::var_os("PGSSLROOTCERT").filter(|v| !v.is_empty()) {
        Some(ca) => server.verify_tls_with(&ca).map_err(|e| {
            CliError::bad_input(format!(
                "cannot verify the {what} server's certificate: fix PGSSLROOTCERT"
            ))
            .with_source(e)
        }),
        None if mode == "verify-ca" || mode == "verify-full" => Err(CliError::bad_input(format!(
            "PGSSLMODE={mode} needs PGSSLROOTCERT (the CA file to verify the {what} server with)"
        ))),
        None => Ok(server),
    }
}

fn warn_password_in_argv(flag: &str, env: &str) {
    let in_argv = std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if in_argv {
        tracing::warn!(
            "{flag} was given on the command line: a password in it is visible to other users (ps); \
             prefer {env} or PGPASSWORD"
        );
    }
}

fn qa_server(args: &QaArgs, secrets: &mut Secrets) -> Result<PgServer, CliError> {
    let conn = match &args.qa_url {
        Some(u) => {
            warn_password_in_argv("--qa-url", "QA_DATABASE_URL");
            SecretString::from(u.clone())
        }
        None => from_pg_env().ok_or_else(|| {
            CliError::bad_input(
                "no QA server: set QA_DATABASE_URL (or PGHOST/PGPORT/PGUSER/PGPASSWORD), or pass --qa-url, or use --sandbox",
            )
        })?,
    };
    server(conn, "QA", "--qa-url / QA_DATABASE_URL", secrets)
}

/// The JSON shape of a restore report.
pub fn report_json(r: &RestoreReport) -> serde_json::Value {
    json!({
        "qa_database": r.qa_database,
        "previous": r.previous,
        "dropped": r.dropped,
        "engine": r.engine.to_string(),
        "items_restored": r.items_restored,
        "tables_counted": r.tables_counted,
        "swap_window_ms": r.swap_window.as_secs_f64() * 1000.0,
        "total_ms": r.total.as_secs_f64() * 1000.0,
        "steps": r.steps.iter().map(|(s, d)| json!({"step": s.to_string(), "ms": d.as_secs_f64() * 1000.0})).collect::<Vec<_>>(),
        "leftovers_removed": r.leftovers_removed,
    })
}

/// SIGINT and SIGTERM for the `restore` binary: the first one cancels the run's
/// [`CancelToken`] (the workflow then cleans up and returns), later ones are logged and
/// change nothing (the cleanup goes on: see `examples/README.md`, "Interrupts").
#[derive(Debug, Clone)]
pub struct Interrupt {
    token: CancelToken,
    /// The first signal's number (0: none yet).
    signal: Arc<AtomicU8>,
}

impl Interrupt {
    /// Install the handlers now (inside the runtime, before any work: a signal that
    /// arrives from here on is always handled). A handler that cannot be installed never
    /// fires.
    pub fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let this = Self {
            token: CancelToken::new(),
            signal: Arc::new(AtomicU8::new(0)),
        };
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        let (token, first) = (this.token.clone(), Arc::clone(&this.signal));
        tokio::spawn(async move {
            loop {
                let got = async |s: &mut Option<tokio::signal::unix::Signal>| match s {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                };
                let sig: u8 = tokio::select! {
                    Some(()) = got(&mut int) => 2,
                    Some(()) = got(&mut term) => 15,
                    else => break,
                };
                if first
                    .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    tracing::warn!(
                        "{} received: stopping; killing pg_dump/pg_restore, dropping the working copy and removing the dump folder",
                        signal_name(sig)
                    );
                    token.cancel();
                } else {
                    tracing::warn!(
                        "{} received again: already stopping, the cleanup goes on (a swap that has begun finishes first);                          SIGKILL would leave the working copy and dump folder for the next restore to remove",
                        signal_name(sig)
                    );
                }
            }
        });
        this
    }

    /// The token the workflow watches.
    pub fn token(&self) -> CancelToken {
        self.token.clone()
    }

    /// The first signal received, if any.
    fn received(&self) -> Option<u8> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    fn error(&self, what: &str) -> CliError {
        let signal = self.received().unwrap_or(2);
        CliError::new(
            crate::cli::ExitKind::Interrupted { signal },
            format!("interrupted by {} {what}", signal_name(signal)),
        )
    }

    /// `work`, unless a signal comes first: then `work` is dropped (only for work that
    /// leaves nothing half-done when dropped: starting the sandbox, a rollback's reads).
    async fn race<T>(
        &self,
        work: impl Future<Output = Result<T, CliError>>,
        what: &str,
    ) -> Result<T, CliError> {
        tokio::select! {
            r = work => r,
            () = self.token.cancelled() => Err(self.error(&format!("{what}: nothing was changed"))),
        }
    }
}

fn signal_name(sig: u8) -> &'static str {
    match sig {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// `OPS_RESTORE_TEST_PAUSE=<step>` and `OPS_RESTORE_TEST_RELEASE=<file>`, for the process
/// tests only: at `<step>` the run prints `test hook: paused in step <step>` on stderr and
/// waits (interruptible, except inside the swap) until `<file>` exists.
fn with_test_pause(job: RestoreJob) -> RestoreJob {
    let (Ok(want), Ok(release)) = (
        std::env::var("OPS_RESTORE_TEST_PAUSE"),
        std::env::var("OPS_RESTORE_TEST_RELEASE"),
    ) else {
        return job;
    };
    job.test_pause(move |step, pid| {
        if step.to_string() != want {
            return Box::pin(std::future::ready(()));
        }
        let pid = pid.map(|p| format!(" (tool pid {p})")).unwrap_or_default();
        eprintln!("test hook: paused in step {step}{pid}");
        let release = PathBuf::from(&release);
        Box::pin(async move {
            while !release.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    })
}

/// Where the working copy's locale comes from, for the dry run.
fn locale_from(plan: &Plan) -> &'static str {
    match plan.locale_from {
        LocaleFrom::Qa => "QA",
        LocaleFrom::Source => "the source",
        _ => "cluster defaults",
    }
}

/// The free-space check, for the dry run's JSON.
fn space_json(space: &SpaceOutcome) -> serde_json::Value {
    match space {
        SpaceOutcome::Enough {
            location,
            needed,
            available,
        } => {
            json!({"checked": true, "location": location, "needed_bytes": needed, "available_bytes": available})
        }
        SpaceOutcome::Skipped(why) => json!({"checked": false, "skipped": why}),
        other => json!({"checked": false, "skipped": other.to_string()}),
    }
}

/// Run a prepared job with a progress display; returns the report.
pub async fn run_job(job: RestoreJob) -> Result<RestoreReport, CliError> {
    run_job_with(job, None).await
}

/// [`run_job`], stopped cleanly by `interrupt`'s signals.
pub async fn run_job_with(
    job: RestoreJob,
    interrupt: Option<&Interrupt>,
) -> Result<RestoreReport, CliError> {
    let job = match interrupt {
        Some(i) => with_test_pause(job.cancel_on(i.token())),
        None => job,
    };
    let qa = job.next_name().trim_end_matches("_next").to_owned();
    let progress = Arc::new(Progress::new("restore"));
    let p = Arc::clone(&progress);
    let job = job.on_progress(move |ev| match ev {
        RestoreProgress::StepStarted(step) => p.message(&format!("{step}…")),
        RestoreProgress::Restore {
            items_done,
            items_total,
            bytes,
            ..
        } => p.update(
            *items_done as u64,
            *items_total as u64,
            &format!("items, {}", human_bytes(*bytes)),
        ),
        _ => {}
    });
    let result = job.run().await;
    progress.finish(if result.is_ok() { "done" } else { "stopped" });
    result.map_err(|e| {
        if let (ops_core::Error::Restore(r), Some(i)) = (&e, interrupt) {
            if let RestoreError::Interrupted {
                step,
                swapped,
                left_behind,
            } = r.as_ref()
            {
                let state = if *swapped {
                    format!("the swap had committed, so `{qa}` is the new copy, fully (the previous one is kept for rollback)")
                } else {
                    format!("`{qa}` is unchanged")
                };
                let left = if left_behind.is_empty() {
                    "the working copy and the dump folder are removed".to_owned()
                } else {
                    format!(
                        "not removed, for the next restore to remove: {}",
                        left_behind.join(", ")
                    )
                };
                return i.error(&format!("during step `{step}` of the restore: {state}; {left}"));
            }
        }
        CliError::from_workflow(
            "the restore into QA failed (QA was left as it was unless the error says otherwise)",
            e,
        )
    })
}

/// The sandbox: a cluster with `shop` (production) and an old `qa`.
pub async fn sandbox_cluster(
    customers: u32,
) -> Result<crate::sandbox::postgres::Cluster, CliError> {
    let cluster = tokio::task::spawn_blocking(crate::sandbox::postgres::Cluster::start)
        .await
        .map_err(|e| CliError::other("sandbox start task").with_source(e))??;
    cluster.seed(customers).await?;
    tracing::info!(
        customers,
        orders = customers * 4,
        "sandbox: seeded production database `shop`"
    );
    Ok(cluster)
}

/// The sanitise script and check the sandbox uses (mask customer emails).
pub fn sandbox_sanitize() -> (SqlScript, CheckQuery) {
    (
        SqlScript::new(
            "mask-emails",
            "UPDATE customers SET email = 'customer' || id || '@example.invalid'",
        ),
        CheckQuery::new(
            "no real emails",
            "SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'",
        ),
    )
}

/// Run `restore` (or `restore rollback`).
pub async fn run(
    args: RestoreArgs,
    command: Option<RestoreCommand>,
    secrets: &mut Secrets,
    interrupt: &Interrupt,
) -> Result<(), CliError> {
    if let Some(RestoreCommand::Rollback(qa)) = command {
        return run_rollback(qa, secrets, interrupt).await;
    }
    let mut options = RestoreOptions {
        keep_previous: args.keep_previous,
        bin_dir: args.bin_dir.clone(),
        progress_interval: Duration::from_millis(250),
        space_check: args.space_check,
        engine: args.engine,
        ..RestoreOptions::default()
    };
    options
        .production_guard
        .allow
        .extend(args.qa.guard_allow.iter().map(|n| n.trim().to_owned()));
    if let Some(j) = args.jobs {
        if j == 0 {
            return Err(CliError::bad_input("--jobs must be at least 1"));
        }
        options.jobs = j;
    }
    for path in &args.sanitize {
        options
            .sanitize
            .push(SqlScript::from_file(path).map_err(|e| {
                CliError::bad_input(format!(
                    "cannot read the sanitise script {}: check the path",
                    path.display()
                ))
                .with_source(e)
            })?);
    }
    for (i, sql) in args.check.iter().enumerate() {
        options
            .checks
            .push(CheckQuery::new(format!("check-{}", i + 1), sql.clone()));
    }
    let cluster;
    let (qa_server, source) = if args.qa.sandbox {
        cluster = interrupt
            .race(sandbox_cluster(2000), "while starting the sandbox")
            .await?;
        let (script, check) = sandbox_sanitize();
        options.sanitize.push(script);
        options.checks.push(check);
        options
            .bin_dir
            .get_or_insert_with(|| cluster.bin_dir().to_path_buf());
        let source = match &args.dump {
            Some(d) => DumpSource::File(d.clone()),
            None => DumpSource::Database {
                server: cluster.server()?,
                database: "shop".to_owned(),
            },
        };
        (cluster.server()?, source)
    } else {
        let qa = qa_server(&args.qa, secrets)?;
        let source = match (&args.dump, &args.source_url) {
            (Some(d), _) => DumpSource::File(d.clone()),
            (None, Some(url)) => {
                warn_password_in_argv("--source-url", "SOURCE_DATABASE_URL");
                let Some(db) = &args.source_db else {
                    return Err(CliError::bad_input(
                        "--source-url needs --source-db (or SOURCE_DATABASE): the production database to dump",
                    ));
                };
                DumpSource::Database {
                    server: server(
                        SecretString::from(url.clone()),
                        "source",
                        "--source-url / SOURCE_DATABASE_URL",
                        secrets,
                    )?,
                    database: db.clone(),
                }
            }
            (None, None) => {
                return Err(CliError::bad_input(
                    "nothing to restore: pass --dump FILE, or --source-url (SOURCE_DATABASE_URL) with --source-db",
                ));
            }
        };
        (qa, source)
    };
    if let DumpSource::File(p) = &source {
        if !p.exists() {
            return Err(CliError::bad_input(format!(
                "the dump {} does not exist: check --dump",
                p.display()
            )));
        }
    }
    let job = RestoreJob::new(qa_server.clone(), args.qa.qa_db.clone(), source.clone())
        .options(options.clone());
    if args.dry_run {
        // The same reads and refusals as a run's preflight; nothing is written.
        let found = job.plan().await.map_err(|e| {
            CliError::from_workflow("the dry run's preflight failed (nothing was changed)", e)
        })?;
        let src = match (&source, found.engine) {
            (DumpSource::File(p), _) => format!("dump file {}", p.display()),
            (DumpSource::Database { server, database }, Engine::Stream) => format!(
                "`{database}` on {} streamed with COPY in one snapshot (stream engine)",
                server.host_label()
            ),
            (DumpSource::Database { server, database }, _) => {
                format!(
                    "pg_dump -Fd -Z{} of `{database}` on {}",
                    options.dump_compression,
                    server.host_label()
                )
            }
            _ => "source".to_owned(),
        };
        let steps: Vec<String> = job
            .steps(found.engine)
            .iter()
            .map(ToString::to_string)
            .collect();
        let plan = json!({
            "dry_run": true,
            "qa_server": qa_server.host_label(),
            "qa_database": args.qa.qa_db,
            "working_copy": job.next_name(),
            "source": src,
            "jobs": options.jobs,
            "sanitize": options.sanitize.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "checks": options.checks.len(),
            "keep_previous": options.keep_previous,
            "qa_exists": found.qa_exists,
            "working_copy_locale": found.working_copy_locale.as_ref().map(ToString::to_string),
            "locale_from": locale_from(&found),
            "locale_differences": found.locale_differences,
            "free_space": space_json(&found.space),
            "engine": found.engine.to_string(),
            "steps": steps,
        });
        if args.qa.json {
            crate::emit_json(&plan);
        } else {
            crate::emit(format!(
                "dry run: would restore {src} into `{}` on {} with {} jobs, run {} sanitise script(s) and {} check(s), then swap it in as `{}` keeping {} previous copy(ies); nothing was changed",
                job.next_name(),
                qa_server.host_label(),
                options.jobs,
                options.sanitize.len(),
                options.checks.len(),
                args.qa.qa_db,
                options.keep_previous
            ));
            crate::emit(format!(
                "working copy's encoding and locale: {} (from {})",
                found
                    .working_copy_locale
                    .as_ref()
                    .map_or_else(|| "the cluster's defaults".to_owned(), ToString::to_string),
                locale_from(&found)
            ));
            for d in &found.locale_differences {
                crate::emit(format!("locale differs, QA's is kept: {d}"));
            }
            crate::emit(format!("free space: {}", found.space));
        }
        return Ok(());
    }
    let report = run_job_with(job, Some(interrupt)).await?;
    if args.qa.json {
        crate::emit_json(&report_json(&report));
    } else {
        crate::emit(format!(
            "restored {} items into `{}` in {:.1} s; QA was unavailable for {:.0} ms during the swap; previous copy: {}",
            report.items_restored,
            report.qa_database,
            report.total.as_secs_f64(),
            report.swap_window.as_secs_f64() * 1000.0,
            report.previous.as_deref().unwrap_or("none")
        ));
        for line in &report.leftovers_removed {
            crate::emit(format!("removed what an interrupted run left: {line}"));
        }
    }
    Ok(())
}

/// A rollback is one swap and is never cut short by a signal (stopped midway, it could leave
/// QA closed): it finishes and reports; only the sandbox's start and its first restore stop
/// on a signal.
async fn run_rollback(
    qa: QaArgs,
    secrets: &mut Secrets,
    interrupt: &Interrupt,
) -> Result<(), CliError> {
    let cluster;
    let server = if qa.sandbox {
        // A fresh sandbox has nothing to roll back to: restore once, then roll back.
        cluster = interrupt
            .race(sandbox_cluster(500), "while starting the sandbox")
            .await?;
        let (script, check) = sandbox_sanitize();
        let job = RestoreJob::new(
            cluster.server()?,
            qa.qa_db.clone(),
            DumpSource::Database {
                server: cluster.server()?,
                database: "shop".into(),
            },
        )
        .options(RestoreOptions {
            bin_dir: Some(cluster.bin_dir().to_path_buf()),
            sanitize: vec![script],
            checks: vec![check],
            ..RestoreOptions::default()
        });
        run_job_with(job, Some(interrupt)).await?;
        tracing::info!("sandbox: restored once so that there is a previous copy to roll back to");
        cluster.server()?
    } else {
        qa_server(&qa, secrets)?
    };
    let mut options = RollbackOptions::default();
    options
        .production_guard
        .allow
        .extend(qa.guard_allow.iter().map(|n| n.trim().to_owned()));
    let report = rollback(&server, &qa.qa_db, &options)
        .await
        .map_err(|e| CliError::from_workflow(format!("rollback of `{}` failed", qa.qa_db), e))?;
    if let Some(sig) = interrupt.received() {
        tracing::warn!(
            "{} received during the rollback: it finished first (a swap is never cut short)",
            signal_name(sig)
        );
    }
    if qa.json {
        crate::emit_json(&json!({
            "qa_database": qa.qa_db,
            "restored_from": report.restored_from,
            "rolled_back_to": report.rolled_back_to,
            "dropped": report.dropped,
            "swap_window_ms": report.swap_window.as_secs_f64() * 1000.0,
        }));
    } else {
        crate::emit(format!(
            "rolled `{}` back to {}; the replaced copy {} {}",
            qa.qa_db,
            report.restored_from,
            report.rolled_back_to,
            if report.dropped {
                "was dropped"
            } else {
                "was kept"
            }
        ));
    }
    Ok(())
}
