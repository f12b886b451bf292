//! `provision`: provision hosts (droplet, DNS, Chef) from a spec file. See `examples/README.md`.

use std::path::PathBuf;

use clap::Parser;
use ops_examples::cli::Secrets;
use ops_examples::fleet_cmd::{ChefOverrides, ProviderArgs, provision};
use ops_examples::formats;
use ops_examples::metrics_file::{MetricsFile, finish};

/// Provision hosts — droplet, DNS record, Chef node — safely, resumably, in parallel.
#[derive(Debug, Parser)]
#[command(name = "provision", version, after_long_help = formats::help(
    "Exit codes: 0 every host provisioned; 1 interrupted (Ctrl-C) or a local/journal failure; \
     2 bad input (flags, environment, spec, rejected credentials, unknown run or batch); 3 a \
     provider failed (also a resumed run that was rolling back); 4 some hosts failed; 7 \
     another run holds a host's lease (\"held by run R on host H since T\"; --wait waits). The \
     spec format, every field shown:",
    Some(formats::FLEET_SPEC_EXAMPLE),
))]
struct Cli {
    /// Fleet spec (TOML: `[defaults]` and `[[hosts]]`).
    #[arg(long, value_name = "fleet.toml")]
    spec: Option<PathBuf>,
    /// Continue an interrupted run from its journal (the run id printed by a previous run).
    #[arg(long, value_name = "RUN")]
    resume: Option<String>,
    /// Continue every unfinished host of an interrupted fleet run (the batch id printed
    /// when it was interrupted; hosts that finished are reported as such).
    #[arg(long, value_name = "BATCH", conflicts_with_all = ["spec", "resume"])]
    resume_batch: Option<String>,
    /// On failure keep what was created instead of rolling back.
    #[arg(long)]
    keep_on_failure: bool,
    /// Chef Infra Client version to install on every host (overrides the spec's
    /// `chef.version`; default: the latest).
    #[arg(long, value_name = "VERSION", conflicts_with_all = ["resume", "resume_batch"])]
    chef_version: Option<String>,
    /// `chef_license` for every host's client.rb, e.g. `accept` (overrides the spec's
    /// `chef.license`).
    #[arg(long, value_name = "LICENSE", conflicts_with_all = ["resume", "resume_batch"])]
    chef_license: Option<String>,
    /// When another run holds a host name's lease, wait up to DURATION for it (`90s`,
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
    let metrics = match MetricsFile::start(cli.metrics_file.as_deref(), "provision") {
        Ok(m) => m,
        Err(e) => return finish(Err(e), None, &secrets),
    };
    let result = provision(
        &cli.providers,
        cli.spec.as_ref(),
        cli.resume.as_deref(),
        cli.resume_batch.as_deref(),
        cli.keep_on_failure,
        &ChefOverrides {
            version: cli.chef_version.clone(),
            license: cli.chef_license.clone(),
        },
        &mut secrets,
    )
    .await;
    finish(result, metrics.as_ref(), &secrets)
}
