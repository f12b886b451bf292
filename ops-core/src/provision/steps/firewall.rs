//! Step 4b: the spec's cloud firewalls, by name. One the account has is applied to the
//! droplet (one call); one it lacks is created with the spec's rules and the droplet in it
//! (journaled before the create is sent; an ambiguous create is answered by a lookup by
//! name — a firewall's `tags` select droplets, so they cannot mark it — and adoption).

use super::super::fleet::Batch;
use super::super::journal::FirewallRef;
use super::super::run::{HostRun, chain};
use super::super::spec::FirewallSpec;
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{Firewall, NewFirewall, PortError, Service};

impl Provisioner {
    /// The account's firewall named `name`; two of that name are refused (which one is
    /// meant cannot be told).
    pub(crate) async fn firewall_named(&self, name: &str) -> Result<Option<Firewall>> {
        let all = self
            .call(&self.budgets.compute, || self.compute.firewalls())
            .await?;
        let mut found: Vec<Firewall> = all.into_iter().filter(|f| f.name == name).collect();
        if found.len() > 1 {
            return Err(Error::Precondition(format!(
                "{} firewalls are named `{name}`: rename all but one so the spec names one",
                found.len()
            )));
        }
        Ok(found.pop())
    }

    /// Looks for a firewall after a create whose outcome is unknown, for the adopt window.
    async fn await_firewall(&self, h: &HostRun, name: &str) -> Result<Option<Firewall>> {
        let mut last_err = None;
        for k in 0..self.config.adopt_lookups.max(1) {
            if k > 0 {
                tokio::time::sleep(self.config.adopt_delay).await;
            }
            match self.firewall_named(name).await {
                Ok(Some(f)) => return Ok(Some(f)),
                Ok(None) => last_err = None,
                Err(e) => {
                    tracing::debug!(host = %h.j.spec.name, attempt = k + 1, error = %chain(&e), "firewall lookup by name failed");
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(None),
            Some(e) => Err(Error::Precondition(format!(
                "could not confirm whether the create of firewall `{name}` took effect: the \
                 lookup by name failed ({}); no second create was sent: resume or roll back \
                 this run once DigitalOcean answers",
                chain(&e)
            ))),
        }
    }

    pub(crate) async fn step_firewalls(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let r = self.firewalls_step(b, h).await;
        // Whatever happened, this host no longer holds up the batch's add calls.
        for key in std::mem::take(&mut h.gathering_firewalls) {
            b.firewall_adds.withdraw(&key);
        }
        r
    }

    async fn firewalls_step(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let Some(droplet) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        for want in h.j.spec.firewalls.clone() {
            if h.j.resources.firewalls.iter().any(|f| f.name == want.name) {
                h.leave_firewall(b, &want.name);
                continue;
            }
            let r = self.one_firewall(b, h, &want, droplet).await;
            // Done with this firewall (added, created with the droplet in it, or failed):
            // the other hosts' add call for it must not wait for this one.
            h.leave_firewall(b, &want.name);
            r?;
            self.save(&mut h.j).await?;
        }
        Ok(())
    }

    /// Adds `droplet` to firewall `f`: in one call with every other host of the batch
    /// adding its droplet to the same firewall.
    async fn add_to_firewall(
        &self,
        b: &Batch,
        h: &mut HostRun,
        f: &Firewall,
        droplet: u64,
    ) -> Result<()> {
        if f.droplet_ids.contains(&droplet) {
            return Ok(());
        }
        let registered = h.gathering_firewalls.iter().position(|k| *k == f.name);
        match registered {
            Some(i) => {
                h.gathering_firewalls.remove(i);
            }
            None => b.firewall_adds.register(&f.name),
        }
        let id = f.id.clone();
        b.firewall_adds
            .send(&f.name, vec![droplet], |ids| async move {
                tracing::debug!(firewall = %id, droplets = ids.len(), "adding droplets to firewall");
                self.call(&self.budgets.compute, || {
                    self.compute.add_firewall_droplets(&id, &ids)
                })
                .await
                .map_err(|e| (e.kind(), chain(&e)))
            })
            .await
            .map_err(|(kind, msg)| {
                Error::Port(PortError::new(Service::Compute, "compute", kind, msg))
            })
    }

    async fn one_firewall(
        &self,
        b: &Batch,
        h: &mut HostRun,
        want: &FirewallSpec,
        droplet: u64,
    ) -> Result<()> {
        // One host of the batch at a time looks the firewall up and creates it: the first
        // creates it, the others find it (DigitalOcean would take a second of that name).
        let one = b.lock_name(&format!("firewall:{}", want.name)).await;
        let sent = h.j.resources.firewall_creates_sent.contains(&want.name);
        let found = if sent {
            self.await_firewall(h, &want.name).await?
        } else {
            self.firewall_named(&want.name).await?
        };
        if let Some(f) = found {
            if sent {
                self.emit(ProgressEvent::Adopted {
                    host: h.j.spec.name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: format!("firewall {} ({}) found by name", f.id, f.name),
                });
            }
            drop(one);
            self.add_to_firewall(b, h, &f, droplet).await?;
            return self.record_firewall(h, &f, sent);
        }
        if !want.defines_rules() {
            return Err(Error::Precondition(format!(
                "firewall `{}` does not exist and the spec gives no rules to create it with",
                want.name
            )));
        }
        let req = NewFirewall {
            name: want.name.clone(),
            inbound: want.inbound.iter().map(|r| r.to_rule()).collect(),
            outbound: want.outbound.iter().map(|r| r.to_rule()).collect(),
            droplet_ids: vec![droplet],
        };
        // Journaled before it is sent.
        h.j.resources.firewall_creates_sent.push(want.name.clone());
        self.save(&mut h.j).await?;
        match self
            .call(&self.budgets.compute, || self.compute.create_firewall(&req))
            .await
        {
            Ok(f) => self.record_firewall(h, &f, true),
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(host = %h.j.spec.name, firewall = %want.name, error = %chain(&e), "firewall create ambiguous; looking up by name");
                match self.await_firewall(h, &want.name).await? {
                    Some(f) => {
                        self.emit(ProgressEvent::Adopted {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            resource: format!("firewall {} ({}) found by name", f.id, f.name),
                        });
                        drop(one);
                        self.add_to_firewall(b, h, &f, droplet).await?;
                        self.record_firewall(h, &f, true)
                    }
                    None => {
                        // Proven not applied.
                        h.j.resources
                            .firewall_creates_sent
                            .retain(|n| *n != want.name);
                        Err(e.into())
                    }
                }
            }
            Err(e) => {
                h.j.resources
                    .firewall_creates_sent
                    .retain(|n| *n != want.name);
                Err(e.into())
            }
        }
    }

    fn record_firewall(&self, h: &mut HostRun, f: &Firewall, created: bool) -> Result<()> {
        h.j.resources.firewall_creates_sent.retain(|n| *n != f.name);
        h.j.resources.firewalls.push(FirewallRef {
            id: f.id.clone(),
            name: f.name.clone(),
            created,
        });
        Ok(())
    }
}
