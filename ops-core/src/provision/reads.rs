//! Cached reads shared by the hosts of a batch (one listing serves a whole fleet).

use tokio::time::Instant;

use super::Provisioner;
use super::fleet::{Batch, cell};
use crate::ports::{DnsRecord, Droplet, DropletFilter, Image, PortResult, Region, Size, SshKey};

impl Provisioner {
    // ------------------------------------------------------------------------------------
    // cached reads
    // ------------------------------------------------------------------------------------

    pub(crate) async fn regions<'b>(&self, b: &'b Batch) -> PortResult<&'b Vec<Region>> {
        b.regions
            .get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.regions()))
            .await
    }

    pub(crate) async fn sizes<'b>(&self, b: &'b Batch) -> PortResult<&'b Vec<Size>> {
        b.sizes
            .get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.sizes()))
            .await
    }

    pub(crate) async fn keys<'b>(&self, b: &'b Batch) -> PortResult<&'b Vec<SshKey>> {
        b.keys
            .get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.ssh_keys()))
            .await
    }

    pub(crate) async fn image(&self, b: &Batch, slug: &str) -> PortResult<Option<Image>> {
        let c = cell(&b.images, slug);
        c.get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.image(slug)))
            .await
            .cloned()
    }

    pub(crate) async fn owns_zone(&self, b: &Batch, zone: &str) -> PortResult<bool> {
        let c = cell(&b.zones, zone);
        c.get_or_try_init(|| self.call(&self.budgets.dns, || self.dns.owns_zone(zone)))
            .await
            .copied()
    }

    pub(crate) async fn droplets_named(&self, b: &Batch, name: &str) -> PortResult<Vec<Droplet>> {
        if b.fleet {
            let all = b
                .all_droplets
                .get_or_try_init(|| {
                    self.call(&self.budgets.compute, || {
                        self.compute.droplets(&DropletFilter::All)
                    })
                })
                .await?;
            Ok(all
                .iter()
                .filter(|d| d.name.eq_ignore_ascii_case(name))
                .cloned()
                .collect())
        } else {
            let f = DropletFilter::Name(name.to_string());
            self.call(&self.budgets.compute, || self.compute.droplets(&f))
                .await
        }
    }

    pub(crate) async fn records_at(
        &self,
        b: &Batch,
        zone: &str,
        fqdn: &str,
    ) -> PortResult<Vec<DnsRecord>> {
        if b.fleet {
            let c = cell(&b.zone_records, zone);
            let all = c
                .get_or_try_init(|| self.call(&self.budgets.dns, || self.dns.records(zone, None)))
                .await?;
            Ok(all
                .iter()
                .filter(|r| r.fqdn.eq_ignore_ascii_case(fqdn))
                .cloned()
                .collect())
        } else {
            self.call(&self.budgets.dns, || self.dns.records(zone, Some(fqdn)))
                .await
        }
    }

    pub(crate) async fn droplets_tagged(&self, tag: &str) -> PortResult<Vec<Droplet>> {
        let f = DropletFilter::Tag(tag.to_string());
        self.call(&self.budgets.compute, || self.compute.droplets(&f))
            .await
    }

    /// The droplet's current state; in a fleet one list-by-batch-tag call serves every host.
    pub(crate) async fn droplet_status(
        &self,
        b: &Batch,
        id: u64,
        batch_tag: Option<&str>,
    ) -> PortResult<Option<Droplet>> {
        if let (true, Some(tag)) = (b.fleet, batch_tag) {
            let mut g = b.status.lock().await;
            let fresh = g.as_ref().is_some_and(|(t, m)| {
                t.elapsed() < self.config.poll_interval && m.contains_key(&id)
            });
            if !fresh {
                let list = self.droplets_tagged(tag).await?;
                *g = Some((
                    Instant::now(),
                    list.into_iter().map(|d| (d.id, d)).collect(),
                ));
            }
            if let Some(d) = g.as_ref().and_then(|(_, m)| m.get(&id)) {
                return Ok(Some(d.clone()));
            }
        }
        self.call(&self.budgets.compute, || self.compute.get_droplet(id))
            .await
    }
}
