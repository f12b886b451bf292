//! Block-storage volumes: `/v2/volumes`, their actions and snapshots.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::actions::{Action, WaitOptions};
use super::catalog::Region;
use super::snapshots::Snapshot;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// Longest volume name (the spec's description of `name`).
pub const MAX_VOLUME_NAME_LEN: usize = 64;
/// Largest volume, in GiB (the spec's `maximum` for a resize).
pub const MAX_VOLUME_SIZE_GIB: u64 = 16_384;

/// A block-storage volume.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Volume {
    /// Volume id (a UUID); `None` when the server left it out (the spec does not require
    /// it).
    #[serde(default)]
    pub id: Option<String>,
    /// Name: lowercase letters, digits and `-`, starting with a letter.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Free-form description.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub description: String,
    /// Size in GiB.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub size_gigabytes: u64,
    /// The droplets it is attached to (at most one today).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub droplet_ids: Vec<u64>,
    /// Its region.
    #[serde(default)]
    pub region: Option<Region>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tags: Vec<String>,
    /// Filesystem it was formatted with (`ext4`, `xfs`), empty if none.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub filesystem_type: String,
    /// Filesystem label, empty if none.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub filesystem_label: String,
}

/// A filesystem DigitalOcean formats a new volume with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilesystemType {
    /// ext4 (labels up to 16 characters).
    Ext4,
    /// XFS (labels up to 12 characters).
    Xfs,
}

impl FilesystemType {
    fn max_label(self) -> usize {
        match self {
            FilesystemType::Ext4 => 16,
            FilesystemType::Xfs => 12,
        }
    }
}

/// `POST /v2/volumes` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateVolume {
    /// Name: lowercase letters, digits and `-`, starting with a letter, at most 64.
    pub name: String,
    /// Size in GiB, 1 to 16,384.
    pub size_gigabytes: u64,
    /// Region slug, e.g. `nyc1`.
    pub region: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Make it from this volume snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Format it (and have it mounted automatically on recent images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_type: Option<FilesystemType>,
    /// Filesystem label (needs `filesystem_type`; ≤ 16 for ext4, ≤ 12 for xfs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_label: Option<String>,
    /// Tags. A unique tag per create lets you find the volume after an ambiguous failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl CreateVolume {
    /// An unformatted volume of `size_gigabytes` GiB called `name` in `region`.
    pub fn new(name: impl Into<String>, size_gigabytes: u64, region: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            size_gigabytes,
            region: region.into(),
            description: None,
            snapshot_id: None,
            filesystem_type: None,
            filesystem_label: None,
            tags: Vec::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        volume_name(&self.name)?;
        volume_size(self.size_gigabytes)?;
        validate::non_empty("region", &self.region)?;
        if let Some(s) = &self.snapshot_id {
            validate::non_empty("snapshot_id", s)?;
        }
        if let Some(label) = &self.filesystem_label {
            let Some(fs) = self.filesystem_type else {
                return Err(Error::InvalidInput {
                    field: "filesystem_label",
                    reason: "a label needs a filesystem_type".to_owned(),
                });
            };
            validate::max_len("filesystem_label", label, fs.max_label())?;
        }
        self.tags.iter().try_for_each(|t| validate::tag_name(t))
    }
}

/// The spec's rule for volume names: lowercase letters, digits and `-`, starting with a
/// letter, at most 64 characters.
fn volume_name(name: &str) -> Result<()> {
    let ok = name.len() <= MAX_VOLUME_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        return Ok(());
    }
    Err(Error::InvalidInput {
        field: "name",
        reason: format!(
            "volume name {name:?} must be lowercase letters, digits and '-', start with a \
             letter, at most {MAX_VOLUME_NAME_LEN} characters"
        ),
    })
}

fn volume_size(gib: u64) -> Result<()> {
    if gib == 0 || gib > MAX_VOLUME_SIZE_GIB {
        return Err(Error::InvalidInput {
            field: "size_gigabytes",
            reason: format!("{gib} is outside 1..={MAX_VOLUME_SIZE_GIB}"),
        });
    }
    Ok(())
}

/// Filters for [`Volumes::list_filtered`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeFilter {
    /// Only volumes with exactly this name.
    pub name: Option<String>,
    /// Only volumes in this region.
    pub region: Option<String>,
}

#[derive(Serialize)]
struct VolumeActionRequest {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    droplet_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_gigabytes: Option<u64>,
}

#[derive(Serialize)]
struct CreateSnapshot<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
}

#[derive(Deserialize)]
struct VolumeEnvelope {
    volume: Volume,
}

#[derive(Deserialize)]
struct ActionEnvelope {
    action: Action,
}

#[derive(Deserialize)]
struct SnapshotEnvelope {
    snapshot: Snapshot,
}

impl Client {
    /// Block-storage volumes: CRUD, attach/detach/resize, and their snapshots.
    pub fn volumes(&self) -> Volumes<'_> {
        Volumes { client: self }
    }
}

/// Handler for `/v2/volumes`; see [`Client::volumes`].
///
/// Names, sizes (1–16,384 GiB), filesystem labels, tags and ids (UUIDs) are checked before
/// sending. Regions are not checked against the spec's list of region slugs, which is older
/// than the regions DigitalOcean offers.
///
/// ```no_run
/// use std::time::Duration;
/// use digitalocean_client::{Client, CreateVolume, FilesystemType, WaitOptions};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let mut req = CreateVolume::new("pgdata", 100, "nyc1");
/// req.filesystem_type = Some(FilesystemType::Ext4);
/// req.tags = vec!["ops-run:4f1c".into()];
/// let volume = client.volumes().create(&req).await?;
/// let id = volume.id.unwrap_or_default();
/// let opts = WaitOptions::new(Duration::from_secs(300), Duration::from_secs(5));
/// let action = client.volumes().attach(&id, 3164444).await?;
/// client.volumes().wait(&action, opts).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Volumes<'c> {
    client: &'c Client,
}

impl<'c> Volumes<'c> {
    fn url(&self, id: &str, sub: &[&str]) -> Result<url::Url> {
        validate::uuid("volume_id", id)?;
        let mut segments = vec!["v2", "volumes", id];
        segments.extend_from_slice(sub);
        self.client.url(&segments, &[])
    }

    /// `GET /v2/volumes`, every page.
    pub fn list(&self) -> Pager<'c, Volume> {
        self.list_filtered(&VolumeFilter::default())
    }

    /// `GET /v2/volumes?name=…`: the volumes of that name (one per region at most).
    pub fn list_by_name(&self, name: &str) -> Pager<'c, Volume> {
        self.list_filtered(&VolumeFilter {
            name: Some(name.to_owned()),
            region: None,
        })
    }

    /// `GET /v2/volumes?region=…`.
    pub fn list_by_region(&self, region: &str) -> Pager<'c, Volume> {
        self.list_filtered(&VolumeFilter {
            name: None,
            region: Some(region.to_owned()),
        })
    }

    /// `GET /v2/volumes` with a name and/or region filter.
    pub fn list_filtered(&self, filter: &VolumeFilter) -> Pager<'c, Volume> {
        let url = (|| {
            let mut query = Vec::new();
            if let Some(name) = &filter.name {
                validate::non_empty("name", name)?;
                query.push(("name", name.as_str()));
            }
            if let Some(region) = &filter.region {
                validate::non_empty("region", region)?;
                query.push(("region", region.as_str()));
            }
            self.client.url(&["v2", "volumes"], &query)
        })();
        Pager::new(self.client, "volumes", "volume list", url)
    }

    /// `GET /v2/volumes/{id}`.
    pub async fn get(&self, id: &str) -> Result<Volume> {
        let url = self.url(id, &[])?;
        let env: VolumeEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "volume")
            .await?;
        Ok(env.volume)
    }

    /// `POST /v2/volumes` (201).
    ///
    /// # Retries
    /// Not safe to repeat blindly: never retried after a 5xx or a timeout. After such an
    /// error ([`Error::is_ambiguous`]), look the name up with [`Volumes::list_by_name`]
    /// (or by a unique tag) and adopt the volume instead of creating a second one.
    pub async fn create(&self, req: &CreateVolume) -> Result<Volume> {
        req.validate()?;
        let url = self.client.url(&["v2", "volumes"], &[])?;
        let env: VolumeEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "volume create")
            .await?;
        Ok(env.volume)
    }

    /// `DELETE /v2/volumes/{id}` (204). DigitalOcean refuses while it is attached.
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let url = self.url(id, &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "volume delete")
            .await
    }

    /// `DELETE /v2/volumes?name=…&region=…` (204): delete the volume of that name there.
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete_by_name(&self, name: &str, region: &str) -> Result<()> {
        validate::non_empty("name", name)?;
        validate::non_empty("region", region)?;
        let url = self
            .client
            .url(&["v2", "volumes"], &[("name", name), ("region", region)])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "volume delete by name")
            .await
    }

    async fn action(&self, id: &str, req: &VolumeActionRequest) -> Result<Action> {
        let url = self.url(id, &["actions"])?;
        let env: ActionEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "volume action")
            .await?;
        Ok(env.action)
    }

    /// `POST /v2/volumes/{id}/actions` `{"type": "attach"}` (202): attach the volume to a
    /// droplet in its region. Wait with [`Volumes::wait`].
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). After such an error,
    /// [`Volumes::get`] shows in `droplet_ids` whether it is attached before trying again.
    pub async fn attach(&self, id: &str, droplet_id: u64) -> Result<Action> {
        validate::id("droplet_id", droplet_id)?;
        let req = VolumeActionRequest {
            kind: "attach",
            droplet_id: Some(droplet_id),
            size_gigabytes: None,
        };
        self.action(id, &req).await
    }

    /// `POST /v2/volumes/{id}/actions` `{"type": "detach"}` (202).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`); [`Volumes::get`] shows whether it
    /// took effect.
    pub async fn detach(&self, id: &str, droplet_id: u64) -> Result<Action> {
        validate::id("droplet_id", droplet_id)?;
        let req = VolumeActionRequest {
            kind: "detach",
            droplet_id: Some(droplet_id),
            size_gigabytes: None,
        };
        self.action(id, &req).await
    }

    /// `POST /v2/volumes/{id}/actions` `{"type": "resize"}` (202): grow the volume to
    /// `size_gigabytes` (volumes never shrink). The filesystem is not grown for you.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). Repeating it with the same size
    /// leads to the same size; [`Volumes::get`] shows whether it took effect.
    pub async fn resize(&self, id: &str, size_gigabytes: u64) -> Result<Action> {
        volume_size(size_gigabytes)?;
        let req = VolumeActionRequest {
            kind: "resize",
            droplet_id: None,
            size_gigabytes: Some(size_gigabytes),
        };
        self.action(id, &req).await
    }

    /// `GET /v2/volumes/{id}/actions/{action_id}`.
    pub async fn get_action(&self, id: &str, action_id: u64) -> Result<Action> {
        validate::id("action_id", action_id)?;
        let url = self.url(id, &["actions", &action_id.to_string()])?;
        let env: ActionEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "volume action")
            .await?;
        Ok(env.action)
    }

    /// Wait until an attach, detach or resize completes, polling with a deadline (see
    /// [`crate::Actions::wait_for`]).
    pub async fn wait(&self, action: &Action, opts: WaitOptions) -> Result<Action> {
        self.client.actions().wait_for(action, opts).await
    }

    /// `GET /v2/volumes/{id}/snapshots`, every page.
    pub fn list_snapshots(&self, id: &str) -> Pager<'c, Snapshot> {
        let url = self.url(id, &["snapshots"]);
        Pager::new(self.client, "snapshots", "volume snapshot list", url)
    }

    /// `POST /v2/volumes/{id}/snapshots` (201): snapshot the volume now.
    ///
    /// # Retries
    /// Not safe to repeat: never retried after a 5xx or a timeout. After such an error,
    /// look for the name in [`Volumes::list_snapshots`] first.
    pub async fn create_snapshot(&self, id: &str, name: &str, tags: &[String]) -> Result<Snapshot> {
        validate::non_empty("name", name)?;
        tags.iter().try_for_each(|t| validate::tag_name(t))?;
        let url = self.url(id, &["snapshots"])?;
        let env: SnapshotEnvelope = self
            .client
            .send(
                Method::POST,
                url,
                Some(&CreateSnapshot { name, tags }),
                "volume snapshot create",
            )
            .await?;
        Ok(env.snapshot)
    }

    /// `GET /v2/volumes/snapshots/{snapshot_id}`.
    pub async fn get_snapshot(&self, snapshot_id: &str) -> Result<Snapshot> {
        let url = self
            .client
            .url(&["v2", "volumes", "snapshots", snapshot_id], &[])?;
        let env: SnapshotEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "volume snapshot")
            .await?;
        Ok(env.snapshot)
    }

    /// `DELETE /v2/volumes/snapshots/{snapshot_id}` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete_snapshot(&self, snapshot_id: &str) -> Result<()> {
        let url = self
            .client
            .url(&["v2", "volumes", "snapshots", snapshot_id], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "volume snapshot delete")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_requests_are_checked() {
        let mut ok = CreateVolume::new("pg-data-1", 100, "nyc1");
        ok.filesystem_type = Some(FilesystemType::Xfs);
        ok.filesystem_label = Some("x".repeat(12));
        ok.validate().unwrap();
        for bad in ["", "1data", "Data", "pg_data", "pg data", &"a".repeat(65)] {
            assert!(
                CreateVolume::new(bad, 1, "nyc1").validate().is_err(),
                "{bad}"
            );
        }
        assert!(CreateVolume::new("a", 0, "nyc1").validate().is_err());
        assert!(CreateVolume::new("a", 16_385, "nyc1").validate().is_err());
        CreateVolume::new("a", 16_384, "nyc1").validate().unwrap();
        let mut long = ok.clone();
        long.filesystem_label = Some("x".repeat(13));
        assert!(long.validate().is_err());
        long.filesystem_type = Some(FilesystemType::Ext4);
        long.validate().unwrap();
        let mut no_fs = ok;
        no_fs.filesystem_type = None;
        assert!(no_fs.validate().is_err(), "label without filesystem");
    }
}
