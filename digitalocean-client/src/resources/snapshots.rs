//! Snapshots of droplets and volumes: `/v2/snapshots` (the model is shared with
//! `/v2/volumes/{id}/snapshots`).

use reqwest::Method;
use serde::Deserialize;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;

/// A snapshot of a droplet or a volume.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Snapshot id: digits for a droplet snapshot, a UUID for a volume snapshot.
    pub id: String,
    /// Name.
    pub name: String,
    /// Creation time (RFC 3339).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub created_at: String,
    /// Regions where it is available.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub regions: Vec<String>,
    /// Smallest disk (GiB) a resource made from it needs.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub min_disk_size: u64,
    /// Its billable size in GiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub size_gigabytes: f64,
    /// The id of the droplet or volume it was taken from.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub resource_id: String,
    /// Whether it is of a droplet or of a volume.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub resource_type: SnapshotResourceType,
    /// Tags.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tags: Vec<String>,
}

/// What a [`Snapshot`] was taken of; also the filter of snapshot lists.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotResourceType {
    /// A droplet.
    Droplet,
    /// A block-storage volume.
    Volume,
    /// A type this crate does not know about, or none given.
    #[default]
    #[serde(other)]
    Unknown,
}

impl SnapshotResourceType {
    fn as_query(self) -> Result<&'static str> {
        match self {
            Self::Droplet => Ok("droplet"),
            Self::Volume => Ok("volume"),
            Self::Unknown => Err(Error::InvalidInput {
                field: "resource_type",
                reason: "must be droplet or volume".to_owned(),
            }),
        }
    }
}

#[derive(Deserialize)]
struct SnapshotEnvelope {
    snapshot: Snapshot,
}

impl Client {
    /// Snapshots of droplets and volumes: list (by resource type), get, delete.
    pub fn snapshots(&self) -> Snapshots<'_> {
        Snapshots { client: self }
    }
}

/// Handler for `/v2/snapshots`; see [`Client::snapshots`]. Snapshots are taken with
/// [`crate::DropletActions::snapshot`] and [`crate::Volumes::create_snapshot`].
///
/// ```no_run
/// use digitalocean_client::{Client, SnapshotResourceType};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let snapshots = client.snapshots();
/// for s in snapshots.list_by_type(SnapshotResourceType::Droplet).collect_all().await? {
///     if s.name.starts_with("ci-") {
///         snapshots.delete(&s.id).await?;
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Snapshots<'c> {
    client: &'c Client,
}

impl<'c> Snapshots<'c> {
    /// `GET /v2/snapshots`, every page (droplet and volume snapshots).
    pub fn list(&self) -> Pager<'c, Snapshot> {
        let url = self.client.url(&["v2", "snapshots"], &[]);
        Pager::new(self.client, "snapshots", "snapshot list", url)
    }

    /// `GET /v2/snapshots?resource_type=droplet|volume`, every page.
    pub fn list_by_type(&self, resource_type: SnapshotResourceType) -> Pager<'c, Snapshot> {
        let url = resource_type.as_query().and_then(|t| {
            self.client
                .url(&["v2", "snapshots"], &[("resource_type", t)])
        });
        Pager::new(self.client, "snapshots", "snapshot list", url)
    }

    /// `GET /v2/snapshots/{id}` (a droplet snapshot's number or a volume snapshot's UUID).
    pub async fn get(&self, id: &str) -> Result<Snapshot> {
        let url = self.client.url(&["v2", "snapshots", id], &[])?;
        let env: SnapshotEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "snapshot")
            .await?;
        Ok(env.snapshot)
    }

    /// `DELETE /v2/snapshots/{id}` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let url = self.client.url(&["v2", "snapshots", id], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "snapshot delete")
            .await
    }
}
