//! `teardown`: remove hosts (DNS, Chef node and client, droplet); safe to re-run.

use clap::Parser;
use ops_examples::cli::{Secrets, finish};
use ops_examples::fleet_cmd::{ProviderArgs, teardown};

/// Tear hosts down: DNS records (and publish), Chef node and client, droplet.
#[derive(Debug, Parser)]
#[command(name = "teardown", version)]
struct Cli {
    /// Host names.
    names: Vec<String>,
    /// The DNS zone of the hosts.
    #[arg(long)]
    zone: Option<String>,
    #[command(flatten)]
    providers: ProviderArgs,
    /// Debug logging.
    #[arg(short, long)]
    verbose: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ops_examples::logging::init(cli.verbose);
    let mut secrets = Secrets::new();
    let result = teardown(
        &cli.providers,
        &cli.names,
        cli.zone.as_deref(),
        &mut secrets,
    )
    .await;
    finish(result, &secrets)
}
