//! `key-sync`: sync SSH keys to the Chef users data bag, DigitalOcean account keys and node
//! run-lists; change-driven (a converged run makes no writes).

use std::path::PathBuf;

use clap::Parser;
use ops_examples::cli::{Secrets, interruptible};
use ops_examples::fleet_cmd::{ProviderArgs, key_audit, key_revoke, key_sync};
use ops_examples::formats;
use ops_examples::metrics_file::{MetricsFile, finish};

/// Sync SSH keys from a users directory or file.
#[derive(Debug, Parser)]
#[command(name = "key-sync", version, after_long_help = formats::help(
    "Exit codes: 0 synced, up to date, revoked, or an audit without drift; 1 interrupted \
     (Ctrl-C: run it again, it converges) or a local failure; 2 bad input (flags, \
     environment, users source, rejected credentials, the lockout guard, --revoke of a user \
     that matches nothing, a missing or incompatible user_setup cookbook); 3 a provider \
     failed; 5 --audit found drift; 6 --revoke --wait passed its deadline with nodes still \
     holding the key or not reporting; 7 already running (another key-sync holds the users \
     bag's lease; --wait-lease waits). The users format, every field shown:",
    Some(formats::USERS_EXAMPLE),
))]
struct Cli {
    /// Users source: a directory of `*.toml`/`*.json` files or one file.
    #[arg(long, value_name = "DIR|FILE")]
    users: Option<PathBuf>,
    /// Skip the digest short-circuit (catches hand edits and new nodes).
    #[arg(long)]
    full: bool,
    /// Apply even when the lockout guard objects.
    #[arg(long)]
    force: bool,
    /// Fast revoke: mark USER removed everywhere (data bag item, managed
    /// DigitalOcean keys) in one step and list the nodes that still have to
    /// converge.
    #[arg(long, value_name = "USER", conflicts_with_all = ["audit", "full"])]
    revoke: Option<String>,
    /// With --revoke: poll the nodes' user_setup reports (5 s to 60 s apart) until none
    /// holds a key of USER and every node with the recipe has reported, or DURATION
    /// (`90s`, `15m`, `2h`) passes: exits 0 or 6.
    #[arg(long, value_name = "DURATION", requires = "revoke",
          value_parser = ops_examples::fleet_cmd::parse_wait)]
    wait: Option<std::time::Duration>,
    /// Read-only audit, from the nodes' user_setup reports: keys still installed
    /// that should be gone and keys missing (by SHA-256 fingerprint), nodes not
    /// converged since the last key change or not reporting, nodes missing the key
    /// recipe, account keys not in the source. Exits 5 on drift (for cron).
    #[arg(long, conflicts_with_all = ["full", "force"])]
    audit: bool,
    /// When another key-sync holds the users bag's lease, wait up to DURATION for it
    /// (`90s`, `15m`) instead of exiting 7 ("already running").
    #[arg(long, value_name = "DURATION", conflicts_with = "audit",
          value_parser = ops_examples::fleet_cmd::parse_wait)]
    wait_lease: Option<std::time::Duration>,
    #[command(flatten)]
    providers: ProviderArgs,
    /// Write a Prometheus textfile here when the run ends, on success and on failure
    /// (node_exporter's textfile collector; written atomically; see examples/README.md).
    #[arg(long, value_name = "PATH.prom")]
    metrics_file: Option<PathBuf>,
    /// Debug logging.
    #[arg(short, long)]
    verbose: bool,
    /// Only warnings and the error line on stderr (for cron): nothing when all is well.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    cli.providers.lease_wait = cli.wait_lease;
    ops_examples::logging::init(cli.verbose, cli.quiet);
    let mut secrets = Secrets::new();
    let metrics = match MetricsFile::start(cli.metrics_file.as_deref(), "key-sync") {
        Ok(m) => m,
        Err(e) => return finish(Err(e), None, &secrets),
    };
    let work = async {
        if let Some(user) = &cli.revoke {
            key_revoke(&cli.providers, user, cli.force, cli.wait, &mut secrets).await
        } else if cli.audit {
            key_audit(&cli.providers, cli.users.as_ref(), &mut secrets).await
        } else {
            key_sync(
                &cli.providers,
                cli.users.as_ref(),
                cli.full,
                cli.force,
                &mut secrets,
            )
            .await
        }
    };
    let result = interruptible(
        work,
        "key-sync stopped midway; run it again: it converges (a revoke too)",
    )
    .await;
    finish(result, metrics.as_ref(), &secrets)
}
