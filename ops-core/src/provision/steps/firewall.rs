//! Step 4b: the spec's cloud firewalls, by name. One the account has is applied to the
//! droplet (one call); one it lacks is created with the spec's rules and the droplet in it
//! (journaled before the create is sent; an ambiguous create is answered by a lookup by
//! name — a firewall's `tags` select droplets, so they cannot mark it — and adoption).

use super::super::journal::FirewallRef;
use super::super::run::{HostRun, chain};
use super::super::spec::FirewallSpec;
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{Firewall, NewFirewall};

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

    pub(crate) async fn step_firewalls(&self, h: &mut HostRun) -> Result<()> {
        let Some(droplet) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        for want in h.j.spec.firewalls.clone() {
            if h.j.resources.firewalls.iter().any(|f| f.name == want.name) {
                continue;
            }
            self.one_firewall(h, &want, droplet).await?;
            self.save(&mut h.j).await?;
        }
        Ok(())
    }

    async fn one_firewall(&self, h: &mut HostRun, want: &FirewallSpec, droplet: u64) -> Result<()> {
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
            if !f.droplet_ids.contains(&droplet) {
                let ids: &[u64] = &[droplet];
                self.call(&self.budgets.compute, || {
                    self.compute.add_firewall_droplets(&f.id, ids)
                })
                .await?;
            }
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
                        if !f.droplet_ids.contains(&droplet) {
                            let ids: &[u64] = &[droplet];
                            self.call(&self.budgets.compute, || {
                                self.compute.add_firewall_droplets(&f.id, ids)
                            })
                            .await?;
                        }
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
