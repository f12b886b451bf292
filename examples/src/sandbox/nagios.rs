//! A fake nagios-api with a few hosts and services, and a status configuration for it.

#[cfg(feature = "sandbox")]
use nagios_client::testkit::FakeNagios;
#[cfg(feature = "sandbox")]
use nagios_client::{HostStatus, ServiceStatus};
use ops_core::status::StatusConfig;

use crate::cli::CliError;

/// The status configuration the sandbox uses when `--config` is not given.
pub const SANDBOX_STATUS_TOML: &str = r#"
page_name = "Sandbox Status"
stale_after_secs = 600

[[components]]
name = "Website"
description = "The public web servers"
members = ["web-01", "web-02"]

[[components]]
name = "Database"
members = ["db-01:PostgreSQL"]

[[components]]
name = "Background jobs"
members = ["worker-01"]
"#;

/// The sandbox status configuration.
pub fn sandbox_status_config() -> Result<StatusConfig, CliError> {
    crate::config::parse_toml(
        SANDBOX_STATUS_TOML,
        std::path::Path::new("<sandbox status config>"),
        "status config",
    )
}

/// Start a fake nagios-api with `web-01`, `web-02`, `db-01` and `worker-01`; `worker-01`'s
/// queue check is WARNING so the page has something to show.
#[cfg(feature = "sandbox")]
pub async fn start_fake_nagios() -> Result<FakeNagios, CliError> {
    FakeNagios::builder()
        .host("web-01", HostStatus::Up)
        .service(
            "web-01",
            "HTTP",
            ServiceStatus::Ok,
            "HTTP OK: 200 in 0.02 s",
        )
        .host("web-02", HostStatus::Up)
        .service(
            "web-02",
            "HTTP",
            ServiceStatus::Ok,
            "HTTP OK: 200 in 0.03 s",
        )
        .host("db-01", HostStatus::Up)
        .service(
            "db-01",
            "PostgreSQL",
            ServiceStatus::Ok,
            "POSTGRES OK: 12 connections",
        )
        .host("worker-01", HostStatus::Up)
        .service(
            "worker-01",
            "Queue depth",
            ServiceStatus::Warning,
            "QUEUE WARNING: 1200 jobs waiting",
        )
        .start()
        .await
        .map_err(|e| {
            CliError::other("could not start the fake nagios-api on loopback").with_source(e)
        })
}
