//! Teardown: remove a host's DNS records (and publish), its Chef node and client, and its
//! droplet. Every step tolerates the resource being gone already, so it can be re-run until
//! the report is clean.
//!
//! Only droplets carrying the tool tag are destroyed; a droplet of the same name without it
//! is reported as skipped. DNS records are removed when they point at one of the host's
//! droplets, or — when no droplet of that name exists any more — every A/AAAA record at the
//! host's DNS name.

use serde::{Deserialize, Serialize};

use super::journal::{UndoAction, UndoOutcome};
use super::run::chain;
use super::spec::{TOOL_TAG, check_hostname};
use super::{HostSpec, ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{Compute, ConfigMgmt, Dns, DropletFilter, Monitoring, PortResult, RecordType};

/// What to tear down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeardownTarget {
    /// Host (droplet, Chef node and client) name.
    pub name: String,
    /// DNS zone; `None` leaves DNS alone.
    pub zone: Option<String>,
    /// Record name relative to the zone (default: the host name).
    pub record: Option<String>,
}

impl TeardownTarget {
    /// Name only: droplet and Chef objects, no DNS.
    pub fn new(name: impl Into<String>) -> Self {
        TeardownTarget {
            name: name.into(),
            zone: None,
            record: None,
        }
    }

    /// With a DNS zone (record name = host name).
    #[must_use]
    pub fn with_zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }

    fn fqdn(&self) -> Option<(String, String)> {
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

impl<C, D, K, M> Provisioner<C, D, K, M>
where
    C: Compute + 'static,
    D: Dns + 'static,
    K: ConfigMgmt + 'static,
    M: Monitoring + 'static,
{
    fn td(&self, report: &mut TeardownReport, resource: String, outcome: UndoOutcome) {
        let action = UndoAction { resource, outcome };
        self.emit(ProgressEvent::Undo {
            host: report.name.clone(),
            run_id: String::new(),
            action: action.clone(),
        });
        report.actions.push(action);
    }

    fn removal(dry_run: bool, r: impl FnOnce() -> Option<PortResult<()>>) -> UndoOutcome {
        if dry_run {
            return UndoOutcome::WouldRemove;
        }
        match r() {
            None | Some(Ok(())) => UndoOutcome::Removed,
            Some(Err(e)) if e.is_not_found() => UndoOutcome::AlreadyGone,
            Some(Err(e)) => UndoOutcome::Failed(chain(&e)),
        }
    }

    /// Tears down one host. With `dry_run`, only reads are made and the report lists what
    /// would be removed. Returns `Err` only for an invalid target.
    pub async fn teardown(&self, target: &TeardownTarget, dry_run: bool) -> Result<TeardownReport> {
        check_target(target)?;
        Ok(self.teardown_one(target, dry_run, true).await.0)
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
        let mut pending_publish = None;
        let mut report = TeardownReport {
            name: target.name.clone(),
            dry_run,
            actions: Vec::new(),
        };
        let name = target.name.as_str();
        let f = DropletFilter::Name(name.to_string());
        let droplets = self
            .call(&self.budgets.compute, || self.compute.droplets(&f))
            .await;
        let (managed, unmanaged): (Vec<_>, Vec<_>) = match &droplets {
            Ok(ds) => ds
                .iter()
                .filter(|d| d.name.eq_ignore_ascii_case(name))
                .cloned()
                .partition(|d| d.tags.iter().any(|t| t == TOOL_TAG)),
            Err(_) => (Vec::new(), Vec::new()),
        };

        // 1. DNS.
        if let Some((zone, fqdn)) = target.fqdn() {
            match &droplets {
                Err(e) => self.td(
                    &mut report,
                    format!("dns records at {fqdn}"),
                    UndoOutcome::Skipped(format!(
                        "droplet lookup failed, so it is unknown which records are this host's: {}",
                        chain(e)
                    )),
                ),
                Ok(_) => {
                    let ours: Vec<String> = managed
                        .iter()
                        .flat_map(|d| {
                            [
                                d.public_ipv4.map(|a| a.to_string()),
                                d.public_ipv6.map(|a| a.to_string()),
                            ]
                        })
                        .flatten()
                        .collect();
                    match self
                        .call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                        .await
                    {
                        Err(e) => self.td(
                            &mut report,
                            format!("dns records at {fqdn}"),
                            UndoOutcome::Failed(chain(&e)),
                        ),
                        Ok(records) => {
                            let mut removed = false;
                            for r in records
                                .iter()
                                .filter(|r| matches!(r.rtype, RecordType::A | RecordType::AAAA))
                            {
                                let what = format!("dns {} {} -> {}", r.rtype, r.fqdn, r.data);
                                if !managed.is_empty() && !ours.contains(&r.data) {
                                    self.td(
                                        &mut report,
                                        what,
                                        UndoOutcome::Skipped(
                                            "points to an address that is not this host's".into(),
                                        ),
                                    );
                                    continue;
                                }
                                let res = if dry_run {
                                    None
                                } else {
                                    Some(
                                        self.call(&self.budgets.dns, || self.dns.delete_record(r))
                                            .await,
                                    )
                                };
                                let o = Self::removal(dry_run, || res);
                                removed |= o == UndoOutcome::Removed;
                                self.td(&mut report, what, o);
                            }
                            if (removed || dry_run) && self.dns.needs_publish() && !publish_now {
                                pending_publish = Some(zone.clone());
                            } else if (removed || dry_run) && self.dns.needs_publish() {
                                let o = if dry_run {
                                    UndoOutcome::WouldRemove
                                } else {
                                    let note = format!("ops-core teardown {name}");
                                    match self
                                        .call(&self.budgets.dns, || self.dns.publish(&zone, &note))
                                        .await
                                    {
                                        Ok(_) => UndoOutcome::Removed,
                                        Err(e) => UndoOutcome::Failed(chain(&e)),
                                    }
                                };
                                self.td(&mut report, format!("dns publish {zone}"), o);
                            }
                        }
                    }
                }
            }
        }

        // 2. Chef node and client.
        let res = if dry_run {
            None
        } else {
            Some(
                self.call(&self.budgets.config_mgmt, || self.cm.delete_node(name))
                    .await,
            )
        };
        let o = if dry_run {
            match self
                .call(&self.budgets.config_mgmt, || self.cm.get_node(name))
                .await
            {
                Ok(Some(_)) => UndoOutcome::WouldRemove,
                Ok(None) => UndoOutcome::AlreadyGone,
                Err(e) => UndoOutcome::Failed(chain(&e)),
            }
        } else {
            Self::removal(false, || res)
        };
        self.td(&mut report, format!("chef node {name}"), o);
        let res = if dry_run {
            None
        } else {
            Some(
                self.call(&self.budgets.config_mgmt, || self.cm.delete_client(name))
                    .await,
            )
        };
        let o = if dry_run {
            match self
                .call(&self.budgets.config_mgmt, || self.cm.client_exists(name))
                .await
            {
                Ok(true) => UndoOutcome::WouldRemove,
                Ok(false) => UndoOutcome::AlreadyGone,
                Err(e) => UndoOutcome::Failed(chain(&e)),
            }
        } else {
            Self::removal(false, || res)
        };
        self.td(&mut report, format!("chef client {name}"), o);

        // 3. Droplets.
        match &droplets {
            Err(e) => self.td(
                &mut report,
                format!("droplet {name}"),
                UndoOutcome::Failed(format!("lookup failed: {}", chain(e))),
            ),
            Ok(_) => {
                if managed.is_empty() && unmanaged.is_empty() {
                    self.td(
                        &mut report,
                        format!("droplet {name}"),
                        UndoOutcome::AlreadyGone,
                    );
                }
                for d in &unmanaged {
                    self.td(
                        &mut report,
                        format!("droplet {} ({})", d.id, d.name),
                        UndoOutcome::Skipped(format!(
                            "no `{TOOL_TAG}` tag: not created by this tool"
                        )),
                    );
                }
                for d in &managed {
                    let res = if dry_run {
                        None
                    } else {
                        Some(
                            self.call(&self.budgets.compute, || self.compute.delete_droplet(d.id))
                                .await,
                        )
                    };
                    let o = Self::removal(dry_run, || res);
                    self.td(&mut report, format!("droplet {} ({})", d.id, d.name), o);
                }
            }
        }
        (report, pending_publish)
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
