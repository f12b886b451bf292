//! `teardown`: remove hosts (DNS, Chef node and client, droplet); safe to re-run.

use std::path::PathBuf;

use clap::Parser;
use ops_examples::cli::{Secrets, interruptible};
use ops_examples::fleet_cmd::{ProviderArgs, teardown};
use ops_examples::formats;
use ops_examples::metrics_file::{MetricsFile, finish};

/// Tear hosts down: DNS records (and publish), Chef node and client, droplet.
#[derive(Debug, Parser)]
#[command(name = "teardown", version, after_long_help = formats::help(
    "Exit codes: 0 every host torn down (or already gone, with a journal of it); 1 \
     interrupted (Ctrl-C: run it again) or a local/journal failure; 2 bad input (flags, \
     environment, spec, rejected credentials, a name that matches nothing, no zone known); 3 \
     no teardown completed (a provider failed); 4 some teardowns are incomplete; 7 another \
     run holds a host's lease (--wait waits). \
     `--spec` takes a provision spec (see `provision --help`).",
    None,
))]
struct Cli {
    /// Host names.
    names: Vec<String>,
    /// The DNS zone of the hosts (their A/AAAA records are removed and the zone published).
    /// Default: the zone each host's latest run journal records; a host with neither is
    /// refused (its records would be left behind).
    #[arg(long)]
    zone: Option<String>,
    /// Tear down every host of this fleet spec (the one given to `provision --spec`), with
    /// the DNS zone and record name it gave each host; instead of names and --zone.
    #[arg(long, value_name = "fleet.toml")]
    spec: Option<PathBuf>,
    /// When another run holds a host name's lease (a provision or teardown of it), wait up to DURATION for it (`90s`,
    /// `15m`; a runner that died is taken over once its lease expires) instead of exiting
    /// 7 at once.
    #[arg(long, value_name = "DURATION", value_parser = ops_examples::fleet_cmd::parse_wait)]
    wait: Option<std::time::Duration>,
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
    cli.providers.lease_wait = cli.wait;
    ops_examples::logging::init(cli.verbose, cli.quiet);
    let mut secrets = Secrets::new();
    let metrics = match MetricsFile::start(cli.metrics_file.as_deref(), "teardown") {
        Ok(m) => m,
        Err(e) => return finish(Err(e), None, &secrets),
    };
    let result = interruptible(
        teardown(
            &cli.providers,
            &cli.names,
            cli.zone.as_deref(),
            cli.spec.as_ref(),
            &mut secrets,
        ),
        "teardown stopped midway; it is re-runnable: run the same command again to finish",
    )
    .await;
    finish(result, metrics.as_ref(), &secrets)
}
