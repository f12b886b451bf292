//! Teardown: remove a host's DNS records (and publish), its droplet, and its Chef node and
//! client, through the same [removal plan](super::removal) as a rollback. Every removal
//! tolerates the resource being gone already, so it can be re-run until the report is clean.
//!
//! Only droplets carrying the tool tag are destroyed; a droplet of the same name without it
//! is reported as skipped. DNS records are removed when they point at one of the host's
//! droplets, or — when no droplet of that name exists any more — every A/AAAA record at the
//! host's DNS name.

use serde::{Deserialize, Serialize};

use super::journal::{UndoAction, UndoOutcome};
use super::removal::RemovalPlan;
use super::run::chain;
use super::spec::check_hostname;
use super::{HostSpec, ProgressEvent, Provisioner};
use crate::error::{Error, Result};

/// What to tear down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeardownTarget {
    /// Host (droplet, Chef node and client) name.
    pub name: String,
    /// DNS zone; `None` leaves DNS alone.
    pub zone: Option<String>,
    /// Record name relative to the zone (default: the host name).
    pub record: Option<String>,
    /// The spec's VPC name: removed when this tool created it (its description says so)
    /// and nothing else is in it once the droplet is gone; `None` leaves VPCs alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// Names of the firewalls the spec defines (gives rules for): each is removed once it
    /// applies to no droplet and no tag. Firewalls the spec only names are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firewalls: Vec<String>,
    /// The spec reserves a new IP for the host (`reserved_ip = {}`): the addresses assigned
    /// to its droplets are released before the droplets go. An address the spec names is
    /// the account's own and is left alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reserved_ip: bool,
    /// Names of the spec's volumes: each one this tool created (it carries the tool tag) is
    /// removed once the droplets are gone; others are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// The spec's project name: removed when this tool created it (its description says
    /// so) and nothing else is in it once the host's resources are gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Remove the monitoring alert policies this tool created for the host (their
    /// description starts `ops-core <host>: `).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alerts: bool,
}

impl TeardownTarget {
    /// Name only: droplet and Chef objects, no DNS.
    pub fn new(name: impl Into<String>) -> Self {
        TeardownTarget {
            name: name.into(),
            zone: None,
            record: None,
            vpc: None,
            firewalls: Vec::new(),
            reserved_ip: false,
            volumes: Vec::new(),
            project: None,
            alerts: false,
        }
    }

    /// With the spec's VPC name (see [`vpc`](Self::vpc)).
    #[must_use]
    pub fn with_vpc(mut self, name: impl Into<String>) -> Self {
        self.vpc = Some(name.into());
        self
    }

    /// With a DNS zone (record name = host name).
    #[must_use]
    pub fn with_zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }

    /// `(zone, fqdn)` when a zone is set.
    pub(crate) fn fqdn(&self) -> Option<(String, String)> {
        let zone = self.zone.as_deref()?.trim_end_matches('.').to_string();
        let rec = self.record.as_deref().unwrap_or(&self.name);
        Some((zone.clone(), format!("{rec}.{zone}")))
    }
}

impl From<&HostSpec> for TeardownTarget {
    fn from(s: &HostSpec) -> Self {
        TeardownTarget {
            name: s.name.clone(),
            zone: Some(s.dns.zone.clone()),
            record: s.dns.record.clone(),
            vpc: s.vpc.as_ref().map(|v| v.name.clone()),
            firewalls: s
                .firewalls
                .iter()
                .filter(|f| f.defines_rules())
                .map(|f| f.name.clone())
                .collect(),
            reserved_ip: s.reserved_ip.as_ref().is_some_and(|r| r.address.is_none()),
            volumes: s.volumes.iter().map(|v| v.name.clone()).collect(),
            project: s.project.as_ref().map(|p| p.name.clone()),
            alerts: s.alerts.is_some(),
        }
    }
}

/// What teardown did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeardownReport {
    /// Host name.
    pub name: String,
    /// True for a dry run (outcomes are `WouldRemove`).
    pub dry_run: bool,
    /// Every resource acted on, in order.
    pub actions: Vec<UndoAction>,
    /// A provider refused the credentials (HTTP 401/403) for a lookup or a removal: the
    /// report is incomplete and stays so until they are fixed (retrying does not help).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub credentials_rejected: bool,
}

impl TeardownReport {
    /// True when nothing failed (skipped resources are not failures).
    pub fn complete(&self) -> bool {
        !self
            .actions
            .iter()
            .any(|a| matches!(a.outcome, UndoOutcome::Failed(_)))
    }
}

impl Provisioner {
    /// Tears down one host. With `dry_run`, only reads are made and the report lists what
    /// would be removed. Returns `Err` for an invalid target, and (not a dry run) when
    /// another run holds the host name's lease (a provision or teardown of it is under way:
    /// [`StateError::Held`](crate::state::StateError::Held)).
    pub async fn teardown(&self, target: &TeardownTarget, dry_run: bool) -> Result<TeardownReport> {
        check_target(target)?;
        if dry_run {
            return Ok(self.teardown_one(target, dry_run, true).await.0);
        }
        let run = format!("teardown-{}", super::journal::new_id());
        let leases = self
            .take_leases(std::iter::once((target.name.as_str(), run.as_str())))
            .await?;
        let report = self
            .leased(&leases, self.teardown_one(target, dry_run, true))
            .await;
        self.give_back(&leases).await;
        Ok(report.0)
    }

    /// What [`teardown`](Self::teardown) of `target` would remove, in order (reads only).
    pub async fn teardown_plan(&self, target: &TeardownTarget) -> Result<RemovalPlan> {
        check_target(target)?;
        Ok(self.plan_from_target(target).await)
    }

    /// Tears down many hosts (API work `concurrency` hosts at a time) and publishes each
    /// touched zone **once** at the end instead of once per host. One host's failures do not
    /// stop the others. Returns `Err` only for invalid targets (then nothing is touched).
    pub async fn teardown_fleet(
        &self,
        targets: &[TeardownTarget],
        dry_run: bool,
    ) -> Result<FleetTeardown> {
        for t in targets {
            check_target(t)?;
        }
        let permits = tokio::sync::Semaphore::new(self.config.concurrency.max(1));
        let runs = targets.iter().map(|t| async {
            let _p = permits.acquire().await.ok();
            self.teardown_one(t, dry_run, false).await
        });
        let results = futures_util::future::join_all(runs).await;
        let mut hosts = Vec::new();
        let mut zones: Vec<String> = Vec::new();
        for (r, z) in results {
            hosts.push(r);
            if let Some(z) = z {
                if !zones.contains(&z) {
                    zones.push(z);
                }
            }
        }
        let mut publishes = Vec::new();
        if self.dns.needs_publish() {
            for zone in zones {
                let outcome = if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    let note = format!("ops-core teardown of {} host(s)", targets.len());
                    match self
                        .call(&self.budgets.dns, || self.dns.publish(&zone, &note))
                        .await
                    {
                        Ok(_) => UndoOutcome::Removed,
                        Err(e) => UndoOutcome::Failed(chain(&e)),
                    }
                };
                let action = UndoAction {
                    resource: format!("dns publish {zone}"),
                    outcome,
                };
                self.emit(ProgressEvent::Undo {
                    host: String::new(),
                    run_id: String::new(),
                    action: action.clone(),
                });
                publishes.push(action);
            }
        }
        Ok(FleetTeardown { hosts, publishes })
    }

    /// One host; returns the zone that still needs a publish when `publish_now` is false.
    async fn teardown_one(
        &self,
        target: &TeardownTarget,
        dry_run: bool,
        publish_now: bool,
    ) -> (TeardownReport, Option<String>) {
        let plan = self.plan_from_target(target).await;
        let executed = self.execute_removal(&plan, dry_run, !publish_now).await;
        let report = TeardownReport {
            name: target.name.clone(),
            dry_run,
            actions: executed.actions(),
            credentials_rejected: executed.credentials_rejected,
        };
        (report, executed.pending_publish)
    }
}

fn check_target(target: &TeardownTarget) -> Result<()> {
    let mut problems = Vec::new();
    if let Err(e) = check_hostname(&target.name) {
        problems.push(format!("name: {e}"));
    }
    if let Some(z) = &target.zone {
        if let Err(e) = check_hostname(z.trim_end_matches('.')) {
            problems.push(format!("zone: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation {
            target: target.name.clone(),
            problems,
        })
    }
}

/// What [`Provisioner::teardown_fleet`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetTeardown {
    /// Per host, in input order.
    pub hosts: Vec<TeardownReport>,
    /// One publish per zone touched.
    pub publishes: Vec<UndoAction>,
}

impl FleetTeardown {
    /// True when nothing failed.
    pub fn complete(&self) -> bool {
        self.hosts.iter().all(TeardownReport::complete)
            && !self
                .publishes
                .iter()
                .any(|a| matches!(a.outcome, UndoOutcome::Failed(_)))
    }
}
