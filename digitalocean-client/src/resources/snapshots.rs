//! Snapshots of droplets and volumes: the model shared by `/v2/snapshots` and
//! `/v2/volumes/{id}/snapshots`.

use serde::Deserialize;

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
