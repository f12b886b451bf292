//! `restore`: restore a production Postgres dump into QA. See `examples/README.md`.

use std::path::PathBuf;

use clap::Parser;
use ops_examples::cli::Secrets;
use ops_examples::metrics_file::{MetricsFile, finish};
use ops_examples::restore_cmd::{Interrupt, RestoreArgs, RestoreCommand, run};

/// Restore a production Postgres dump into QA with a sub-second swap; `rollback` swaps back.
#[derive(Debug, Parser)]
#[command(name = "restore", version)]
struct Cli {
    #[command(flatten)]
    args: RestoreArgs,
    #[command(subcommand)]
    command: Option<RestoreCommand>,
    /// Write a Prometheus textfile here when the run ends, on success and on failure
    /// (node_exporter's textfile collector; written atomically; see examples/README.md).
    #[arg(long, value_name = "PATH.prom", global = true)]
    metrics_file: Option<PathBuf>,
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
    let metrics = match MetricsFile::start(cli.metrics_file.as_deref(), "restore") {
        Ok(m) => m,
        Err(e) => return finish(Err(e), None, &secrets),
    };
    // SIGINT (Ctrl-C) or SIGTERM (systemd, Kubernetes) cancels the run: the workflow kills
    // `pg_dump`/`pg_restore` (their process groups), drops the working copy, removes the
    // dump folder (and a sandbox cluster goes with the run), then returns; the process exits
    // 128 + the signal with one `error:` line saying what state QA is in. Installed first,
    // so a signal from here on is always handled.
    let interrupt = Interrupt::install();
    let result = run(cli.args, cli.command, &mut secrets, &interrupt).await;
    finish(result, metrics.as_ref(), &secrets)
}
