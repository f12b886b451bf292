//! The provision steps, one file each (see [`Step`] for the order). Each adds `step_*`
//! methods to [`Provisioner`] and records what it made in the run journal;
//! [`removal`](super::removal) removes it (one `Removal` per kind of resource), for
//! rollback, teardown and their dry runs alike.
//!
//! The runner (`run.rs`) sees a step only through the three functions below: whether it is
//! skipped for this run, whether it holds one of the batch's API permits, and how to run it.
//! A new step is a [`Step`] variant, its file here and its arm in each of them.

mod alerts;
mod chef;
mod dns;
mod droplet;
mod firewall;
mod monitoring;
mod project;
mod reserved_ip;
mod volume;
mod vpc;

pub use alerts::alert_description;
pub(crate) use alerts::alert_prefix;
pub(crate) use dns::{describe_record, same_record};

use std::future::Future;

use super::Provisioner;
use super::fleet::{Batch, Permits};
use super::journal::Step;
use super::run::{HostRun, chain};
use crate::error::{Error, Result};

impl Step {
    /// The pool of API-work permits the step holds while it runs, if any: the batch's
    /// concurrency limit applies per provider. The waits hold none (they poll under the
    /// rate budget only), nor do the firewall and project steps, which wait for the other
    /// hosts of the batch to make one call with them — a permit held while waiting would
    /// stall those hosts.
    pub(crate) fn permit(self) -> Option<Permits> {
        match self {
            Step::ChefClient | Step::ChefNode => Some(Permits::ConfigMgmt),
            Step::Validate
            | Step::Vpc
            | Step::Volumes
            | Step::ReservedIp
            | Step::Alerts
            | Step::CreateDroplet => Some(Permits::Compute),
            Step::DnsRecords => Some(Permits::Dns),
            Step::WaitActive
            | Step::Firewalls
            | Step::Project
            | Step::PublishZone
            | Step::WaitMonitoring => None,
        }
    }
}

impl Provisioner {
    /// Whether `step` has nothing to do in this run (recorded as skipped).
    pub(crate) fn step_skipped(&self, step: Step, h: &HostRun) -> bool {
        match step {
            Step::PublishZone => !self.dns.needs_publish(),
            Step::WaitMonitoring => !h.j.spec.wait_for_monitoring,
            Step::Vpc => h.j.spec.vpc.is_none(),
            Step::Firewalls => h.j.spec.firewalls.is_empty(),
            Step::ReservedIp => h.j.spec.reserved_ip.is_none(),
            Step::Volumes => h.j.spec.volumes.is_empty(),
            Step::Alerts => h.j.spec.alerts.is_none(),
            Step::Project => h.j.spec.project.is_none(),
            _ => false,
        }
    }

    /// Runs `step` for one host. `retried`: the journal shows an earlier attempt of it
    /// (a resumed run, or a retry after a failure), so what it makes may already exist.
    pub(crate) async fn run_step(
        &self,
        step: Step,
        b: &Batch,
        h: &mut HostRun,
        retried: bool,
    ) -> Result<()> {
        match step {
            Step::Validate => self.step_validate(b, h).await,
            Step::ChefClient => self.step_chef_client(h, retried).await,
            Step::ChefNode => self.step_chef_node(h, retried).await,
            Step::Vpc => self.step_vpc(b, h).await,
            Step::CreateDroplet => self.step_create_droplet(h, retried).await,
            Step::WaitActive => self.step_wait_active(b, h, retried).await,
            Step::Volumes => self.step_volumes(h).await,
            Step::Firewalls => self.step_firewalls(b, h).await,
            Step::ReservedIp => self.step_reserved_ip(h).await,
            Step::Alerts => self.step_alerts(h).await,
            Step::Project => self.step_project(b, h).await,
            Step::DnsRecords => self.step_dns_records(b, h, retried).await,
            Step::PublishZone => self.step_publish(b, h).await,
            Step::WaitMonitoring => self.step_wait_monitoring(h).await,
        }
    }
}

impl Provisioner {
    /// Looks for what a create whose outcome is unknown may have made, for the adopt
    /// window (a listing may lag a create); a failed last lookup stops the run rather than
    /// risk a second create. `what` names it for the error: ``"volume `data`"``.
    pub(crate) async fn await_found<T, F, Fut>(
        &self,
        h: &HostRun,
        what: &str,
        lookup: F,
    ) -> Result<Option<T>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let mut last_err = None;
        for k in 0..self.config.adopt_lookups.max(1) {
            if k > 0 {
                tokio::time::sleep(self.config.adopt_delay).await;
            }
            match lookup().await {
                Ok(Some(v)) => return Ok(Some(v)),
                Ok(None) => last_err = None,
                Err(e) => {
                    tracing::debug!(host = %h.j.spec.name, attempt = k + 1, error = %chain(&e), "lookup after an unconfirmed create failed");
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(None),
            Some(e) => Err(Error::Precondition(format!(
                "could not confirm whether the create of {what} took effect: the lookup \
                 failed ({}); no second create was sent: resume or roll back this run once \
                 the provider answers",
                chain(&e)
            ))),
        }
    }
}
