//! `demo`: the README's first command. Runs the main job end to end on the sandbox —
//! provision a small fleet, sync SSH keys, show the status summary, tear down, and restore a
//! seeded production database into QA — and prints what happened.

use std::time::Instant;

use clap::Parser;
use ops_examples::cli::{CliError, Secrets, finish, render_error};
use ops_examples::{emit, restore_cmd, status_cmd};

/// Run the whole job on the sandbox (no cloud account needed).
#[derive(Debug, Parser)]
#[command(name = "demo", version)]
struct Cli {
    /// Debug logging (logs go to stderr; the story goes to stdout).
    #[arg(short, long)]
    verbose: bool,
    /// Customers in the seeded production database.
    #[arg(long, default_value_t = 5000)]
    customers: u32,
}

struct Part {
    name: &'static str,
    outcome: Result<(), String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ops_examples::logging::init(cli.verbose);
    let secrets = Secrets::new();
    let started = Instant::now();
    emit(
        "ops workspace demo: everything below runs on loopback fakes and a throwaway local Postgres",
    );
    let mut parts = Vec::new();

    // Start the Postgres sandbox in the background: it is the slowest part to set up.
    let customers = cli.customers;
    let pg = tokio::spawn(async move { restore_cmd::sandbox_cluster(customers).await });

    for (name, why) in [
        (
            "provision a small fleet",
            "the ops-core adapters to the real clients have not landed yet",
        ),
        (
            "sync SSH keys",
            "the ops-core adapters to the real clients have not landed yet",
        ),
    ] {
        emit(format!("\n== {name}: NOT RUN ({why})"));
        parts.push(Part {
            name,
            outcome: Err(format!("missing: {why}")),
        });
    }

    emit("\n== status summary from nagios-api (fake)");
    let outcome = status_part(&secrets).await;
    parts.push(Part {
        name: "status summary",
        outcome,
    });

    emit("\n== teardown: NOT RUN (needs provision)");
    parts.push(Part {
        name: "teardown",
        outcome: Err("missing: needs provision".into()),
    });

    emit("\n== restore the production database `shop` into QA");
    let outcome = match pg.await {
        Ok(Ok(cluster)) => restore_part(&cluster).await,
        Ok(Err(e)) => Err(e),
        Err(e) => Err(CliError::other("sandbox task").with_source(e)),
    }
    .map_err(|e| render_error(&e, &secrets));
    if let Err(e) = &outcome {
        emit(format!("   failed: {e}"));
    }
    parts.push(Part {
        name: "restore into QA",
        outcome,
    });

    emit(format!(
        "\n== summary ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));
    let mut failed = 0;
    for p in &parts {
        match &p.outcome {
            Ok(()) => emit(format!("   ok      {}", p.name)),
            Err(e) => {
                failed += 1;
                emit(format!(
                    "   {:<7} {}: {e}",
                    if e.starts_with("missing") {
                        "missing"
                    } else {
                        "FAILED"
                    },
                    p.name
                ));
            }
        }
    }
    let result = if failed == 0 {
        Ok(())
    } else if failed < parts.len() {
        Err(CliError::partial(format!(
            "{failed} of {} demo parts did not run or failed (see above)",
            parts.len()
        )))
    } else {
        Err(CliError::other("no demo part succeeded"))
    };
    finish(result, &secrets)
}

async fn status_part(secrets: &Secrets) -> Result<(), String> {
    let args = status_cmd::StatusArgs {
        sandbox: true,
        ..Default::default()
    };
    let mut s = secrets.clone();
    let run = async {
        let target = status_cmd::target(&args, &mut s).await?;
        let summary = status_cmd::summary(&target).await?;
        for l in status_cmd::text(&summary) {
            emit(format!("   {l}"));
        }
        Ok::<_, CliError>(())
    };
    run.await.map_err(|e| {
        let line = render_error(&e, secrets);
        emit(format!("   failed: {line}"));
        line
    })
}

async fn restore_part(cluster: &ops_examples::sandbox::postgres::Cluster) -> Result<(), CliError> {
    use ops_core::restore::{DumpSource, RestoreJob, RestoreOptions};
    let before = cluster
        .query_one("qa", "SELECT count(*) FROM customers")
        .await?;
    let prod = cluster
        .query_one("shop", "SELECT count(*) FROM orders")
        .await?;
    emit(format!(
        "   production `shop`: {prod} orders; QA `qa` before: {before} stale customer row(s)"
    ));
    let (script, check) = restore_cmd::sandbox_sanitize();
    let job = RestoreJob::new(
        cluster.server()?,
        "qa",
        DumpSource::Database {
            server: cluster.server()?,
            database: "shop".into(),
        },
    )
    .options(RestoreOptions {
        jobs: 2,
        bin_dir: Some(cluster.bin_dir().to_path_buf()),
        sanitize: vec![script],
        checks: vec![check],
        progress_interval: std::time::Duration::from_millis(250),
        ..RestoreOptions::default()
    });
    let report = restore_cmd::run_job(job).await?;
    let after = cluster
        .query_one("qa", "SELECT count(*) FROM orders")
        .await?;
    let email = cluster
        .query_one("qa", "SELECT email FROM customers ORDER BY id LIMIT 1")
        .await?;
    emit(format!(
        "   restored {} items (pg_dump -Fd -Z1, pg_restore -j2), verified {} table row counts, masked emails (e.g. {email})",
        report.items_restored, report.tables_counted
    ));
    emit(format!(
        "   QA now has {after} orders; QA was unavailable for {:.0} ms during the swap; previous copy kept as {}; total {:.1} s",
        report.swap_window.as_secs_f64() * 1000.0,
        report.previous.as_deref().unwrap_or("none"),
        report.total.as_secs_f64()
    ));
    Ok(())
}
