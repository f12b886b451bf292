//! The hermetic integration tests, one binary (one link instead of one per file).
//! Apart: suites that need a real server (run by scripts/ci) and suites that touch
//! process-global state (the environment, a global tracing subscriber).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod alert_policies;
mod api;
mod balance;
mod certificates;
mod droplet_actions;
mod errors;
mod firewalls;
mod hostile_server;
mod load_balancers;
mod projects;
mod reserved_ips;
mod snapshots;
mod spec_fixtures;
#[cfg(feature = "testkit")]
mod testkit;
#[cfg(feature = "testkit")]
mod testkit_cloud;
mod volumes;
mod vpcs;
