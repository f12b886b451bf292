//! Validation: every problem with a host spec, before any write.

use secrecy::SecretString;

use super::cloud_init::BootstrapConfig;
use super::fleet::Batch;
use super::journal::{RunJournal, Step};
use super::run::{HostRun, chain};
use super::steps::same_record;
use super::{Provisioner, cloud_init};
use crate::error::{Error, Result};
use crate::ports::{
    DnsRecord, Droplet, Firewall, Image, PortError, PortResult, Project, RecordType, Region,
    ReservedIp, Size, SshKey, Volume, Vpc,
};

impl Provisioner {
    // ------------------------------------------------------------------------------------
    // validation
    // ------------------------------------------------------------------------------------

    /// Every problem with `j.spec` (static and against the providers), and the resolved SSH
    /// key ids. Resources this run created (per the journal) do not count as claims.
    ///
    /// The reads run concurrently (and are shared by the hosts of a batch); the decisions are
    /// the pure [`problems`] over what they returned.
    pub(crate) async fn check(&self, b: &Batch, j: &RunJournal) -> (Vec<String>, Vec<u64>) {
        let (problems, key_ids, _) = self.check_reads(b, j).await;
        (problems, key_ids)
    }

    /// [`check`](Self::check), also returning the first read that failed: a run that could
    /// not read what it validates against fails as that provider failure, not as bad input
    /// (issue #17: an unreachable DigitalOcean exited 2, "fix the input").
    pub(crate) async fn check_reads(
        &self,
        b: &Batch,
        j: &RunJournal,
    ) -> (Vec<String>, Vec<u64>, Option<PortError>) {
        let spec = &j.spec;
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
        let vpc = match &spec.vpc {
            Some(want) => self
                .call(&self.budgets.compute, || self.compute.vpcs())
                .await
                .map(|all| all.into_iter().find(|v| v.name == want.name)),
            None => Ok(None),
        };
        let firewalls = if spec.firewalls.is_empty() {
            Ok(Vec::new())
        } else {
            self.call(&self.budgets.compute, || self.compute.firewalls())
                .await
        };
        let reserved_ip = match spec.reserved_ip.as_ref().and_then(|r| r.address.clone()) {
            Some(address) => self
                .call(&self.budgets.compute, || self.compute.reserved_ips())
                .await
                .map(|all| all.into_iter().find(|r| r.ip == address)),
            None => Ok(None),
        };
        let volumes = if spec.volumes.is_empty() {
            Ok(Vec::new())
        } else {
            self.call(&self.budgets.compute, || self.compute.volumes())
                .await
        };
        // Read to find out early that the provider has projects (and the credentials may
        // list them); a missing project is created.
        let project = match &spec.project {
            Some(want) => self
                .call(&self.budgets.compute, || self.compute.projects())
                .await
                .map(|all| all.into_iter().find(|p| p.name == want.name)),
            None => Ok(None),
        };
        let alert_policies = if spec.alerts.is_some() {
            self.call(&self.budgets.compute, || self.compute.alert_policies())
                .await
                .map(drop)
        } else {
            Ok(())
        };
        let catalog = Catalog {
            volumes,
            project,
            alert_policies,
            reserved_ip,
            vpc,
            firewalls,
            regions: regions.map(|r| r.as_slice()),
            sizes: sizes.map(|s| s.as_slice()),
            image,
            keys: keys.map(|k| k.as_slice()),
            droplets,
            owns_zone: owned,
            records,
            node_exists: node.map(|n| n.is_some()),
            client_exists: client,
        };
        let (problems, key_ids) = problems(j, &self.config.bootstrap, &catalog);
        let failed_read = catalog
            .regions
            .err()
            .or(catalog.sizes.err())
            .or(catalog.image.err())
            .or(catalog.keys.err())
            .or(catalog.droplets.err())
            .or(catalog.owns_zone.err())
            .or(catalog.records.err())
            .or(catalog.node_exists.err())
            .or(catalog.client_exists.err())
            .or(catalog.vpc.err())
            .or(catalog.firewalls.err())
            .or(catalog.reserved_ip.err())
            .or(catalog.volumes.err())
            .or(catalog.project.err())
            .or(catalog.alert_policies.err());
        (problems, key_ids, failed_read)
    }

    pub(crate) async fn step_validate(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let (problems, key_ids, failed_read) = self.check_reads(b, &h.j).await;
        if let Some(e) = failed_read {
            return Err(Error::Port(e));
        }
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

/// What the providers said, read once for a host (a batch shares the listings). Each read
/// may have failed: a failed read is one problem ("could not check …"), never a pass.
pub(crate) struct Catalog<'a> {
    pub(crate) regions: PortResult<&'a [Region]>,
    pub(crate) sizes: PortResult<&'a [Size]>,
    pub(crate) image: PortResult<Option<Image>>,
    pub(crate) keys: PortResult<&'a [SshKey]>,
    /// Droplets with the host's name.
    pub(crate) droplets: PortResult<Vec<Droplet>>,
    pub(crate) owns_zone: PortResult<bool>,
    /// Records at the host's DNS name.
    pub(crate) records: PortResult<Vec<DnsRecord>>,
    pub(crate) node_exists: PortResult<bool>,
    pub(crate) client_exists: PortResult<bool>,
    /// The account's VPC of the spec's `vpc` name (`Ok(None)`: none, or no `vpc`).
    pub(crate) vpc: PortResult<Option<Vpc>>,
    /// The account's firewalls (`Ok(empty)` when the spec names none).
    pub(crate) firewalls: PortResult<Vec<Firewall>>,
    /// The reserved IP the spec names (`Ok(None)`: none named, or not the account's).
    pub(crate) reserved_ip: PortResult<Option<ReservedIp>>,
    /// The account's volumes (`Ok(empty)` when the spec names none).
    pub(crate) volumes: PortResult<Vec<Volume>>,
    /// The account's project of the spec's `project` name (`Ok(None)`: none, or no
    /// `project`).
    pub(crate) project: PortResult<Option<Project>>,
    /// Whether the alert policies could be listed (only read with `alerts`).
    pub(crate) alert_policies: PortResult<()>,
}

/// Every problem with `j.spec` given what the providers said, and the resolved SSH key ids.
/// Pure: no I/O, unit-tested without fakes.
pub(crate) fn problems(
    j: &RunJournal,
    bootstrap: &BootstrapConfig,
    c: &Catalog<'_>,
) -> (Vec<String>, Vec<u64>) {
    let spec = &j.spec;
    let mut p = spec.check();
    p.extend(bootstrap.check());
    // The real key is only known after the client exists: measure with a stand-in of the
    // size of a 4096-bit RSA PEM, so an oversized document is refused before any write.
    let stand_in = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        "A".repeat(3300)
    );
    if let Err(e) = cloud_init::render(spec, &SecretString::from(stand_in), bootstrap) {
        match e {
            Error::Validation { problems, .. } => p.extend(problems),
            other => p.push(chain(&other)),
        }
    }
    let fqdn = spec.fqdn();
    let zone = spec.dns.zone.trim_end_matches('.').to_string();
    let name = spec.node_name().to_string();
    let could_not = |what: &str, e: &PortError| format!("could not check {what}: {}", chain(e));

    if let Some(want) = &spec.vpc {
        match &c.vpc {
            Ok(Some(v)) if v.region != spec.region => p.push(format!(
                "vpc `{}` exists in region `{}`, not `{}`: a droplet joins a VPC of its own region",
                want.name, v.region, spec.region
            )),
            Ok(_) => {}
            Err(e) => p.push(could_not("the VPC", e)),
        }
    }
    if let Some(address) = spec.reserved_ip.as_ref().and_then(|r| r.address.as_ref()) {
        match &c.reserved_ip {
            Ok(None) => p.push(format!(
                "reserved_ip.address {address}: not one of the account's reserved IPs"
            )),
            Ok(Some(r)) if r.region != spec.region => p.push(format!(
                "reserved_ip.address {address} is reserved in {}, the host is in {}",
                r.region, spec.region
            )),
            Ok(Some(r)) => {
                if let Some(d) = r.droplet_id {
                    p.push(format!(
                        "reserved_ip.address {address} is assigned to droplet {d}: unassign it first"
                    ));
                }
            }
            Err(e) => p.push(could_not("the reserved IPs", e)),
        }
    }
    if !spec.volumes.is_empty() {
        match &c.volumes {
            Ok(all) => {
                let mine = j.resources.droplet.as_ref().map(|d| d.id);
                for want in &spec.volumes {
                    let named: Vec<&Volume> = all.iter().filter(|v| v.name == want.name).collect();
                    match named.iter().find(|v| v.region == spec.region) {
                        Some(v) => {
                            if let Some(d) = v.droplet_ids.iter().find(|d| Some(**d) != mine) {
                                p.push(format!(
                                    "volume `{}` is attached to droplet {d}: detach it first",
                                    want.name
                                ));
                            }
                        }
                        None => {
                            if let Some(v) = named.first() {
                                p.push(format!(
                                    "volume `{}` exists in region `{}`, not `{}`: a droplet \
                                     attaches volumes of its own region (rename the spec's \
                                     volume to create one here)",
                                    want.name, v.region, spec.region
                                ));
                            }
                        }
                    }
                }
            }
            Err(e) => p.push(could_not("the volumes", e)),
        }
    }
    if let Err(e) = &c.project {
        p.push(could_not("the projects", e));
    }
    if let Some(a) = &spec.alerts {
        if let Err(e) = &c.alert_policies {
            p.push(could_not("the alert policies", e));
        }
        if a.disk_percent.is_some() && !spec.monitoring_agent {
            p.push(
                "alerts.disk_percent needs monitoring_agent = true: the disk metric comes \
                 from DigitalOcean's agent"
                    .into(),
            );
        }
    }
    if !spec.firewalls.is_empty() {
        match &c.firewalls {
            Ok(all) => {
                for want in &spec.firewalls {
                    let n = all.iter().filter(|f| f.name == want.name).count();
                    if n > 1 {
                        p.push(format!(
                            "firewall `{}`: {n} firewalls have that name; rename all but one",
                            want.name
                        ));
                    } else if n == 0 && !want.defines_rules() {
                        p.push(format!(
                            "firewall `{}` does not exist: give its inbound/outbound rules to create it",
                            want.name
                        ));
                    }
                }
            }
            Err(e) => p.push(could_not("the firewalls", e)),
        }
    }
    let region = match &c.regions {
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
    match &c.sizes {
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
    match &c.image {
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
    match &c.keys {
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
    match &c.droplets {
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
    match &c.owns_zone {
        Ok(true) => {}
        Ok(false) => p.push(format!("DNS zone `{zone}` is not managed by this account")),
        Err(e) => p.push(could_not("the DNS zone", e)),
    }
    let our_addrs: Vec<String> = [
        j.addresses.ipv4.map(|a| a.to_string()),
        j.addresses.ipv6.map(|a| a.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    match &c.records {
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
    match &c.node_exists {
        Ok(true) if !node_ours => p.push(format!("Chef node `{name}` already exists")),
        Ok(_) => {}
        Err(e) => p.push(could_not("the Chef node", e)),
    }
    let client_ours = j.resources.chef_client.is_some() || j.was_attempted(Step::ChefClient);
    match &c.client_exists {
        Ok(true) if !client_ours => p.push(format!("Chef client `{name}` already exists")),
        Ok(_) => {}
        Err(e) => p.push(could_not("the Chef client", e)),
    }
    (p, key_ids)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ports::{DropletStatus, PortErrorKind, Service};

    fn journal() -> RunJournal {
        let spec = super::super::HostSpec::from_toml_str(
            r#"
name = "web-01"
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
dns = { zone = "example.com", ttl = 300 }
chef = { environment = "prod", run_list = ["role[base]"] }
"#,
        )
        .unwrap();
        RunJournal::new("1-abc".into(), None, spec)
    }

    fn bootstrap() -> BootstrapConfig {
        BootstrapConfig::new("https://chef.example.com/organizations/ops")
    }

    struct World {
        regions: Vec<Region>,
        sizes: Vec<Size>,
        keys: Vec<SshKey>,
    }

    fn world() -> World {
        World {
            regions: vec![Region {
                slug: "nyc3".into(),
                available: true,
                sizes: vec!["s-1vcpu-1gb".into()],
            }],
            sizes: vec![Size {
                slug: "s-1vcpu-1gb".into(),
                available: true,
                regions: vec!["nyc3".into()],
            }],
            keys: vec![SshKey {
                id: 11,
                name: "ops".into(),
                fingerprint: "3b:16".into(),
            }],
        }
    }

    fn catalog(w: &World) -> Catalog<'_> {
        Catalog {
            regions: Ok(&w.regions),
            sizes: Ok(&w.sizes),
            image: Ok(Some(Image {
                id: 7,
                slug: Some("ubuntu-24-04-x64".into()),
                name: "Ubuntu".into(),
                regions: vec!["nyc3".into()],
            })),
            keys: Ok(&w.keys),
            droplets: Ok(Vec::new()),
            owns_zone: Ok(true),
            records: Ok(Vec::new()),
            node_exists: Ok(false),
            client_exists: Ok(false),
            vpc: Ok(None),
            firewalls: Ok(Vec::new()),
            reserved_ip: Ok(None),
            volumes: Ok(Vec::new()),
            project: Ok(None),
            alert_policies: Ok(()),
        }
    }

    fn failed() -> PortError {
        PortError::new(Service::Compute, "test", PortErrorKind::Unavailable, "down")
    }

    #[test]
    fn a_clean_world_has_no_problem_and_resolves_keys() {
        let w = world();
        let (p, keys) = problems(&journal(), &bootstrap(), &catalog(&w));
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(keys, [11]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut w = world();
        w.regions[0].available = false;
        w.keys.push(SshKey {
            id: 12,
            name: "ops".into(),
            fingerprint: "aa".into(),
        });
        let mut c = catalog(&w);
        c.droplets = Ok(vec![Droplet {
            id: 5,
            name: "web-01".into(),
            status: DropletStatus::Active,
            region: "nyc3".into(),
            tags: vec![],
            public_ipv4: None,
            public_ipv6: None,
        }]);
        c.owns_zone = Ok(false);
        c.records = Ok(vec![DnsRecord {
            zone: "example.com".into(),
            fqdn: "web-01.example.com".into(),
            rtype: RecordType::A,
            data: "198.51.100.9".into(),
            ttl: Some(300),
            id: None,
        }]);
        c.node_exists = Ok(true);
        c.client_exists = Ok(true);
        let (p, keys) = problems(&journal(), &bootstrap(), &c);
        let all = p.join("\n");
        for want in [
            "region `nyc3` is not available",
            "matches 2 keys",
            "a droplet named `web-01` already exists (id 5)",
            "not managed by this account",
            "already has a A record -> 198.51.100.9",
            "Chef node `web-01` already exists",
            "Chef client `web-01` already exists",
        ] {
            assert!(all.contains(want), "missing `{want}` in:\n{all}");
        }
        assert!(keys.is_empty());
    }

    #[test]
    fn a_failed_read_is_a_problem_never_a_pass() {
        let w = world();
        let mut c = catalog(&w);
        c.sizes = Err(failed());
        c.node_exists = Err(failed());
        let (p, _) = problems(&journal(), &bootstrap(), &c);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().all(|x| x.starts_with("could not check")), "{p:?}");
    }

    #[test]
    fn what_the_run_made_is_not_a_claim_against_it() {
        let w = world();
        let mut j = journal();
        j.start(Step::ChefClient);
        j.start(Step::ChefNode);
        let mut c = catalog(&w);
        c.node_exists = Ok(true);
        c.client_exists = Ok(true);
        c.droplets = Ok(vec![Droplet {
            id: 5,
            name: "web-01".into(),
            status: DropletStatus::Active,
            region: "nyc3".into(),
            tags: vec![j.run_tag()],
            public_ipv4: None,
            public_ipv6: None,
        }]);
        let (p, _) = problems(&j, &bootstrap(), &c);
        assert!(p.is_empty(), "{p:?}");
    }

    /// Issue #22: volumes of the host's region are used unless another droplet holds them
    /// (this run's own droplet is fine on a resumed check); a volume of that name only in
    /// another region is refused; a disk alert needs the agent; a read that failed is a
    /// problem, never a pass.
    #[test]
    fn volumes_alerts_and_projects_are_checked_before_any_write() {
        use super::super::journal::DropletRef;
        use super::super::spec::{AlertsSpec, ProjectSpec, VolumeSpec};
        let w = world();
        let mut j = journal();
        j.spec.volumes = vec![
            VolumeSpec {
                name: "web-01-data".into(),
                size_gib: 10,
                filesystem: None,
                mount: None,
            },
            VolumeSpec {
                name: "far-data".into(),
                size_gib: 10,
                filesystem: None,
                mount: None,
            },
        ];
        j.spec.alerts = Some(AlertsSpec {
            cpu_percent: None,
            disk_percent: Some(80),
            window: None,
            emails: vec!["ops@example.com".into()],
        });
        j.spec.project = Some(ProjectSpec {
            name: "web".into(),
            purpose: None,
        });
        let vol = |name: &str, region: &str, on: Vec<u64>| Volume {
            id: format!("id-{name}-{region}"),
            name: name.into(),
            region: region.into(),
            size_gib: 10,
            droplet_ids: on,
            tags: vec![],
        };
        let mut c = catalog(&w);
        c.volumes = Ok(vec![
            vol("web-01-data", "nyc3", vec![77]),
            vol("far-data", "ams3", vec![]),
        ]);
        let (p, _) = problems(&j, &bootstrap(), &c);
        assert!(
            p.iter()
                .any(|x| x.contains("web-01-data") && x.contains("droplet 77")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|x| x.contains("far-data") && x.contains("ams3")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|x| x.starts_with("alerts.disk_percent")),
            "{p:?}"
        );
        assert_eq!(p.len(), 3, "{p:?}");

        // Resumed: the volume is on this run's droplet; the agent is on; the far volume is
        // renamed; a failed project read is a problem.
        j.resources.droplet = Some(DropletRef {
            id: 77,
            name: "web-01".into(),
            adopted: false,
        });
        j.spec.monitoring_agent = true;
        j.spec.volumes[1].name = "web-01-logs".into();
        let mut c = catalog(&w);
        c.volumes = Ok(vec![vol("web-01-data", "nyc3", vec![77])]);
        let (p, _) = problems(&j, &bootstrap(), &c);
        assert!(p.is_empty(), "{p:?}");
        c.project = Err(failed());
        let (p, _) = problems(&j, &bootstrap(), &c);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("could not check the projects"), "{p:?}");
    }
}
