//! `restore`: restore a production Postgres dump into QA. See `examples/README.md`.

use clap::Parser;
use ops_examples::cli::{Secrets, finish};
use ops_examples::restore_cmd::{RestoreArgs, RestoreCommand, run};

/// Restore a production Postgres dump into QA with a sub-second swap; `rollback` swaps back.
#[derive(Debug, Parser)]
#[command(name = "restore", version)]
struct Cli {
    #[command(flatten)]
    args: RestoreArgs,
    #[command(subcommand)]
    command: Option<RestoreCommand>,
    /// Debug logging.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Only warnings and the error line on stderr (for cron): nothing when all is well.
    #[arg(short, long, conflicts_with = "verbose", global = true)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ops_examples::logging::init(cli.verbose, cli.quiet);
    let mut secrets = Secrets::new();
    let result = run(cli.args, cli.command, &mut secrets).await;
    finish(result, &secrets)
}
