use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Result;
use crate::pagination::Pager;
use crate::validate;

/// A datacenter region.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Region {
    /// Slug, e.g. `nyc3`.
    pub slug: String,
    /// Display name, e.g. `New York 3`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Features available there (`backups`, `ipv6`, …).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub features: Vec<String>,
    /// Whether new droplets can be created there.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub available: bool,
    /// Size slugs offered there.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub sizes: Vec<String>,
}

/// A droplet size (plan).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Size {
    /// Slug, e.g. `s-1vcpu-1gb`.
    pub slug: String,
    /// Memory in MiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub memory: u64,
    /// Virtual CPUs.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub vcpus: u64,
    /// Disk in GiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub disk: u64,
    /// Transfer allowance in TiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub transfer: f64,
    /// Monthly price in USD.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub price_monthly: f64,
    /// Hourly price in USD.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub price_hourly: f64,
    /// Region slugs where it is offered.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub regions: Vec<String>,
    /// Whether it can be used for new droplets.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub available: bool,
    /// Description, e.g. `Basic`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub description: String,
}

/// An image (distribution, application, snapshot, backup or custom).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Image {
    /// Image id.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub id: u64,
    /// Display name.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Distribution, e.g. `Ubuntu`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub distribution: String,
    /// Slug for public images; `None` for snapshots and custom images.
    #[serde(default)]
    pub slug: Option<String>,
    /// Whether it is a public image.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub public: bool,
    /// Regions where it is available.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub regions: Vec<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Kind of image.
    #[serde(rename = "type", default)]
    pub kind: Option<ImageType>,
    /// Smallest disk (GiB) a droplet needs for it; may be `null` right after creation.
    #[serde(default)]
    pub min_disk_size: Option<u64>,
    /// Image size in GiB; may be `null` right after creation.
    #[serde(default)]
    pub size_gigabytes: Option<f64>,
    /// Free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tags: Vec<String>,
    /// Status, e.g. `available` (DigitalOcean has sent both cases, so it stays a string).
    #[serde(default)]
    pub status: Option<String>,
    /// Error message for failed custom-image imports.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// The `type` of an [`Image`] (`base`, `snapshot`, `backup`, `custom`, `admin`), and
/// the `type` filter of image lists (`distribution`, `application`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImageType {
    /// A public OS distribution (`type=distribution` filter).
    Distribution,
    /// A 1-click application (`type=application` filter).
    Application,
    /// A base image.
    Base,
    /// A user snapshot.
    Snapshot,
    /// An automatic backup.
    Backup,
    /// An imported custom image.
    Custom,
    /// An image managed by DigitalOcean staff.
    Admin,
    /// A kind this crate does not know about.
    #[serde(other)]
    Unknown,
}

/// An image reference in a create request: a slug or a numeric id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ImageRef {
    /// Public image slug, e.g. `ubuntu-24-04-x64`.
    Slug(String),
    /// Image id (snapshots, custom images).
    Id(u64),
}

impl From<&str> for ImageRef {
    fn from(s: &str) -> Self {
        ImageRef::Slug(s.to_owned())
    }
}

impl From<String> for ImageRef {
    fn from(s: String) -> Self {
        ImageRef::Slug(s)
    }
}

impl From<u64> for ImageRef {
    fn from(id: u64) -> Self {
        ImageRef::Id(id)
    }
}

/// The account the token belongs to.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct AccountInfo {
    /// Account UUID.
    pub uuid: String,
    /// Email address.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the email is verified.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub email_verified: bool,
    /// Maximum droplets.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub droplet_limit: u64,
    /// Maximum reserved IPs.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub floating_ip_limit: u64,
    /// Account status.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status: AccountStatus,
    /// Status explanation.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status_message: String,
    /// Current team, when the token is a team token.
    #[serde(default)]
    pub team: Option<Team>,
}

/// Account status.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// In good standing.
    #[default]
    Active,
    /// Needs attention.
    Warning,
    /// Locked.
    Locked,
    /// A status this crate does not know about.
    #[serde(other)]
    Unknown,
}

/// A team.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Team {
    /// Team UUID.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub uuid: String,
    /// Team name.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
}

/// Handler for `/v2/regions`; see [`Client::regions`].
#[derive(Debug, Clone, Copy)]
pub struct Regions<'c> {
    client: &'c Client,
}

impl<'c> Regions<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/regions`, every page.
    pub fn list(&self) -> Pager<'c, Region> {
        let url = self.client.url(&["v2", "regions"], &[]);
        Pager::new(self.client, "regions", "region list", url)
    }
}

/// Handler for `/v2/sizes`; see [`Client::sizes`].
#[derive(Debug, Clone, Copy)]
pub struct Sizes<'c> {
    client: &'c Client,
}

impl<'c> Sizes<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/sizes`, every page.
    pub fn list(&self) -> Pager<'c, Size> {
        let url = self.client.url(&["v2", "sizes"], &[]);
        Pager::new(self.client, "sizes", "size list", url)
    }
}

#[derive(Deserialize)]
struct ImageEnvelope {
    image: Image,
}

/// Handler for `/v2/images`; see [`Client::images`].
#[derive(Debug, Clone, Copy)]
pub struct Images<'c> {
    client: &'c Client,
}

impl<'c> Images<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/images`, every page (public and private).
    pub fn list(&self) -> Pager<'c, Image> {
        let url = self.client.url(&["v2", "images"], &[]);
        Pager::new(self.client, "images", "image list", url)
    }

    /// `GET /v2/images?type=distribution|application`. Other types cannot be filtered
    /// on by the API and are rejected before sending.
    pub fn list_by_type(&self, kind: ImageType) -> Pager<'c, Image> {
        let url = match kind {
            ImageType::Distribution => self
                .client
                .url(&["v2", "images"], &[("type", "distribution")]),
            ImageType::Application => self
                .client
                .url(&["v2", "images"], &[("type", "application")]),
            other => Err(crate::Error::InvalidInput {
                field: "type",
                reason: format!(
                    "the API filters only on distribution or application, not {other:?}"
                ),
            }),
        };
        Pager::new(self.client, "images", "image list", url)
    }

    /// `GET /v2/images?private=true`: your snapshots, backups and custom images.
    pub fn list_private(&self) -> Pager<'c, Image> {
        let url = self.client.url(&["v2", "images"], &[("private", "true")]);
        Pager::new(self.client, "images", "image list", url)
    }

    /// `GET /v2/images/{slug}`, e.g. `ubuntu-24-04-x64`.
    pub async fn get_by_slug(&self, slug: &str) -> Result<Image> {
        validate::non_empty("slug", slug)?;
        self.get_segment(slug).await
    }

    /// `GET /v2/images/{id}`.
    pub async fn get(&self, id: u64) -> Result<Image> {
        validate::id("image_id", id)?;
        self.get_segment(&id.to_string()).await
    }

    async fn get_segment(&self, segment: &str) -> Result<Image> {
        let url = self.client.url(&["v2", "images", segment], &[])?;
        let env: ImageEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "image")
            .await?;
        Ok(env.image)
    }
}

#[derive(Deserialize)]
struct AccountEnvelope {
    account: AccountInfo,
}

/// Handler for `/v2/account`; see [`Client::account`].
#[derive(Debug, Clone, Copy)]
pub struct Account<'c> {
    pub(super) client: &'c Client,
}

impl<'c> Account<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/account`. A cheap way to check that a token works.
    pub async fn get(&self) -> Result<AccountInfo> {
        let url = self.client.url(&["v2", "account"], &[])?;
        let env: AccountEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "account")
            .await?;
        Ok(env.account)
    }
}
