//! `demo`: the README's first command. Runs the main job end to end on the sandbox —
//! provision a small fleet, sync SSH keys, show the status summary, tear down, and restore a
//! seeded production database into QA — and prints what happened.

use std::time::Instant;

use clap::Parser;
use ops_examples::cli::{CliError, Secrets, finish, render_error};
use ops_examples::fleet_cmd::{self, DnsProvider, Providers, State};
use ops_examples::sandbox::providers::{FLEET, Fakes, ZONE};
use ops_examples::{emit, restore_cmd, status_cmd};
use std::sync::Arc;

/// Run the whole job on the sandbox (no cloud account needed).
#[derive(Debug, Parser)]
#[command(name = "demo", version)]
struct Cli {
    /// Debug logging (logs go to stderr; the story goes to stdout).
    #[arg(short, long)]
    verbose: bool,
    /// Only warnings and the error line on stderr (for cron): nothing when all is well.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
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
    ops_examples::logging::init(cli.verbose, cli.quiet);
    let secrets = Secrets::new();
    let started = Instant::now();
    emit(
        "ops workspace demo: everything below runs on loopback fakes and a throwaway local Postgres",
    );
    let mut parts = Vec::new();

    // Start the Postgres sandbox in the background: it is the slowest part to set up.
    let customers = cli.customers;
    let pg = tokio::spawn(async move { restore_cmd::sandbox_cluster(customers).await });

    let fleet = fleet_parts(&secrets, &mut parts).await;
    drop(fleet);

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

const DEMO_STATUS_TOML: &str = r#"
page_name = "Sandbox fleet"
[[components]]
name = "Web"
members = ["web-01", "web-02"]
[[components]]
name = "Database"
members = ["db-01:PostgreSQL"]
"#;

fn record(parts: &mut Vec<Part>, name: &'static str, r: Result<(), CliError>, secrets: &Secrets) {
    let outcome = r.map_err(|e| {
        let line = render_error(&e, secrets);
        emit(format!("   failed: {line}"));
        line
    });
    parts.push(Part { name, outcome });
}

/// Provision, sync keys, status, teardown — over one set of fakes.
async fn fleet_parts(secrets: &Secrets, parts: &mut Vec<Part>) -> Option<Arc<Fakes>> {
    let fakes = match Fakes::start(std::time::Duration::from_millis(1500)).await {
        Ok(f) => Arc::new(f),
        Err(e) => {
            record(parts, "start the fake providers", Err(e), secrets);
            return None;
        }
    };
    let providers = match Providers::from_fakes(Arc::clone(&fakes), DnsProvider::Dyn) {
        Ok(p) => p,
        Err(e) => {
            record(parts, "connect to the fake providers", Err(e), secrets);
            return None;
        }
    };
    let state = match tempfile::Builder::new().prefix("ops-demo-state-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            record(
                parts,
                "state dir",
                Err(CliError::other("temp dir").with_source(e)),
                secrets,
            );
            return None;
        }
    };
    let engine = providers.engine(&State::dir(state.path()), true, false, false);

    emit(format!(
        "\n== provision a fleet of {} hosts (DigitalOcean droplet + Dyn A record + Chef node, droplets boot in 1.5 s)",
        FLEET.len()
    ));
    let r = async {
        let specs = fleet_cmd::load_specs(None, true)?;
        let (engine, task) = fleet_cmd::spawn_progress(engine);
        let report = engine.provision_fleet(&specs).await;
        drop(engine);
        let _ = task.await;
        emit(format!(
            "   {} of {} hosts up, {} zone publish(es) for the batch",
            report.succeeded(),
            report.hosts.len(),
            report.publishes
        ));
        for h in &report.hosts {
            match &h.result {
                Ok(r) => emit(format!(
                    "   ok  {:<7} droplet {:<4} {} -> {}  (journal run {})",
                    h.name,
                    r.droplet_id,
                    r.fqdn,
                    r.addresses.ipv4.map(|a| a.to_string()).unwrap_or_default(),
                    r.run_id
                )),
                Err(f) => emit(format!(
                    "   FAILED {} at {}: {}",
                    h.name,
                    f.step,
                    render_error(&f.error, secrets)
                )),
            }
        }
        fleet_cmd::outcome_result(&report.hosts.iter().collect::<Vec<_>>())
    }
    .await;
    record(parts, "provision a small fleet", r, secrets);

    emit("\n== sync SSH keys (Chef users data bag, DigitalOcean account keys, node run-lists)");
    let r = async {
        let source = fleet_cmd::load_users(None, true)?;
        let first = fleet_cmd::key_sync_with(&providers, &source, ops_core::key_sync::RunOptions::default()).await?;
        let v = fleet_cmd::sync_json(&first);
        emit(format!(
            "   first run: {} writes ({} data bag items, {} account keys added, {} run-lists fixed)",
            v["writes"], v["items_written"], v["keys_added"], v["run_lists_fixed"]
        ));
        let second = fleet_cmd::key_sync_with(&providers, &source, ops_core::key_sync::RunOptions::default()).await?;
        emit(format!(
            "   second run: {} (0 writes: the stored digest matches)",
            fleet_cmd::sync_json(&second)["result"].as_str().unwrap_or("?")
        ));
        Ok(())
    }
    .await;
    record(parts, "sync SSH keys", r, secrets);

    emit("\n== status summary from nagios-api");
    let r = async {
        let config = ops_examples::config::parse_toml(
            DEMO_STATUS_TOML,
            std::path::Path::new("<demo>"),
            "status config",
        )?;
        let target = status_cmd::StatusTarget {
            client: fakes.nagios_client()?,
            config,
            fake: None,
        };
        let summary = status_cmd::summary(&target).await?;
        for l in status_cmd::text(&summary) {
            emit(format!("   {l}"));
        }
        Ok(())
    }
    .await;
    record(parts, "status summary", r, secrets);

    emit("\n== tear the fleet down (DNS records + publish, Chef node and client, droplet)");
    let engine = providers.engine(&State::dir(state.path()), true, false, false);
    let r = async {
        let names: Vec<String> = FLEET.iter().map(|s| (*s).to_owned()).collect();
        let reports =
            fleet_cmd::teardown_with(&engine, &fleet_cmd::targets_for(&names, Some(ZONE)), false)
                .await?;
        for t in &reports {
            emit(format!(
                "   {:<7} {} ({} actions)",
                t.name,
                if t.complete() {
                    "removed"
                } else {
                    "INCOMPLETE"
                },
                t.actions.len()
            ));
        }
        let left = fakes.digitalocean.droplet_count();
        emit(format!("   droplets left on the account: {left}"));
        if reports.iter().all(|r| r.complete()) && left == 0 {
            Ok(())
        } else {
            Err(CliError::partial("teardown incomplete"))
        }
    }
    .await;
    record(parts, "teardown", r, secrets);
    Some(fakes)
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
