//! `restore`: restore a production Postgres dump into QA. See `examples/README.md`.

use clap::Parser;
use ops_examples::cli::{CliError, Secrets, finish};
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
    // Ctrl-C or SIGTERM drops the run: `pg_dump`/`pg_restore` are killed, and the temporary
    // dump folder and a sandbox cluster are removed before the process exits (a signal's
    // default action would end it with them left in the temp folder).
    let result = tokio::select! {
        r = run(cli.args, cli.command, &mut secrets) => r,
        () = interrupt() => Err(CliError::other(
            "interrupted: stopped, with its temporary files removed; QA is either as it was or \
             fully swapped (every swap is one transaction), and a half-built copy is dropped \
             by the next restore",
        )),
    };
    finish(result, &secrets)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (a handler that cannot be installed never fires).
async fn interrupt() {
    use tokio::signal::unix::{SignalKind, signal};
    let int = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = int => {}
        () = term => {}
    }
}
