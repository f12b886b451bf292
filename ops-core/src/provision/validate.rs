//! Validation: every problem with a host spec, before any write.

use secrecy::SecretString;

use super::fleet::Batch;
use super::journal::{RunJournal, Step};
use super::run::{HostRun, chain, same_record};
use super::{Provisioner, cloud_init};
use crate::error::{Error, Result};
use crate::ports::{Compute, ConfigMgmt, Dns, Monitoring, PortError, RecordType, SshKey};

impl<C, D, K, M> Provisioner<C, D, K, M>
where
    C: Compute + 'static,
    D: Dns + 'static,
    K: ConfigMgmt + 'static,
    M: Monitoring + 'static,
{
    // ------------------------------------------------------------------------------------
    // validation
    // ------------------------------------------------------------------------------------

    /// Every problem with `j.spec` (static and against the providers), and the resolved SSH
    /// key ids. Resources this run created (per the journal) do not count as claims.
    pub(crate) async fn check(&self, b: &Batch, j: &RunJournal) -> (Vec<String>, Vec<u64>) {
        let spec = &j.spec;
        let mut p = spec.check();
        p.extend(self.config.bootstrap.check());
        // The real key is only known after the client exists: measure with a stand-in of the
        // size of a 4096-bit RSA PEM, so an oversized document is refused before any write.
        let stand_in = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            "A".repeat(3300)
        );
        if let Err(e) =
            cloud_init::render(spec, &SecretString::from(stand_in), &self.config.bootstrap)
        {
            match e {
                Error::Validation { problems, .. } => p.extend(problems),
                other => p.push(chain(&other)),
            }
        }
        let fqdn = spec.fqdn();
        let zone = spec.dns.zone.trim_end_matches('.').to_string();
        let name = spec.node_name().to_string();
        let (regions, sizes, image, keys, droplets, owned, records, node, client) = tokio::join!(
            self.regions(b),
            self.sizes(b),
            self.image(b, &spec.image),
            self.keys(b),
            self.droplets_named(b, &spec.name),
            self.owns_zone(b, &zone),
            self.records_at(b, &zone, &fqdn),
            self.call(&self.budgets.config_mgmt, || self.cm.get_node(&name)),
            self.call(&self.budgets.config_mgmt, || self.cm.client_exists(&name)),
        );
        let could_not = |what: &str, e: &PortError| format!("could not check {what}: {}", chain(e));

        let region = match &regions {
            Ok(rs) => match rs.iter().find(|r| r.slug == spec.region) {
                None => {
                    p.push(format!("region `{}` does not exist", spec.region));
                    None
                }
                Some(r) if !r.available => {
                    p.push(format!(
                        "region `{}` is not available for new droplets",
                        spec.region
                    ));
                    Some(r)
                }
                Some(r) => Some(r),
            },
            Err(e) => {
                p.push(could_not("regions", e));
                None
            }
        };
        match &sizes {
            Ok(ss) => match ss.iter().find(|s| s.slug == spec.size) {
                None => p.push(format!("size `{}` does not exist", spec.size)),
                Some(s) if !s.available => p.push(format!("size `{}` is not available", spec.size)),
                Some(s) => {
                    if let Some(r) = region {
                        if !s.regions.contains(&r.slug) && !r.sizes.contains(&s.slug) {
                            p.push(format!(
                                "size `{}` is not offered in region `{}`",
                                s.slug, r.slug
                            ));
                        }
                    }
                }
            },
            Err(e) => p.push(could_not("sizes", e)),
        }
        match &image {
            Ok(None) => p.push(format!("image `{}` does not exist", spec.image)),
            Ok(Some(img)) => {
                if !img.regions.is_empty() && !img.regions.contains(&spec.region) {
                    p.push(format!(
                        "image `{}` is not available in region `{}`",
                        spec.image, spec.region
                    ));
                }
            }
            Err(e) => p.push(could_not("the image", e)),
        }
        let mut key_ids = Vec::new();
        match &keys {
            Ok(all) => {
                for want in &spec.ssh_keys {
                    let by_fp: Vec<&SshKey> = all
                        .iter()
                        .filter(|k| k.fingerprint.eq_ignore_ascii_case(want))
                        .collect();
                    let by_name: Vec<&SshKey> = all.iter().filter(|k| &k.name == want).collect();
                    let hit = if by_fp.len() == 1 { by_fp } else { by_name };
                    match hit.as_slice() {
                        [] => p.push(format!(
                            "ssh key `{want}` not found (by name or fingerprint)"
                        )),
                        [k] => {
                            if !key_ids.contains(&k.id) {
                                key_ids.push(k.id);
                            }
                        }
                        many => p.push(format!(
                            "ssh key name `{want}` matches {} keys; use the fingerprint",
                            many.len()
                        )),
                    }
                }
            }
            Err(e) => p.push(could_not("ssh keys", e)),
        }
        let run_tag = j.run_tag();
        let ours_id = j.resources.droplet.as_ref().map(|d| d.id);
        match &droplets {
            Ok(ds) => {
                for d in ds {
                    if !d.tags.contains(&run_tag) && Some(d.id) != ours_id {
                        p.push(format!(
                            "a droplet named `{}` already exists (id {})",
                            d.name, d.id
                        ));
                    }
                }
            }
            Err(e) => p.push(could_not("existing droplets", e)),
        }
        match owned {
            Ok(true) => {}
            Ok(false) => p.push(format!("DNS zone `{zone}` is not managed by this account")),
            Err(e) => p.push(could_not("the DNS zone", &e)),
        }
        let our_addrs: Vec<String> = [
            j.addresses.ipv4.map(|a| a.to_string()),
            j.addresses.ipv6.map(|a| a.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        match &records {
            Ok(rs) => {
                for r in rs {
                    let journaled = j
                        .resources
                        .dns_records
                        .iter()
                        .any(|o| same_record(o, &r.fqdn, &r.rtype, &r.data));
                    let interrupted = j.was_attempted(Step::DnsRecords)
                        && matches!(r.rtype, RecordType::A | RecordType::AAAA)
                        && our_addrs.contains(&r.data);
                    if !journaled && !interrupted {
                        p.push(format!(
                            "DNS name `{fqdn}` already has a {} record -> {}",
                            r.rtype, r.data
                        ));
                    }
                }
            }
            Err(e) => p.push(could_not("existing DNS records", e)),
        }
        let node_ours = j.resources.chef_node.is_some() || j.was_attempted(Step::ChefNode);
        match node {
            Ok(Some(_)) if !node_ours => p.push(format!("Chef node `{name}` already exists")),
            Ok(_) => {}
            Err(e) => p.push(could_not("the Chef node", &e)),
        }
        let client_ours = j.resources.chef_client.is_some() || j.was_attempted(Step::ChefClient);
        match client {
            Ok(true) if !client_ours => p.push(format!("Chef client `{name}` already exists")),
            Ok(_) => {}
            Err(e) => p.push(could_not("the Chef client", &e)),
        }
        (p, key_ids)
    }

    pub(crate) async fn step_validate(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let (problems, key_ids) = self.check(b, &h.j).await;
        if !problems.is_empty() {
            return Err(Error::Validation {
                target: h.j.spec.name.clone(),
                problems,
            });
        }
        h.j.ssh_key_ids = key_ids;
        Ok(())
    }
}
