//! Shared plumbing of the example binaries (`status`, `restore`, `demo`, …).
//!
//! Every binary follows the same conventions, implemented here once:
//!
//! - **Exit codes** ([`cli::ExitKind`]): `0` success, `1` other failure, `2` bad input
//!   (flags, environment, config or spec files, credentials), `3` a provider failed
//!   (DigitalOcean, Dyn, Chef, nagios-api, the Postgres server), `4` partial failure
//!   (some hosts or parts succeeded, others did not), `5` drift found by `key-sync --audit`.
//!   `examples/README.md` has the table for each binary, checked by a test.
//! - **Errors** are printed on stderr as one line, `error: ` followed by the whole
//!   [`source()`](std::error::Error::source) chain, with every known secret redacted
//!   ([`cli::render_error`]).
//! - **Logs** go to stderr through `tracing` ([`logging::init`]): coloured when stderr is a
//!   terminal, plain lines otherwise. Results go to stdout (`--json` prints only JSON there).
//! - **Progress** ([`progress::Progress`]): an `indicatif` bar on a terminal, periodic log lines
//!   otherwise.
//! - **Config files** are TOML ([`config::load_toml`]); parse errors name the file, line and
//!   column, never the offending text (it could be a secret); unknown fields are refused.
//!   [`formats`] has a commented example of each file format.
//! - **Sandbox** ([`sandbox`]): in-process fakes of the providers and a throwaway local
//!   PostgreSQL cluster, so everything runs without any account.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod fleet_cmd;
pub mod formats;
pub mod logging;
pub mod metrics_file;
pub mod progress;
pub mod restore_cmd;
pub mod sandbox;
pub mod status_cmd;

/// Write one line to stdout (results; logs and progress go to stderr).
///
/// A closed stdout (e.g. `| head`) is ignored.
pub fn emit(line: impl std::fmt::Display) {
    use std::io::Write as _;
    let line = line.to_string();
    let line = cli::redactor().redact(&line);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// Write a value as pretty JSON on stdout.
pub fn emit_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => emit(s),
        Err(e) => tracing::error!(error = %e, "could not encode JSON output"),
    }
}
