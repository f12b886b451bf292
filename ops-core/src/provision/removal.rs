//! Rollback: remove what a run created, as its journal records it.

use super::journal::{RunJournal, RunStatus, Step, UndoAction, UndoOutcome};
use super::run::{chain, describe_record, same_record, zone_of};
use super::{ProgressEvent, Provisioner, RollbackReport};
use crate::ports::{Compute, ConfigMgmt, Dns, Monitoring, PortResult, RecordType};

impl<C, D, K, M> Provisioner<C, D, K, M>
where
    C: Compute + 'static,
    D: Dns + 'static,
    K: ConfigMgmt + 'static,
    M: Monitoring + 'static,
{
    // ------------------------------------------------------------------------------------
    // rollback
    // ------------------------------------------------------------------------------------

    pub(crate) fn undo_event(
        &self,
        j: &RunJournal,
        report: &mut RollbackReport,
        resource: String,
        outcome: UndoOutcome,
    ) {
        let action = UndoAction { resource, outcome };
        self.emit(ProgressEvent::Undo {
            host: j.spec.name.clone(),
            run_id: j.run_id.clone(),
            action: action.clone(),
        });
        report.actions.push(action);
    }

    pub(crate) fn outcome(r: PortResult<()>) -> UndoOutcome {
        match r {
            Ok(()) => UndoOutcome::Removed,
            Err(e) if e.is_not_found() => UndoOutcome::AlreadyGone,
            Err(e) => UndoOutcome::Failed(chain(&e)),
        }
    }

    /// Removes what the journal says this run created, in reverse order, and records the
    /// report in the journal.
    pub(crate) async fn undo(&self, j: &mut RunJournal) -> RollbackReport {
        let mut report = RollbackReport::default();
        let spec = j.spec.clone();
        let zone = zone_of(&spec);
        let fqdn = spec.fqdn();

        // 1. DNS records, then one publish.
        let mut records = j.resources.dns_records.clone();
        if j.was_attempted(Step::DnsRecords) {
            // A create interrupted before it was journaled may have left a record behind.
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
                Err(e) => self.undo_event(
                    j,
                    &mut report,
                    format!("dns records of {fqdn} (a create may have been applied)"),
                    UndoOutcome::Failed(format!("lookup failed: {}", chain(&e))),
                ),
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
        let mut removed_dns = false;
        for r in records.iter().rev() {
            let o = Self::outcome(
                self.call(&self.budgets.dns, || self.dns.delete_record(r))
                    .await,
            );
            if matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone) {
                removed_dns |= o == UndoOutcome::Removed;
                j.resources
                    .dns_records
                    .retain(|x| !same_record(x, &r.fqdn, &r.rtype, &r.data));
            }
            self.undo_event(j, &mut report, describe_record(r), o);
        }
        if removed_dns && self.dns.needs_publish() {
            let note = format!("ops-core rollback {}", j.run_id);
            let o = match self
                .call(&self.budgets.dns, || self.dns.publish(&zone, &note))
                .await
            {
                Ok(_) => UndoOutcome::Removed,
                Err(e) => UndoOutcome::Failed(chain(&e)),
            };
            self.undo_event(
                j,
                &mut report,
                format!("dns publish {zone} (record removal)"),
                o,
            );
        }

        // 2. The droplet, and anything else carrying this run's tag.
        let mut ids: Vec<(u64, String)> = j
            .resources
            .droplet
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        // Whether the lookup by run tag saw everything this run may have made.
        let mut tag_lookup_ok = !j.was_attempted(Step::CreateDroplet);
        if j.was_attempted(Step::CreateDroplet) {
            // With a create sent and no droplet recorded, an empty listing proves nothing until
            // the listing's lag has passed: look as long as a create would (adopt window).
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
                match self.droplets_tagged(&j.run_tag()).await {
                    Ok(found) if found.is_empty() => last = Some(Ok(())),
                    Ok(found) => {
                        for d in found {
                            if !ids.iter().any(|(i, _)| *i == d.id) {
                                ids.push((d.id, d.name));
                            }
                        }
                        last = Some(Ok(()));
                        break;
                    }
                    Err(e) => last = Some(Err(e)),
                }
            }
            match last {
                Some(Err(e)) => self.undo_event(
                    j,
                    &mut report,
                    format!(
                        "droplets tagged {} (a create was sent; one may exist)",
                        j.run_tag()
                    ),
                    UndoOutcome::Failed(format!("lookup failed: {}", chain(&e))),
                ),
                _ => tag_lookup_ok = true,
            }
        }
        let mut droplets_failed = false;
        for (id, name) in ids {
            let o = Self::outcome(
                self.call(&self.budgets.compute, || self.compute.delete_droplet(id))
                    .await,
            );
            let gone = matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone);
            if gone && j.resources.droplet.as_ref().is_some_and(|d| d.id == id) {
                j.resources.droplet = None;
            }
            droplets_failed |= !gone;
            self.undo_event(j, &mut report, format!("droplet {id} ({name})"), o);
        }
        if tag_lookup_ok && !droplets_failed {
            // Verified: nothing carrying the run tag is left.
            j.resources.droplet_creates_sent = 0;
        }

        // 3. Chef node, 4. Chef client.
        let name = spec.node_name().to_string();
        if j.resources.chef_node.is_some() || j.was_attempted(Step::ChefNode) {
            let o = Self::outcome(
                self.call(&self.budgets.config_mgmt, || self.cm.delete_node(&name))
                    .await,
            );
            let recorded = j.resources.chef_node.is_some();
            if matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone) {
                j.resources.chef_node = None;
            }
            if recorded || o != UndoOutcome::AlreadyGone {
                self.undo_event(j, &mut report, format!("chef node {name}"), o);
            }
        }
        if j.resources.chef_client.is_some() || j.was_attempted(Step::ChefClient) {
            let o = Self::outcome(
                self.call(&self.budgets.config_mgmt, || self.cm.delete_client(&name))
                    .await,
            );
            let recorded = j.resources.chef_client.is_some();
            if matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone) {
                j.resources.chef_client = None;
            }
            if recorded || o != UndoOutcome::AlreadyGone {
                self.undo_event(j, &mut report, format!("chef client {name}"), o);
            }
        }

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
