//! VPCs (private networks): `/v2/vpcs`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Result;
use crate::pagination::Pager;
use crate::validate;

/// Longest VPC description the spec allows.
pub const MAX_VPC_DESCRIPTION_LEN: usize = 255;

/// A VPC: a private network in one region.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Vpc {
    /// VPC id (a UUID); `None` when the server left it out (the spec does not require it).
    #[serde(default)]
    pub id: Option<String>,
    /// Its URN (`do:vpc:<id>`), used to assign it to a project.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub urn: String,
    /// Name: letters, digits, `-` and `.`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Free-form description (at most 255 characters).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub description: String,
    /// Region slug, e.g. `nyc1`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub region: String,
    /// Its address range in CIDR notation, e.g. `10.10.10.0/24`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub ip_range: String,
    /// Whether it is the region's default VPC (new droplets go there unless told otherwise).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub default: bool,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A resource in a VPC.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct VpcMember {
    /// Its name.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Its URN, e.g. `do:droplet:13457723`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub urn: String,
    /// When it joined the VPC.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `POST /v2/vpcs` body.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CreateVpc {
    /// Name: letters, digits, `-` and `.`; unique.
    pub name: String,
    /// Region slug, e.g. `nyc1`.
    pub region: String,
    /// Description, at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Address range in CIDR notation; `None`: DigitalOcean picks one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
}

impl CreateVpc {
    /// A VPC called `name` in `region`, range chosen by DigitalOcean.
    pub fn new(name: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            region: region.into(),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        validate::plain_name("name", "vpc", &self.name)?;
        validate::non_empty("region", &self.region)?;
        if let Some(d) = &self.description {
            validate::max_len("description", d, MAX_VPC_DESCRIPTION_LEN)?;
        }
        if let Some(r) = &self.ip_range {
            validate::cidr("ip_range", r)?;
        }
        Ok(())
    }
}

/// `PUT /v2/vpcs/{id}` body: the name (required), description and default flag.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct UpdateVpc {
    /// Name: letters, digits, `-` and `.`.
    pub name: String,
    /// Description, at most 255 characters (`None`: not sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Make it the region's default VPC (`None`: not sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

impl UpdateVpc {
    fn validate(&self) -> Result<()> {
        validate::plain_name("name", "vpc", &self.name)?;
        if let Some(d) = &self.description {
            validate::max_len("description", d, MAX_VPC_DESCRIPTION_LEN)?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct VpcEnvelope {
    vpc: Vpc,
}

impl Client {
    /// VPCs: create, get, list, update, delete, and their members.
    pub fn vpcs(&self) -> Vpcs<'_> {
        Vpcs { client: self }
    }
}

/// Handler for `/v2/vpcs`; see [`Client::vpcs`].
///
/// Names, descriptions (≤ 255), address ranges (CIDR) and ids (UUIDs) are checked before
/// sending.
///
/// ```no_run
/// use digitalocean_client::{Client, CreateVpc};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let mut req = CreateVpc::new("env-prod", "nyc1");
/// req.ip_range = Some("10.10.10.0/24".into());
/// let vpc = client.vpcs().create(&req).await?;
/// let id = vpc.id.unwrap_or_default();
/// for m in client.vpcs().list_members_of_type(&id, "droplet").collect_all().await? {
///     println!("{} {}", m.urn, m.name);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Vpcs<'c> {
    client: &'c Client,
}

impl<'c> Vpcs<'c> {
    fn url(&self, id: &str) -> Result<url::Url> {
        validate::uuid("vpc_id", id)?;
        self.client.url(&["v2", "vpcs", id], &[])
    }

    /// `GET /v2/vpcs`, every page.
    pub fn list(&self) -> Pager<'c, Vpc> {
        let url = self.client.url(&["v2", "vpcs"], &[]);
        Pager::new(self.client, "vpcs", "vpc list", url)
    }

    /// `GET /v2/vpcs/{id}`.
    pub async fn get(&self, id: &str) -> Result<Vpc> {
        let url = self.url(id)?;
        let env: VpcEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "vpc")
            .await?;
        Ok(env.vpc)
    }

    /// `POST /v2/vpcs` (201).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). VPC names must be unique, so a
    /// repeat after an ambiguous failure ([`crate::Error::is_ambiguous`]) is refused rather
    /// than doubled: look the name up in [`Vpcs::list`] first and adopt it.
    pub async fn create(&self, req: &CreateVpc) -> Result<Vpc> {
        req.validate()?;
        let url = self.client.url(&["v2", "vpcs"], &[])?;
        let env: VpcEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "vpc create")
            .await?;
        Ok(env.vpc)
    }

    /// `PUT /v2/vpcs/{id}`: set the name, and the description and default flag if given.
    ///
    /// # Retries
    /// Safe to repeat (a replacement): retried after a 5xx or a timeout.
    pub async fn update(&self, id: &str, req: &UpdateVpc) -> Result<Vpc> {
        req.validate()?;
        let url = self.url(id)?;
        let env: VpcEnvelope = self
            .client
            .send(Method::PUT, url, Some(req), "vpc update")
            .await?;
        Ok(env.vpc)
    }

    /// `DELETE /v2/vpcs/{id}` (204). DigitalOcean refuses while the VPC has members or is
    /// a default VPC.
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let url = self.url(id)?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "vpc delete")
            .await
    }

    /// `GET /v2/vpcs/{id}/members`, every page.
    pub fn list_members(&self, id: &str) -> Pager<'c, VpcMember> {
        self.members(id, None)
    }

    /// `GET /v2/vpcs/{id}/members?resource_type=…` (`droplet`, `load_balancer`, …).
    pub fn list_members_of_type(&self, id: &str, resource_type: &str) -> Pager<'c, VpcMember> {
        self.members(id, Some(resource_type))
    }

    fn members(&self, id: &str, resource_type: Option<&str>) -> Pager<'c, VpcMember> {
        let url = (|| {
            validate::uuid("vpc_id", id)?;
            let mut query = Vec::new();
            if let Some(t) = resource_type {
                validate::non_empty("resource_type", t)?;
                query.push(("resource_type", t));
            }
            self.client.url(&["v2", "vpcs", id, "members"], &query)
        })();
        Pager::new(self.client, "members", "vpc member list", url)
    }
}
