//! The hermetic integration tests, one binary (one link instead of one per file).
//! Apart: suites that need a real server (run by scripts/ci) and suites that touch
//! process-global state (the environment, a global tracing subscriber).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod api_version;
mod cookbooks;
mod errors;
mod hostile_server;
mod resources;
#[cfg(feature = "testkit")]
mod testkit;
