//! Dry run: validate like a real run (reads only) and list the exact writes.

use std::fmt;

use secrecy::SecretString;
use serde::Serialize;

use super::fleet::Batch;
use super::journal::RunJournal;
use super::journal::new_id;
use super::run::zone_of;
use super::{HostSpec, Provisioner, cloud_init};
use crate::error::Result;
use crate::ports::Service;

/// One write a real run would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedWrite {
    /// Which provider.
    pub service: Service,
    /// The write, e.g. `create droplet web-01 region=nyc3 …`.
    pub action: String,
}

/// The plan for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPlan {
    /// Host name.
    pub name: String,
    /// Validation problems (a real run would stop before any write).
    pub problems: Vec<String>,
    /// The writes, in order.
    pub writes: Vec<PlannedWrite>,
}

/// What a run would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Per host.
    pub hosts: Vec<HostPlan>,
    /// Zone publishes (one per zone for the whole batch).
    pub publishes: Vec<PlannedWrite>,
}

impl Plan {
    /// True when no host has problems.
    pub fn is_valid(&self) -> bool {
        self.hosts.iter().all(|h| h.problems.is_empty())
    }

    /// Every write in order.
    pub fn writes(&self) -> impl Iterator<Item = &PlannedWrite> {
        self.hosts
            .iter()
            .flat_map(|h| h.writes.iter())
            .chain(self.publishes.iter())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for h in &self.hosts {
            writeln!(f, "host {}:", h.name)?;
            for p in &h.problems {
                writeln!(f, "  PROBLEM {p}")?;
            }
            for w in &h.writes {
                writeln!(f, "  {:<24} {}", w.service.to_string(), w.action)?;
            }
        }
        for w in &self.publishes {
            writeln!(f, "{:<26} {}", w.service.to_string(), w.action)?;
        }
        Ok(())
    }
}

/// A syntactically valid placeholder key, only to measure the user data.
const PLACEHOLDER_KEY: &str =
    "-----BEGIN RSA PRIVATE KEY-----\nplaceholder\n-----END RSA PRIVATE KEY-----\n";

impl Provisioner {
    /// Dry run for `specs` as one batch: the same validation as a real run (read-only calls)
    /// and the writes it would make, in order. Makes no write and writes no journal.
    pub async fn plan(&self, specs: &[HostSpec]) -> Result<Plan> {
        let batch = (specs.len() > 1).then(new_id);
        let b = Batch::new(
            specs.len(),
            self.config.concurrency,
            self.config.publish_linger,
        );
        let journals: Vec<RunJournal> = specs
            .iter()
            .map(|s| RunJournal::new("planned".into(), batch.clone(), s.clone()))
            .collect();
        let checks =
            futures_util::future::join_all(journals.iter().map(|j| self.check(&b, j))).await;
        let mut hosts = Vec::new();
        let mut zones: Vec<(String, usize)> = Vec::new();
        for (j, (problems, key_ids)) in journals.into_iter().zip(checks) {
            let mut j = j;
            j.ssh_key_ids = key_ids;
            let spec = &j.spec;
            let name = spec.node_name();
            let mut w = Vec::new();
            let mut push = |service, action: String| w.push(PlannedWrite { service, action });
            push(
                Service::ConfigMgmt,
                format!("create client {name} (private key kept in memory only)"),
            );
            push(
                Service::ConfigMgmt,
                format!(
                    "create node {name} environment={} run_list=[{}]",
                    spec.chef.environment,
                    spec.chef.run_list.join(", ")
                ),
            );
            let ud_len = match cloud_init::render(
                spec,
                &SecretString::from(PLACEHOLDER_KEY),
                &self.config.bootstrap,
            ) {
                Ok(ud) => secrecy::ExposeSecret::expose_secret(&ud).len() - PLACEHOLDER_KEY.len(),
                // `check` already reported why.
                Err(_) => 0,
            };
            if let Some(v) = &spec.vpc {
                push(
                    Service::Compute,
                    format!(
                        "use vpc {} in {}, or create it (ip_range={}) if the account has none of that name",
                        v.name,
                        spec.region,
                        v.ip_range.as_deref().unwrap_or("provider's choice")
                    ),
                );
            }
            for v in &spec.volumes {
                push(
                    Service::Compute,
                    format!(
                        "use volume {} in {}, or create it ({} GiB, {}) if the account has none of that name there; attached at droplet create{}",
                        v.name,
                        spec.region,
                        v.size_gib,
                        v.filesystem(),
                        v.mount
                            .as_deref()
                            .map_or_else(String::new, |m| format!(", mounted at {m}"))
                    ),
                );
            }
            let mut req = self.new_droplet(&j, None);
            if let Some(t) = req.tags.iter_mut().find(|t| t.ends_with(":planned")) {
                *t = "ops-run:<new run id>".into();
            }
            push(
                Service::Compute,
                format!(
                    "create droplet {} region={} size={} image={} ssh_keys=[{}] tags=[{}] ipv6={} user_data={} bytes + client key (chef-client {}, chef_license {})",
                    req.name,
                    req.region,
                    req.size,
                    req.image,
                    req.ssh_keys
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    req.tags.join(", "),
                    req.ipv6,
                    ud_len,
                    spec.chef
                        .version
                        .as_deref()
                        .or(self.config.bootstrap.chef_version.as_deref())
                        .unwrap_or("latest"),
                    spec.chef
                        .license
                        .as_deref()
                        .or(self.config.bootstrap.chef_license.as_deref())
                        .unwrap_or("not set"),
                ),
            );
            for f in &spec.firewalls {
                push(
                    Service::Compute,
                    if f.defines_rules() {
                        format!(
                            "apply firewall {} to the droplet, creating it ({} inbound, {} outbound rules) if the account has none of that name",
                            f.name,
                            f.inbound.len(),
                            f.outbound.len()
                        )
                    } else {
                        format!("apply the existing firewall {} to the droplet", f.name)
                    },
                );
            }
            if let Some(r) = &spec.reserved_ip {
                push(
                    Service::Compute,
                    match &r.address {
                        Some(a) => format!("assign reserved IP {a} to the droplet"),
                        None => "reserve a new IP for the droplet".to_string(),
                    },
                );
            }
            if let Some(a) = &spec.alerts {
                for (metric, percent) in a.policies() {
                    push(
                        Service::Compute,
                        format!(
                            "create alert policy: {} above {percent}% for {} on the droplet, telling {}",
                            metric.as_str(),
                            a.window(),
                            a.emails.join(", ")
                        ),
                    );
                }
            }
            if let Some(pr) = &spec.project {
                push(
                    Service::Compute,
                    format!(
                        "put the droplet{}{} in project {}, creating it if the account has none of that name (one call per batch)",
                        if spec.volumes.is_empty() {
                            ""
                        } else {
                            ", its volumes"
                        },
                        if spec.reserved_ip.is_some() {
                            ", its reserved IP"
                        } else {
                            ""
                        },
                        pr.name
                    ),
                );
            }
            let fqdn = spec.fqdn();
            let ttl = spec
                .dns
                .ttl
                .map_or_else(|| "zone default".to_string(), |t| t.to_string());
            push(
                Service::Dns,
                format!("create A {fqdn} -> <droplet public IPv4> ttl={ttl}"),
            );
            if spec.ipv6 {
                push(
                    Service::Dns,
                    format!("create AAAA {fqdn} -> <droplet public IPv6> ttl={ttl}"),
                );
            }
            let zone = zone_of(spec);
            match zones.iter_mut().find(|(z, _)| *z == zone) {
                Some((_, n)) => *n += 1,
                None => zones.push((zone, 1)),
            }
            hosts.push(HostPlan {
                name: spec.name.clone(),
                problems,
                writes: w,
            });
        }
        let publishes = if self.dns.needs_publish() {
            zones
                .into_iter()
                .map(|(z, n)| PlannedWrite {
                    service: Service::Dns,
                    action: format!("publish zone {z} (once, for {n} host(s))"),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Plan { hosts, publishes })
    }
}
