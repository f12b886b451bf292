//! Reserved IPs (formerly floating IPs): `/v2/reserved_ips`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::actions::{Action, ActionLink, WaitOptions};
use super::catalog::Region;
use super::droplets::Droplet;
use crate::client::Client;
use crate::error::Result;
use crate::pagination::Pager;
use crate::validate;

/// A reserved IPv4 address: kept by the account, assigned to at most one droplet.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ReservedIp {
    /// The address; `None` when the server left it out (the spec does not require it).
    #[serde(default)]
    pub ip: Option<String>,
    /// The region it lives in (it can only go to droplets there).
    #[serde(default)]
    pub region: Option<Region>,
    /// The droplet it is assigned to; `None` when unassigned.
    #[serde(default, deserialize_with = "super::empty_object_as_none")]
    pub droplet: Option<Droplet>,
    /// Whether it is locked against actions (an assignment is in progress).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub locked: bool,
    /// The project it belongs to.
    #[serde(default)]
    pub project_id: Option<String>,
}

/// `POST /v2/reserved_ips`: either for a droplet (assigned at once, in its region) or
/// kept unassigned in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CreateReservedIp {
    /// Reserve an address and assign it to this droplet.
    ForDroplet {
        /// The droplet.
        droplet_id: u64,
    },
    /// Reserve an address in a region, unassigned.
    InRegion {
        /// Region slug, e.g. `nyc3`.
        region: String,
        /// The project to put it in (a UUID); `None`: the default project.
        #[serde(skip_serializing_if = "Option::is_none")]
        project_id: Option<String>,
    },
}

impl CreateReservedIp {
    /// For a droplet.
    pub fn for_droplet(droplet_id: u64) -> Self {
        Self::ForDroplet { droplet_id }
    }

    /// In a region, in the default project.
    pub fn in_region(region: impl Into<String>) -> Self {
        Self::InRegion {
            region: region.into(),
            project_id: None,
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Self::ForDroplet { droplet_id } => validate::id("droplet_id", *droplet_id),
            Self::InRegion { region, project_id } => {
                validate::non_empty("region", region)?;
                match project_id {
                    Some(p) => validate::uuid("project_id", p),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The answer to a create: the reserved IP, and for a droplet the assign action.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CreatedReservedIp {
    /// The new reserved IP.
    pub reserved_ip: ReservedIp,
    /// Links to the assign action when created for a droplet (wait on it with
    /// [`crate::Actions::wait_for_href`]); empty otherwise.
    #[serde(
        default,
        rename = "links",
        deserialize_with = "super::droplets::action_links"
    )]
    pub actions: Vec<ActionLink>,
}

#[derive(Serialize)]
struct ActionRequest {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    droplet_id: Option<u64>,
}

#[derive(Deserialize)]
struct ReservedIpEnvelope {
    reserved_ip: ReservedIp,
}

#[derive(Deserialize)]
struct ActionEnvelope {
    action: Action,
}

impl Client {
    /// Reserved IPs: create, get, list, delete, assign and unassign.
    pub fn reserved_ips(&self) -> ReservedIps<'_> {
        ReservedIps { client: self }
    }
}

/// Handler for `/v2/reserved_ips`; see [`Client::reserved_ips`].
///
/// Addresses are checked to be IPv4 before sending (the spec's `format: ipv4`).
///
/// ```no_run
/// use std::time::Duration;
/// use digitalocean_client::{Client, CreateReservedIp, WaitOptions};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let ips = client.reserved_ips();
/// let created = ips.create(&CreateReservedIp::in_region("nyc3")).await?;
/// let ip = created.reserved_ip.ip.unwrap_or_default();
/// let action = ips.assign(&ip, 3164444).await?;
/// let opts = WaitOptions::new(Duration::from_secs(120), Duration::from_secs(3));
/// ips.wait(&action, opts).await?; // fails on `errored` or at the deadline
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReservedIps<'c> {
    client: &'c Client,
}

impl<'c> ReservedIps<'c> {
    /// `GET /v2/reserved_ips`, every page.
    pub fn list(&self) -> Pager<'c, ReservedIp> {
        let url = self.client.url(&["v2", "reserved_ips"], &[]);
        Pager::new(self.client, "reserved_ips", "reserved ip list", url)
    }

    /// `GET /v2/reserved_ips/{ip}`.
    pub async fn get(&self, ip: &str) -> Result<ReservedIp> {
        validate::ipv4("reserved_ip", ip)?;
        let url = self.client.url(&["v2", "reserved_ips", ip], &[])?;
        let env: ReservedIpEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "reserved ip")
            .await?;
        Ok(env.reserved_ip)
    }

    /// `POST /v2/reserved_ips` (202).
    ///
    /// # Retries
    /// Not safe to repeat: a second create reserves (and bills) a second address. Never
    /// retried after a 5xx or a timeout; after such an error ([`crate::Error::is_ambiguous`]),
    /// look in [`ReservedIps::list`] for an address assigned to the droplet (or a new
    /// unassigned one in the region) before creating again.
    pub async fn create(&self, req: &CreateReservedIp) -> Result<CreatedReservedIp> {
        req.validate()?;
        let url = self.client.url(&["v2", "reserved_ips"], &[])?;
        self.client
            .send(Method::POST, url, Some(req), "reserved ip create")
            .await
    }

    /// `DELETE /v2/reserved_ips/{ip}` (204): release the address.
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout. Once released, a repeat answers
    /// 404 ([`crate::Error::is_not_found`]).
    pub async fn delete(&self, ip: &str) -> Result<()> {
        validate::ipv4("reserved_ip", ip)?;
        let url = self.client.url(&["v2", "reserved_ips", ip], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "reserved ip delete")
            .await
    }

    async fn action(&self, ip: &str, req: &ActionRequest) -> Result<Action> {
        validate::ipv4("reserved_ip", ip)?;
        let url = self
            .client
            .url(&["v2", "reserved_ips", ip, "actions"], &[])?;
        let env: ActionEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "reserved ip action")
            .await?;
        Ok(env.action)
    }

    /// `POST /v2/reserved_ips/{ip}/actions` `{"type": "assign"}` (201): assign the address
    /// to a droplet (moving it from another one if needed). Wait with
    /// [`ReservedIps::wait`].
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). After such an error
    /// ([`crate::Error::is_ambiguous`]), [`ReservedIps::get`] shows whether the address
    /// went to the droplet before assigning again.
    pub async fn assign(&self, ip: &str, droplet_id: u64) -> Result<Action> {
        validate::id("droplet_id", droplet_id)?;
        let req = ActionRequest {
            kind: "assign",
            droplet_id: Some(droplet_id),
        };
        self.action(ip, &req).await
    }

    /// `POST /v2/reserved_ips/{ip}/actions` `{"type": "unassign"}` (201): take the address
    /// off its droplet (it stays reserved).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`); [`ReservedIps::get`] shows
    /// whether it took effect.
    pub async fn unassign(&self, ip: &str) -> Result<Action> {
        let req = ActionRequest {
            kind: "unassign",
            droplet_id: None,
        };
        self.action(ip, &req).await
    }

    /// `GET /v2/reserved_ips/{ip}/actions/{action_id}`.
    pub async fn get_action(&self, ip: &str, action_id: u64) -> Result<Action> {
        validate::ipv4("reserved_ip", ip)?;
        validate::id("action_id", action_id)?;
        let url = self.client.url(
            &["v2", "reserved_ips", ip, "actions", &action_id.to_string()],
            &[],
        )?;
        let env: ActionEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "reserved ip action")
            .await?;
        Ok(env.action)
    }

    /// Wait until an assign or unassign action completes, polling with a deadline (see
    /// [`crate::Actions::wait_for`]).
    pub async fn wait(&self, action: &Action, opts: WaitOptions) -> Result<Action> {
        self.client.actions().wait_for(action, opts).await
    }
}
