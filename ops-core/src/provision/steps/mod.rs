//! The provision steps, one file each (see [`Step`] for the order). Each adds `step_*`
//! methods to [`Provisioner`] and records what it made in the run journal;
//! [`removal`](super::removal) removes it (one `Removal` per kind of resource), for
//! rollback, teardown and their dry runs alike.
//!
//! The runner (`run.rs`) sees a step only through the three functions below: whether it is
//! skipped for this run, whether it holds one of the batch's API permits, and how to run it.
//! A new step is a [`Step`] variant, its file here and its arm in each of them.

mod chef;
mod dns;
mod droplet;
mod firewall;
mod monitoring;
mod reserved_ip;
mod vpc;

pub(crate) use dns::{describe_record, same_record};

use super::Provisioner;
use super::fleet::Batch;
use super::journal::Step;
use super::run::HostRun;
use crate::error::Result;

impl Step {
    /// Whether the step makes API calls that count against the batch's concurrency limit
    /// (the waits do not: they poll under the rate budget only).
    pub(crate) fn holds_api_permit(self) -> bool {
        matches!(
            self,
            Step::Validate
                | Step::ChefClient
                | Step::ChefNode
                | Step::Vpc
                | Step::Firewalls
                | Step::ReservedIp
                | Step::CreateDroplet
                | Step::DnsRecords
        )
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
            Step::Vpc => self.step_vpc(h).await,
            Step::CreateDroplet => self.step_create_droplet(h, retried).await,
            Step::WaitActive => self.step_wait_active(b, h, retried).await,
            Step::Firewalls => self.step_firewalls(h).await,
            Step::ReservedIp => self.step_reserved_ip(h).await,
            Step::DnsRecords => self.step_dns_records(b, h, retried).await,
            Step::PublishZone => self.step_publish(b, h).await,
            Step::WaitMonitoring => self.step_wait_monitoring(h).await,
        }
    }
}
