//! The process tests of the binaries against the sandbox, one test binary (one link instead
//! of one per file). `restore_cli` stays apart: it starts its own Postgres cluster (and
//! signals the process group). `state_cli` (issue #21) starts a small throwaway cluster per
//! test as the shared state database of the runners it spawns.

mod contract_cli;
mod demo_cli;
mod dry_run_cli;
mod exit_codes;
mod fleet_cli;
mod metrics_cli;
mod state_cli;
mod status_cli;
