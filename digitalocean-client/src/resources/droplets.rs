use std::time::Instant;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::actions::{Action, ActionLink, WaitOptions};
use super::catalog::{Image, ImageRef, Region, Size};
use super::ssh_keys::SshKeyId;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// A droplet (virtual machine).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Droplet {
    /// Droplet id.
    pub id: u64,
    /// Droplet name (often its hostname).
    pub name: String,
    /// Lifecycle status.
    pub status: DropletStatus,
    /// Memory in MiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub memory: u64,
    /// Virtual CPUs.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub vcpus: u64,
    /// Disk in GiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub disk: u64,
    /// Whether the droplet is locked against actions.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub locked: bool,
    /// Creation time (RFC 3339).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub created_at: String,
    /// Enabled features (`backups`, `ipv6`, `monitoring`, …).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub features: Vec<String>,
    /// Ids of backups.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub backup_ids: Vec<u64>,
    /// Ids of snapshots.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub snapshot_ids: Vec<u64>,
    /// Ids of attached block-storage volumes.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub volume_ids: Vec<String>,
    /// The image it was created from.
    #[serde(default)]
    pub image: Option<Image>,
    /// Its size.
    #[serde(default)]
    pub size: Option<Size>,
    /// Its size slug, e.g. `s-1vcpu-1gb`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub size_slug: String,
    /// Its region.
    #[serde(default)]
    pub region: Option<Region>,
    /// IP addresses (empty while `new`).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub networks: Networks,
    /// Tags.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tags: Vec<String>,
    /// VPC the droplet lives in.
    #[serde(default)]
    pub vpc_uuid: Option<String>,
}

impl Droplet {
    /// The first public IPv4 address, if assigned yet.
    pub fn public_ipv4(&self) -> Option<&str> {
        self.ipv4_of(NetworkType::Public)
    }

    /// The first private (VPC) IPv4 address, if any.
    pub fn private_ipv4(&self) -> Option<&str> {
        self.ipv4_of(NetworkType::Private)
    }

    /// The first public IPv6 address, if any.
    pub fn public_ipv6(&self) -> Option<&str> {
        self.networks
            .v6
            .iter()
            .filter(|n| n.kind == NetworkType::Public)
            .find_map(|n| n.ip_address.as_deref())
    }

    fn ipv4_of(&self, kind: NetworkType) -> Option<&str> {
        self.networks
            .v4
            .iter()
            .filter(|n| n.kind == kind)
            .find_map(|n| n.ip_address.as_deref())
    }
}

/// Droplet lifecycle status.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DropletStatus {
    /// Being created.
    #[default]
    New,
    /// Running.
    Active,
    /// Powered off.
    Off,
    /// Archived.
    Archive,
    /// A status this crate does not know about.
    #[serde(other)]
    Unknown,
}

/// A droplet's addresses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Networks {
    /// IPv4 interfaces.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub v4: Vec<NetworkV4>,
    /// IPv6 interfaces.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub v6: Vec<NetworkV6>,
}

/// One IPv4 interface.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct NetworkV4 {
    /// Address; `None` when the server left it out (the spec does not require it).
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Netmask in dotted notation.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub netmask: String,
    /// Gateway (DigitalOcean writes the literal `"nil"` for private networks).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub gateway: String,
    /// Public or private; [`NetworkType::Unknown`] when the server left it out.
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: NetworkType,
}

/// One IPv6 interface.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct NetworkV6 {
    /// Address; `None` when the server left it out (the spec does not require it).
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Prefix length.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub netmask: u32,
    /// Gateway.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub gateway: String,
    /// Public (DigitalOcean has no private IPv6); [`NetworkType::Unknown`] when left out.
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: NetworkType,
}

/// Whether an interface is reachable from the internet.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// Internet-facing.
    Public,
    /// VPC only.
    Private,
    /// A type this crate does not know about, or none given: never taken for public.
    #[default]
    #[serde(other)]
    Unknown,
}

/// cloud-init user data: a [`SecretString`](secrecy::SecretString) that serializes as the
/// plain text the API wants, and whose `Debug` shows only its size.
#[derive(Clone)]
pub struct UserData(secrecy::SecretString);

impl UserData {
    /// The text (for the request body).
    pub fn expose_secret(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl std::fmt::Debug for UserData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UserData([REDACTED {} bytes])",
            self.expose_secret().len()
        )
    }
}

impl PartialEq for UserData {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl Serialize for UserData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.expose_secret())
    }
}

impl From<secrecy::SecretString> for UserData {
    fn from(s: secrecy::SecretString) -> Self {
        UserData(s)
    }
}

impl From<String> for UserData {
    fn from(s: String) -> Self {
        UserData(s.into())
    }
}

impl From<&str> for UserData {
    fn from(s: &str) -> Self {
        UserData(s.to_owned().into())
    }
}

/// Everything a create request needs besides the name(s).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DropletSpec {
    /// Region slug (`nyc3`); `None` lets DigitalOcean choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Size slug, e.g. `s-1vcpu-1gb`.
    pub size: String,
    /// Image slug or id.
    pub image: ImageRef,
    /// SSH keys to install, by id or fingerprint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKeyId>,
    /// Enable backups.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backups: bool,
    /// Enable IPv6.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ipv6: bool,
    /// Install the monitoring agent.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub monitoring: bool,
    /// Tags to apply. A unique tag per create lets you find the droplet after an
    /// ambiguous failure instead of creating it twice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// cloud-init user data, at most 64 KiB. Secret: it often carries keys or tokens (a Chef
    /// client key, for one), so `Debug` never shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
    /// VPC to place the droplet in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<String>,
    /// Volume ids to attach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Install the droplet agent (`None`: DigitalOcean's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_droplet_agent: Option<bool>,
}

impl DropletSpec {
    /// A minimal spec: region, size and image; everything else off or empty.
    pub fn new(
        region: impl Into<String>,
        size: impl Into<String>,
        image: impl Into<ImageRef>,
    ) -> Self {
        Self {
            region: Some(region.into()),
            size: size.into(),
            image: image.into(),
            ssh_keys: Vec::new(),
            backups: false,
            ipv6: false,
            monitoring: false,
            tags: Vec::new(),
            user_data: None,
            vpc_uuid: None,
            volumes: Vec::new(),
            with_droplet_agent: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::non_empty("size", &self.size)?;
        if let ImageRef::Slug(s) = &self.image {
            validate::non_empty("image", s)?;
        }
        validate::user_data(self.user_data.as_ref().map(UserData::expose_secret))?;
        self.tags.iter().try_for_each(|t| validate::tag_name(t))
    }
}

/// `POST /v2/droplets` for one droplet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CreateDroplet {
    /// Droplet name: letters, digits, `.` and `-`, ending in a letter or digit, ≤ 255.
    pub name: String,
    /// The rest of the request.
    #[serde(flatten)]
    pub spec: DropletSpec,
}

impl CreateDroplet {
    /// A request for one droplet called `name`.
    pub fn new(name: impl Into<String>, spec: DropletSpec) -> Self {
        Self {
            name: name.into(),
            spec,
        }
    }
}

/// `POST /v2/droplets` for up to 10 droplets sharing one spec.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CreateDroplets {
    /// One to ten droplet names.
    pub names: Vec<String>,
    /// The rest of the request.
    #[serde(flatten)]
    pub spec: DropletSpec,
}

impl CreateDroplets {
    /// A request for one droplet per name.
    pub fn new<I, S>(names: I, spec: DropletSpec) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            names: names.into_iter().map(Into::into).collect(),
            spec,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct CreateLinks {
    #[serde(default)]
    actions: Vec<ActionLink>,
}

/// The answer to a single create: the droplet (status `new`) and its create action.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CreatedDroplet {
    /// The new droplet.
    pub droplet: Droplet,
    /// Links to the create action(s); wait on them with [`crate::Actions::wait_for_href`].
    #[serde(default, rename = "links", deserialize_with = "action_links")]
    pub actions: Vec<ActionLink>,
}

/// The answer to a multi-create.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CreatedDroplets {
    /// The new droplets.
    pub droplets: Vec<Droplet>,
    /// Links to the create actions.
    #[serde(default, rename = "links", deserialize_with = "action_links")]
    pub actions: Vec<ActionLink>,
}

/// `links.actions` of a create answer (missing or `null` `links`: none).
pub(super) fn action_links<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ActionLink>, D::Error> {
    Ok(Option::<CreateLinks>::deserialize(d)?
        .unwrap_or_default()
        .actions)
}

/// Filters for [`Droplets::list_filtered`]. DigitalOcean does not allow `tag_name`
/// together with `name`; setting both is rejected before sending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropletFilter {
    /// Only droplets carrying this tag.
    pub tag_name: Option<String>,
    /// Only droplets with exactly this name (case-insensitive).
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct DropletEnvelope {
    droplet: Droplet,
}

/// Handler for `/v2/droplets`; see [`Client::droplets`].
#[derive(Debug, Clone, Copy)]
pub struct Droplets<'c> {
    client: &'c Client,
}

impl<'c> Droplets<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `POST /v2/droplets` (one droplet). Answers 202: the droplet is `new`; wait on
    /// the returned action or use [`Droplets::wait_until_active`].
    ///
    /// Never retried on a 5xx or timeout: the droplet may exist already. After such
    /// an error, look it up (for example by a unique tag) before creating again.
    pub async fn create(&self, req: &CreateDroplet) -> Result<CreatedDroplet> {
        validate::droplet_name(&req.name)?;
        req.spec.validate()?;
        let url = self.client.url(&["v2", "droplets"], &[])?;
        self.client
            .send(Method::POST, url, Some(req), "droplet create")
            .await
    }

    /// `POST /v2/droplets` with `names` (1 to 10 droplets). Never retried on 5xx/timeout.
    pub async fn create_multiple(&self, req: &CreateDroplets) -> Result<CreatedDroplets> {
        validate::droplet_names(&req.names)?;
        req.spec.validate()?;
        let url = self.client.url(&["v2", "droplets"], &[])?;
        self.client
            .send(Method::POST, url, Some(req), "droplets create")
            .await
    }

    /// `GET /v2/droplets/{id}`.
    pub async fn get(&self, id: u64) -> Result<Droplet> {
        validate::id("droplet_id", id)?;
        let url = self.client.url(&["v2", "droplets", &id.to_string()], &[])?;
        let env: DropletEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "droplet")
            .await?;
        Ok(env.droplet)
    }

    /// `GET /v2/droplets`, every page.
    pub fn list(&self) -> Pager<'c, Droplet> {
        self.list_filtered(&DropletFilter::default())
    }

    /// `GET /v2/droplets?tag_name=…`.
    pub fn list_by_tag(&self, tag: &str) -> Pager<'c, Droplet> {
        self.list_filtered(&DropletFilter {
            tag_name: Some(tag.to_owned()),
            name: None,
        })
    }

    /// `GET /v2/droplets?name=…` (exact, case-insensitive match).
    pub fn list_by_name(&self, name: &str) -> Pager<'c, Droplet> {
        self.list_filtered(&DropletFilter {
            tag_name: None,
            name: Some(name.to_owned()),
        })
    }

    /// `GET /v2/droplets` with filters.
    pub fn list_filtered(&self, filter: &DropletFilter) -> Pager<'c, Droplet> {
        let url = (|| {
            let mut query: Vec<(&str, &str)> = Vec::new();
            if let Some(tag) = &filter.tag_name {
                validate::tag_name(tag)?;
                query.push(("tag_name", tag));
            }
            if let Some(name) = &filter.name {
                if filter.tag_name.is_some() {
                    return Err(Error::InvalidInput {
                        field: "name",
                        reason: "DigitalOcean does not combine tag_name with name".to_owned(),
                    });
                }
                validate::non_empty("name", name)?;
                query.push(("name", name));
            }
            self.client.url(&["v2", "droplets"], &query)
        })();
        Pager::new(self.client, "droplets", "droplet list", url)
    }

    /// `DELETE /v2/droplets/{id}` (204).
    pub async fn delete(&self, id: u64) -> Result<()> {
        validate::id("droplet_id", id)?;
        let url = self.client.url(&["v2", "droplets", &id.to_string()], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "droplet delete")
            .await
    }

    /// `DELETE /v2/droplets?tag_name=…`: deletes every droplet carrying the tag (204).
    pub async fn delete_by_tag(&self, tag: &str) -> Result<()> {
        validate::tag_name(tag)?;
        let url = self.client.url(&["v2", "droplets"], &[("tag_name", tag)])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "droplet delete by tag")
            .await
    }

    /// Poll `GET /v2/droplets/{id}` until the droplet is `active`, then return it.
    ///
    /// Fails with [`Error::WaitTimedOut`] when `opts.timeout` elapses first.
    pub async fn wait_until_active(&self, id: u64, opts: WaitOptions) -> Result<Droplet> {
        let started = Instant::now();
        let deadline = started + opts.timeout;
        loop {
            let droplet = self.get(id).await?;
            if droplet.status == DropletStatus::Active {
                return Ok(droplet);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::WaitTimedOut {
                    what: format!("droplet {id} to become active"),
                    waited: now.duration_since(started),
                    last_status: Some(format!("{:?}", droplet.status)),
                });
            }
            tokio::time::sleep(opts.poll_interval.min(deadline - now)).await;
        }
    }
}

#[derive(Serialize)]
struct ActionRequest<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disk: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a ImageRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_policy: Option<&'a BackupPolicy>,
}

impl ActionRequest<'_> {
    fn of(kind: &'static str) -> Self {
        Self {
            kind,
            size: None,
            disk: None,
            image: None,
            name: None,
            backup_policy: None,
        }
    }
}

/// When backups run: `daily` or `weekly`, in a 4-hour window starting at `hour` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackupPolicy {
    /// Daily or weekly.
    pub plan: BackupPlan,
    /// The day of a weekly backup (`None`: DigitalOcean's choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Weekday>,
    /// Start of the window, UTC: 0, 4, 8, 12, 16 or 20 (`None`: DigitalOcean's choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hour: Option<u8>,
}

impl BackupPolicy {
    /// Daily backups starting at `hour` (0, 4, 8, 12, 16 or 20 UTC).
    pub fn daily(hour: u8) -> Self {
        Self {
            plan: BackupPlan::Daily,
            weekday: None,
            hour: Some(hour),
        }
    }

    /// Weekly backups on `weekday` starting at `hour` (0, 4, 8, 12, 16 or 20 UTC).
    pub fn weekly(weekday: Weekday, hour: u8) -> Self {
        Self {
            plan: BackupPlan::Weekly,
            weekday: Some(weekday),
            hour: Some(hour),
        }
    }

    fn validate(&self) -> Result<()> {
        match self.hour {
            Some(h) if h > 20 || h % 4 != 0 => Err(Error::InvalidInput {
                field: "backup_policy.hour",
                reason: format!("{h} is not one of 0, 4, 8, 12, 16, 20"),
            }),
            _ => Ok(()),
        }
    }
}

/// How often backups run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupPlan {
    /// Every day.
    Daily,
    /// Once a week.
    Weekly,
}

/// A day of the week, as backup policies name them (`SUN`…`SAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Weekday {
    /// Sunday.
    Sun,
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
}

/// Handler for `/v2/droplets/{id}/actions`; see [`Client::droplet_actions`].
///
/// Each call answers 201 with an [`Action`], usually in progress; wait on it with
/// [`DropletActions::wait`]. These `POST`s are never retried after a 5xx or a timeout: an
/// error that [`Error::is_ambiguous`] may have started the action. Whether a method is safe
/// to repeat is in its `# Retries` section.
///
/// ```no_run
/// use std::time::Duration;
/// use digitalocean_client::{Client, WaitOptions};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let actions = client.droplet_actions();
/// let opts = WaitOptions::new(Duration::from_secs(600), Duration::from_secs(5));
/// actions.wait(&actions.shutdown(3164444).await?, opts).await?;
/// actions.wait(&actions.resize(3164444, "s-2vcpu-4gb", false).await?, opts).await?;
/// actions.wait(&actions.power_on(3164444).await?, opts).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DropletActions<'c> {
    client: &'c Client,
}

impl<'c> DropletActions<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    async fn post(&self, droplet_id: u64, kind: &'static str) -> Result<Action> {
        self.send(droplet_id, &ActionRequest::of(kind)).await
    }

    async fn send(&self, droplet_id: u64, req: &ActionRequest<'_>) -> Result<Action> {
        validate::id("droplet_id", droplet_id)?;
        let url = self
            .client
            .url(&["v2", "droplets", &droplet_id.to_string(), "actions"], &[])?;
        let env: ActionEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "droplet action")
            .await?;
        Ok(env.action)
    }

    /// Power the droplet on.
    pub async fn power_on(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "power_on").await
    }

    /// Hard power-off (like pulling the plug).
    pub async fn power_off(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "power_off").await
    }

    /// Graceful shutdown (ACPI).
    pub async fn shutdown(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "shutdown").await
    }

    /// Graceful reboot.
    pub async fn reboot(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "reboot").await
    }

    /// Power cycle (hard reset).
    pub async fn power_cycle(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "power_cycle").await
    }

    /// `{"type": "resize"}`: move the droplet to another size. The droplet must be off.
    /// With `disk` false only CPU and memory change (and the resize can be undone); with
    /// `disk` true the disk grows too, for good.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout. Repeating it with the same size leads to the
    /// same size; [`Droplets::get`] (`size_slug`) shows whether it took effect.
    pub async fn resize(&self, droplet_id: u64, size: &str, disk: bool) -> Result<Action> {
        validate::non_empty("size", size)?;
        let mut req = ActionRequest::of("resize");
        req.size = Some(size);
        req.disk = Some(disk);
        self.send(droplet_id, &req).await
    }

    /// `{"type": "rebuild"}`: reinstall the droplet from an image (slug or id), keeping its
    /// id and addresses. **Its disk is wiped.**
    ///
    /// # Retries
    /// Not safe to repeat: a second rebuild wipes the disk again. Never retried after a 5xx
    /// or a timeout; after such an error, find out whether it started (the droplet leaves
    /// `active` while it rebuilds: [`Droplets::get`]) before rebuilding again.
    pub async fn rebuild(&self, droplet_id: u64, image: impl Into<ImageRef>) -> Result<Action> {
        let image = image.into();
        match &image {
            ImageRef::Slug(s) => validate::non_empty("image", s)?,
            ImageRef::Id(id) => validate::id("image", *id)?,
        }
        let mut req = ActionRequest::of("rebuild");
        req.image = Some(&image);
        self.send(droplet_id, &req).await
    }

    /// `{"type": "rename"}`: a new droplet name (the droplet-name rules apply).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout, but safe to repeat: renaming to the same
    /// name again changes nothing.
    pub async fn rename(&self, droplet_id: u64, name: &str) -> Result<Action> {
        validate::droplet_name(name)?;
        let mut req = ActionRequest::of("rename");
        req.name = Some(name);
        self.send(droplet_id, &req).await
    }

    /// `{"type": "snapshot"}`: snapshot the droplet (best powered off) under `name`.
    ///
    /// # Retries
    /// Not safe to repeat: a second call takes a second snapshot. Never retried after a
    /// 5xx or a timeout; look for the name among the droplet's snapshots first.
    pub async fn snapshot(&self, droplet_id: u64, name: &str) -> Result<Action> {
        validate::non_empty("name", name)?;
        let mut req = ActionRequest::of("snapshot");
        req.name = Some(name);
        self.send(droplet_id, &req).await
    }

    /// `{"type": "enable_backups"}` with DigitalOcean's default policy (daily).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout, but safe to repeat: backups end up enabled
    /// either way ([`Droplet::features`] lists `backups`).
    pub async fn enable_backups(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "enable_backups").await
    }

    /// `{"type": "enable_backups", "backup_policy": …}`: backups on `policy`'s schedule.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout, but safe to repeat (same end state).
    pub async fn enable_backups_with(
        &self,
        droplet_id: u64,
        policy: &BackupPolicy,
    ) -> Result<Action> {
        policy.validate()?;
        let mut req = ActionRequest::of("enable_backups");
        req.backup_policy = Some(policy);
        self.send(droplet_id, &req).await
    }

    /// `{"type": "disable_backups"}`.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout, but safe to repeat (same end state).
    pub async fn disable_backups(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "disable_backups").await
    }

    /// `{"type": "enable_ipv6"}`: give the droplet an IPv6 address.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout, but safe to repeat: IPv6 ends up enabled
    /// either way ([`Droplet::public_ipv6`] shows the address).
    pub async fn enable_ipv6(&self, droplet_id: u64) -> Result<Action> {
        self.post(droplet_id, "enable_ipv6").await
    }

    /// Wait until an action of this droplet completes, polling with a deadline (see
    /// [`crate::Actions::wait_for`]).
    pub async fn wait(&self, action: &Action, opts: WaitOptions) -> Result<Action> {
        self.client.actions().wait_for(action, opts).await
    }

    /// `GET /v2/droplets/{droplet_id}/actions/{action_id}`.
    pub async fn get(&self, droplet_id: u64, action_id: u64) -> Result<Action> {
        validate::id("droplet_id", droplet_id)?;
        validate::id("action_id", action_id)?;
        let url = self.client.url(
            &[
                "v2",
                "droplets",
                &droplet_id.to_string(),
                "actions",
                &action_id.to_string(),
            ],
            &[],
        )?;
        let env: ActionEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "droplet action")
            .await?;
        Ok(env.action)
    }
}

#[derive(Deserialize)]
struct ActionEnvelope {
    action: Action,
}
