//! The hermetic integration tests, one binary (one link instead of one per file).
//! Apart: the suites that need a real server or browser (`e2e_key_sync_goiardi`,
//! `e2e_provision_prism`, `status_nagios`, `status_chromium`: run by scripts/ci), the two
//! that capture tracing output (`key_sync_tracing`, `provision_logs`: a subscriber races
//! other tests' threads for the callsite cache), and the restore suites (`restore`,
//! `restore_tls`, `restore_preflight`: each starts its own Postgres cluster).

#[path = "../e2e_support/mod.rs"]
mod e2e_support;
#[path = "../key_sync_support/mod.rs"]
mod key_sync_support;
#[path = "../provision_fakes/mod.rs"]
mod provision_fakes;

mod e2e_key_sync_chef_fake;
mod e2e_key_sync_do;
mod e2e_provision;
mod e2e_provision_adapters;
mod e2e_provision_cloud;
mod key_sync;
mod key_sync_source;
mod provision;
mod status_recorded;
