//! `status`: the status summary and page from nagios-api. See `examples/README.md`.

use clap::Parser;
use ops_examples::cli::{Secrets, finish};
use ops_examples::formats;
use ops_examples::status_cmd::{StatusArgs, run};

/// Status summary (text, JSON, HTML) from nagios-api, optionally served on loopback.
#[derive(Debug, Parser)]
#[command(name = "status", version, after_long_help = formats::help(
    "Exit codes: 0 success (also --serve stopped with Ctrl-C); 1 a local failure (--html \
     not writable); 2 bad input (flags, environment, config, credentials nagios-api or its \
     proxy rejected); 3 nagios-api failed or is unreachable. The config format, every field \
     shown:",
    Some(formats::STATUS_EXAMPLE),
))]
struct Cli {
    #[command(flatten)]
    args: StatusArgs,
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
    let result = run(cli.args, &mut secrets).await;
    finish(result, &secrets)
}
