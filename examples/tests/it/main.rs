//! The process tests of the binaries against the sandbox, one test binary (one link instead
//! of one per file). `restore_cli` stays apart: it starts its own Postgres cluster.

mod contract_cli;
mod demo_cli;
mod dry_run_cli;
mod exit_codes;
mod fleet_cli;
mod metrics_cli;
mod status_cli;
