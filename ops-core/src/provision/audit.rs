//! Orphan audit (read-only): what exists in one system but not in the others.
//!
//! - droplets with the tool tag but no Chef node of the same name;
//! - droplets with the tool tag but no A/AAAA record pointing at them in the audited zones;
//! - Chef nodes with no droplet of that name (this also lists machines that are not
//!   droplets at all — filter those out with `ignore_nodes`);
//! - A/AAAA records in the audited zones pointing at an address no droplet of the account has
//!   (again, addresses outside DigitalOcean show up; filter with `ignore_addresses`);
//! - run journals that did not finish (in progress, kept after failure, rollback incomplete);
//! - droplets that share one run tag (a lost create answer that a lagging listing showed only
//!   after a second create);
//! - VPCs this tool created (their description is [`VPC_MARK`]) that hold nothing: left by a
//!   teardown that ran while another host was still in them, or by a run that never resumed;
//! - reserved IPs assigned to no droplet (billed while idle).

use serde::Serialize;

use super::journal::RunStatus;
use super::spec::{RUN_TAG_PREFIX, TOOL_TAG};
use super::{Provisioner, RunJournal};
use crate::error::Result;
use crate::ports::{
    AlertPolicy, DnsRecord, Droplet, DropletFilter, PROJECT_MARK, PortErrorKind, Project,
    RecordType, ReservedIp, VPC_MARK, Volume, Vpc,
};

/// Orphans found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Tool-tagged droplets with no Chef node of their name.
    pub droplets_without_node: Vec<Droplet>,
    /// Tool-tagged droplets with no A/AAAA record to them in the audited zones.
    pub droplets_without_dns: Vec<Droplet>,
    /// Chef nodes whose name is no droplet's.
    pub nodes_without_droplet: Vec<String>,
    /// A/AAAA records in the audited zones pointing at no droplet's address.
    pub records_without_droplet: Vec<DnsRecord>,
    /// Run ids whose journal is not finished (`in_progress`, `failed`, `rollback_incomplete`).
    pub unfinished_runs: Vec<String>,
    /// Tool-tagged droplets that share their run tag (`ops-run:<id>`) with another droplet: a
    /// create whose answer was lost and that the listing showed only after a second create.
    /// The one the run's journal records is kept by the run; the others are duplicates.
    pub droplets_sharing_a_run_tag: Vec<Droplet>,
    /// VPCs this tool created that hold no resource.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty_vpcs: Vec<Vpc>,
    /// Reserved IPs assigned to no droplet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unassigned_reserved_ips: Vec<ReservedIp>,
    /// Volumes this tool created (tool tag) that are attached to no droplet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detached_volumes: Vec<Volume>,
    /// Projects this tool created that hold no resource.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty_projects: Vec<Project>,
    /// Alert policies this tool created whose droplets are all gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts_without_droplet: Vec<AlertPolicy>,
}

impl AuditReport {
    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.droplets_without_node.is_empty()
            && self.droplets_without_dns.is_empty()
            && self.nodes_without_droplet.is_empty()
            && self.records_without_droplet.is_empty()
            && self.unfinished_runs.is_empty()
            && self.droplets_sharing_a_run_tag.is_empty()
            && self.empty_vpcs.is_empty()
            && self.unassigned_reserved_ips.is_empty()
            && self.detached_volumes.is_empty()
            && self.empty_projects.is_empty()
            && self.alerts_without_droplet.is_empty()
    }
}

/// Audit settings.
#[derive(Debug, Clone, Default)]
pub struct AuditScope {
    /// Zones whose records are compared.
    pub zones: Vec<String>,
    /// Chef nodes that are known not to be droplets.
    pub ignore_nodes: Vec<String>,
    /// Addresses that are known not to be droplets.
    pub ignore_addresses: Vec<String>,
}

fn addrs(d: &Droplet) -> impl Iterator<Item = String> {
    [
        d.public_ipv4.map(|a| a.to_string()),
        d.public_ipv6.map(|a| a.to_string()),
    ]
    .into_iter()
    .flatten()
}

impl Provisioner {
    /// Lists orphans. Read-only.
    pub async fn audit(&self, scope: &AuditScope) -> Result<AuditReport> {
        let all = self
            .call(&self.budgets.compute, || {
                self.compute.droplets(&DropletFilter::All)
            })
            .await?;
        let nodes = self
            .call(&self.budgets.config_mgmt, || self.cm.list_nodes())
            .await?;
        let mut records = Vec::new();
        for z in &scope.zones {
            let z = z.trim_end_matches('.');
            records.extend(
                self.call(&self.budgets.dns, || self.dns.records(z, None))
                    .await?
                    .into_iter()
                    .filter(|r| matches!(r.rtype, RecordType::A | RecordType::AAAA)),
            );
        }
        let mut report = AuditReport::default();
        for d in all.iter().filter(|d| d.tags.iter().any(|t| t == TOOL_TAG)) {
            if !nodes.iter().any(|n| n.eq_ignore_ascii_case(&d.name)) {
                report.droplets_without_node.push(d.clone());
            }
            if !scope.zones.is_empty() {
                let mine: Vec<String> = addrs(d).collect();
                if !records.iter().any(|r| mine.contains(&r.data)) {
                    report.droplets_without_dns.push(d.clone());
                }
            }
        }
        let run_tag = |d: &Droplet| {
            d.tags
                .iter()
                .find(|t| t.starts_with(RUN_TAG_PREFIX))
                .cloned()
        };
        for d in all.iter().filter(|d| d.tags.iter().any(|t| t == TOOL_TAG)) {
            if let Some(tag) = run_tag(d) {
                if all
                    .iter()
                    .filter(|o| o.id != d.id && run_tag(o).as_ref() == Some(&tag))
                    .count()
                    > 0
                {
                    report.droplets_sharing_a_run_tag.push(d.clone());
                }
            }
        }
        for n in &nodes {
            if !all.iter().any(|d| d.name.eq_ignore_ascii_case(n))
                && !scope.ignore_nodes.contains(n)
            {
                report.nodes_without_droplet.push(n.clone());
            }
        }
        let all_addrs: Vec<String> = all.iter().flat_map(addrs).collect();
        for r in records {
            if !all_addrs.contains(&r.data) && !scope.ignore_addresses.contains(&r.data) {
                report.records_without_droplet.push(r);
            }
        }
        // A compute provider without VPCs answers `Rejected`: nothing to audit there.
        let vpcs = match self
            .call(&self.budgets.compute, || self.compute.vpcs())
            .await
        {
            Ok(v) => v,
            Err(e) if e.kind() == PortErrorKind::Rejected => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for v in vpcs.into_iter().filter(|v| v.description == VPC_MARK) {
            let held = self
                .call(&self.budgets.compute, || {
                    self.compute.vpc_member_count(&v.id)
                })
                .await?;
            if held == 0 {
                report.empty_vpcs.push(v);
            }
        }
        match self
            .call(&self.budgets.compute, || self.compute.reserved_ips())
            .await
        {
            Ok(ips) => {
                report.unassigned_reserved_ips =
                    ips.into_iter().filter(|r| r.droplet_id.is_none()).collect();
            }
            Err(e) if e.kind() == PortErrorKind::Rejected => {}
            Err(e) => return Err(e.into()),
        }
        // Providers without volumes, projects or alert policies answer `Rejected`.
        match self
            .call(&self.budgets.compute, || self.compute.volumes())
            .await
        {
            Ok(vs) => {
                report.detached_volumes = vs
                    .into_iter()
                    .filter(|v| v.tags.iter().any(|t| t == TOOL_TAG) && v.droplet_ids.is_empty())
                    .collect();
            }
            Err(e) if e.kind() == PortErrorKind::Rejected => {}
            Err(e) => return Err(e.into()),
        }
        let projects = match self
            .call(&self.budgets.compute, || self.compute.projects())
            .await
        {
            Ok(p) => p,
            Err(e) if e.kind() == PortErrorKind::Rejected => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for p in projects
            .into_iter()
            .filter(|p| p.description == PROJECT_MARK)
        {
            let held = self
                .call(&self.budgets.compute, || {
                    self.compute.project_member_count(&p.id)
                })
                .await?;
            if held == 0 {
                report.empty_projects.push(p);
            }
        }
        match self
            .call(&self.budgets.compute, || self.compute.alert_policies())
            .await
        {
            Ok(ps) => {
                let prefix = format!("{TOOL_TAG} ");
                report.alerts_without_droplet = ps
                    .into_iter()
                    .filter(|p| {
                        p.description.starts_with(&prefix)
                            && !p.droplet_ids.iter().any(|d| all.iter().any(|x| x.id == *d))
                    })
                    .collect();
            }
            Err(e) if e.kind() == PortErrorKind::Rejected => {}
            Err(e) => return Err(e.into()),
        }
        let journals: Vec<RunJournal> = self.store.list().await?;
        report.unfinished_runs = journals
            .into_iter()
            .filter(|j| {
                matches!(
                    j.status,
                    RunStatus::InProgress | RunStatus::Failed | RunStatus::RollbackIncomplete
                )
            })
            .map(|j| j.run_id)
            .collect();
        Ok(report)
    }
}
