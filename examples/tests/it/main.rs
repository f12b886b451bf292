//! The process tests of the binaries against the sandbox, one test binary (one link instead
//! of one per file). `restore_cli` stays apart: it starts its own Postgres cluster.

mod demo_cli;
mod fleet_cli;
mod status_cli;
