//! `tracing` output on stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Whether stderr is a terminal (progress bars and colours) or not (plain lines).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Install the global subscriber: stderr, `RUST_LOG` if set, else `info` for the workflows
/// and the binaries (`debug` with `verbose`), `warn` for everything else. Plain lines without
/// colours when stderr is not a terminal. On a terminal the workflows' own `info` events are
/// left out (the progress bars show them) unless `verbose`. Calling it twice is harmless.
pub fn init(verbose: bool) {
    let level = if verbose { "debug" } else { "info" };
    let core = if verbose || !stderr_is_terminal() {
        level
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,ops_core={core},ops_examples={level},status={level},restore={level},demo={level}"
        ))
    });
    let ansi = stderr_is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
