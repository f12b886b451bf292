//! `teardown`: remove hosts (DNS, Chef node and client, droplet); safe to re-run.

use std::path::PathBuf;

use clap::Parser;
use ops_examples::cli::{Secrets, finish};
use ops_examples::fleet_cmd::{ProviderArgs, teardown};

/// Tear hosts down: DNS records (and publish), Chef node and client, droplet.
#[derive(Debug, Parser)]
#[command(name = "teardown", version)]
struct Cli {
    /// Host names.
    names: Vec<String>,
    /// The DNS zone of the hosts (their A/AAAA records are removed and the zone published).
    #[arg(long)]
    zone: Option<String>,
    /// Tear down every host of this fleet spec (the one given to `provision --spec`), with
    /// the DNS zone and record name it gave each host; instead of names and --zone.
    #[arg(long, value_name = "fleet.toml")]
    spec: Option<PathBuf>,
    #[command(flatten)]
    providers: ProviderArgs,
    /// Debug logging.
    #[arg(short, long)]
    verbose: bool,
    /// Only warnings and the error line on stderr (for cron): nothing when all is well.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ops_examples::logging::init(cli.verbose, cli.quiet);
    let mut secrets = Secrets::new();
    let result = teardown(
        &cli.providers,
        &cli.names,
        cli.zone.as_deref(),
        cli.spec.as_ref(),
        &mut secrets,
    )
    .await;
    finish(result, &secrets)
}
