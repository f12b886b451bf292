//! Step 2c: the droplet's VPC (spec `vpc`), by name: the account's VPC of that name in the
//! host's region is used; without one it is created (duplicate-safe: journaled before the
//! create is sent, and an ambiguous create is answered by a lookup by name — VPCs carry no
//! tags — and adoption).

use super::super::fleet::Batch;
use super::super::journal::{Step, VpcRef};
use super::super::run::{HostRun, chain};
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{NewVpc, VPC_MARK, Vpc};

impl Provisioner {
    /// The account's VPC named `name`, when there is one.
    pub(crate) async fn vpc_named(&self, name: &str) -> Result<Option<Vpc>> {
        let all = self
            .call(&self.budgets.compute, || self.compute.vpcs())
            .await?;
        Ok(all.into_iter().find(|v| v.name == name))
    }

    /// Looks for the VPC after a create whose outcome is unknown, for the adopt window (the
    /// listing may lag a create); a failed last lookup stops the run rather than risk a
    /// second create.
    async fn await_vpc(&self, h: &HostRun, name: &str) -> Result<Option<Vpc>> {
        let mut last_err = None;
        for k in 0..self.config.adopt_lookups.max(1) {
            if k > 0 {
                tokio::time::sleep(self.config.adopt_delay).await;
            }
            match self.vpc_named(name).await {
                Ok(Some(v)) => return Ok(Some(v)),
                Ok(None) => last_err = None,
                Err(e) => {
                    tracing::debug!(host = %h.j.spec.name, attempt = k + 1, error = %chain(&e), "VPC lookup by name failed");
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(None),
            Some(e) => Err(Error::Precondition(format!(
                "could not confirm whether the create of VPC `{name}` took effect: the lookup \
                 by name failed ({}); no second create was sent: resume or roll back this run \
                 once DigitalOcean answers",
                chain(&e)
            ))),
        }
    }

    fn record_vpc(&self, h: &mut HostRun, v: &Vpc, created: bool) -> Result<()> {
        if v.region != h.j.spec.region {
            return Err(Error::Precondition(format!(
                "VPC `{}` ({}) is in region {}, the host in {}: name another VPC or move the host",
                v.name, v.id, v.region, h.j.spec.region
            )));
        }
        h.j.resources.vpc = Some(VpcRef {
            id: v.id.clone(),
            name: v.name.clone(),
            created,
        });
        Ok(())
    }

    pub(crate) async fn step_vpc(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let Some(want) = h.j.spec.vpc.clone() else {
            return Ok(());
        };
        if h.j.resources.vpc.is_some() {
            return Ok(());
        }
        // One host of the batch at a time: the first creates it, the others find it.
        let _one = b.lock_name(&format!("vpc:{}", want.name)).await;
        let sent = h.j.resources.vpc_creates_sent > 0;
        let found = if sent {
            // An earlier attempt sent a create: give the listing time to show it.
            self.await_vpc(h, &want.name).await?
        } else {
            self.vpc_named(&want.name).await?
        };
        if let Some(v) = found {
            // Found after this run sent a create of it: this run made it.
            if sent {
                self.emit(ProgressEvent::Adopted {
                    host: h.j.spec.name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: format!("vpc {} ({}) found by name", v.id, v.name),
                });
            }
            return self.record_vpc(h, &v, sent);
        }
        let req = NewVpc {
            name: want.name.clone(),
            region: h.j.spec.region.clone(),
            ip_range: want.ip_range.clone(),
            description: VPC_MARK.to_owned(),
        };
        // Journaled before it is sent: resume, rollback and teardown know a VPC of this
        // name may exist.
        h.j.resources.vpc_creates_sent = h.j.resources.vpc_creates_sent.saturating_add(1);
        self.save(&mut h.j).await?;
        match self
            .call(&self.budgets.compute, || self.compute.create_vpc(&req))
            .await
        {
            Ok(v) => self.record_vpc(h, &v, true),
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(host = %h.j.spec.name, vpc = %want.name, error = %chain(&e), "VPC create ambiguous; looking up by name");
                match self.await_vpc(h, &want.name).await? {
                    Some(v) => {
                        self.emit(ProgressEvent::Adopted {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            resource: format!("vpc {} ({}) found by name", v.id, v.name),
                        });
                        self.record_vpc(h, &v, true)
                    }
                    None => {
                        // Proven not applied: the step may be retried with a new create.
                        h.j.resources.vpc_creates_sent = 0;
                        self.emit(ProgressEvent::Retrying {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            step: Step::Vpc,
                            attempt: 1,
                            reason: chain(&e),
                        });
                        Err(e.into())
                    }
                }
            }
            Err(e) => {
                // Refused: this create made nothing. Another host of the batch may have
                // created the VPC meanwhile (its name is taken): use that one.
                h.j.resources.vpc_creates_sent = h.j.resources.vpc_creates_sent.saturating_sub(1);
                match self.vpc_named(&want.name).await {
                    Ok(Some(v)) => self.record_vpc(h, &v, false),
                    _ => Err(e.into()),
                }
            }
        }
    }
}
