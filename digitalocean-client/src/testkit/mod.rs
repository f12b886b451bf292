//! A stateful fake of the DigitalOcean API served over HTTP on loopback
//! (feature `testkit`), for tests of code built on this crate.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use digitalocean_client::testkit::{FakeConfig, FakeDigitalOcean};
//! use digitalocean_client::{CreateDroplet, DropletSpec, WaitOptions};
//!
//! let fake = FakeDigitalOcean::start_with(FakeConfig {
//!     activation_delay: Duration::from_millis(50),
//!     ..FakeConfig::default()
//! })
//! .await?;
//! let client = fake.client()?;
//! let spec = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
//! let created = client.droplets().create(&CreateDroplet::new("web-1", spec)).await?;
//! let opts = WaitOptions::new(Duration::from_secs(5), Duration::from_millis(10));
//! let droplet = client.droplets().wait_until_active(created.droplet.id, opts).await?;
//! assert!(droplet.public_ipv4().is_some());
//! assert_eq!(fake.requests().len(), 1 + fake.requests_matching("GET", "/v2/droplets/").len());
//! # Ok(()) }
//! ```
//!
//! What it models: droplets that go from `new` to `active` (with addresses) after
//! [`FakeConfig::activation_delay`], their actions, droplet power actions, account SSH
//! keys, tags (and tagging droplets), domains and records, the catalog, pagination with
//! absolute `links.pages` URLs, `RateLimit-*` headers, bearer-token checks and the
//! documented error bodies; cloud firewalls (rules, droplets, tags), VPCs and their
//! members, reserved IPs (create for a droplet or in a region, assign/unassign), projects
//! (the default one, resources by URN), block storage volumes (attach/detach/resize) and
//! monitoring alert policies, with the API's 404/409/412/422 refusals. [`Faults`] injects latency, 429 + `Retry-After`, 5xx and
//! dropped connections, a listing lag ([`Faults::set_list_lag`]) and spec-valid edge values
//! ([`Faults::set_edge_values`]: nulls, omitted optional fields, empty arrays, unknown
//! fields); [`FakeDigitalOcean::requests`] is a request log.
//!
//! Every fake has its own port and state, starts in milliseconds, and stops on drop.

mod edge;
mod server;
mod state;

pub use edge::EdgeValue;
pub use server::{CloudCounts, FakeConfig, FakeDigitalOcean, Faults, RecordedRequest};
