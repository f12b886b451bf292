//! Adapters: the [ports](crate::ports) implemented with the client crates. This is the only
//! place the workflows reach the providers.
//!
//! | Port | Adapter | Client |
//! |---|---|---|
//! | [`Compute`](crate::ports::Compute) | [`DigitalOceanCompute`] | `digitalocean-client` |
//! | [`Dns`] | [`DynDns`], [`DigitalOceanDns`], chosen by [`DnsConfig`] as a [`DnsAdapter`] | `dynect-client`, `digitalocean-client` |
//! | [`Monitoring`](crate::ports::Monitoring) | [`NagiosMonitoring`] | `nagios-client` |
//! | restore's [`Downtime`](crate::restore::Downtime) | [`NagiosDowntime`] | `nagios-client` |
//!
//! Every adapter follows the rules in [`ports`](crate::ports): "not there" is `Ok(None)` on
//! reads and [`PortErrorKind::NotFound`](crate::ports::PortErrorKind::NotFound) on deletes; a failed write that may have taken
//! effect is [`PortError::ambiguous`](crate::ports::PortError::ambiguous) and is never retried
//! here; the provider error is kept as the source; no secret reaches a message.

// One module per provider; add new ones here (and a row to the table above).
pub mod chef;
pub mod digitalocean;
pub mod do_keys;
#[path = "dyn.rs"]
pub mod dynect;
pub mod nagios;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;

pub use digitalocean::{DigitalOceanCompute, DigitalOceanDns};
pub use dynect::DynDns;
pub use nagios::{NagiosDowntime, NagiosMonitoring, NagiosStatusSource};

use crate::ports::{Dns, DnsRecord, NewRecord, PortResult, Published};

/// Which DNS provider the workflows write to, as read from configuration:
///
/// ```toml
/// [dns]
/// provider = "dyn"
/// customer = "acme"
/// user = "ops-bot"
/// password = "…"          # or leave it out and pass it from the environment
/// ```
///
/// or `provider = "digitalocean"` (the DigitalOcean token is shared with compute).
/// `Debug` never shows the password.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
#[non_exhaustive]
pub enum DnsConfig {
    /// Dyn Managed DNS.
    Dyn {
        /// Customer name.
        customer: String,
        /// User name.
        user: String,
        /// Password.
        password: SecretString,
        /// Base URL override (tests, proxies).
        #[serde(default)]
        base_url: Option<String>,
        /// Client-side limit in requests per minute (Dyn allows 300 per account, and a breach
        /// locks the whole account out for up to 60 s). Default [`DYN_RATE_LIMIT_PER_MINUTE`].
        /// This is the one limiter for Dyn: it counts every request, pages and session calls
        /// included (the provision workflow's DNS budget does not limit Dyn again).
        #[serde(default)]
        rate_limit_per_minute: Option<u32>,
    },
    /// DigitalOcean Domains.
    #[serde(rename = "digitalocean")]
    DigitalOcean,
}

/// Dyn's account-wide limit is 300 requests a minute; the default keeps a fifth of it for
/// other users of the same account (the portal, other tools).
pub const DYN_RATE_LIMIT_PER_MINUTE: u32 = 240;

impl DnsConfig {
    /// Builds the adapter. `digitalocean` is the compute client, reused for DigitalOcean
    /// Domains; it is required for [`DnsConfig::DigitalOcean`].
    pub fn build(
        &self,
        digitalocean: Option<&digitalocean_client::Client>,
    ) -> crate::Result<DnsAdapter> {
        match self {
            DnsConfig::Dyn {
                customer,
                user,
                password,
                base_url,
                rate_limit_per_minute,
            } => {
                let mut b = dynect_client::Client::builder(
                    customer.as_str(),
                    user.as_str(),
                    password.clone(),
                );
                if let Some(u) = base_url {
                    b = b.base_url(u.as_str());
                }
                b = b.rate_limit_per_minute(
                    rate_limit_per_minute.unwrap_or(DYN_RATE_LIMIT_PER_MINUTE),
                );
                let client = b.build().map_err(|e| {
                    crate::Error::Precondition(format!("Dyn client configuration: {e}"))
                })?;
                Ok(DnsAdapter::Dyn(DynDns::new(client)))
            }
            DnsConfig::DigitalOcean => match digitalocean {
                Some(c) => Ok(DnsAdapter::DigitalOcean(Box::new(DigitalOceanDns::new(
                    c.clone(),
                )))),
                None => Err(crate::Error::Precondition(
                    "DNS provider `digitalocean` needs the DigitalOcean client".to_owned(),
                )),
            },
        }
    }
}

/// The DNS adapter chosen at run time, usable wherever the workflows want a `D: Dns`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DnsAdapter {
    /// Dyn Managed DNS.
    Dyn(DynDns),
    /// DigitalOcean Domains (boxed: the DigitalOcean client is the larger value).
    DigitalOcean(Box<DigitalOceanDns>),
}

impl From<DynDns> for DnsAdapter {
    fn from(d: DynDns) -> Self {
        DnsAdapter::Dyn(d)
    }
}

impl From<DigitalOceanDns> for DnsAdapter {
    fn from(d: DigitalOceanDns) -> Self {
        DnsAdapter::DigitalOcean(Box::new(d))
    }
}

impl DnsAdapter {
    fn inner(&self) -> &dyn Dns {
        match self {
            DnsAdapter::Dyn(d) => d,
            DnsAdapter::DigitalOcean(d) => d.as_ref(),
        }
    }
}

#[async_trait]
impl Dns for DnsAdapter {
    fn provider(&self) -> &'static str {
        self.inner().provider()
    }
    fn needs_publish(&self) -> bool {
        self.inner().needs_publish()
    }
    async fn owns_zone(&self, zone: &str) -> PortResult<bool> {
        self.inner().owns_zone(zone).await
    }
    async fn records(&self, zone: &str, fqdn: Option<&str>) -> PortResult<Vec<DnsRecord>> {
        self.inner().records(zone, fqdn).await
    }
    async fn create_record(&self, rec: &NewRecord) -> PortResult<DnsRecord> {
        self.inner().create_record(rec).await
    }
    async fn delete_record(&self, rec: &DnsRecord) -> PortResult<()> {
        self.inner().delete_record(rec).await
    }
    async fn publish(&self, zone: &str, note: &str) -> PortResult<Published> {
        self.inner().publish(zone, note).await
    }
}
