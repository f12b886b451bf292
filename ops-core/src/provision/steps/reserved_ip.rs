//! Step 4c: the droplet's reserved IP (spec `reserved_ip`): an address the account has is
//! assigned to the droplet; without one a new address is reserved for it (journaled before
//! the request is sent; reserved IPs carry no name or tag, so an ambiguous reserve is
//! answered by looking for an address assigned to the droplet, and adopting it).

use super::super::journal::ReservedIpRef;
use super::super::run::{HostRun, chain};
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::ReservedIp;

impl Provisioner {
    /// The reserved IPs assigned to `droplet`.
    pub(crate) async fn reserved_ips_of(&self, droplet: u64) -> Result<Vec<ReservedIp>> {
        let all = self
            .call(&self.budgets.compute, || self.compute.reserved_ips())
            .await?;
        Ok(all
            .into_iter()
            .filter(|r| r.droplet_id == Some(droplet))
            .collect())
    }

    async fn await_reserved_ip(&self, h: &HostRun, droplet: u64) -> Result<Option<ReservedIp>> {
        let mut last_err = None;
        for k in 0..self.config.adopt_lookups.max(1) {
            if k > 0 {
                tokio::time::sleep(self.config.adopt_delay).await;
            }
            match self.reserved_ips_of(droplet).await {
                Ok(found) => {
                    if let Some(r) = found.into_iter().next() {
                        return Ok(Some(r));
                    }
                    last_err = None;
                }
                Err(e) => {
                    tracing::debug!(host = %h.j.spec.name, attempt = k + 1, error = %chain(&e), "reserved IP lookup failed");
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(None),
            Some(e) => Err(Error::Precondition(format!(
                "could not confirm whether the reserve of an IP for droplet {droplet} took \
                 effect: the lookup failed ({}); no second one was sent: resume or roll back \
                 this run once DigitalOcean answers",
                chain(&e)
            ))),
        }
    }

    fn adopt_reserved_ip(&self, h: &mut HostRun, r: &ReservedIp) {
        self.emit(ProgressEvent::Adopted {
            host: h.j.spec.name.clone(),
            run_id: h.j.run_id.clone(),
            resource: format!("reserved ip {} found on the droplet", r.ip),
        });
        h.j.resources.reserved_ip = Some(ReservedIpRef {
            ip: r.ip.clone(),
            created: true,
        });
    }

    pub(crate) async fn step_reserved_ip(&self, h: &mut HostRun) -> Result<()> {
        let Some(want) = h.j.spec.reserved_ip.clone() else {
            return Ok(());
        };
        if h.j.resources.reserved_ip.is_some() {
            return Ok(());
        }
        let Some(droplet) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        if let Some(address) = want.address {
            let all = self
                .call(&self.budgets.compute, || self.compute.reserved_ips())
                .await?;
            let Some(r) = all.into_iter().find(|r| r.ip == address) else {
                return Err(Error::Precondition(format!(
                    "reserved IP {address} is not one of the account's"
                )));
            };
            match r.droplet_id {
                Some(d) if d == droplet => {}
                Some(d) => {
                    return Err(Error::Precondition(format!(
                        "reserved IP {address} is assigned to droplet {d}: unassign it first \
                         (the run does not take an address from another host)"
                    )));
                }
                None => {
                    self.call(&self.budgets.compute, || {
                        self.compute.assign_reserved_ip(&address, droplet)
                    })
                    .await?;
                }
            }
            h.j.resources.reserved_ip = Some(ReservedIpRef {
                ip: address,
                created: false,
            });
            return Ok(());
        }
        if h.j.resources.reserved_ip_creates_sent > 0
            && let Some(r) = self.await_reserved_ip(h, droplet).await?
        {
            self.adopt_reserved_ip(h, &r);
            return Ok(());
        }
        // Journaled before it is sent.
        h.j.resources.reserved_ip_creates_sent =
            h.j.resources.reserved_ip_creates_sent.saturating_add(1);
        self.save(&mut h.j).await?;
        match self
            .call(&self.budgets.compute, || {
                self.compute.create_reserved_ip(droplet)
            })
            .await
        {
            Ok(r) => {
                h.j.resources.reserved_ip = Some(ReservedIpRef {
                    ip: r.ip,
                    created: true,
                });
                Ok(())
            }
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(host = %h.j.spec.name, error = %chain(&e), "reserve IP ambiguous; looking for one on the droplet");
                match self.await_reserved_ip(h, droplet).await? {
                    Some(r) => {
                        self.adopt_reserved_ip(h, &r);
                        Ok(())
                    }
                    None => {
                        h.j.resources.reserved_ip_creates_sent = 0;
                        Err(e.into())
                    }
                }
            }
            Err(e) => {
                h.j.resources.reserved_ip_creates_sent =
                    h.j.resources.reserved_ip_creates_sent.saturating_sub(1);
                Err(e.into())
            }
        }
    }
}
