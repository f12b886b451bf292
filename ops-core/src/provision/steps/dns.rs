//! Steps 5a/5b: the A/AAAA records, and one publish per zone per batch.

use super::super::fleet::Batch;
use super::super::journal::Step;
use super::super::run::{HostRun, chain, zone_of};
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{DnsRecord, NewRecord, PortError, RecordType, Service};

impl Provisioner {
    pub(crate) async fn step_dns_records(
        &self,
        b: &Batch,
        h: &mut HostRun,
        retried: bool,
    ) -> Result<()> {
        let spec = h.j.spec.clone();
        let zone = zone_of(&spec);
        let fqdn = spec.fqdn();
        let mut wanted = Vec::new();
        match h.j.addresses.ipv4 {
            Some(a) => wanted.push((RecordType::A, a.to_string())),
            None => return Err(Error::Precondition("no public IPv4 recorded".into())),
        }
        if spec.ipv6 {
            match h.j.addresses.ipv6 {
                Some(a) => wanted.push((RecordType::AAAA, a.to_string())),
                None => return Err(Error::Precondition("no public IPv6 recorded".into())),
            }
        }
        let existing = if retried {
            self.call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                .await?
        } else {
            Vec::new()
        };
        for (t, data) in wanted {
            if h.j
                .resources
                .dns_records
                .iter()
                .any(|r| same_record(r, &fqdn, &t, &data))
            {
                continue;
            }
            if let Some(r) = existing.iter().find(|r| same_record(r, &fqdn, &t, &data)) {
                h.j.resources.dns_records.push(r.clone());
                self.emit(ProgressEvent::Adopted {
                    host: spec.name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: describe_record(r),
                });
                continue;
            }
            let rec = NewRecord {
                zone: zone.clone(),
                fqdn: fqdn.clone(),
                rtype: t.clone(),
                data: data.clone(),
                ttl: spec.dns.ttl,
            };
            let mut done = false;
            let mut last = None;
            for attempt in 1..=self.config.create_attempts.max(1) {
                match self
                    .call(&self.budgets.dns, || self.dns.create_record(&rec))
                    .await
                {
                    Ok(r) => {
                        h.j.resources.dns_records.push(r);
                        done = true;
                        break;
                    }
                    Err(e) if e.is_ambiguous() => {
                        let now = self
                            .call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                            .await?;
                        if let Some(r) = now.iter().find(|r| same_record(r, &fqdn, &t, &data)) {
                            h.j.resources.dns_records.push(r.clone());
                            done = true;
                            break;
                        }
                        self.emit(ProgressEvent::Retrying {
                            host: spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            step: Step::DnsRecords,
                            attempt,
                            reason: chain(&e),
                        });
                        last = Some(e);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if !done {
                return Err(
                    last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from)
                );
            }
            // Journal each record as soon as it exists.
            self.save(&mut h.j).await?;
        }
        if h.registered && h.ticket.is_none() {
            h.ticket = Some(b.publish.arrive(&zone));
        }
        Ok(())
    }

    pub(crate) async fn step_publish(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let zone = zone_of(&h.j.spec);
        if !h.registered {
            b.publish.register(&zone);
            h.registered = true;
        }
        let ticket = match h.ticket {
            Some(t) => t,
            None => {
                let t = b.publish.arrive(&zone);
                h.ticket = Some(t);
                t
            }
        };
        let note = format!(
            "ops-core provision {}",
            h.j.batch_id.as_deref().unwrap_or(&h.j.run_id)
        );
        let z = zone.clone();
        let r = b
            .publish
            .wait(&z, ticket, |hosts| async move {
                let r = self
                    .call(&self.budgets.dns, || self.dns.publish(&zone, &note))
                    .await;
                match r {
                    Ok(p) => {
                        self.emit(ProgressEvent::Published {
                            zone: zone.clone(),
                            hosts,
                        });
                        Ok(p)
                    }
                    Err(e) => Err((e.kind(), chain(&e))),
                }
            })
            .await;
        match r {
            Ok(_) => Ok(()),
            Err((kind, msg)) => Err(PortError::new(
                Service::Dns,
                self.dns.provider(),
                kind,
                format!("zone publish failed: {msg}"),
            )
            .into()),
        }
    }
}

/// The same record: name (any case), type and data.
pub(crate) fn same_record(r: &DnsRecord, fqdn: &str, t: &RecordType, data: &str) -> bool {
    r.fqdn.eq_ignore_ascii_case(fqdn) && &r.rtype == t && r.data == data
}

pub(crate) fn describe_record(r: &DnsRecord) -> String {
    format!("dns {} {} -> {}", r.rtype, r.fqdn, r.data)
}
