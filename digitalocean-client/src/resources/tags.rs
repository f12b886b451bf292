use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// A tag and how many resources carry it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Tag {
    /// Tag name (letters, digits, `_`, `-`, `:`); `None` when the server left it out (the
    /// spec does not require it).
    #[serde(default)]
    pub name: Option<String>,
    /// Tagged-resource counts.
    #[serde(default)]
    pub resources: Option<TagResources>,
}

/// Counts of the resources carrying a tag.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct TagResources {
    /// All tagged resources.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub count: u64,
    /// URI of the most recently tagged resource.
    #[serde(default)]
    pub last_tagged_uri: Option<String>,
    /// Tagged droplets.
    #[serde(default)]
    pub droplets: Option<TagResourceCount>,
    /// Tagged images.
    #[serde(default)]
    pub images: Option<TagResourceCount>,
    /// Tagged volumes.
    #[serde(default)]
    pub volumes: Option<TagResourceCount>,
    /// Tagged volume snapshots.
    #[serde(default)]
    pub volume_snapshots: Option<TagResourceCount>,
    /// Tagged databases.
    #[serde(default)]
    pub databases: Option<TagResourceCount>,
}

/// Count for one resource type.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct TagResourceCount {
    /// How many.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub count: u64,
    /// URI of the most recently tagged one.
    #[serde(default)]
    pub last_tagged_uri: Option<String>,
}

/// Kinds of resources that can be tagged through `/v2/tags/{tag}/resources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    /// A droplet.
    Droplet,
    /// An image.
    Image,
    /// A block-storage volume.
    Volume,
    /// A volume snapshot.
    VolumeSnapshot,
}

/// One resource to tag or untag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagResource {
    /// The resource id, as a string (droplet ids are written in decimal).
    pub resource_id: String,
    /// The resource kind.
    pub resource_type: ResourceType,
}

impl TagResource {
    /// A droplet, by id.
    pub fn droplet(id: u64) -> Self {
        Self {
            resource_id: id.to_string(),
            resource_type: ResourceType::Droplet,
        }
    }
}

#[derive(Serialize)]
struct ResourcesBody<'a> {
    resources: &'a [TagResource],
}

#[derive(Serialize)]
struct CreateTag<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
struct TagEnvelope {
    tag: Tag,
}

/// Handler for `/v2/tags`; see [`Client::tags`].
#[derive(Debug, Clone, Copy)]
pub struct Tags<'c> {
    client: &'c Client,
}

impl<'c> Tags<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/tags`, every page.
    pub fn list(&self) -> Pager<'c, Tag> {
        let url = self.client.url(&["v2", "tags"], &[]);
        Pager::new(self.client, "tags", "tag list", url)
    }

    /// `POST /v2/tags` (201). Creating an existing tag is not an error on DigitalOcean.
    pub async fn create(&self, name: &str) -> Result<Tag> {
        validate::tag_name(name)?;
        let url = self.client.url(&["v2", "tags"], &[])?;
        let env: TagEnvelope = self
            .client
            .send(Method::POST, url, Some(&CreateTag { name }), "tag create")
            .await?;
        Ok(env.tag)
    }

    /// `GET /v2/tags/{name}`.
    pub async fn get(&self, name: &str) -> Result<Tag> {
        validate::tag_name(name)?;
        let url = self.client.url(&["v2", "tags", name], &[])?;
        let env: TagEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "tag")
            .await?;
        Ok(env.tag)
    }

    /// `DELETE /v2/tags/{name}` (204). The tagged resources are not deleted.
    pub async fn delete(&self, name: &str) -> Result<()> {
        validate::tag_name(name)?;
        let url = self.client.url(&["v2", "tags", name], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "tag delete")
            .await
    }

    /// `POST /v2/tags/{name}/resources` (204): tag resources.
    pub async fn tag_resources(&self, name: &str, resources: &[TagResource]) -> Result<()> {
        let url = self.resources_url(name, resources)?;
        self.client
            .send_no_content(
                Method::POST,
                url,
                Some(&ResourcesBody { resources }),
                "tag resources",
            )
            .await
    }

    /// `DELETE /v2/tags/{name}/resources` (204): untag resources.
    pub async fn untag_resources(&self, name: &str, resources: &[TagResource]) -> Result<()> {
        let url = self.resources_url(name, resources)?;
        self.client
            .send_no_content(
                Method::DELETE,
                url,
                Some(&ResourcesBody { resources }),
                "untag resources",
            )
            .await
    }

    fn resources_url(&self, name: &str, resources: &[TagResource]) -> Result<url::Url> {
        validate::tag_name(name)?;
        if resources.is_empty() {
            return Err(Error::InvalidInput {
                field: "resources",
                reason: "at least one resource is required".to_owned(),
            });
        }
        for r in resources {
            validate::non_empty("resource_id", &r.resource_id)?;
        }
        self.client.url(&["v2", "tags", name, "resources"], &[])
    }
}
