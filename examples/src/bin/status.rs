//! `status`: the status summary and page from nagios-api. See `examples/README.md`.

use clap::Parser;
use ops_examples::cli::{Secrets, finish};
use ops_examples::status_cmd::{StatusArgs, run};

/// Status summary (text, JSON, HTML) from nagios-api, optionally served on loopback.
#[derive(Debug, Parser)]
#[command(name = "status", version)]
struct Cli {
    #[command(flatten)]
    args: StatusArgs,
    /// Debug logging.
    #[arg(short, long)]
    verbose: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ops_examples::logging::init(cli.verbose);
    let mut secrets = Secrets::new();
    let result = run(cli.args, &mut secrets).await;
    finish(result, &secrets)
}
