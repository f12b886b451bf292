//! One removal plan for everything that takes a host apart.
//!
//! Rollback (from a run journal) and teardown (from a [`TeardownTarget`]) differ only in how
//! they learn what exists; both build a [`RemovalPlan`] with reads only, and one executor
//! carries it out — or, for a dry run, reports what it would do without a write. A new kind
//! of resource (a firewall, a volume) therefore means one [`Removal`] variant, its line in
//! the two builders and its arm in the executor, nowhere else.
//!
//! Order: DNS records, then one publish of the zone (providers that publish), then the alert
//! policies and the reserved IP, then droplets, then the volumes, firewalls, project and VPC
//! the run created (the project and VPC once nothing is in them), then the Chef node, then
//! the Chef client — the reverse of creation, so a half-removed host never has a DNS name
//! pointing at nothing that still answers.

use serde::Serialize;

use super::journal::{RunJournal, RunStatus, Step, UndoAction, UndoOutcome};
use super::run::{chain, zone_of};
use super::spec::TOOL_TAG;
use super::steps::{alert_description, alert_prefix, describe_record, same_record};
use super::teardown::TeardownTarget;
use super::{ProgressEvent, Provisioner, RollbackReport};
use crate::error::Error;
use crate::ports::{
    DnsRecord, DropletFilter, PROJECT_MARK, PortError, PortErrorKind, PortResult, RecordType,
    Service, VPC_MARK,
};

/// The port error inside a workflow error from a lookup (`vpc_named`).
fn port_of(e: Error) -> PortError {
    match e {
        Error::Port(p) => p,
        other => PortError::new(
            Service::Compute,
            "compute",
            PortErrorKind::Other,
            other.to_string(),
        ),
    }
}

/// One thing to remove, or to report on, for a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Removal {
    /// An A/AAAA record.
    DnsRecord(DnsRecord),
    /// Publish `zone` once the records above are removed (only when one was, or `forced`).
    Publish {
        /// The zone.
        zone: String,
        /// Publish even if this pass removes no record: an earlier pass did, and its publish
        /// failed.
        forced: bool,
    },
    /// A droplet carrying the tool tag.
    Droplet {
        /// Provider id.
        id: u64,
        /// Name.
        name: String,
    },
    /// A reserved IP the run reserved (released before its droplet is deleted).
    ReservedIp {
        /// The address.
        ip: String,
    },
    /// A cloud firewall the run created or the spec defines (removed once it applies to no
    /// droplet and no tag; kept, and reported so, otherwise).
    Firewall {
        /// Provider id.
        id: String,
        /// Name.
        name: String,
    },
    /// A monitoring alert policy the run created for the host.
    AlertPolicy {
        /// Provider id.
        id: String,
        /// Its description (how the tool names its policies).
        description: String,
    },
    /// A block-storage volume the run created (removed once its droplet is gone).
    Volume {
        /// Provider id.
        id: String,
        /// Name.
        name: String,
    },
    /// A project this tool created (kept, and reported so, while it holds other resources).
    Project {
        /// Provider id.
        id: String,
        /// Name.
        name: String,
    },
    /// A VPC this tool created (kept, and reported so, while it holds other resources).
    Vpc {
        /// Provider id.
        id: String,
        /// Name.
        name: String,
    },
    /// The Chef node.
    ChefNode {
        /// Node name.
        name: String,
        /// Recorded as made by the run (else reported only when it exists).
        recorded: bool,
    },
    /// The Chef API client.
    ChefClient {
        /// Client name.
        name: String,
        /// Recorded as made by the run (else reported only when it exists).
        recorded: bool,
    },
    /// Known without acting: kept on purpose, already gone, or a lookup that failed (then the
    /// removal cannot be verified and the report is incomplete).
    Note {
        /// What it is about.
        resource: String,
        /// What is known.
        outcome: UndoOutcome,
    },
}

impl Removal {
    /// How reports name it: `"dns A web-01.example.com -> 192.0.2.1"`, `"droplet 123 (web-01)"`…
    pub fn resource(&self) -> String {
        match self {
            Removal::DnsRecord(r) => describe_record(r),
            Removal::Publish { zone, .. } => format!("dns publish {zone}"),
            Removal::Droplet { id, name } => format!("droplet {id} ({name})"),
            Removal::Vpc { id, name } => format!("vpc {id} ({name})"),
            Removal::AlertPolicy { id, .. } => format!("alert policy {id}"),
            Removal::Volume { id, name } => format!("volume {id} ({name})"),
            Removal::Project { id, name } => format!("project {id} ({name})"),
            Removal::Firewall { id, name } => format!("firewall {id} ({name})"),
            Removal::ReservedIp { ip } => format!("reserved ip {ip}"),
            Removal::ChefNode { name, .. } => format!("chef node {name}"),
            Removal::ChefClient { name, .. } => format!("chef client {name}"),
            Removal::Note { resource, .. } => resource.clone(),
        }
    }
}

/// What to remove for one host, in order. Built with reads only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovalPlan {
    /// Host name.
    pub host: String,
    /// The run, for a rollback.
    pub run_id: Option<String>,
    /// In execution order.
    pub items: Vec<Removal>,
    /// For a rollback: every lookup by run tag answered, so nothing carrying the tag is
    /// missing from `items`.
    #[serde(skip)]
    pub(crate) tag_lookup_ok: bool,
    /// A lookup was refused for the credentials (401/403).
    #[serde(skip)]
    pub(crate) credentials_rejected: bool,
}

/// What the executor did, item by item.
pub(crate) struct Executed {
    pub(crate) done: Vec<(Removal, UndoOutcome)>,
    /// The zone still to publish, when the publish was deferred to the caller (a fleet).
    pub(crate) pending_publish: Option<String>,
    /// A provider refused the credentials (401/403) for a lookup or a removal: retrying will
    /// not help until they are fixed (issue #17: a binary says so with its bad-input code).
    pub(crate) credentials_rejected: bool,
}

impl Executed {
    pub(crate) fn actions(&self) -> Vec<UndoAction> {
        self.done
            .iter()
            .map(|(r, o)| UndoAction {
                resource: r.resource(),
                outcome: o.clone(),
            })
            .collect()
    }
}

fn removal_outcome(r: PortResult<()>, rejected: &mut bool) -> UndoOutcome {
    match r {
        Ok(()) => UndoOutcome::Removed,
        Err(e) if e.is_not_found() => UndoOutcome::AlreadyGone,
        Err(e) => failed(&e, rejected),
    }
}

/// `Failed` with the error chain, noting a refusal of the credentials in `rejected`.
fn failed(e: &PortError, rejected: &mut bool) -> UndoOutcome {
    *rejected |= e.kind() == PortErrorKind::Unauthorized;
    UndoOutcome::Failed(chain(e))
}

/// `Failed("lookup failed: …")`, noting a refusal of the credentials in `rejected`.
fn lookup_failed(e: &PortError, rejected: &mut bool) -> UndoOutcome {
    *rejected |= e.kind() == PortErrorKind::Unauthorized;
    UndoOutcome::Failed(format!("lookup failed: {}", chain(e)))
}

impl Provisioner {
    // ------------------------------------------------------------------------------------
    // building plans (reads only)
    // ------------------------------------------------------------------------------------

    /// What rolling back `j` removes: what the journal records, plus what an interrupted
    /// write may have left (records at the host's name pointing at its addresses, droplets
    /// carrying the run tag — looked up for the adopt window when a create is unconfirmed).
    pub(crate) async fn plan_from_journal(&self, j: &RunJournal) -> RemovalPlan {
        let spec = &j.spec;
        let zone = zone_of(spec);
        let fqdn = spec.fqdn();
        let mut items = Vec::new();
        let mut rejected = false;

        // DNS records.
        let mut records = j.resources.dns_records.clone();
        if j.was_attempted(Step::DnsRecords) {
            let addrs: Vec<String> = [
                j.addresses.ipv4.map(|a| a.to_string()),
                j.addresses.ipv6.map(|a| a.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            match self
                .call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                .await
            {
                Err(e) => items.push(Removal::Note {
                    resource: format!("dns records of {fqdn} (a create may have been applied)"),
                    outcome: lookup_failed(&e, &mut rejected),
                }),
                Ok(now) => {
                    for r in now {
                        if matches!(r.rtype, RecordType::A | RecordType::AAAA)
                            && addrs.contains(&r.data)
                            && !records
                                .iter()
                                .any(|o| same_record(o, &r.fqdn, &r.rtype, &r.data))
                        {
                            records.push(r);
                        }
                    }
                }
            }
        }
        let any_records = !records.is_empty();
        items.extend(records.into_iter().rev().map(Removal::DnsRecord));
        let forced = j.resources.unpublished_zone.is_some();
        if (any_records || forced) && self.dns.needs_publish() {
            items.push(Removal::Publish {
                zone: j.resources.unpublished_zone.clone().unwrap_or(zone.clone()),
                forced,
            });
        }

        // The reserved IP this run reserved, or after an unconfirmed reserve the one on its
        // droplet.
        match (&j.resources.reserved_ip, &j.resources.droplet) {
            (Some(r), _) if r.created => items.push(Removal::ReservedIp { ip: r.ip.clone() }),
            (None, Some(d)) if j.resources.reserved_ip_creates_sent > 0 => {
                match self.reserved_ips_of(d.id).await {
                    Ok(found) => {
                        items.extend(found.into_iter().map(|r| Removal::ReservedIp { ip: r.ip }));
                    }
                    Err(e) => items.push(Removal::Note {
                        resource: format!(
                            "reserved ips of droplet {} (a reserve was sent; one may exist)",
                            d.id
                        ),
                        outcome: lookup_failed(&port_of(e), &mut rejected),
                    }),
                }
            }
            _ => {}
        }

        // The alert policies the run created, and any whose create was sent unconfirmed.
        for a in &j.resources.alerts {
            items.push(Removal::AlertPolicy {
                id: a.id.clone(),
                description: alert_description(&spec.name, a.metric, &j.run_tag()),
            });
        }
        for m in &j.resources.alert_creates_sent {
            if j.resources.alerts.iter().any(|a| a.metric == *m) {
                continue;
            }
            let description = alert_description(&spec.name, *m, &j.run_tag());
            match self.alert_described(&description).await {
                Ok(Some(p)) => items.push(Removal::AlertPolicy {
                    id: p.id,
                    description,
                }),
                Ok(None) => {}
                Err(e) => items.push(Removal::Note {
                    resource: format!(
                        "alert policy `{description}` (a create was sent; it may exist)"
                    ),
                    outcome: lookup_failed(&port_of(e), &mut rejected),
                }),
            }
        }

        // Droplets: the recorded one and anything carrying the run tag.
        let mut droplets: Vec<(u64, String)> = j
            .resources
            .droplet
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        let mut tag_lookup_ok = !j.was_attempted(Step::CreateDroplet);
        if j.was_attempted(Step::CreateDroplet) {
            // With a create sent and no droplet recorded, an empty listing proves nothing
            // until the listing's lag has passed: look as long as a create would.
            let lookups = if j.resources.droplet_unconfirmed() {
                self.config.adopt_lookups.max(1)
            } else {
                1
            };
            let mut last = None;
            for k in 0..lookups {
                if k > 0 {
                    tokio::time::sleep(self.config.adopt_delay).await;
                }
                let f = DropletFilter::Tag(j.run_tag());
                match self
                    .call(&self.budgets.compute, || self.compute.droplets(&f))
                    .await
                {
                    Ok(found) if found.is_empty() => last = Some(Ok(())),
                    Ok(found) => {
                        for d in found {
                            if !droplets.iter().any(|(i, _)| *i == d.id) {
                                droplets.push((d.id, d.name));
                            }
                        }
                        last = Some(Ok(()));
                        break;
                    }
                    Err(e) => last = Some(Err(e)),
                }
            }
            match last {
                Some(Err(e)) => items.push(Removal::Note {
                    resource: format!(
                        "droplets tagged {} (a create was sent; one may exist)",
                        j.run_tag()
                    ),
                    outcome: lookup_failed(&e, &mut rejected),
                }),
                _ => tag_lookup_ok = true,
            }
        }
        items.extend(
            droplets
                .into_iter()
                .map(|(id, name)| Removal::Droplet { id, name }),
        );

        // Firewalls the run created, and any whose create was sent unconfirmed.
        for f in j.resources.firewalls.iter().filter(|f| f.created) {
            items.push(Removal::Firewall {
                id: f.id.clone(),
                name: f.name.clone(),
            });
        }
        for name in &j.resources.firewall_creates_sent {
            if j.resources.firewalls.iter().any(|f| f.name == *name) {
                continue;
            }
            match self.firewall_named(name).await {
                Ok(Some(f)) => items.push(Removal::Firewall {
                    id: f.id,
                    name: f.name,
                }),
                Ok(None) => {}
                Err(e) => items.push(Removal::Note {
                    resource: format!("firewall {name} (a create was sent; it may exist)"),
                    outcome: lookup_failed(&port_of(e), &mut rejected),
                }),
            }
        }

        // Volumes the run created (detached by the droplet's removal), and any whose create
        // was sent unconfirmed and that carries the run tag.
        for v in j.resources.volumes.iter().filter(|v| v.created) {
            items.push(Removal::Volume {
                id: v.id.clone(),
                name: v.name.clone(),
            });
        }
        for name in &j.resources.volume_creates_sent {
            if j.resources.volumes.iter().any(|v| v.name == *name) {
                continue;
            }
            match self.volume_named(name, &spec.region).await {
                Ok(Some(v)) if v.tags.contains(&j.run_tag()) => items.push(Removal::Volume {
                    id: v.id,
                    name: v.name,
                }),
                Ok(_) => {}
                Err(e) => items.push(Removal::Note {
                    resource: format!("volume {name} (a create was sent; it may exist)"),
                    outcome: lookup_failed(&port_of(e), &mut rejected),
                }),
            }
        }

        // The project, once the resources above are gone: the one recorded as made by this
        // run, or after an unconfirmed create the one of the spec's name with the mark.
        match (&j.resources.project, &spec.project) {
            (Some(p), _) if p.created => items.push(Removal::Project {
                id: p.id.clone(),
                name: p.name.clone(),
            }),
            (None, Some(want)) if j.resources.project_creates_sent > 0 => {
                match self.project_named(&want.name).await {
                    Ok(Some(p)) if p.description == PROJECT_MARK => {
                        items.push(Removal::Project {
                            id: p.id,
                            name: p.name,
                        });
                    }
                    Ok(_) => {}
                    Err(e) => items.push(Removal::Note {
                        resource: format!(
                            "project {} (a create was sent; it may exist)",
                            want.name
                        ),
                        outcome: lookup_failed(&port_of(e), &mut rejected),
                    }),
                }
            }
            _ => {}
        }

        // The VPC, once its droplet is gone: the one recorded as made by this run, or after
        // an unconfirmed create the one of the spec's name that carries the tool's mark.
        match (&j.resources.vpc, &spec.vpc) {
            (Some(v), _) if v.created => items.push(Removal::Vpc {
                id: v.id.clone(),
                name: v.name.clone(),
            }),
            (None, Some(want)) if j.resources.vpc_creates_sent > 0 => {
                match self.vpc_named(&want.name).await {
                    Ok(Some(v)) if v.description == VPC_MARK => items.push(Removal::Vpc {
                        id: v.id,
                        name: v.name,
                    }),
                    Ok(_) => {}
                    Err(e) => items.push(Removal::Note {
                        resource: format!("vpc {} (a create was sent; it may exist)", want.name),
                        outcome: lookup_failed(&port_of(e), &mut rejected),
                    }),
                }
            }
            _ => {}
        }

        // Chef node, then client.
        let name = spec.node_name().to_string();
        if j.resources.chef_node.is_some() || j.was_attempted(Step::ChefNode) {
            items.push(Removal::ChefNode {
                name: name.clone(),
                recorded: j.resources.chef_node.is_some(),
            });
        }
        if j.resources.chef_client.is_some() || j.was_attempted(Step::ChefClient) {
            items.push(Removal::ChefClient {
                recorded: j.resources.chef_client.is_some(),
                name,
            });
        }
        RemovalPlan {
            host: spec.name.clone(),
            run_id: Some(j.run_id.clone()),
            items,
            tag_lookup_ok,
            credentials_rejected: rejected,
        }
    }

    /// What tearing down `target` removes: droplets of that name carrying the tool tag
    /// (others are reported as skipped), the A/AAAA records at its DNS name that point at
    /// them — or every one there when no droplet of that name is left — and its Chef node
    /// and client.
    pub(crate) async fn plan_from_target(&self, target: &TeardownTarget) -> RemovalPlan {
        let name = target.name.as_str();
        let mut items = Vec::new();
        let mut rejected = false;
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

        if let Some((zone, fqdn)) = target.fqdn() {
            match &droplets {
                Err(e) => items.push(Removal::Note {
                    resource: format!("dns records at {fqdn}"),
                    outcome: UndoOutcome::Skipped(format!(
                        "droplet lookup failed, so it is unknown which records are this host's: {}",
                        chain(e)
                    )),
                }),
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
                        Err(e) => items.push(Removal::Note {
                            resource: format!("dns records at {fqdn}"),
                            outcome: failed(&e, &mut rejected),
                        }),
                        Ok(records) => {
                            let mut any = false;
                            for r in records
                                .into_iter()
                                .filter(|r| matches!(r.rtype, RecordType::A | RecordType::AAAA))
                            {
                                if !managed.is_empty() && !ours.contains(&r.data) {
                                    items.push(Removal::Note {
                                        resource: describe_record(&r),
                                        outcome: UndoOutcome::Skipped(
                                            "points to an address that is not this host's".into(),
                                        ),
                                    });
                                } else {
                                    any = true;
                                    items.push(Removal::DnsRecord(r));
                                }
                            }
                            if any && self.dns.needs_publish() {
                                items.push(Removal::Publish {
                                    zone,
                                    forced: false,
                                });
                            }
                        }
                    }
                }
            }
        }

        if target.alerts {
            let prefix = alert_prefix(name);
            match self
                .call(&self.budgets.compute, || self.compute.alert_policies())
                .await
            {
                Ok(all) => items.extend(
                    all.into_iter()
                        .filter(|p| p.description.starts_with(&prefix))
                        .map(|p| Removal::AlertPolicy {
                            id: p.id,
                            description: p.description,
                        }),
                ),
                Err(e) => items.push(Removal::Note {
                    resource: format!("alert policies of {name}"),
                    outcome: lookup_failed(&e, &mut rejected),
                }),
            }
        }
        if target.reserved_ip {
            for d in &managed {
                match self.reserved_ips_of(d.id).await {
                    Ok(found) => {
                        items.extend(found.into_iter().map(|r| Removal::ReservedIp { ip: r.ip }));
                    }
                    Err(e) => items.push(Removal::Note {
                        resource: format!("reserved ips of droplet {}", d.id),
                        outcome: lookup_failed(&port_of(e), &mut rejected),
                    }),
                }
            }
        }
        match &droplets {
            Err(e) => items.push(Removal::Note {
                resource: format!("droplet {name}"),
                outcome: lookup_failed(e, &mut rejected),
            }),
            Ok(_) => {
                if managed.is_empty() && unmanaged.is_empty() {
                    items.push(Removal::Note {
                        resource: format!("droplet {name}"),
                        outcome: UndoOutcome::AlreadyGone,
                    });
                }
                for d in unmanaged {
                    items.push(Removal::Note {
                        resource: format!("droplet {} ({})", d.id, d.name),
                        outcome: UndoOutcome::Skipped(format!(
                            "no `{TOOL_TAG}` tag: not created by this tool"
                        )),
                    });
                }
                items.extend(managed.into_iter().map(|d| Removal::Droplet {
                    id: d.id,
                    name: d.name,
                }));
            }
        }
        for fw in &target.firewalls {
            match self.firewall_named(fw).await {
                Ok(Some(f)) => items.push(Removal::Firewall {
                    id: f.id,
                    name: f.name,
                }),
                Ok(None) => {}
                Err(e) => items.push(Removal::Note {
                    resource: format!("firewall {fw}"),
                    outcome: lookup_failed(&port_of(e), &mut rejected),
                }),
            }
        }
        if !target.volumes.is_empty() {
            match self
                .call(&self.budgets.compute, || self.compute.volumes())
                .await
            {
                Ok(all) => {
                    for want in &target.volumes {
                        for v in all.iter().filter(|v| v.name == *want) {
                            if v.tags.iter().any(|t| t == TOOL_TAG) {
                                items.push(Removal::Volume {
                                    id: v.id.clone(),
                                    name: v.name.clone(),
                                });
                            } else {
                                items.push(Removal::Note {
                                    resource: format!("volume {} ({})", v.id, v.name),
                                    outcome: UndoOutcome::Skipped(format!(
                                        "no `{TOOL_TAG}` tag: not created by this tool"
                                    )),
                                });
                            }
                        }
                    }
                }
                Err(e) => items.push(Removal::Note {
                    resource: format!("volumes {}", target.volumes.join(", ")),
                    outcome: lookup_failed(&e, &mut rejected),
                }),
            }
        }
        if let Some(project) = &target.project {
            match self.project_named(project).await {
                Ok(Some(p)) if p.description == PROJECT_MARK => items.push(Removal::Project {
                    id: p.id,
                    name: p.name,
                }),
                Ok(Some(p)) => items.push(Removal::Note {
                    resource: format!("project {} ({})", p.id, p.name),
                    outcome: UndoOutcome::Skipped(format!(
                        "its description is not `{PROJECT_MARK}`: not created by this tool"
                    )),
                }),
                Ok(None) => {}
                Err(e) => items.push(Removal::Note {
                    resource: format!("project {project}"),
                    outcome: lookup_failed(&port_of(e), &mut rejected),
                }),
            }
        }
        if let Some(vpc) = &target.vpc {
            match self.vpc_named(vpc).await {
                Ok(Some(v)) if v.description == VPC_MARK => items.push(Removal::Vpc {
                    id: v.id,
                    name: v.name,
                }),
                Ok(Some(v)) => items.push(Removal::Note {
                    resource: format!("vpc {} ({})", v.id, v.name),
                    outcome: UndoOutcome::Skipped(format!(
                        "its description is not `{VPC_MARK}`: not created by this tool"
                    )),
                }),
                Ok(None) => {}
                Err(e) => items.push(Removal::Note {
                    resource: format!("vpc {vpc}"),
                    outcome: lookup_failed(&port_of(e), &mut rejected),
                }),
            }
        }
        items.push(Removal::ChefNode {
            name: name.to_string(),
            recorded: true,
        });
        items.push(Removal::ChefClient {
            name: name.to_string(),
            recorded: true,
        });
        RemovalPlan {
            host: name.to_string(),
            run_id: None,
            items,
            tag_lookup_ok: true,
            credentials_rejected: rejected,
        }
    }

    // ------------------------------------------------------------------------------------
    // the executor
    // ------------------------------------------------------------------------------------

    /// Carries out `plan` in order (with `dry_run`, reads only: outcomes are `WouldRemove`, or
    /// `AlreadyGone` for a Chef object that does not exist). A publish happens only when a
    /// record was removed; with `defer_publish` it is returned for the caller to do once for
    /// many hosts. Every outcome is emitted as a [`ProgressEvent::Undo`].
    pub(crate) async fn execute_removal(
        &self,
        plan: &RemovalPlan,
        dry_run: bool,
        defer_publish: bool,
    ) -> Executed {
        let mut done = Vec::new();
        let mut pending_publish = None;
        let mut removed_dns = false;
        let mut rejected = plan.credentials_rejected;
        for item in &plan.items {
            let outcome = match item {
                Removal::Note { outcome, .. } => Some(outcome.clone()),
                Removal::DnsRecord(r) => {
                    let o = if dry_run {
                        UndoOutcome::WouldRemove
                    } else {
                        removal_outcome(
                            self.call(&self.budgets.dns, || self.dns.delete_record(r))
                                .await,
                            &mut rejected,
                        )
                    };
                    removed_dns |= matches!(o, UndoOutcome::Removed | UndoOutcome::WouldRemove);
                    Some(o)
                }
                Removal::Publish { zone, forced } => {
                    if !removed_dns && !forced {
                        None
                    } else if defer_publish {
                        pending_publish = Some(zone.clone());
                        None
                    } else if dry_run {
                        Some(UndoOutcome::WouldRemove)
                    } else {
                        let note = match &plan.run_id {
                            Some(run) => format!("ops-core rollback {run}"),
                            None => format!("ops-core teardown {}", plan.host),
                        };
                        Some(
                            match self
                                .call(&self.budgets.dns, || self.dns.publish(zone, &note))
                                .await
                            {
                                Ok(_) => UndoOutcome::Removed,
                                Err(e) => failed(&e, &mut rejected),
                            },
                        )
                    }
                }
                Removal::Droplet { id, .. } => Some(if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    removal_outcome(
                        self.call(&self.budgets.compute, || self.compute.delete_droplet(*id))
                            .await,
                        &mut rejected,
                    )
                }),
                Removal::ReservedIp { ip } => Some(if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    removal_outcome(
                        self.call(&self.budgets.compute, || {
                            self.compute.delete_reserved_ip(ip)
                        })
                        .await,
                        &mut rejected,
                    )
                }),
                Removal::Firewall { id, .. } => Some(
                    match self
                        .call(&self.budgets.compute, || self.compute.firewalls())
                        .await
                    {
                        Err(e) => lookup_failed(&e, &mut rejected),
                        Ok(all) => match all.into_iter().find(|f| f.id == *id) {
                            None => UndoOutcome::AlreadyGone,
                            Some(f) if dry_run => {
                                let _ = f;
                                UndoOutcome::WouldRemove
                            }
                            Some(f) if !f.droplet_ids.is_empty() || !f.tags.is_empty() => {
                                UndoOutcome::Skipped(format!(
                                    "it still applies to droplets {:?} and tags {:?}: kept for them",
                                    f.droplet_ids, f.tags
                                ))
                            }
                            Some(_) => removal_outcome(
                                self.call(&self.budgets.compute, || {
                                    self.compute.delete_firewall(id)
                                })
                                .await,
                                &mut rejected,
                            ),
                        },
                    },
                ),
                Removal::AlertPolicy { id, .. } => Some(if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    removal_outcome(
                        self.call(&self.budgets.compute, || {
                            self.compute.delete_alert_policy(id)
                        })
                        .await,
                        &mut rejected,
                    )
                }),
                Removal::Volume { id, .. } => Some(if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    match self
                        .call(&self.budgets.compute, || self.compute.delete_volume(id))
                        .await
                    {
                        Err(e) if e.kind() == PortErrorKind::AlreadyExists => {
                            UndoOutcome::Failed(format!(
                                "still attached to a droplet (its detach may lag the droplet's \
                                 removal): run the teardown again: {}",
                                chain(&e)
                            ))
                        }
                        r => removal_outcome(r, &mut rejected),
                    }
                }),
                Removal::Project { id, .. } => Some(if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    match self
                        .call(&self.budgets.compute, || self.compute.delete_project(id))
                        .await
                    {
                        Err(e) if e.kind() == PortErrorKind::AlreadyExists => UndoOutcome::Skipped(
                            "it still holds other resources (another host's?): kept for them; \
                             tearing those down removes it"
                                .into(),
                        ),
                        r => removal_outcome(r, &mut rejected),
                    }
                }),
                Removal::Vpc { id, .. } => Some(if dry_run {
                    UndoOutcome::WouldRemove
                } else {
                    match self
                        .call(&self.budgets.compute, || self.compute.delete_vpc(id))
                        .await
                    {
                        Err(e) if e.kind() == PortErrorKind::AlreadyExists => UndoOutcome::Skipped(
                            "it still holds other resources (another host's droplet?): kept for                              them; tearing those down removes it"
                                .into(),
                        ),
                        r => removal_outcome(r, &mut rejected),
                    }
                }),
                Removal::ChefNode { name, recorded } => {
                    let o = if dry_run {
                        match self
                            .call(&self.budgets.config_mgmt, || self.cm.get_node(name))
                            .await
                        {
                            Ok(Some(_)) => UndoOutcome::WouldRemove,
                            Ok(None) => UndoOutcome::AlreadyGone,
                            Err(e) => failed(&e, &mut rejected),
                        }
                    } else {
                        removal_outcome(
                            self.call(&self.budgets.config_mgmt, || self.cm.delete_node(name))
                                .await,
                            &mut rejected,
                        )
                    };
                    (*recorded || o != UndoOutcome::AlreadyGone).then_some(o)
                }
                Removal::ChefClient { name, recorded } => {
                    let o = if dry_run {
                        match self
                            .call(&self.budgets.config_mgmt, || self.cm.client_exists(name))
                            .await
                        {
                            Ok(true) => UndoOutcome::WouldRemove,
                            Ok(false) => UndoOutcome::AlreadyGone,
                            Err(e) => failed(&e, &mut rejected),
                        }
                    } else {
                        removal_outcome(
                            self.call(&self.budgets.config_mgmt, || self.cm.delete_client(name))
                                .await,
                            &mut rejected,
                        )
                    };
                    (*recorded || o != UndoOutcome::AlreadyGone).then_some(o)
                }
            };
            if let Some(outcome) = outcome {
                self.emit(ProgressEvent::Undo {
                    host: plan.host.clone(),
                    run_id: plan.run_id.clone().unwrap_or_default(),
                    action: UndoAction {
                        resource: item.resource(),
                        outcome: outcome.clone(),
                    },
                });
                done.push((item.clone(), outcome));
            }
        }
        Executed {
            done,
            pending_publish,
            credentials_rejected: rejected,
        }
    }

    // ------------------------------------------------------------------------------------
    // rollback
    // ------------------------------------------------------------------------------------

    /// Removes what the journal says this run created, in reverse order, and records the
    /// report in the journal.
    pub(crate) async fn undo(&self, j: &mut RunJournal) -> RollbackReport {
        let plan = self.plan_from_journal(j).await;
        let executed = self.execute_removal(&plan, false, false).await;
        let mut droplets_failed = false;
        for (item, outcome) in &executed.done {
            let gone = matches!(outcome, UndoOutcome::Removed | UndoOutcome::AlreadyGone);
            match item {
                Removal::DnsRecord(r) if gone => j
                    .resources
                    .dns_records
                    .retain(|x| !same_record(x, &r.fqdn, &r.rtype, &r.data)),
                Removal::Droplet { id, .. } => {
                    droplets_failed |= !gone;
                    if gone && j.resources.droplet.as_ref().is_some_and(|d| d.id == *id) {
                        j.resources.droplet = None;
                    }
                }
                Removal::Publish { zone, .. } => {
                    j.resources.unpublished_zone = (!gone).then(|| zone.clone());
                }
                Removal::ReservedIp { .. } if gone => {
                    j.resources.reserved_ip = None;
                    j.resources.reserved_ip_creates_sent = 0;
                }
                Removal::Firewall { id, name } if gone => {
                    j.resources.firewalls.retain(|f| f.id != *id);
                    j.resources.firewall_creates_sent.retain(|n| n != name);
                }
                Removal::Vpc { .. } if gone => {
                    j.resources.vpc = None;
                    j.resources.vpc_creates_sent = 0;
                }
                Removal::AlertPolicy { id, description } if gone => {
                    j.resources.alerts.retain(|a| a.id != *id);
                    let (host, tag) = (j.spec.name.clone(), j.run_tag());
                    j.resources
                        .alert_creates_sent
                        .retain(|m| alert_description(&host, *m, &tag) != *description);
                }
                Removal::Volume { id, name } if gone => {
                    j.resources.volumes.retain(|v| v.id != *id);
                    j.resources.volume_creates_sent.retain(|n| n != name);
                }
                Removal::Project { .. } if gone => {
                    j.resources.project = None;
                    j.resources.project_creates_sent = 0;
                }
                Removal::ChefNode { .. } if gone => j.resources.chef_node = None,
                Removal::ChefClient { .. } if gone => j.resources.chef_client = None,
                _ => {}
            }
        }
        if plan.tag_lookup_ok && !droplets_failed {
            // Verified: nothing carrying the run tag is left.
            j.resources.droplet_creates_sent = 0;
        }
        let mut report = RollbackReport {
            actions: executed.actions(),
        };
        j.status = if report.complete() {
            RunStatus::RolledBack
        } else {
            RunStatus::RollbackIncomplete
        };
        j.rollback = Some(report.clone());
        if let Err(e) = self.save(j).await {
            // The journal on disk still says what the run had made: the rollback is not
            // recorded, so it is not complete as far as a later resume or audit can tell.
            tracing::error!(run_id = %j.run_id, error = %chain(&e), "could not record the rollback in the journal");
            report.actions.push(UndoAction {
                resource: format!("run journal {}", j.run_id),
                outcome: UndoOutcome::Failed(format!("not saved: {}", chain(&e))),
            });
            j.status = RunStatus::RollbackIncomplete;
        }
        report
    }
}
