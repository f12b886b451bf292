//! Host and fleet specs (TOML or JSON) and their static checks.
//!
//! A fleet file has optional `[defaults]` and a list of `[[hosts]]`; every host field may be
//! given in either place, the host winning (tags are the union):
//!
//! ```toml
//! [defaults]
//! region = "nyc3"
//! size = "s-1vcpu-1gb"
//! image = "ubuntu-24-04-x64"
//! ssh_keys = ["ops@bastion"]
//! dns = { zone = "example.com" }
//! chef = { environment = "prod", run_list = ["role[base]"], version = "18.4.12", license = "accept" }
//! vpc = { name = "prod-net", ip_range = "10.20.0.0/20" }   # optional: used, or created
//! project = { name = "web" }                                  # optional: used, or created
//! alerts = { cpu_percent = 90, disk_percent = 85, emails = ["ops@example.com"] }
//! volumes = [{ name = "{host}-data", size_gib = 20, mount = "/srv/data" }]
//!
//! [[hosts]]
//! name = "web-01"
//! chef = { run_list = ["role[base]", "role[web]"] }
//!
//! [[hosts]]
//! name = "web-02"
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Tag put on every droplet this tool creates.
pub const TOOL_TAG: &str = "ops-core";
/// Prefix of the per-run unique tag (`ops-run:<run id>`).
pub const RUN_TAG_PREFIX: &str = "ops-run:";
/// Prefix of the per-batch tag (`ops-batch:<batch id>`), fleets only.
pub const BATCH_TAG_PREFIX: &str = "ops-batch:";

/// Everything needed to provision one host.
///
/// The droplet name, the Chef node name and the Chef client name are all `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Hostname: lowercase letters, digits, `-` and `.`-separated labels (RFC 1123).
    pub name: String,
    /// Region slug, e.g. `nyc3`.
    pub region: String,
    /// Size slug, e.g. `s-1vcpu-1gb`.
    pub size: String,
    /// Image slug or numeric id.
    pub image: String,
    /// Extra droplet tags (the tool adds its own).
    #[serde(default)]
    pub tags: Vec<String>,
    /// SSH keys by name or MD5 fingerprint; at least one (DigitalOcean otherwise mails a root
    /// password).
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// Give the droplet a public IPv6 address and publish an AAAA record.
    #[serde(default)]
    pub ipv6: bool,
    /// Enable DigitalOcean's monitoring agent.
    #[serde(default)]
    pub monitoring_agent: bool,
    /// DNS record to create.
    pub dns: DnsSpec,
    /// Chef registration.
    pub chef: ChefSpec,
    /// Additions to the generated cloud-init user data.
    #[serde(default)]
    pub user_data: UserDataExtras,
    /// Wait until monitoring reports the host UP (the optional last step).
    #[serde(default)]
    pub wait_for_monitoring: bool,
    /// The VPC (private network) to put the droplet in, by name: used when the account has
    /// one of that name in the host's region, else created (and then removed by rollback
    /// and teardown once nothing else is in it). `None`: the region's default VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<VpcSpec>,
    /// Cloud firewalls to apply to the droplet, by name: one that exists is used; one that
    /// does not is created when its rules are given here (and removed by rollback and
    /// teardown once it applies to no droplet), else refused by validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firewalls: Vec<FirewallSpec>,
    /// A reserved (static) IP for the droplet: `{ address = "…" }` assigns one the account
    /// has; `{}` reserves a new one for the droplet (released by rollback and teardown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_ip: Option<ReservedIpSpec>,
    /// Block-storage volumes for the droplet, by name in its region: one the account has
    /// (unattached) is attached, one it lacks is created (and removed by rollback and
    /// teardown); either is attached when the droplet is created and, with `mount`, mounted
    /// by the cloud-init user data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeSpec>,
    /// The project to put the droplet, its volumes and its reserved IP in, by name: used
    /// when the account has one of that name, else created (and removed by rollback and
    /// teardown once empty). `None`: the account's default project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectSpec>,
    /// Monitoring alert policies on the droplet (CPU and/or disk use), created by the run
    /// and removed by rollback and teardown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsSpec>,
}

/// A block-storage volume of a host spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    /// Volume name (unique per region): lowercase letters, digits and `-`, starting with a
    /// letter, at most 64. In a fleet file `{host}` stands for the host name.
    pub name: String,
    /// Size in GiB of a volume the run creates (1 to 16,384); an existing volume's size is
    /// not checked against it.
    pub size_gib: u64,
    /// Filesystem a created volume is formatted with: `ext4` (default) or `xfs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    /// Where the cloud-init user data mounts it (an absolute path); `None`: not mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
}

impl VolumeSpec {
    /// The filesystem (`ext4` unless the spec says `xfs`).
    pub fn filesystem(&self) -> &str {
        self.filesystem.as_deref().unwrap_or("ext4")
    }

    /// The device the volume shows up as on a droplet.
    pub fn device(&self) -> String {
        format!("/dev/disk/by-id/scsi-0DO_Volume_{}", self.name)
    }

    fn check(&self, at: &str, p: &mut Vec<String>) {
        let n = &self.name;
        let ok = n.len() <= 64
            && n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            p.push(format!(
                "{at}.name `{n}`: lowercase letters, digits and `-`, starting with a letter, at most 64"
            ));
        }
        if !(1..=16_384).contains(&self.size_gib) {
            p.push(format!("{at}.size_gib {}: from 1 to 16384", self.size_gib));
        }
        if !matches!(self.filesystem(), "ext4" | "xfs") {
            p.push(format!(
                "{at}.filesystem `{}`: ext4 or xfs",
                self.filesystem()
            ));
        }
        if let Some(m) = &self.mount {
            let plain = m.starts_with('/')
                && m.len() > 1
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
                && !m.split('/').any(|seg| seg == "..");
            if !plain {
                p.push(format!(
                    "{at}.mount `{m}`: an absolute path of letters, digits, `/`, `-`, `_` and `.`"
                ));
            }
        }
    }
}

/// The project part of a host spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// Project name (unique in the account), 1 to 175 characters.
    pub name: String,
    /// What a created project is for (DigitalOcean asks for one); default
    /// `Operational / Developer tooling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

impl ProjectSpec {
    /// The purpose a created project gets.
    pub fn purpose(&self) -> &str {
        self.purpose
            .as_deref()
            .unwrap_or("Operational / Developer tooling")
    }
}

/// The monitoring part of a host spec: one alert policy per metric given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSpec {
    /// Alert when CPU use stays above this percent (1 to 100) for `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<u8>,
    /// Alert when disk use stays above this percent (1 to 100) for `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_percent: Option<u8>,
    /// `5m` (default), `10m`, `30m` or `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Who is told (addresses verified on the DigitalOcean account); at least one.
    pub emails: Vec<String>,
}

impl AlertsSpec {
    /// The window (`5m` unless given).
    pub fn window(&self) -> &str {
        self.window.as_deref().unwrap_or("5m")
    }

    /// The policies the spec asks for, as (metric, percent).
    pub fn policies(&self) -> Vec<(crate::ports::AlertMetric, u8)> {
        use crate::ports::AlertMetric;
        [
            (AlertMetric::Cpu, self.cpu_percent),
            (AlertMetric::Disk, self.disk_percent),
        ]
        .into_iter()
        .filter_map(|(m, v)| v.map(|v| (m, v)))
        .collect()
    }

    fn check(&self, p: &mut Vec<String>) {
        if self.cpu_percent.is_none() && self.disk_percent.is_none() {
            p.push("alerts: give cpu_percent, disk_percent or both".into());
        }
        for (f, v) in [
            ("cpu_percent", self.cpu_percent),
            ("disk_percent", self.disk_percent),
        ] {
            if let Some(v) = v
                && !(1..=100).contains(&v)
            {
                p.push(format!("alerts.{f} {v}: from 1 to 100"));
            }
        }
        if !matches!(self.window(), "5m" | "10m" | "30m" | "1h") {
            p.push(format!(
                "alerts.window `{}`: 5m, 10m, 30m or 1h",
                self.window()
            ));
        }
        if self.emails.is_empty() {
            p.push("alerts.emails: at least one address to tell".into());
        }
        for e in &self.emails {
            let ok = e.split_once('@').is_some_and(|(u, d)| {
                !u.is_empty() && d.contains('.') && !e.chars().any(|c| c.is_whitespace())
            });
            if !ok {
                p.push(format!("alerts.emails `{e}`: not an email address"));
            }
        }
    }
}

/// The reserved IP part of a host spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservedIpSpec {
    /// An address the account has reserved; `None`: reserve a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A firewall of a host spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallSpec {
    /// Firewall name.
    pub name: String,
    /// Inbound rules; with `outbound`, what a firewall created by the run allows. Both empty:
    /// the firewall must exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbound: Vec<RuleSpec>,
    /// Outbound rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<RuleSpec>,
}

impl FirewallSpec {
    /// True when the spec defines the firewall (it is created if missing).
    pub fn defines_rules(&self) -> bool {
        !self.inbound.is_empty() || !self.outbound.is_empty()
    }
}

/// One firewall rule of a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// A port, a range (`8000-9000`) or `all`; omitted for ICMP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<String>,
    /// CIDR ranges or addresses allowed (from, inbound; to, outbound); default: anywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

impl RuleSpec {
    /// The wire form: ports `0` for all (and ICMP), addresses anywhere by default.
    pub fn to_rule(&self) -> crate::ports::FirewallRule {
        let ports = match (self.protocol.as_str(), self.ports.as_deref()) {
            ("icmp", _) | (_, None | Some("all")) => "0".to_owned(),
            (_, Some(p)) => p.to_owned(),
        };
        let addresses = if self.addresses.is_empty() {
            vec!["0.0.0.0/0".to_owned(), "::/0".to_owned()]
        } else {
            self.addresses.clone()
        };
        crate::ports::FirewallRule {
            protocol: self.protocol.clone(),
            ports,
            addresses,
        }
    }

    fn check(&self, at: &str, p: &mut Vec<String>) {
        if !matches!(self.protocol.as_str(), "tcp" | "udp" | "icmp") {
            p.push(format!(
                "{at}.protocol `{}`: tcp, udp or icmp",
                self.protocol
            ));
        }
        if let Some(ports) = &self.ports {
            let ok = ports == "all"
                || ports.split_once('-').map_or_else(
                    || ports.parse::<u16>().is_ok_and(|n| n > 0),
                    |(a, b)| {
                        a.parse::<u16>()
                            .ok()
                            .zip(b.parse::<u16>().ok())
                            .is_some_and(|(a, b)| 0 < a && a < b)
                    },
                );
            if !ok {
                p.push(format!(
                    "{at}.ports `{ports}`: a port (1-65535), a range like 8000-9000, or all"
                ));
            }
        } else if self.protocol != "icmp" {
            p.push(format!(
                "{at}.ports: required for {} (a port, a range or all)",
                self.protocol
            ));
        }
        for a in &self.addresses {
            let addr = a.split_once('/').map_or(a.as_str(), |(x, _)| x);
            if addr.parse::<std::net::IpAddr>().is_err() {
                p.push(format!(
                    "{at}.addresses `{a}`: not an IP address or CIDR range"
                ));
            }
        }
    }
}

/// The VPC part of a host spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcSpec {
    /// VPC name (unique in the account): letters, digits, `.`, `-` and `_`.
    pub name: String,
    /// The private range (CIDR, e.g. `10.20.0.0/20`) when the VPC is created; `None` lets
    /// DigitalOcean pick one. An existing VPC's range is not checked against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
}

impl VpcSpec {
    /// Static checks of the name and range.
    fn check(&self, p: &mut Vec<String>) {
        let n = &self.name;
        if n.is_empty()
            || n.len() > 255
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            p.push(format!(
                "vpc.name `{n}`: 1 to 255 letters, digits, `.`, `-` or `_`"
            ));
        }
        if let Some(r) = &self.ip_range {
            let ok = r.split_once('/').is_some_and(|(addr, bits)| {
                addr.parse::<std::net::Ipv4Addr>().is_ok()
                    && bits.parse::<u8>().is_ok_and(|b| (16..=28).contains(&b))
            });
            if !ok {
                p.push(format!(
                    "vpc.ip_range `{r}`: an IPv4 CIDR range from /16 to /28, e.g. 10.20.0.0/20"
                ));
            }
        }
    }
}

/// The DNS part of a host spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// The zone (apex) that must belong to this account, e.g. `example.com`.
    pub zone: String,
    /// Record name relative to the zone; defaults to the host name.
    #[serde(default)]
    pub record: Option<String>,
    /// TTL in seconds; defaults to the zone's default.
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// The Chef part of a host spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChefSpec {
    /// Chef environment.
    pub environment: String,
    /// Run list (`recipe[..]`, `role[..]`).
    pub run_list: Vec<String>,
    /// Extra first-boot (normal) attributes.
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Chef Infra Client version to install (`install.sh -v`), e.g. `18.4.12`; default: the
    /// [`BootstrapConfig`](super::BootstrapConfig)'s, else the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `chef_license` in `client.rb` (`accept`, `accept-silent`, `accept-no-persist`), which
    /// Chef Infra Client 15+ needs to run unattended; default: the `BootstrapConfig`'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// Optional additions to the generated user data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDataExtras {
    /// Extra packages to install before Chef.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Extra shell commands, run after the first converge.
    #[serde(default)]
    pub runcmd: Vec<String>,
}

impl HostSpec {
    /// Parses one host spec from TOML.
    pub fn from_toml_str(s: &str) -> Result<Self> {
        toml::from_str(s).map_err(|e| Error::spec_toml(s, &e))
    }

    /// Parses one host spec from JSON.
    pub fn from_json_str(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(|e| Error::spec_json(&e))
    }

    /// The record name relative to the zone.
    pub fn record_name(&self) -> &str {
        self.dns.record.as_deref().unwrap_or(&self.name)
    }

    /// The fully qualified DNS name (no trailing dot).
    pub fn fqdn(&self) -> String {
        format!(
            "{}.{}",
            self.record_name(),
            self.dns.zone.trim_end_matches('.')
        )
    }

    /// The Chef node (and client) name: the host name.
    pub fn node_name(&self) -> &str {
        &self.name
    }

    /// Static checks that need no provider: names, tags, run list. Returns every problem.
    pub fn check(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(e) = check_hostname(&self.name) {
            p.push(format!("name `{}`: {e}", self.name));
        }
        if self.name.len() > 255 {
            p.push("name: longer than a droplet name may be (255)".into());
        }
        for (field, v) in [
            ("region", &self.region),
            ("size", &self.size),
            ("image", &self.image),
        ] {
            if v.trim().is_empty() {
                p.push(format!("{field}: empty"));
            }
        }
        for t in &self.tags {
            if let Err(e) = check_tag(t) {
                p.push(format!("tag `{t}`: {e}"));
            } else if t.starts_with(RUN_TAG_PREFIX)
                || t.starts_with(BATCH_TAG_PREFIX)
                || t == TOOL_TAG
            {
                p.push(format!("tag `{t}`: reserved for the tool's own tags"));
            }
        }
        if self.ssh_keys.is_empty() {
            p.push(
                "ssh_keys: at least one key is required (otherwise a root password is mailed)"
                    .into(),
            );
        }
        let zone = self.dns.zone.trim_end_matches('.');
        if let Err(e) = check_hostname(zone) {
            p.push(format!("dns.zone `{zone}`: {e}"));
        } else if !zone.contains('.') {
            p.push(format!("dns.zone `{zone}`: not a domain"));
        }
        let rec = self.record_name();
        if rec == "@" || rec.is_empty() {
            p.push("dns.record: the zone apex cannot be a host record".into());
        } else if let Err(e) = check_hostname(rec) {
            p.push(format!("dns.record `{rec}`: {e}"));
        } else if self.fqdn().len() > 253 {
            p.push("dns: the fully qualified name is longer than 253 characters".into());
        }
        if self.dns.ttl == Some(0) {
            p.push("dns.ttl: must be positive (omit it for the zone default)".into());
        }
        let env = &self.chef.environment;
        if env.is_empty()
            || !env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            p.push(format!(
                "chef.environment `{env}`: letters, digits, `_` and `-` only"
            ));
        }
        if self.chef.run_list.is_empty() {
            p.push("chef.run_list: empty".into());
        }
        for item in &self.chef.run_list {
            if !is_run_list_item(item) {
                p.push(format!(
                    "chef.run_list `{item}`: expected `recipe[name]` or `role[name]`"
                ));
            }
        }
        for (field, v) in [
            ("chef.version", &self.chef.version),
            ("chef.license", &self.chef.license),
        ] {
            if let Some(v) = v {
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                {
                    p.push(format!(
                        "{field} `{v}`: letters, digits, `-`, `.` and `_` only"
                    ));
                }
            }
        }
        for pkg in &self.user_data.packages {
            if pkg.is_empty()
                || !pkg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-._:=~".contains(c))
            {
                p.push(format!("user_data.packages `{pkg}`: not a package name"));
            }
        }
        if let Some(v) = &self.vpc {
            v.check(&mut p);
        }
        if let Some(a) = self.reserved_ip.as_ref().and_then(|r| r.address.as_ref())
            && a.parse::<std::net::Ipv4Addr>().is_err()
        {
            p.push(format!("reserved_ip.address `{a}`: not an IPv4 address"));
        }
        for (i, f) in self.firewalls.iter().enumerate() {
            if f.name.is_empty()
                || f.name.len() > 255
                || !f
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                p.push(format!(
                    "firewalls[{i}].name `{}`: 1 to 255 letters, digits, `.`, `-` or `_`",
                    f.name
                ));
            }
            if self.firewalls[..i].iter().any(|o| o.name == f.name) {
                p.push(format!("firewalls[{i}]: `{}` is listed twice", f.name));
            }
            for (k, r) in f.inbound.iter().enumerate() {
                r.check(&format!("firewalls[{i}].inbound[{k}]"), &mut p);
            }
            for (k, r) in f.outbound.iter().enumerate() {
                r.check(&format!("firewalls[{i}].outbound[{k}]"), &mut p);
            }
        }
        for (i, v) in self.volumes.iter().enumerate() {
            v.check(&format!("volumes[{i}]"), &mut p);
            if self.volumes[..i].iter().any(|o| o.name == v.name) {
                p.push(format!("volumes[{i}]: `{}` is listed twice", v.name));
            }
            if let Some(m) = &v.mount
                && self.volumes[..i]
                    .iter()
                    .any(|o| o.mount.as_ref() == Some(m))
            {
                p.push(format!(
                    "volumes[{i}].mount `{m}`: two volumes mounted there"
                ));
            }
        }
        if self.volumes.len() > 7 {
            p.push("volumes: at most 7 per droplet".into());
        }
        if let Some(pr) = &self.project {
            if pr.name.trim().is_empty() || pr.name.len() > 175 {
                p.push(format!("project.name `{}`: 1 to 175 characters", pr.name));
            }
            if pr.purpose().trim().is_empty() || pr.purpose().len() > 255 {
                p.push("project.purpose: 1 to 255 characters".into());
            }
        }
        if let Some(a) = &self.alerts {
            a.check(&mut p);
        }
        p
    }
}

fn is_run_list_item(item: &str) -> bool {
    let inner = item
        .strip_prefix("recipe[")
        .or_else(|| item.strip_prefix("role["))
        .and_then(|r| r.strip_suffix(']'));
    inner.is_some_and(|n| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-:.@".contains(c))
    })
}

/// Checks a DNS hostname (RFC 1123, lowercase): also a valid droplet name and Chef node name.
pub fn check_hostname(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label (`..` or a leading/trailing dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "label `{label}`: only lowercase letters, digits and `-` are allowed"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

/// Checks a DigitalOcean tag (`^[a-zA-Z0-9_\-:]+$`, at most 255 characters).
pub fn check_tag(tag: &str) -> std::result::Result<(), String> {
    if tag.is_empty() || tag.len() > 255 {
        return Err("must be 1 to 255 characters".into());
    }
    if !tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':')
    {
        return Err("only letters, digits, `_`, `-` and `:` are allowed".into());
    }
    Ok(())
}

/// A fleet file: defaults plus hosts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    /// Values every host inherits unless it sets its own.
    #[serde(default)]
    pub defaults: PartialHost,
    /// The hosts.
    pub hosts: Vec<PartialHost>,
}

/// A host entry or the defaults of a fleet file: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // same fields as `HostSpec`
pub struct PartialHost {
    pub name: Option<String>,
    pub region: Option<String>,
    pub size: Option<String>,
    pub image: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub ssh_keys: Option<Vec<String>>,
    pub ipv6: Option<bool>,
    pub monitoring_agent: Option<bool>,
    pub dns: Option<PartialDns>,
    pub chef: Option<PartialChef>,
    pub user_data: Option<UserDataExtras>,
    pub wait_for_monitoring: Option<bool>,
    pub vpc: Option<VpcSpec>,
    pub firewalls: Option<Vec<FirewallSpec>>,
    pub reserved_ip: Option<ReservedIpSpec>,
    pub volumes: Option<Vec<VolumeSpec>>,
    pub project: Option<ProjectSpec>,
    pub alerts: Option<AlertsSpec>,
}

/// DNS fields of a [`PartialHost`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PartialDns {
    pub zone: Option<String>,
    pub record: Option<String>,
    pub ttl: Option<u32>,
}

/// Chef fields of a [`PartialHost`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PartialChef {
    pub environment: Option<String>,
    pub run_list: Option<Vec<String>>,
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub version: Option<String>,
    pub license: Option<String>,
}

impl FleetSpec {
    /// Parses a fleet file from TOML.
    pub fn from_toml_str(s: &str) -> Result<Self> {
        toml::from_str(s).map_err(|e| Error::spec_toml(s, &e))
    }

    /// Parses a fleet file from JSON.
    pub fn from_json_str(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(|e| Error::spec_json(&e))
    }

    /// Merges defaults into every host and checks that names are unique and every required
    /// field is set. Returns every problem at once.
    pub fn hosts(&self) -> Result<Vec<HostSpec>> {
        let mut problems = Vec::new();
        let mut out = Vec::new();
        if self.defaults.name.is_some() {
            problems.push("defaults: `name` cannot have a default".to_string());
        }
        if self
            .defaults
            .dns
            .as_ref()
            .is_some_and(|d| d.record.is_some())
        {
            problems.push("defaults: `dns.record` cannot have a default".to_string());
        }
        for (i, h) in self.hosts.iter().enumerate() {
            match merge(&self.defaults, h) {
                Ok(spec) => {
                    if out.iter().any(|o: &HostSpec| o.name == spec.name) {
                        problems.push(format!("hosts[{i}]: duplicate name `{}`", spec.name));
                    } else if out.iter().any(|o: &HostSpec| o.fqdn() == spec.fqdn()) {
                        problems.push(format!("hosts[{i}]: duplicate DNS name `{}`", spec.fqdn()));
                    }
                    for v in &spec.volumes {
                        if let Some(o) = out.iter().find(|o: &&HostSpec| {
                            o.region == spec.region && o.volumes.iter().any(|w| w.name == v.name)
                        }) {
                            problems.push(format!(
                                "hosts[{i}]: volume `{}` is also host `{}`'s: a volume attaches \
                                 to one droplet (put `{{host}}` in its name)",
                                v.name, o.name
                            ));
                        }
                    }
                    out.push(spec);
                }
                Err(missing) => problems.push(format!("hosts[{i}]: {missing}")),
            }
        }
        if self.hosts.is_empty() {
            problems.push("no hosts".to_string());
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Error::Validation {
                target: "fleet spec".into(),
                problems,
            })
        }
    }
}

fn merge(d: &PartialHost, h: &PartialHost) -> std::result::Result<HostSpec, String> {
    fn pick<T: Clone>(field: &str, a: &Option<T>, b: &Option<T>) -> std::result::Result<T, String> {
        a.clone()
            .or_else(|| b.clone())
            .ok_or_else(|| format!("`{field}` is missing (set it on the host or in [defaults])"))
    }
    let name = pick("name", &h.name, &None)?;
    let dd = d.dns.clone().unwrap_or_default();
    let hd = h.dns.clone().unwrap_or_default();
    let dc = d.chef.clone().unwrap_or_default();
    let hc = h.chef.clone().unwrap_or_default();
    let mut tags = d.tags.clone();
    for t in &h.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    let mut attributes = dc.attributes.clone();
    attributes.extend(hc.attributes.clone());
    Ok(HostSpec {
        region: pick("region", &h.region, &d.region)?,
        size: pick("size", &h.size, &d.size)?,
        image: pick("image", &h.image, &d.image)?,
        tags,
        ssh_keys: pick("ssh_keys", &h.ssh_keys, &d.ssh_keys)?,
        ipv6: h.ipv6.or(d.ipv6).unwrap_or(false),
        monitoring_agent: h.monitoring_agent.or(d.monitoring_agent).unwrap_or(false),
        dns: DnsSpec {
            zone: pick("dns.zone", &hd.zone, &dd.zone)?,
            record: hd.record,
            ttl: hd.ttl.or(dd.ttl),
        },
        chef: ChefSpec {
            environment: pick("chef.environment", &hc.environment, &dc.environment)?,
            run_list: pick("chef.run_list", &hc.run_list, &dc.run_list)?,
            attributes,
            version: hc.version.or(dc.version),
            license: hc.license.or(dc.license),
        },
        user_data: h
            .user_data
            .clone()
            .or_else(|| d.user_data.clone())
            .unwrap_or_default(),
        wait_for_monitoring: h
            .wait_for_monitoring
            .or(d.wait_for_monitoring)
            .unwrap_or(false),
        vpc: h.vpc.clone().or_else(|| d.vpc.clone()),
        firewalls: h
            .firewalls
            .clone()
            .or_else(|| d.firewalls.clone())
            .unwrap_or_default(),
        reserved_ip: h.reserved_ip.clone().or_else(|| d.reserved_ip.clone()),
        volumes: h
            .volumes
            .clone()
            .or_else(|| d.volumes.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|mut v| {
                v.name = v.name.replace("{host}", &name);
                v
            })
            .collect(),
        project: h.project.clone().or_else(|| d.project.clone()),
        alerts: h.alerts.clone().or_else(|| d.alerts.clone()),
        name,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FLEET: &str = r#"
[defaults]
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
dns = { zone = "example.com" }
chef = { environment = "prod", run_list = ["role[base]"] }
volumes = [{ name = "VOLUME", size_gib = 10, mount = "/srv/data" }]

[[hosts]]
name = "web-01"

[[hosts]]
name = "web-02"
"#;

    /// Issue #22: `{host}` gives each host of a fleet its own volume; one volume name
    /// shared by two hosts of a region is refused before any request.
    #[test]
    fn a_volume_belongs_to_one_host_of_a_fleet() {
        let hosts = FleetSpec::from_toml_str(&FLEET.replace("VOLUME", "{host}-data"))
            .unwrap()
            .hosts()
            .unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.volumes[0].name.as_str()).collect();
        assert_eq!(names, ["web-01-data", "web-02-data"]);
        assert!(hosts.iter().all(|h| h.check().is_empty()));
        let err = FleetSpec::from_toml_str(&FLEET.replace("VOLUME", "shared-data"))
            .unwrap()
            .hosts()
            .unwrap_err();
        let Error::Validation { problems, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("shared-data") && problems[0].contains("web-01"),
            "{problems:?}"
        );
    }
}
