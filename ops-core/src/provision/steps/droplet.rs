//! Steps 3 and 4: create the droplet (duplicate-safe, by run tag) and wait until it is active.

use secrecy::SecretString;
use tokio::time::Instant;

use super::super::fleet::Batch;
use super::super::journal::{DropletRef, RunJournal, Step};
use super::super::run::{HostRun, chain};
use super::super::spec::TOOL_TAG;
use super::super::{ProgressEvent, Provisioner, cloud_init};
use crate::error::{Error, Result};
use crate::ports::{Droplet, DropletStatus, NewDroplet};

impl Provisioner {
    /// Every droplet carrying the run's tag, oldest (lowest id) first.
    pub(crate) async fn tagged_droplets(&self, h: &HostRun) -> Result<Vec<Droplet>> {
        let mut found = self.droplets_tagged(&h.j.run_tag()).await?;
        found.sort_by_key(|d| d.id);
        Ok(found)
    }

    /// Deletes every droplet carrying the run's tag except the recorded one: a create whose
    /// answer was lost and that the listing showed only after another create succeeded. Runs
    /// only when this run may have created more than one (several creates sent, an adopted
    /// droplet, or a resumed create step), before DNS points at anything and again before
    /// success is reported. The duplicates never got DNS records; the Chef node and client
    /// are keyed by name and stay with the recorded droplet.
    pub(crate) async fn settle_duplicates(&self, h: &mut HostRun) -> Result<()> {
        let Some(keep) = h.j.resources.droplet.clone() else {
            return Ok(());
        };
        // One create sent can make at most one droplet.
        if h.j.resources.droplet_creates_sent <= 1 {
            return Ok(());
        }
        for d in self.tagged_droplets(h).await? {
            if d.id == keep.id || h.j.duplicates_removed.contains(&d.id) {
                continue;
            }
            tracing::warn!(
                host = %h.j.spec.name,
                run_tag = %h.j.run_tag(),
                kept = keep.id,
                duplicate = d.id,
                "a second droplet carries this run's tag (a create answered late); deleting it"
            );
            match self
                .call(&self.budgets.compute, || self.compute.delete_droplet(d.id))
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(Error::Precondition(format!(
                        "droplet {} also carries the run tag {} (a duplicate of droplet {}) and \
                         could not be deleted: {}; delete it by hand",
                        d.id,
                        h.j.run_tag(),
                        keep.id,
                        chain(&e)
                    )));
                }
            }
            h.j.duplicates_removed.push(d.id);
            self.save(&mut h.j).await?;
            self.emit(ProgressEvent::DuplicateRemoved {
                host: h.j.spec.name.clone(),
                run_id: h.j.run_id.clone(),
                droplet_id: d.id,
                kept: keep.id,
            });
        }
        Ok(())
    }

    pub(crate) fn adopt(&self, h: &mut HostRun, d: &Droplet) {
        h.j.resources.droplet = Some(DropletRef {
            id: d.id,
            name: d.name.clone(),
            adopted: true,
        });
        self.emit(ProgressEvent::Adopted {
            host: h.j.spec.name.clone(),
            run_id: h.j.run_id.clone(),
            resource: format!("droplet {} ({}) found by run tag", d.id, d.name),
        });
    }

    pub(crate) fn new_droplet(
        &self,
        j: &RunJournal,
        user_data: Option<SecretString>,
    ) -> NewDroplet {
        let spec = &j.spec;
        let mut tags = vec![TOOL_TAG.to_string(), j.run_tag()];
        if let Some(t) = j.batch_tag() {
            tags.push(t);
        }
        for t in &spec.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        NewDroplet {
            name: spec.name.clone(),
            region: spec.region.clone(),
            size: spec.size.clone(),
            image: spec.image.clone(),
            ssh_keys: j.ssh_key_ids.clone(),
            tags,
            user_data,
            ipv6: spec.ipv6,
            monitoring: spec.monitoring_agent,
            vpc_id: j.resources.vpc.as_ref().map(|v| v.id.clone()),
            volume_ids: j.resources.volumes.iter().map(|v| v.id.clone()).collect(),
        }
    }

    /// Looks for a droplet carrying the run's tag after a create whose outcome is unknown.
    ///
    /// DigitalOcean's listing can lag a create by seconds (minutes have been seen), so with
    /// `wait` it looks up to [`ProvisionConfig::adopt_lookups`] times,
    /// [`ProvisionConfig::adopt_delay`] apart, before concluding that the create was not
    /// applied. A lookup that fails is retried within that window; if the last one failed too,
    /// nothing can be concluded and the run stops ("a droplet tagged T may exist") rather than
    /// risk a second droplet. Returns the oldest match.
    pub(crate) async fn await_tagged(&self, h: &HostRun, wait: bool) -> Result<Option<Droplet>> {
        let lookups = if wait {
            self.config.adopt_lookups.max(1)
        } else {
            1
        };
        let mut last_err = None;
        for k in 0..lookups {
            if k > 0 {
                tokio::time::sleep(self.config.adopt_delay).await;
            }
            match self.tagged_droplets(h).await {
                Ok(found) => {
                    last_err = None;
                    if let Some(d) = found.into_iter().next() {
                        return Ok(Some(d));
                    }
                }
                Err(e) => {
                    tracing::debug!(host = %h.j.spec.name, attempt = k + 1, error = %chain(&e), "lookup by run tag failed");
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(None),
            Some(e) => Err(Error::Precondition(format!(
                "could not confirm whether a droplet create took effect: the lookup of droplets \
                 tagged {} failed ({}); a droplet with that tag may exist, so no second create \
                 was sent: resume or roll back this run once DigitalOcean answers",
                h.j.run_tag(),
                chain(&e)
            ))),
        }
    }

    pub(crate) async fn step_create_droplet(&self, h: &mut HostRun, retried: bool) -> Result<()> {
        if h.j.resources.droplet.is_some() {
            return Ok(());
        }
        if retried || h.j.resources.droplet_creates_sent > 0 {
            // An earlier attempt (before a crash, or a failure) may have created it. When its
            // create was journaled as sent, give the listing time to show it.
            let wait = h.j.resources.droplet_creates_sent > 0;
            if let Some(d) = self.await_tagged(h, wait).await? {
                self.adopt(h, &d);
                return Ok(());
            }
        }
        if h.creds.is_none() {
            let node_exists = h.j.resources.chef_node.is_some();
            self.rekey(h, node_exists).await?;
        }
        let Some(creds) = h.creds.as_ref() else {
            return Err(Error::Precondition("no client key in memory".into()));
        };
        // The new client's key goes into cloud-init: whatever output quotes it is scrubbed.
        self.config.redactor.add(&creds.private_key);
        let user_data = cloud_init::render(&h.j.spec, &creds.private_key, &self.config.bootstrap)?;
        let req = self.new_droplet(&h.j, Some(user_data));
        let mut last = None;
        for attempt in 1..=self.config.create_attempts.max(1) {
            // Journaled before it is sent: whatever happens next (a lost answer, a crash, an
            // answer that cannot be read), resume, rollback, teardown and the audit know a
            // droplet with this run's tag may exist. A failed save stops the run here.
            h.j.resources.droplet_creates_sent =
                h.j.resources.droplet_creates_sent.saturating_add(1);
            self.save(&mut h.j).await?;
            match self
                .call(&self.budgets.compute, || self.compute.create_droplet(&req))
                .await
            {
                Ok(d) => {
                    h.j.resources.droplet = Some(DropletRef {
                        id: d.id,
                        name: d.name,
                        adopted: false,
                    });
                    return Ok(());
                }
                Err(e) if e.is_ambiguous() => {
                    tracing::warn!(host = %h.j.spec.name, attempt, error = %chain(&e), "droplet create ambiguous; looking up by run tag");
                    if let Some(d) = self.await_tagged(h, true).await? {
                        self.adopt(h, &d);
                        return Ok(());
                    }
                    self.emit(ProgressEvent::Retrying {
                        host: h.j.spec.name.clone(),
                        run_id: h.j.run_id.clone(),
                        step: Step::CreateDroplet,
                        attempt,
                        reason: chain(&e),
                    });
                    last = Some(e);
                }
                Err(e) => {
                    // The provider refused it: this create made nothing.
                    h.j.resources.droplet_creates_sent =
                        h.j.resources.droplet_creates_sent.saturating_sub(1);
                    return Err(e.into());
                }
            }
        }
        Err(last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from))
    }

    pub(crate) async fn step_wait_active(
        &self,
        b: &Batch,
        h: &mut HostRun,
        retried: bool,
    ) -> Result<()> {
        let Some(id) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        let batch_tag = h.j.batch_tag();
        let timeout = self.config.active_timeout;
        let start = Instant::now();
        let mut first = true;
        loop {
            if !(first && retried) {
                // Right after a create the droplet cannot be active yet: poll after a pause.
                tokio::time::sleep(self.config.poll_interval).await;
            }
            first = false;
            let d = self
                .droplet_status(b, id, batch_tag.as_deref())
                .await?
                .ok_or_else(|| {
                    Error::Precondition(format!("droplet {id} disappeared while booting"))
                })?;
            match d.status {
                DropletStatus::Errored => {
                    return Err(Error::Precondition(format!(
                        "droplet {id} failed to boot (errored)"
                    )));
                }
                DropletStatus::Active
                    if d.public_ipv4.is_some() && (!h.j.spec.ipv6 || d.public_ipv6.is_some()) =>
                {
                    h.j.addresses.ipv4 = d.public_ipv4;
                    h.j.addresses.ipv6 = d.public_ipv6;
                    // Before DNS points at it: no other droplet may carry the run tag.
                    return self.settle_duplicates(h).await;
                }
                _ => {}
            }
            let elapsed = start.elapsed();
            self.emit(ProgressEvent::Waiting {
                host: h.j.spec.name.clone(),
                run_id: h.j.run_id.clone(),
                step: Step::WaitActive,
                status: format!("{:?}", d.status).to_lowercase(),
                elapsed,
                timeout,
            });
            if elapsed + self.config.poll_interval > timeout {
                return Err(Error::Timeout {
                    what: format!("droplet {id} to become active"),
                    after: timeout,
                });
            }
        }
    }
}
