//! Ports: the small, provider-neutral async traits the workflows run over.
//!
//! | Port | Real adapter | What the workflows need from it |
//! |---|---|---|
//! | [`Compute`] | DigitalOcean droplets | catalog (regions, sizes, images), SSH keys, find/create/get/delete droplets |
//! | [`Dns`] | Dyn Managed DNS, or DigitalOcean Domains | zone ownership, find/create/delete A/AAAA records, publish |
//! | [`ConfigMgmt`] | Chef Server | create/get/delete API clients and nodes |
//! | [`Monitoring`] | Nagios (nagios-api) | is the host UP? |
//!
//! The types here are the workflows' own: adapters convert the client crates' models into them
//! and map every provider error into a [`PortError`], keeping the provider error as the
//! `source` so nothing is lost. The one fact the workflows cannot do without is
//! [`PortError::is_ambiguous`]: whether a failed *write* may nevertheless have reached the
//! server (a timeout, a dropped connection, a 5xx on a POST). The provision workflow answers
//! an ambiguous droplet create by looking the droplet up by its unique run tag and adopting
//! it, never by blindly creating a second one.
//!
//! **One style: ports are trait objects.** Workflows hold them as `Arc<dyn Port>`
//! ([`Provisioner`](crate::provision::Provisioner), the restore's
//! [`Downtime`](crate::restore::Downtime)) or borrow them as `&dyn Port`
//! ([`KeySync`](crate::key_sync::KeySync)). `async_trait` already boxes every call's future,
//! so generic parameters would buy nothing at run time; they would cost a type parameter per
//! port in every signature (and in every caller's type alias) and a copy of the workflow per
//! combination of adapters at compile time.
//!
//! Adapter rules (the workflows rely on them):
//! - "Not there" is an answer, not an error: `get_*` return `Ok(None)`; `delete_*` of something
//!   already gone return an error of kind [`PortErrorKind::NotFound`] (the workflows treat it as
//!   "already gone", so teardown can be re-run).
//! - Adapters do not retry non-idempotent writes on ambiguous failures; they report them with
//!   [`PortError::ambiguous`]. Safe retries (429, connect errors, idempotent 5xx) stay inside the
//!   clients.
//! - No secret appears in a port type's `Debug`, in a `PortError` message, or in a log line:
//!   the Chef client key and droplet user data are [`SecretString`]s.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `Result` of a port call.
pub type PortResult<T> = std::result::Result<T, PortError>;

/// Which port (and so which kind of provider) an error or call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// [`Compute`] (DigitalOcean).
    Compute,
    /// [`Dns`] (Dyn or DigitalOcean Domains).
    Dns,
    /// [`ConfigMgmt`] (Chef Server).
    ConfigMgmt,
    /// [`Monitoring`] (Nagios).
    Monitoring,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Compute => "compute",
            Service::Dns => "dns",
            Service::ConfigMgmt => "configuration management",
            Service::Monitoring => "monitoring",
        })
    }
}

/// What kind of failure a port call had, independent of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortErrorKind {
    /// The resource does not exist (HTTP 404, Dyn `NOT_FOUND`).
    NotFound,
    /// The resource already exists (HTTP 409, Dyn `TARGET_EXISTS`).
    AlreadyExists,
    /// The provider rejected the request as invalid (400/422). It was not processed.
    Rejected,
    /// Credentials are missing or insufficient (401/403).
    Unauthorized,
    /// The provider throttled the call (429); it was not processed.
    RateLimited,
    /// The provider is unavailable or failed (5xx, connection failure, timeout).
    Unavailable,
    /// Anything else (decode failures, unexpected answers, adapter bugs).
    Other,
    /// A write refused because the run is a dry run ([`crate::dry_run`]): never sent. Seeing
    /// it means a workflow tried to write in a dry run, which is a bug.
    DryRun,
}

impl PortErrorKind {
    /// The kind an HTTP status means, the same for every provider: 404 not found, 409 already
    /// exists, 401/403 unauthorized, 429 rate limited, 5xx unavailable, any other 4xx
    /// rejected; `None` for a status that is not an error.
    pub fn from_http(status: u16) -> Option<Self> {
        Some(match status {
            404 => PortErrorKind::NotFound,
            409 => PortErrorKind::AlreadyExists,
            401 | 403 => PortErrorKind::Unauthorized,
            429 => PortErrorKind::RateLimited,
            500..=599 => PortErrorKind::Unavailable,
            400..=499 => PortErrorKind::Rejected,
            _ => return None,
        })
    }
}

/// What the workflows need to know of a client's error. The adapters implement it for each
/// client's error type (the clients know nothing of ports), and
/// [`PortError::from_provider`] turns any of them into a [`PortError`] the same way.
pub trait ProviderError: std::error::Error + Send + Sync + 'static {
    /// The HTTP status, when the server answered.
    fn http_status(&self) -> Option<u16>;
    /// How long the provider asked to wait (`Retry-After`, a rate-limit reset).
    fn retry_after(&self) -> Option<Duration>;
    /// Whether the request may have reached the server and taken effect (a timeout after
    /// sending, a dropped connection, a 5xx, an answer that could not be read). For a write,
    /// that makes the failure [ambiguous](PortError::is_ambiguous).
    fn maybe_sent(&self) -> bool;
    /// The kind, where the provider says more than its HTTP status (Dyn's `NOT_FOUND` in a
    /// 200, DigitalOcean's "already in use" 422, a client-side validation error…). `None`:
    /// [`PortErrorKind::from_http`], else [`PortErrorKind::Unavailable`] for an error with no
    /// answer that may have been sent, else [`PortErrorKind::Other`].
    fn kind_hint(&self) -> Option<PortErrorKind> {
        None
    }
}

/// The error every port method returns.
///
/// Adapters build it from the provider's own error with the constructors below and keep that
/// error as the [`source`](std::error::Error::source). `message` is a short human summary and
/// must never contain a secret.
#[derive(Debug, thiserror::Error)]
#[error("{service} provider {provider}: {message}")]
pub struct PortError {
    service: Service,
    provider: &'static str,
    kind: PortErrorKind,
    message: String,
    ambiguous: bool,
    retry_after: Option<Duration>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PortError {
    /// A new error of `kind` from `provider` (e.g. `"digitalocean"`, `"dyn"`, `"chef"`).
    /// Not ambiguous: the call is known not to have taken effect unless
    /// [`ambiguous`](Self::ambiguous) is called.
    pub fn new(
        service: Service,
        provider: &'static str,
        kind: PortErrorKind,
        message: impl Into<String>,
    ) -> Self {
        PortError {
            service,
            provider,
            kind,
            message: message.into(),
            ambiguous: false,
            retry_after: None,
            source: None,
        }
    }

    /// The one way adapters turn a client's error into a port error: the kind from
    /// [`ProviderError::kind_hint`] or the HTTP status, ambiguous when `write` and the request
    /// may have taken effect, the provider's `Retry-After` kept, and the client error kept as
    /// the source. The message is `what` alone (e.g. "create droplet `web-01`"): the source
    /// says what went wrong, once.
    pub fn from_provider(
        service: Service,
        provider: &'static str,
        what: impl Into<String>,
        write: bool,
        e: impl ProviderError,
    ) -> Self {
        let kind = e
            .kind_hint()
            .or_else(|| e.http_status().and_then(PortErrorKind::from_http))
            .unwrap_or(if e.http_status().is_none() && e.maybe_sent() {
                PortErrorKind::Unavailable
            } else {
                PortErrorKind::Other
            });
        let mut pe = PortError::new(service, provider, kind, what);
        if write && e.maybe_sent() {
            pe = pe.ambiguous();
        }
        if let Some(d) = e.retry_after() {
            pe = pe.with_retry_after(d);
        }
        pe.with_source(e)
    }

    /// Shorthand for a [`PortErrorKind::NotFound`] error.
    pub fn not_found(service: Service, provider: &'static str, what: impl Into<String>) -> Self {
        Self::new(service, provider, PortErrorKind::NotFound, what)
    }

    /// Marks the failed call as one that **may have reached the server and taken effect**
    /// (timeout after sending, dropped connection, 5xx answer to a non-idempotent write).
    #[must_use]
    pub fn ambiguous(mut self) -> Self {
        self.ambiguous = true;
        self
    }

    /// Attaches the provider's own error as the source.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attaches the delay the provider asked for (`Retry-After`).
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The port this error came from.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The provider name given by the adapter.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The provider-neutral kind.
    pub fn kind(&self) -> PortErrorKind {
        self.kind
    }

    /// The human summary (no secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the call may have taken effect although it failed.
    pub fn is_ambiguous(&self) -> bool {
        self.ambiguous
    }

    /// True for [`PortErrorKind::NotFound`].
    pub fn is_not_found(&self) -> bool {
        self.kind == PortErrorKind::NotFound
    }

    /// True for [`PortErrorKind::RateLimited`].
    pub fn is_rate_limited(&self) -> bool {
        self.kind == PortErrorKind::RateLimited
    }

    /// The provider's requested delay, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

// ---------------------------------------------------------------------------------------------
// Compute
// ---------------------------------------------------------------------------------------------

/// A region of the compute provider's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Slug, e.g. `nyc3`.
    pub slug: String,
    /// Whether new droplets can be created there.
    pub available: bool,
    /// Size slugs offered in this region.
    pub sizes: Vec<String>,
}

/// A droplet size of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    /// Slug, e.g. `s-1vcpu-1gb`.
    pub slug: String,
    /// Whether it can be ordered at all.
    pub available: bool,
    /// Region slugs where it is offered.
    pub regions: Vec<String>,
}

/// An image (distribution, snapshot…) a droplet can be created from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Provider id.
    pub id: u64,
    /// Slug, when it has one (`ubuntu-24-04-x64`); private snapshots have none.
    pub slug: Option<String>,
    /// Display name.
    pub name: String,
    /// Regions the image is available in (empty = everywhere).
    pub regions: Vec<String>,
}

/// An SSH public key registered with the compute provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    /// Provider id (what a create request carries).
    pub id: u64,
    /// Name given when it was uploaded.
    pub name: String,
    /// MD5 colon-hex fingerprint.
    pub fingerprint: String,
}

/// Lifecycle state of a droplet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropletStatus {
    /// Created, still booting.
    New,
    /// Running.
    Active,
    /// Powered off.
    Off,
    /// Archived.
    Archive,
    /// The create failed on the provider side (DO action `errored`).
    Errored,
    /// Anything the adapter did not recognise.
    Unknown,
}

/// A droplet as the workflows see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Droplet {
    /// Provider id.
    pub id: u64,
    /// Droplet name.
    pub name: String,
    /// Current status.
    pub status: DropletStatus,
    /// Region slug.
    pub region: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Public IPv4 address, once assigned.
    pub public_ipv4: Option<Ipv4Addr>,
    /// Public IPv6 address, once assigned (only when IPv6 is enabled).
    pub public_ipv6: Option<Ipv6Addr>,
}

/// Which droplets to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropletFilter {
    /// Every droplet of the account (all pages).
    All,
    /// Droplets with exactly this name (DO: `?name=`, case-insensitive).
    Name(String),
    /// Droplets carrying this tag (DO: `?tag_name=`).
    Tag(String),
}

/// A droplet create request.
///
/// `Debug` is safe: the user data (which carries the Chef client key) is a [`SecretString`].
#[derive(Debug, Clone)]
pub struct NewDroplet {
    /// Droplet name (a valid hostname).
    pub name: String,
    /// Region slug.
    pub region: String,
    /// Size slug.
    pub size: String,
    /// Image slug, or a numeric image id written as a string.
    pub image: String,
    /// SSH key ids, already resolved.
    pub ssh_keys: Vec<u64>,
    /// Tags; always include the tool tag and the run's unique tag.
    pub tags: Vec<String>,
    /// cloud-init user data (≤ 64 KiB).
    pub user_data: Option<SecretString>,
    /// Enable a public IPv6 address.
    pub ipv6: bool,
    /// Enable the provider's monitoring agent.
    pub monitoring: bool,
    /// The VPC (private network) to put it in; `None`: the region's default VPC.
    pub vpc_id: Option<String>,
    /// Block-storage volumes (ids) to attach at creation, in the droplet's region.
    pub volume_ids: Vec<String>,
}

/// A VPC (private network) as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// Provider id (a UUID on DigitalOcean).
    pub id: String,
    /// Name, unique in the account.
    pub name: String,
    /// Region slug.
    pub region: String,
    /// Private address range (CIDR).
    pub ip_range: String,
    /// Free text; the workflows mark the VPCs they create in it ([`VPC_MARK`]).
    pub description: String,
}

/// What the provision workflow writes in the description of a VPC it creates, as VPCs carry
/// no tags: teardown and the orphan audit remove or report only VPCs marked so.
pub const VPC_MARK: &str = "created by ops-core";

/// A block-storage volume as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Provider id (a UUID on DigitalOcean).
    pub id: String,
    /// Name, unique per region.
    pub name: String,
    /// Region slug.
    pub region: String,
    /// Size in GiB.
    pub size_gib: u64,
    /// Droplets it is attached to (at most one).
    pub droplet_ids: Vec<u64>,
    /// Tags (the workflows put the tool tag and the run tag on the volumes they create).
    pub tags: Vec<String>,
}

/// A volume to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVolume {
    /// Name.
    pub name: String,
    /// Region slug.
    pub region: String,
    /// Size in GiB.
    pub size_gib: u64,
    /// Filesystem the provider formats it with (`ext4` or `xfs`); `None`: unformatted.
    pub filesystem: Option<String>,
    /// Filesystem label (needs `filesystem`).
    pub label: Option<String>,
    /// Tags (the tool tag and the run tag: an ambiguous create is answered by a lookup by
    /// name and run tag).
    pub tags: Vec<String>,
}

/// A project (a group of resources) as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Provider id (a UUID on DigitalOcean).
    pub id: String,
    /// Name, unique in the account.
    pub name: String,
    /// Free text; the workflows mark the projects they create in it ([`PROJECT_MARK`]).
    pub description: String,
}

/// What the provision workflow writes in the description of a project it creates, as
/// projects carry no tags: teardown and the orphan audit remove or report only those.
pub const PROJECT_MARK: &str = "created by ops-core";

/// A project to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProject {
    /// Name.
    pub name: String,
    /// What it is for (DigitalOcean requires one).
    pub purpose: String,
    /// Description (the workflows put [`PROJECT_MARK`] here).
    pub description: String,
}

/// A resource to put in a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProjectMember {
    /// A droplet, by id.
    Droplet(u64),
    /// A volume, by id.
    Volume(String),
    /// A reserved IP, by address.
    ReservedIp(String),
}

/// The metric of a monitoring alert policy the workflows create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// CPU use, percent.
    Cpu,
    /// Disk use, percent.
    Disk,
}

impl AlertMetric {
    /// `cpu` or `disk`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertMetric::Cpu => "cpu",
            AlertMetric::Disk => "disk",
        }
    }
}

/// A monitoring alert policy as the provider reports it (the part the workflows read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// Provider id (a UUID on DigitalOcean).
    pub id: String,
    /// Description: alert policies have no name, so the workflows identify theirs by it
    /// (see [`alert_description`](crate::provision::alert_description)).
    pub description: String,
    /// The metric, when it is one the workflows use.
    pub metric: Option<AlertMetric>,
    /// Droplets it watches.
    pub droplet_ids: Vec<u64>,
}

/// An alert policy to create: fires when `metric` stays above `percent` for `window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlertPolicy {
    /// The metric.
    pub metric: AlertMetric,
    /// Description (identifies the policy; see [`AlertPolicy::description`]).
    pub description: String,
    /// Threshold, percent (0 to 100).
    pub percent: f64,
    /// `5m`, `10m`, `30m` or `1h`.
    pub window: String,
    /// Droplets to watch.
    pub droplet_ids: Vec<u64>,
    /// Email addresses to tell (verified on the account).
    pub emails: Vec<String>,
}

/// A cloud firewall as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    /// Provider id (a UUID on DigitalOcean).
    pub id: String,
    /// Name.
    pub name: String,
    /// Droplets it applies to.
    pub droplet_ids: Vec<u64>,
    /// Tags whose droplets it applies to.
    pub tags: Vec<String>,
}

/// One firewall rule: a protocol, ports and the addresses it allows traffic from (inbound)
/// or to (outbound).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRule {
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// A port, a range `8000-9000`, or `0` for all (ICMP: `0`).
    pub ports: String,
    /// CIDR ranges or addresses.
    pub addresses: Vec<String>,
}

/// A firewall to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFirewall {
    /// Name.
    pub name: String,
    /// Inbound rules.
    pub inbound: Vec<FirewallRule>,
    /// Outbound rules.
    pub outbound: Vec<FirewallRule>,
    /// Droplets to apply it to from the start.
    pub droplet_ids: Vec<u64>,
}

/// A reserved IP (DigitalOcean's static public address) as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedIp {
    /// The address (also its id).
    pub ip: String,
    /// Region slug.
    pub region: String,
    /// The droplet it is assigned to.
    pub droplet_id: Option<u64>,
}

/// A VPC to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVpc {
    /// Name.
    pub name: String,
    /// Region slug.
    pub region: String,
    /// Private address range (CIDR); `None`: the provider picks one.
    pub ip_range: Option<String>,
    /// Description (the workflows put [`VPC_MARK`] here).
    pub description: String,
}

/// Compute provider (DigitalOcean droplets).
#[async_trait]
pub trait Compute: Send + Sync {
    /// All regions of the catalog.
    async fn regions(&self) -> PortResult<Vec<Region>>;
    /// All sizes of the catalog.
    async fn sizes(&self) -> PortResult<Vec<Size>>;
    /// One image by slug or numeric id; `Ok(None)` when there is no such image.
    async fn image(&self, slug_or_id: &str) -> PortResult<Option<Image>>;
    /// All SSH keys of the account (DO allows only 10 of these calls per minute: list once).
    async fn ssh_keys(&self) -> PortResult<Vec<SshKey>>;
    /// Droplets matching `filter`, all pages.
    async fn droplets(&self, filter: &DropletFilter) -> PortResult<Vec<Droplet>>;
    /// One droplet; `Ok(None)` when it does not exist (any more).
    async fn get_droplet(&self, id: u64) -> PortResult<Option<Droplet>>;
    /// Creates one droplet. Must not be retried by the adapter on an ambiguous failure: return
    /// the error with [`PortError::ambiguous`] instead.
    async fn create_droplet(&self, req: &NewDroplet) -> PortResult<Droplet>;
    /// Destroys a droplet. Already gone → error of kind [`PortErrorKind::NotFound`].
    async fn delete_droplet(&self, id: u64) -> PortResult<()>;

    /// Every VPC of the account. The default answers [`PortErrorKind::Rejected`]: a
    /// provider without VPCs (a spec with `vpc` is then refused by validation).
    async fn vpcs(&self) -> PortResult<Vec<Vpc>> {
        Err(no_vpcs())
    }
    /// Creates a VPC. Not retried on an ambiguous failure (return it
    /// [`PortError::ambiguous`]): the workflow looks the VPC up by name.
    async fn create_vpc(&self, req: &NewVpc) -> PortResult<Vpc> {
        let _ = req;
        Err(no_vpcs())
    }
    /// Deletes a VPC. Already gone → [`PortErrorKind::NotFound`]; still holding resources →
    /// [`PortErrorKind::AlreadyExists`] (DigitalOcean's 409).
    async fn delete_vpc(&self, id: &str) -> PortResult<()> {
        let _ = id;
        Err(no_vpcs())
    }
    /// How many resources a VPC holds (droplets, load balancers…).
    async fn vpc_member_count(&self, id: &str) -> PortResult<usize> {
        let _ = id;
        Err(no_vpcs())
    }

    /// Every cloud firewall of the account. The default answers
    /// [`PortErrorKind::Rejected`]: a provider without firewalls.
    async fn firewalls(&self) -> PortResult<Vec<Firewall>> {
        Err(no_firewalls())
    }
    /// Creates a firewall. Not retried on an ambiguous failure (return it
    /// [`PortError::ambiguous`]): the workflow looks it up by name.
    async fn create_firewall(&self, req: &NewFirewall) -> PortResult<Firewall> {
        let _ = req;
        Err(no_firewalls())
    }
    /// Applies a firewall to droplets, in one call (safe to repeat).
    async fn add_firewall_droplets(&self, id: &str, droplet_ids: &[u64]) -> PortResult<()> {
        let _ = (id, droplet_ids);
        Err(no_firewalls())
    }
    /// Deletes a firewall. Already gone → [`PortErrorKind::NotFound`].
    async fn delete_firewall(&self, id: &str) -> PortResult<()> {
        let _ = id;
        Err(no_firewalls())
    }

    /// Every reserved IP of the account. The default answers [`PortErrorKind::Rejected`].
    async fn reserved_ips(&self) -> PortResult<Vec<ReservedIp>> {
        Err(no_reserved_ips())
    }
    /// Reserves a new address assigned to `droplet_id`. Not retried on an ambiguous
    /// failure: the workflow looks for an address assigned to the droplet.
    async fn create_reserved_ip(&self, droplet_id: u64) -> PortResult<ReservedIp> {
        let _ = droplet_id;
        Err(no_reserved_ips())
    }
    /// Assigns an existing reserved IP to a droplet (moving it if assigned elsewhere).
    async fn assign_reserved_ip(&self, ip: &str, droplet_id: u64) -> PortResult<()> {
        let _ = (ip, droplet_id);
        Err(no_reserved_ips())
    }
    /// Releases a reserved IP. Already gone → [`PortErrorKind::NotFound`].
    async fn delete_reserved_ip(&self, ip: &str) -> PortResult<()> {
        let _ = ip;
        Err(no_reserved_ips())
    }

    /// Every block-storage volume of the account. The default answers
    /// [`PortErrorKind::Rejected`]: a provider without volumes.
    async fn volumes(&self) -> PortResult<Vec<Volume>> {
        Err(unsupported("volumes"))
    }
    /// Creates a volume. Not retried on an ambiguous failure (return it
    /// [`PortError::ambiguous`]): the workflow looks it up by name and run tag.
    async fn create_volume(&self, req: &NewVolume) -> PortResult<Volume> {
        let _ = req;
        Err(unsupported("volumes"))
    }
    /// Deletes a volume. Already gone → [`PortErrorKind::NotFound`]; still attached →
    /// [`PortErrorKind::AlreadyExists`] (DigitalOcean's 409).
    async fn delete_volume(&self, id: &str) -> PortResult<()> {
        let _ = id;
        Err(unsupported("volumes"))
    }

    /// Every project of the account. The default answers [`PortErrorKind::Rejected`].
    async fn projects(&self) -> PortResult<Vec<Project>> {
        Err(unsupported("projects"))
    }
    /// Creates a project. Not retried on an ambiguous failure: the workflow looks it up by
    /// name.
    async fn create_project(&self, req: &NewProject) -> PortResult<Project> {
        let _ = req;
        Err(unsupported("projects"))
    }
    /// Puts resources in a project, all in one call (safe to repeat: a resource already
    /// there stays). A resource the provider did not put there is an error.
    async fn assign_to_project(&self, id: &str, members: &[ProjectMember]) -> PortResult<()> {
        let _ = (id, members);
        Err(unsupported("projects"))
    }
    /// How many resources a project holds.
    async fn project_member_count(&self, id: &str) -> PortResult<usize> {
        let _ = id;
        Err(unsupported("projects"))
    }
    /// Deletes a project. Already gone → [`PortErrorKind::NotFound`]; still holding
    /// resources → [`PortErrorKind::AlreadyExists`].
    async fn delete_project(&self, id: &str) -> PortResult<()> {
        let _ = id;
        Err(unsupported("projects"))
    }

    /// Every monitoring alert policy of the account. The default answers
    /// [`PortErrorKind::Rejected`].
    async fn alert_policies(&self) -> PortResult<Vec<AlertPolicy>> {
        Err(unsupported("alert policies"))
    }
    /// Creates an alert policy. Not retried on an ambiguous failure: the workflow looks it
    /// up by description.
    async fn create_alert_policy(&self, req: &NewAlertPolicy) -> PortResult<AlertPolicy> {
        let _ = req;
        Err(unsupported("alert policies"))
    }
    /// Deletes an alert policy. Already gone → [`PortErrorKind::NotFound`].
    async fn delete_alert_policy(&self, id: &str) -> PortResult<()> {
        let _ = id;
        Err(unsupported("alert policies"))
    }
}

fn unsupported(what: &str) -> PortError {
    PortError::new(
        Service::Compute,
        "compute",
        PortErrorKind::Rejected,
        format!("this compute provider has no {what}"),
    )
}

fn no_reserved_ips() -> PortError {
    PortError::new(
        Service::Compute,
        "compute",
        PortErrorKind::Rejected,
        "this compute provider has no reserved IPs",
    )
}

fn no_firewalls() -> PortError {
    PortError::new(
        Service::Compute,
        "compute",
        PortErrorKind::Rejected,
        "this compute provider has no cloud firewalls",
    )
}

fn no_vpcs() -> PortError {
    PortError::new(
        Service::Compute,
        "compute",
        PortErrorKind::Rejected,
        "this compute provider has no VPCs",
    )
}

// ---------------------------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------------------------

/// DNS record type. The workflows only write A and AAAA records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecordType {
    /// IPv4 address record.
    A,
    /// IPv6 address record.
    #[allow(clippy::upper_case_acronyms)]
    AAAA,
    /// Alias record (a name claim the workflows must not overwrite).
    CNAME,
    /// Any other type, by its name.
    Other(String),
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::A => f.write_str("A"),
            RecordType::AAAA => f.write_str("AAAA"),
            RecordType::CNAME => f.write_str("CNAME"),
            RecordType::Other(t) => f.write_str(t),
        }
    }
}

/// A DNS record as stored by the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Zone (apex), e.g. `example.com`.
    pub zone: String,
    /// Fully qualified name without trailing dot, e.g. `web-01.example.com`.
    pub fqdn: String,
    /// Type.
    pub rtype: RecordType,
    /// Record data (the address for A/AAAA, the target for CNAME).
    pub data: String,
    /// TTL in seconds, when known.
    pub ttl: Option<u32>,
    /// Provider id, when known. Dyn gives `0`/none until the zone is published, so adapters
    /// must be able to delete a record identified by zone + fqdn + type + data alone.
    pub id: Option<String>,
}

/// A record to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecord {
    /// Zone (apex).
    pub zone: String,
    /// Fully qualified name without trailing dot.
    pub fqdn: String,
    /// A or AAAA.
    pub rtype: RecordType,
    /// The address.
    pub data: String,
    /// TTL in seconds (`None`: the zone's default).
    pub ttl: Option<u32>,
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The zone serial after publishing, when the provider reports one.
    pub serial: Option<u64>,
}

/// DNS provider (Dyn, or DigitalOcean Domains).
///
/// Dyn keeps record changes in a per-session changeset until the zone is published, so the Dyn
/// adapter must use **one session** for the creates and the publish that follows them (the
/// workflows call [`Dns::publish`] once per zone per batch).
#[async_trait]
pub trait Dns: Send + Sync {
    /// Short provider name for reports (`"dyn"`, `"digitalocean"`).
    fn provider(&self) -> &'static str;
    /// Whether changes need [`Dns::publish`] to go live (Dyn: yes; DO Domains: no).
    fn needs_publish(&self) -> bool;
    /// Whether this account manages `zone`.
    async fn owns_zone(&self, zone: &str) -> PortResult<bool>;
    /// Records of `zone`, all of them (`fqdn: None`) or at one name.
    async fn records(&self, zone: &str, fqdn: Option<&str>) -> PortResult<Vec<DnsRecord>>;
    /// Creates a record (pending until published where publishing applies).
    async fn create_record(&self, rec: &NewRecord) -> PortResult<DnsRecord>;
    /// Deletes a record. Already gone → error of kind [`PortErrorKind::NotFound`].
    async fn delete_record(&self, rec: &DnsRecord) -> PortResult<()>;
    /// Publishes pending changes of `zone` with a note. A no-op for providers that need none.
    async fn publish(&self, zone: &str, note: &str) -> PortResult<Published>;
}

// ---------------------------------------------------------------------------------------------
// Configuration management
// ---------------------------------------------------------------------------------------------

/// A freshly created API client and its private key.
///
/// The key exists only in memory: it is never serialized (`SecretString` refuses to), logged
/// or journaled. `Debug` prints `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// Client name (equal to the node name).
    pub name: String,
    /// PEM private key.
    pub private_key: SecretString,
}

/// A node to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewNode {
    /// Node name.
    pub name: String,
    /// Chef environment.
    pub environment: String,
    /// Run list entries (`recipe[x]`, `role[y]`).
    pub run_list: Vec<String>,
    /// Normal attributes.
    pub normal: serde_json::Value,
}

/// A node as the server stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Chef environment.
    pub environment: String,
    /// Run list.
    pub run_list: Vec<String>,
}

/// Configuration management server (Chef).
#[async_trait]
pub trait ConfigMgmt: Send + Sync {
    /// The node, or `Ok(None)`.
    async fn get_node(&self, name: &str) -> PortResult<Option<NodeInfo>>;
    /// Whether an API client of that name exists.
    async fn client_exists(&self, name: &str) -> PortResult<bool>;
    /// Names of all nodes (for the orphan audit).
    async fn list_nodes(&self) -> PortResult<Vec<String>>;
    /// Creates an API client with a server-generated key pair and returns the private key
    /// (Chef: `POST /clients` with `create_key: true`).
    async fn create_client(&self, name: &str) -> PortResult<ClientCredentials>;
    /// Creates the node. Adapters should sign this request **as `owner`** (the new client), as
    /// validatorless `knife bootstrap` does, so the node's ACLs belong to that client.
    async fn create_node(&self, node: &NewNode, owner: &ClientCredentials) -> PortResult<()>;
    /// Deletes a node. Already gone → error of kind [`PortErrorKind::NotFound`].
    async fn delete_node(&self, name: &str) -> PortResult<()>;
    /// Deletes an API client. Already gone → error of kind [`PortErrorKind::NotFound`].
    async fn delete_client(&self, name: &str) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

/// Host state as the monitoring system reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Checked and up.
    Up,
    /// Checked and down.
    Down,
    /// Unreachable (a parent is down).
    Unreachable,
    /// Known but not checked yet.
    Pending,
}

/// Monitoring system (Nagios).
#[async_trait]
pub trait Monitoring: Send + Sync {
    /// The host's state, or `Ok(None)` while the monitoring system does not know the host.
    async fn host_state(&self, host: &str) -> PortResult<Option<HostState>>;
}

/// A [`Monitoring`] that knows no host; use it when the optional monitoring step is off.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMonitoring;

#[async_trait]
impl Monitoring for NoMonitoring {
    async fn host_state(&self, _host: &str) -> PortResult<Option<HostState>> {
        Ok(None)
    }
}
