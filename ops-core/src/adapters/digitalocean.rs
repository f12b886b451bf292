//! [`Compute`] and [`Dns`] over `digitalocean-client`: droplets, the catalog, account SSH
//! keys, and DigitalOcean Domains.
//!
//! Error mapping: 404 → [`PortErrorKind::NotFound`], 409 and a 422 whose message says
//! "already" (how DigitalOcean answers a duplicate, e.g. "SSH Key is already in use on your
//! account") → `AlreadyExists`, other 400/415/422 and inputs the client refused before
//! sending → `Rejected`,
//! 401/403 → `Unauthorized`, 429 → `RateLimited` (with `Retry-After`), 5xx, transport
//! failures and wait deadlines → `Unavailable`, anything else → `Other`.
//!
//! A failed **write** is flagged [`PortError::ambiguous`] when it may have taken effect:
//! a transport failure other than a refused connection (timeout, connection dropped after
//! the request was sent, body read failure), any 5xx answer, or a 2xx answer the client
//! could not decode. The client never retries a `POST /v2/droplets` on those, and neither
//! does this adapter: the provision workflow looks the droplet up by its run tag instead.

use std::net::{Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use digitalocean_client as dock;

use crate::ports::{
    AlertMetric, AlertPolicy, NewAlertPolicy, NewProject, NewVolume, Project, ProjectMember, Volume,
};
use crate::ports::{
    Compute, Dns, DnsRecord, Droplet, DropletFilter, DropletStatus, Image, NewDroplet, NewRecord,
    PortError, PortErrorKind, PortResult, ProviderError, Published, RecordType, Region, Service,
    Size, SshKey, Vpc,
};
use crate::ports::{Firewall, FirewallRule, NewFirewall, NewVpc, ReservedIp};

/// Provider name used in [`PortError`]s and reports.
pub const PROVIDER: &str = "digitalocean";

/// Whether the call that failed was a read (never ambiguous) or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Write,
}

impl ProviderError for dock::Error {
    fn http_status(&self) -> Option<u16> {
        self.status().map(|s| s.as_u16())
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        dock::Error::retry_after(self)
    }
    fn maybe_sent(&self) -> bool {
        match self {
            dock::Error::Transport(t) => !t.is_connect(),
            // Answered (so possibly done) but not read to the end.
            dock::Error::Decode { .. } | dock::Error::ResponseTooLarge { .. } => true,
            _ => self.status().is_some_and(|s| s.is_server_error()),
        }
    }
    fn kind_hint(&self) -> Option<PortErrorKind> {
        match self {
            // DigitalOcean says "already in use" / "already exists" with a 422.
            _ if self.status().is_some_and(|s| s.as_u16() == 422)
                && self
                    .api_message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("already")) =>
            {
                Some(PortErrorKind::AlreadyExists)
            }
            dock::Error::Transport(_) | dock::Error::WaitTimedOut { .. } => {
                Some(PortErrorKind::Unavailable)
            }
            dock::Error::Decode { .. } | dock::Error::ResponseTooLarge { .. } => {
                Some(PortErrorKind::Other)
            }
            dock::Error::InvalidInput { .. }
            | dock::Error::Config(_)
            | dock::Error::Encode { .. } => Some(PortErrorKind::Rejected),
            _ => None,
        }
    }
}

/// Maps a `digitalocean-client` error into a [`PortError`] of `service` (see
/// [`PortError::from_provider`]); `op` says whether a failure may be ambiguous.
pub(crate) fn map_error(service: Service, what: &str, op: Op, e: dock::Error) -> PortError {
    PortError::from_provider(service, PROVIDER, what, op == Op::Write, e)
}

fn compute_err(what: &str, op: Op) -> impl FnOnce(dock::Error) -> PortError + '_ {
    move |e| map_error(Service::Compute, what, op, e)
}

fn dns_err(what: &str, op: Op) -> impl FnOnce(dock::Error) -> PortError + '_ {
    move |e| map_error(Service::Dns, what, op, e)
}

/// Converts a client droplet into the port's [`Droplet`].
pub fn droplet_from(d: &dock::Droplet) -> Droplet {
    Droplet {
        id: d.id,
        name: d.name.clone(),
        status: match d.status {
            dock::DropletStatus::New => DropletStatus::New,
            dock::DropletStatus::Active => DropletStatus::Active,
            dock::DropletStatus::Off => DropletStatus::Off,
            dock::DropletStatus::Archive => DropletStatus::Archive,
            _ => DropletStatus::Unknown,
        },
        region: d
            .region
            .as_ref()
            .map(|r| r.slug.clone())
            .unwrap_or_default(),
        tags: d.tags.clone(),
        public_ipv4: d.public_ipv4().and_then(|a| a.parse::<Ipv4Addr>().ok()),
        public_ipv6: d.public_ipv6().and_then(|a| a.parse::<Ipv6Addr>().ok()),
    }
}

/// [`Compute`] over DigitalOcean droplets.
///
/// Lists are read in full (every page). `create_droplet` sends exactly one
/// `POST /v2/droplets`: the client retries it only when it certainly did not reach the server
/// (refused connection, 429), and the adapter reports everything else that may have created
/// the droplet as [`PortError::ambiguous`].
#[derive(Debug, Clone)]
pub struct DigitalOceanCompute {
    client: dock::Client,
}

impl DigitalOceanCompute {
    /// An adapter over `client`.
    pub fn new(client: dock::Client) -> Self {
        Self { client }
    }

    /// The client in use.
    pub fn client(&self) -> &dock::Client {
        &self.client
    }
}

fn image_ref(slug_or_id: &str) -> dock::ImageRef {
    match slug_or_id.parse::<u64>() {
        Ok(id) => dock::ImageRef::Id(id),
        Err(_) => dock::ImageRef::Slug(slug_or_id.to_owned()),
    }
}

#[async_trait]
impl Compute for DigitalOceanCompute {
    async fn regions(&self) -> PortResult<Vec<Region>> {
        let all = self
            .client
            .regions()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list regions", Op::Read))?;
        Ok(all
            .into_iter()
            .map(|r| Region {
                slug: r.slug,
                available: r.available,
                sizes: r.sizes,
            })
            .collect())
    }

    async fn sizes(&self) -> PortResult<Vec<Size>> {
        let all = self
            .client
            .sizes()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list sizes", Op::Read))?;
        Ok(all
            .into_iter()
            .map(|s| Size {
                slug: s.slug,
                available: s.available,
                regions: s.regions,
            })
            .collect())
    }

    async fn image(&self, slug_or_id: &str) -> PortResult<Option<Image>> {
        let res = match image_ref(slug_or_id) {
            dock::ImageRef::Id(id) => self.client.images().get(id).await,
            dock::ImageRef::Slug(slug) => self.client.images().get_by_slug(&slug).await,
        };
        match res {
            Ok(i) => Ok(Some(Image {
                id: i.id,
                slug: i.slug,
                name: i.name,
                regions: i.regions,
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(map_error(Service::Compute, "get image", Op::Read, e)),
        }
    }

    async fn ssh_keys(&self) -> PortResult<Vec<SshKey>> {
        let all = self
            .client
            .ssh_keys()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list SSH keys", Op::Read))?;
        let all = super::do_keys::with_ids(&self.client, all, "list SSH keys").await?;
        Ok(all
            .into_iter()
            .map(|(id, k)| SshKey {
                id,
                name: k.name,
                fingerprint: k.fingerprint,
            })
            .collect())
    }

    async fn droplets(&self, filter: &DropletFilter) -> PortResult<Vec<Droplet>> {
        let droplets = self.client.droplets();
        let pager = match filter {
            DropletFilter::All => droplets.list(),
            DropletFilter::Name(n) => droplets.list_by_name(n),
            DropletFilter::Tag(t) => droplets.list_by_tag(t),
        };
        let all = pager
            .collect_all()
            .await
            .map_err(compute_err("list droplets", Op::Read))?;
        Ok(all
            .iter()
            // DigitalOcean's `name` filter is exact but case-insensitive; keep it exact.
            .filter(|d| match filter {
                DropletFilter::Name(n) => d.name.eq_ignore_ascii_case(n),
                _ => true,
            })
            .map(droplet_from)
            .collect())
    }

    async fn get_droplet(&self, id: u64) -> PortResult<Option<Droplet>> {
        match self.client.droplets().get(id).await {
            Ok(d) => Ok(Some(droplet_from(&d))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(map_error(Service::Compute, "get droplet", Op::Read, e)),
        }
    }

    async fn create_droplet(&self, req: &NewDroplet) -> PortResult<Droplet> {
        let mut spec =
            dock::DropletSpec::new(req.region.clone(), req.size.clone(), image_ref(&req.image));
        spec.ssh_keys = req
            .ssh_keys
            .iter()
            .copied()
            .map(dock::SshKeyId::from)
            .collect();
        spec.ipv6 = req.ipv6;
        spec.monitoring = req.monitoring;
        spec.tags = req.tags.clone();
        spec.vpc_uuid = req.vpc_id.clone();
        spec.volumes = req.volume_ids.clone();
        // The user data carries the Chef client key: it leaves the secret only here, in the
        // request body (never a URL, never a log line; the client does not log bodies).
        spec.user_data = req.user_data.clone().map(dock::UserData::from);
        let create = dock::CreateDroplet::new(req.name.clone(), spec);
        tracing::debug!(name = %req.name, tags = ?req.tags, "creating droplet");
        let created = self
            .client
            .droplets()
            .create(&create)
            .await
            .map_err(compute_err("create droplet", Op::Write))?;
        Ok(droplet_from(&created.droplet))
    }

    async fn delete_droplet(&self, id: u64) -> PortResult<()> {
        self.client
            .droplets()
            .delete(id)
            .await
            .map_err(compute_err("delete droplet", Op::Write))
    }

    async fn vpcs(&self) -> PortResult<Vec<Vpc>> {
        let all = self
            .client
            .vpcs()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list VPCs", Op::Read))?;
        Ok(all.into_iter().filter_map(vpc_from).collect())
    }

    async fn create_vpc(&self, req: &NewVpc) -> PortResult<Vpc> {
        let mut create = dock::CreateVpc::new(req.name.clone(), req.region.clone());
        create.ip_range = req.ip_range.clone();
        create.description = Some(req.description.clone());
        tracing::debug!(name = %req.name, region = %req.region, "creating VPC");
        let created = self
            .client
            .vpcs()
            .create(&create)
            .await
            .map_err(compute_err("create VPC", Op::Write))?;
        vpc_from(created).ok_or_else(|| {
            PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::Other,
                format!("create VPC `{}`: the answer has no id", req.name),
            )
            .ambiguous()
        })
    }

    async fn delete_vpc(&self, id: &str) -> PortResult<()> {
        self.client
            .vpcs()
            .delete(id)
            .await
            .map_err(compute_err("delete VPC", Op::Write))
    }

    async fn vpc_member_count(&self, id: &str) -> PortResult<usize> {
        self.client
            .vpcs()
            .list_members(id)
            .collect_all()
            .await
            .map(|m| m.len())
            .map_err(compute_err("list VPC members", Op::Read))
    }

    async fn firewalls(&self) -> PortResult<Vec<Firewall>> {
        let all = self
            .client
            .firewalls()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list firewalls", Op::Read))?;
        Ok(all.into_iter().filter_map(firewall_from).collect())
    }

    async fn create_firewall(&self, req: &NewFirewall) -> PortResult<Firewall> {
        let target = |r: &FirewallRule| dock::FirewallTarget::addresses(r.addresses.clone());
        let protocol = |p: &str| match p {
            "udp" => dock::Protocol::Udp,
            "icmp" => dock::Protocol::Icmp,
            _ => dock::Protocol::Tcp,
        };
        let mut create = dock::FirewallRequest::new(req.name.clone());
        create.inbound_rules = req
            .inbound
            .iter()
            .map(|r| dock::InboundRule {
                protocol: protocol(&r.protocol),
                ports: r.ports.clone(),
                sources: target(r),
            })
            .collect();
        create.outbound_rules = req
            .outbound
            .iter()
            .map(|r| dock::OutboundRule {
                protocol: protocol(&r.protocol),
                ports: r.ports.clone(),
                destinations: target(r),
            })
            .collect();
        create.droplet_ids = req.droplet_ids.clone();
        tracing::debug!(name = %req.name, "creating firewall");
        let created = self
            .client
            .firewalls()
            .create(&create)
            .await
            .map_err(compute_err("create firewall", Op::Write))?;
        firewall_from(created).ok_or_else(|| {
            PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::Other,
                format!("create firewall `{}`: the answer has no id", req.name),
            )
            .ambiguous()
        })
    }

    async fn add_firewall_droplets(&self, id: &str, droplet_ids: &[u64]) -> PortResult<()> {
        self.client
            .firewalls()
            .add_droplets(id, droplet_ids)
            .await
            .map_err(compute_err("add droplets to firewall", Op::Write))
    }

    async fn delete_firewall(&self, id: &str) -> PortResult<()> {
        self.client
            .firewalls()
            .delete(id)
            .await
            .map_err(compute_err("delete firewall", Op::Write))
    }

    async fn reserved_ips(&self) -> PortResult<Vec<ReservedIp>> {
        let all = self
            .client
            .reserved_ips()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list reserved IPs", Op::Read))?;
        Ok(all.into_iter().filter_map(reserved_ip_from).collect())
    }

    async fn create_reserved_ip(&self, droplet_id: u64) -> PortResult<ReservedIp> {
        let created = self
            .client
            .reserved_ips()
            .create(&dock::CreateReservedIp::for_droplet(droplet_id))
            .await
            .map_err(compute_err("reserve an IP", Op::Write))?;
        reserved_ip_from(created.reserved_ip).ok_or_else(|| {
            PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::Other,
                format!("reserve an IP for droplet {droplet_id}: the answer has no address"),
            )
            .ambiguous()
        })
    }

    async fn assign_reserved_ip(&self, ip: &str, droplet_id: u64) -> PortResult<()> {
        self.client
            .reserved_ips()
            .assign(ip, droplet_id)
            .await
            .map(drop)
            .map_err(compute_err("assign reserved IP", Op::Write))
    }

    async fn delete_reserved_ip(&self, ip: &str) -> PortResult<()> {
        self.client
            .reserved_ips()
            .delete(ip)
            .await
            .map_err(compute_err("release reserved IP", Op::Write))
    }

    async fn volumes(&self) -> PortResult<Vec<Volume>> {
        let all = self
            .client
            .volumes()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list volumes", Op::Read))?;
        Ok(all.into_iter().filter_map(volume_from).collect())
    }

    async fn create_volume(&self, req: &NewVolume) -> PortResult<Volume> {
        let mut create =
            dock::CreateVolume::new(req.name.clone(), req.size_gib, req.region.clone());
        create.filesystem_type = match req.filesystem.as_deref() {
            Some("xfs") => Some(dock::FilesystemType::Xfs),
            Some(_) => Some(dock::FilesystemType::Ext4),
            None => None,
        };
        create.filesystem_label = req.label.clone();
        create.tags = req.tags.clone();
        tracing::debug!(name = %req.name, region = %req.region, "creating volume");
        let created = self
            .client
            .volumes()
            .create(&create)
            .await
            .map_err(compute_err("create volume", Op::Write))?;
        volume_from(created).ok_or_else(|| {
            PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::Other,
                format!("create volume `{}`: the answer has no id", req.name),
            )
            .ambiguous()
        })
    }

    async fn delete_volume(&self, id: &str) -> PortResult<()> {
        self.client
            .volumes()
            .delete(id)
            .await
            .map_err(compute_err("delete volume", Op::Write))
    }

    async fn projects(&self) -> PortResult<Vec<Project>> {
        let all = self
            .client
            .projects()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list projects", Op::Read))?;
        Ok(all
            .into_iter()
            .filter_map(|p| {
                Some(Project {
                    id: p.id?,
                    name: p.name,
                    description: p.description,
                })
            })
            .collect())
    }

    async fn create_project(&self, req: &NewProject) -> PortResult<Project> {
        let mut create = dock::CreateProject::new(req.name.clone(), req.purpose.clone());
        create.description = Some(req.description.clone());
        tracing::debug!(name = %req.name, "creating project");
        let created = self
            .client
            .projects()
            .create(&create)
            .await
            .map_err(compute_err("create project", Op::Write))?;
        match created.id {
            Some(id) => Ok(Project {
                id,
                name: created.name,
                description: created.description,
            }),
            None => Err(PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::Other,
                format!("create project `{}`: the answer has no id", req.name),
            )
            .ambiguous()),
        }
    }

    async fn assign_to_project(&self, id: &str, members: &[ProjectMember]) -> PortResult<()> {
        let urns: Vec<String> = members
            .iter()
            .map(|m| match m {
                ProjectMember::Droplet(d) => dock::droplet_urn(*d),
                ProjectMember::Volume(v) => dock::volume_urn(v),
                ProjectMember::ReservedIp(ip) => dock::reserved_ip_urn(ip),
            })
            .collect();
        let answered = self
            .client
            .projects()
            .assign_resources(id, &urns)
            .await
            .map_err(compute_err("assign resources to project", Op::Write))?;
        // A 200 can still leave some out: each resource has its own status.
        let left: Vec<String> = urns
            .iter()
            .filter(|u| {
                !answered
                    .iter()
                    .any(|r| r.urn == **u && r.status.is_in_project())
            })
            .cloned()
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        let down = answered
            .iter()
            .any(|r| r.status == dock::ProjectResourceStatus::ServiceDown);
        Err(PortError::new(
            Service::Compute,
            PROVIDER,
            if down {
                PortErrorKind::Unavailable
            } else {
                PortErrorKind::NotFound
            },
            format!("project {id}: not assigned: {}", left.join(", ")),
        ))
    }

    async fn project_member_count(&self, id: &str) -> PortResult<usize> {
        self.client
            .projects()
            .list_resources(id)
            .collect_all()
            .await
            .map(|r| r.len())
            .map_err(compute_err("list project resources", Op::Read))
    }

    async fn delete_project(&self, id: &str) -> PortResult<()> {
        match self.client.projects().delete(id).await {
            // DigitalOcean refuses a project that still holds resources with a 412.
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 412) => Err(PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::AlreadyExists,
                format!("delete project {id}: it still holds resources"),
            )),
            r => r.map_err(compute_err("delete project", Op::Write)),
        }
    }

    async fn alert_policies(&self) -> PortResult<Vec<AlertPolicy>> {
        let all = self
            .client
            .alert_policies()
            .list()
            .collect_all()
            .await
            .map_err(compute_err("list alert policies", Op::Read))?;
        Ok(all.into_iter().map(alert_policy_from).collect())
    }

    async fn create_alert_policy(&self, req: &NewAlertPolicy) -> PortResult<AlertPolicy> {
        let kind = match req.metric {
            AlertMetric::Cpu => dock::ALERT_DROPLET_CPU,
            AlertMetric::Disk => dock::ALERT_DROPLET_DISK,
        };
        let window = match req.window.as_str() {
            "10m" => dock::AlertWindow::TenMinutes,
            "30m" => dock::AlertWindow::ThirtyMinutes,
            "1h" => dock::AlertWindow::OneHour,
            _ => dock::AlertWindow::FiveMinutes,
        };
        let mut create = dock::AlertPolicyRequest::new(
            kind,
            req.description.clone(),
            dock::AlertCompare::GreaterThan,
            req.percent,
            window,
        )
        .droplets(req.droplet_ids.iter().copied());
        for e in &req.emails {
            create = create.email(e.clone());
        }
        tracing::debug!(description = %req.description, "creating alert policy");
        let created = self
            .client
            .alert_policies()
            .create(&create)
            .await
            .map_err(compute_err("create alert policy", Op::Write))?;
        if created.uuid.is_empty() {
            return Err(PortError::new(
                Service::Compute,
                PROVIDER,
                PortErrorKind::Other,
                format!(
                    "create alert policy `{}`: the answer has no uuid",
                    req.description
                ),
            )
            .ambiguous());
        }
        Ok(alert_policy_from(created))
    }

    async fn delete_alert_policy(&self, id: &str) -> PortResult<()> {
        self.client
            .alert_policies()
            .delete(id)
            .await
            .map_err(compute_err("delete alert policy", Op::Write))
    }
}

fn volume_from(v: dock::Volume) -> Option<Volume> {
    Some(Volume {
        id: v.id?,
        name: v.name,
        region: v.region.map(|r| r.slug).unwrap_or_default(),
        size_gib: v.size_gigabytes,
        droplet_ids: v.droplet_ids,
        tags: v.tags,
    })
}

fn alert_policy_from(p: dock::AlertPolicy) -> AlertPolicy {
    let metric = match p.kind.as_str() {
        dock::ALERT_DROPLET_CPU => Some(AlertMetric::Cpu),
        dock::ALERT_DROPLET_DISK => Some(AlertMetric::Disk),
        _ => None,
    };
    AlertPolicy {
        id: p.uuid,
        description: p.description,
        metric,
        droplet_ids: p.entities.iter().filter_map(|e| e.parse().ok()).collect(),
    }
}

fn reserved_ip_from(r: dock::ReservedIp) -> Option<ReservedIp> {
    Some(ReservedIp {
        ip: r.ip?,
        region: r.region.map(|g| g.slug).unwrap_or_default(),
        droplet_id: r.droplet.map(|d| d.id),
    })
}

fn firewall_from(f: dock::Firewall) -> Option<Firewall> {
    Some(Firewall {
        id: f.id?,
        name: f.name,
        droplet_ids: f.droplet_ids,
        tags: f.tags,
    })
}

fn vpc_from(v: dock::Vpc) -> Option<Vpc> {
    Some(Vpc {
        id: v.id?,
        name: v.name,
        region: v.region,
        ip_range: v.ip_range,
        description: v.description,
    })
}

/// [`Dns`] over DigitalOcean Domains. Changes are live at once: [`Dns::publish`] is a no-op.
///
/// DigitalOcean stores record names relative to the domain (`www`, `@` for the apex); the
/// adapter converts to and from the fully qualified names the workflows use.
#[derive(Debug, Clone)]
pub struct DigitalOceanDns {
    client: dock::Client,
}

impl DigitalOceanDns {
    /// An adapter over `client` (it can share the client with [`DigitalOceanCompute`]).
    pub fn new(client: dock::Client) -> Self {
        Self { client }
    }
}

/// `www.example.com` in `example.com` → `www`; the apex → `@`.
pub(crate) fn relative_name(zone: &str, fqdn: &str) -> Option<String> {
    let zone = zone.trim_end_matches('.');
    let fqdn = fqdn.trim_end_matches('.');
    if fqdn.eq_ignore_ascii_case(zone) {
        return Some("@".to_owned());
    }
    let cut = fqdn.len().checked_sub(zone.len() + 1)?;
    let (head, tail) = fqdn.split_at(cut);
    (tail.len() == zone.len() + 1
        && tail.starts_with('.')
        && tail[1..].eq_ignore_ascii_case(zone)
        && !head.is_empty())
    .then(|| head.to_owned())
}

pub(crate) fn record_type(s: &str) -> RecordType {
    match s.to_ascii_uppercase().as_str() {
        "A" => RecordType::A,
        "AAAA" => RecordType::AAAA,
        "CNAME" => RecordType::CNAME,
        other => RecordType::Other(other.to_owned()),
    }
}

fn record_from(zone: &str, r: dock::DomainRecord) -> DnsRecord {
    let fqdn = if r.name == "@" || r.name.is_empty() {
        zone.to_owned()
    } else {
        format!("{}.{zone}", r.name)
    };
    DnsRecord {
        zone: zone.to_owned(),
        fqdn,
        rtype: record_type(&r.record_type),
        data: r.data,
        ttl: r.ttl,
        id: r.id.map(|id| id.to_string()),
    }
}

#[async_trait]
impl Dns for DigitalOceanDns {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn needs_publish(&self) -> bool {
        false
    }

    async fn owns_zone(&self, zone: &str) -> PortResult<bool> {
        match self.client.domains().get(zone).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(map_error(Service::Dns, "get domain", Op::Read, e)),
        }
    }

    async fn records(&self, zone: &str, fqdn: Option<&str>) -> PortResult<Vec<DnsRecord>> {
        let handler = self.client.domain_records(zone);
        let pager = match fqdn {
            None => handler.list(),
            Some(f) => handler.list_filtered(&dock::RecordFilter {
                record_type: None,
                // DigitalOcean filters on the fully qualified name.
                name: Some(f.trim_end_matches('.').to_owned()),
            }),
        };
        let all = pager
            .collect_all()
            .await
            .map_err(dns_err("list records", Op::Read))?;
        let mut out: Vec<DnsRecord> = all.into_iter().map(|r| record_from(zone, r)).collect();
        if let Some(f) = fqdn {
            out.retain(|r| r.fqdn.eq_ignore_ascii_case(f.trim_end_matches('.')));
        }
        Ok(out)
    }

    async fn create_record(&self, rec: &NewRecord) -> PortResult<DnsRecord> {
        let name = relative_name(&rec.zone, &rec.fqdn).ok_or_else(|| {
            PortError::new(
                Service::Dns,
                PROVIDER,
                PortErrorKind::Rejected,
                format!("{} is not in zone {}", rec.fqdn, rec.zone),
            )
        })?;
        let mut req = dock::DomainRecordRequest::new(rec.rtype.to_string(), name, rec.data.clone());
        if let Some(ttl) = rec.ttl {
            req = req.ttl(ttl);
        }
        let created = self
            .client
            .domain_records(&rec.zone)
            .create(&req)
            .await
            .map_err(dns_err("create record", Op::Write))?;
        Ok(record_from(&rec.zone, created))
    }

    async fn delete_record(&self, rec: &DnsRecord) -> PortResult<()> {
        let id = match rec.id.as_deref().and_then(|i| i.parse::<u64>().ok()) {
            Some(id) if id > 0 => id,
            _ => {
                // No id (e.g. journaled from another provider): find it by name, type, data.
                let found = self.records(&rec.zone, Some(&rec.fqdn)).await?;
                let hit = found
                    .into_iter()
                    .find(|r| r.rtype == rec.rtype && r.data == rec.data);
                match hit.map(|r| r.id.and_then(|i| i.parse::<u64>().ok())) {
                    Some(Some(id)) => id,
                    // Listed without an id (the spec does not require one): it exists, and
                    // saying "not found" would let a rollback report it gone.
                    Some(None) => {
                        return Err(PortError::new(
                            Service::Dns,
                            PROVIDER,
                            PortErrorKind::Other,
                            format!(
                                "{} record {} → {} exists but DigitalOcean gave no id to delete it by; \
                                 remove it in the control panel",
                                rec.rtype, rec.fqdn, rec.data
                            ),
                        ));
                    }
                    None => {
                        return Err(PortError::not_found(
                            Service::Dns,
                            PROVIDER,
                            format!("{} record {} → {}", rec.rtype, rec.fqdn, rec.data),
                        ));
                    }
                }
            }
        };
        self.client
            .domain_records(&rec.zone)
            .delete(id)
            .await
            .map_err(dns_err("delete record", Op::Write))
    }

    async fn publish(&self, _zone: &str, _note: &str) -> PortResult<Published> {
        Ok(Published::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names() {
        assert_eq!(
            relative_name("example.com", "web-01.example.com").as_deref(),
            Some("web-01")
        );
        assert_eq!(
            relative_name("example.com", "a.b.example.com.").as_deref(),
            Some("a.b")
        );
        assert_eq!(
            relative_name("example.com", "example.com").as_deref(),
            Some("@")
        );
        assert_eq!(relative_name("example.com", "web.example.org"), None);
        assert_eq!(relative_name("example.com", "webexample.com"), None);
    }

    async fn fake(routes: &[(&str, serde_json::Value)]) -> (wiremock::MockServer, dock::Client) {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, ResponseTemplate};
        let server = wiremock::MockServer::start().await;
        for (p, body) in routes {
            Mock::given(method("GET"))
                .and(path(*p))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
        }
        let client = dock::Client::builder("t")
            .base_url(server.uri())
            .build()
            .unwrap();
        (server, client)
    }

    // Issue #16: the spec does not require a key's `id`. A key listed without one is fetched
    // by its fingerprint; one that still has none is left out, never the whole listing.
    #[tokio::test]
    async fn a_key_listed_without_an_id_is_fetched_by_its_fingerprint() {
        let key = |id: Option<u64>, fp: &str, name: &str| {
            let mut k = serde_json::json!({"fingerprint": fp, "public_key": "ssh-ed25519 AAAA", "name": name});
            if let Some(id) = id {
                k["id"] = id.into();
            }
            k
        };
        let (_server, client) = fake(&[
            (
                "/v2/account/keys",
                serde_json::json!({"ssh_keys": [key(None, "aa:01", "ops"), key(Some(2), "aa:02", "ci"), key(None, "aa:03", "odd")]}),
            ),
            ("/v2/account/keys/aa:01", serde_json::json!({"ssh_key": key(Some(7), "aa:01", "ops")})),
            ("/v2/account/keys/aa:03", serde_json::json!({"ssh_key": key(None, "aa:03", "odd")})),
        ])
        .await;
        let keys = DigitalOceanCompute::new(client.clone())
            .ssh_keys()
            .await
            .unwrap();
        let got: Vec<(u64, &str)> = keys.iter().map(|k| (k.id, k.name.as_str())).collect();
        assert_eq!(got, vec![(7, "ops"), (2, "ci")]);
        let account = super::super::do_keys::DoAccountKeys::new(client);
        let listed = crate::key_sync::AccountKeys::list_keys(&account)
            .await
            .unwrap();
        let ids: Vec<u64> = listed.iter().map(|k| k.id).collect();
        assert_eq!(ids, vec![7, 2]);
    }

    // A record that exists but was listed without an id must not be reported "not found":
    // a rollback would count it as gone.
    #[tokio::test]
    async fn a_record_without_an_id_is_never_reported_gone() {
        let (_server, client) = fake(&[(
            "/v2/domains/example.com/records",
            serde_json::json!({"domain_records": [{"type": "A", "name": "web-01", "data": "192.0.2.1", "ttl": 300}]}),
        )])
        .await;
        let dns = DigitalOceanDns::new(client);
        let rec = DnsRecord {
            zone: "example.com".into(),
            fqdn: "web-01.example.com".into(),
            rtype: RecordType::A,
            data: "192.0.2.1".into(),
            ttl: Some(300),
            id: None,
        };
        let e = dns.delete_record(&rec).await.unwrap_err();
        assert!(!e.is_not_found(), "{e:?}");
        assert!(e.to_string().contains("gave no id"), "{e}");
    }

    #[test]
    fn an_unread_answer_to_a_write_is_ambiguous() {
        let too_large = || dock::Error::ResponseTooLarge {
            limit: 1024,
            content_length: Some(4096),
        };
        assert!(
            map_error(Service::Compute, "create droplet", Op::Write, too_large()).is_ambiguous()
        );
        assert!(!map_error(Service::Compute, "get droplet", Op::Read, too_large()).is_ambiguous());
    }
}
