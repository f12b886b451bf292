//! Cloud firewalls: `/v2/firewalls`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// A cloud firewall: rules, and the droplets (by id or by tag) it applies to.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Firewall {
    /// Firewall id (a UUID); `None` when the server left it out (the spec does not
    /// require it).
    #[serde(default)]
    pub id: Option<String>,
    /// Name: a letter or digit, then letters, digits, `.` and `-`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Whether the last change is applied; [`FirewallStatus::Unknown`] when left out.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status: FirewallStatus,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Droplets whose rules are still being updated (empty once every change is applied).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub pending_changes: Vec<PendingChange>,
    /// Droplets the firewall applies to, by id.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub droplet_ids: Vec<u64>,
    /// Tags whose droplets the firewall applies to.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tags: Vec<String>,
    /// Inbound rules: traffic allowed in.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub inbound_rules: Vec<InboundRule>,
    /// Outbound rules: traffic allowed out.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub outbound_rules: Vec<OutboundRule>,
}

/// The state of a [`Firewall`]'s last change.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FirewallStatus {
    /// Being applied.
    Waiting,
    /// Applied.
    Succeeded,
    /// Could not be applied.
    Failed,
    /// A status this crate does not know about, or none given.
    #[default]
    #[serde(other)]
    Unknown,
}

/// A droplet whose firewall rules are still being updated.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct PendingChange {
    /// The droplet.
    #[serde(default)]
    pub droplet_id: Option<u64>,
    /// Whether the droplet is leaving the firewall.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub removing: bool,
    /// Status text, e.g. `waiting`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status: String,
}

/// The traffic a rule is about.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (its `ports` is always `"0"`).
    Icmp,
    /// A protocol this crate does not know about (decoding only: refused when sent).
    #[serde(other)]
    Unknown,
}

/// Where traffic comes from (inbound) or goes to (outbound). At least one field must be
/// set in a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FirewallTarget {
    /// IPv4/IPv6 addresses and CIDR blocks (`0.0.0.0/0`, `::/0` for everyone).
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub addresses: Vec<String>,
    /// Droplets, by id.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub droplet_ids: Vec<u64>,
    /// Load balancers, by id.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub load_balancer_uids: Vec<String>,
    /// Kubernetes clusters, by id.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub kubernetes_ids: Vec<String>,
    /// Droplets carrying these tags.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
}

impl FirewallTarget {
    /// Addresses or CIDR blocks.
    pub fn addresses<I, S>(addresses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            addresses: addresses.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Everyone: `0.0.0.0/0` and `::/0`.
    pub fn anywhere() -> Self {
        Self::addresses(["0.0.0.0/0", "::/0"])
    }

    /// Droplets carrying these tags.
    pub fn tags<I, S>(tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tags: tags.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Droplets, by id.
    pub fn droplets(ids: impl IntoIterator<Item = u64>) -> Self {
        Self {
            droplet_ids: ids.into_iter().collect(),
            ..Self::default()
        }
    }

    fn validate(&self, field: &'static str) -> Result<()> {
        if self.addresses.is_empty()
            && self.droplet_ids.is_empty()
            && self.load_balancer_uids.is_empty()
            && self.kubernetes_ids.is_empty()
            && self.tags.is_empty()
        {
            return Err(Error::InvalidInput {
                field,
                reason: "a rule needs at least one address, droplet, load balancer, \
                         Kubernetes cluster or tag"
                    .to_owned(),
            });
        }
        for a in &self.addresses {
            validate::ip_or_cidr("addresses", a)?;
        }
        for id in &self.droplet_ids {
            validate::id("droplet_ids", *id)?;
        }
        for u in &self.load_balancer_uids {
            validate::non_empty("load_balancer_uids", u)?;
        }
        for k in &self.kubernetes_ids {
            validate::non_empty("kubernetes_ids", k)?;
        }
        self.tags.iter().try_for_each(|t| validate::tag_name(t))
    }
}

/// Traffic allowed in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InboundRule {
    /// `tcp`, `udp` or `icmp`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub protocol: Protocol,
    /// A port, a range `"8000-9000"`, or `"0"` for every port (always `"0"` for ICMP).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub ports: String,
    /// Where the traffic may come from.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub sources: FirewallTarget,
}

impl InboundRule {
    /// TCP on `ports` from `sources`.
    pub fn tcp(ports: impl Into<String>, sources: FirewallTarget) -> Self {
        Self {
            protocol: Protocol::Tcp,
            ports: ports.into(),
            sources,
        }
    }

    /// UDP on `ports` from `sources`.
    pub fn udp(ports: impl Into<String>, sources: FirewallTarget) -> Self {
        Self {
            protocol: Protocol::Udp,
            ports: ports.into(),
            sources,
        }
    }

    /// ICMP from `sources`.
    pub fn icmp(sources: FirewallTarget) -> Self {
        Self {
            protocol: Protocol::Icmp,
            ports: "0".to_owned(),
            sources,
        }
    }

    fn validate(&self) -> Result<()> {
        validate_rule(self.protocol, &self.ports)?;
        self.sources.validate("sources")
    }
}

/// Traffic allowed out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboundRule {
    /// `tcp`, `udp` or `icmp`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub protocol: Protocol,
    /// A port, a range `"8000-9000"`, or `"0"` for every port (always `"0"` for ICMP).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub ports: String,
    /// Where the traffic may go.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub destinations: FirewallTarget,
}

impl OutboundRule {
    /// TCP on `ports` to `destinations`.
    pub fn tcp(ports: impl Into<String>, destinations: FirewallTarget) -> Self {
        Self {
            protocol: Protocol::Tcp,
            ports: ports.into(),
            destinations,
        }
    }

    /// UDP on `ports` to `destinations`.
    pub fn udp(ports: impl Into<String>, destinations: FirewallTarget) -> Self {
        Self {
            protocol: Protocol::Udp,
            ports: ports.into(),
            destinations,
        }
    }

    /// ICMP to `destinations`.
    pub fn icmp(destinations: FirewallTarget) -> Self {
        Self {
            protocol: Protocol::Icmp,
            ports: "0".to_owned(),
            destinations,
        }
    }

    fn validate(&self) -> Result<()> {
        validate_rule(self.protocol, &self.ports)?;
        self.destinations.validate("destinations")
    }
}

fn validate_rule(protocol: Protocol, ports: &str) -> Result<()> {
    match protocol {
        Protocol::Tcp | Protocol::Udp => validate::ports("ports", ports),
        Protocol::Icmp if ports == "0" => Ok(()),
        Protocol::Icmp => Err(Error::InvalidInput {
            field: "ports",
            reason: format!("ICMP rules have no ports: use \"0\", not {ports:?}"),
        }),
        Protocol::Unknown => Err(Error::InvalidInput {
            field: "protocol",
            reason: "must be tcp, udp or icmp".to_owned(),
        }),
    }
}

/// Rules to add to or remove from a firewall (`POST`/`DELETE /v2/firewalls/{id}/rules`).
/// At least one rule in all.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FirewallRules {
    /// Inbound rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inbound_rules: Vec<InboundRule>,
    /// Outbound rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outbound_rules: Vec<OutboundRule>,
}

impl FirewallRules {
    fn validate(&self) -> Result<()> {
        validate_rules(&self.inbound_rules, &self.outbound_rules)
    }
}

fn validate_rules(inbound: &[InboundRule], outbound: &[OutboundRule]) -> Result<()> {
    if inbound.is_empty() && outbound.is_empty() {
        return Err(Error::InvalidInput {
            field: "rules",
            reason: "at least one inbound or outbound rule is required".to_owned(),
        });
    }
    inbound.iter().try_for_each(InboundRule::validate)?;
    outbound.iter().try_for_each(OutboundRule::validate)
}

/// The body of a create (`POST /v2/firewalls`) or a full update
/// (`PUT /v2/firewalls/{id}`, which replaces every field: send the whole firewall).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FirewallRequest {
    /// Name: a letter or digit, then letters, digits, `.` and `-` (at least 2 characters).
    pub name: String,
    /// Inbound rules.
    pub inbound_rules: Vec<InboundRule>,
    /// Outbound rules.
    pub outbound_rules: Vec<OutboundRule>,
    /// Droplets to apply the firewall to.
    pub droplet_ids: Vec<u64>,
    /// Tags whose droplets the firewall applies to (the tags must exist).
    pub tags: Vec<String>,
}

impl FirewallRequest {
    /// A firewall called `name` with no rules yet (add at least one before sending).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Add an inbound rule.
    pub fn inbound(mut self, rule: InboundRule) -> Self {
        self.inbound_rules.push(rule);
        self
    }

    /// Add an outbound rule.
    pub fn outbound(mut self, rule: OutboundRule) -> Self {
        self.outbound_rules.push(rule);
        self
    }

    fn validate(&self) -> Result<()> {
        validate::dotted_name("name", "firewall", &self.name)?;
        validate_rules(&self.inbound_rules, &self.outbound_rules)?;
        for id in &self.droplet_ids {
            validate::id("droplet_ids", *id)?;
        }
        self.tags.iter().try_for_each(|t| validate::tag_name(t))
    }
}

impl From<&Firewall> for FirewallRequest {
    /// The writable part of a firewall: edit it and send it back with
    /// [`Firewalls::update`].
    fn from(f: &Firewall) -> Self {
        Self {
            name: f.name.clone(),
            inbound_rules: f.inbound_rules.clone(),
            outbound_rules: f.outbound_rules.clone(),
            droplet_ids: f.droplet_ids.clone(),
            tags: f.tags.clone(),
        }
    }
}

#[derive(Serialize)]
struct DropletIds<'a> {
    droplet_ids: &'a [u64],
}

#[derive(Serialize)]
struct TagNames<'a> {
    tags: &'a [String],
}

#[derive(Deserialize)]
struct FirewallEnvelope {
    firewall: Firewall,
}

impl Client {
    /// Cloud firewalls: CRUD, their droplets, tags and rules.
    pub fn firewalls(&self) -> Firewalls<'_> {
        Firewalls { client: self }
    }
}

/// Handler for `/v2/firewalls`; see [`Client::firewalls`].
///
/// Every request is checked before it is sent: names, ports (`"22"`, `"8000-9000"`,
/// `"0"` for all; `"0"` for ICMP), addresses (IPs and CIDR blocks), tag names, ids, and
/// that a rule has a source or destination and a firewall at least one rule.
///
/// ```no_run
/// use digitalocean_client::{Client, FirewallRequest, FirewallTarget, InboundRule, OutboundRule};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let request = FirewallRequest::new("web")
///     .inbound(InboundRule::tcp("22", FirewallTarget::addresses(["203.0.113.0/24"])))
///     .inbound(InboundRule::tcp("443", FirewallTarget::anywhere()))
///     .outbound(OutboundRule::tcp("1-65535", FirewallTarget::anywhere()))
///     .outbound(OutboundRule::icmp(FirewallTarget::anywhere()));
/// let fw = client.firewalls().create(&request).await?;
/// let id = fw.id.as_deref().unwrap_or_default();
/// // Every droplet of a batch in one call.
/// client.firewalls().add_droplets(id, &[3164444, 3164445]).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Firewalls<'c> {
    client: &'c Client,
}

impl<'c> Firewalls<'c> {
    fn url(&self, id: &str, sub: Option<&str>) -> Result<url::Url> {
        validate::uuid("firewall_id", id)?;
        match sub {
            Some(sub) => self.client.url(&["v2", "firewalls", id, sub], &[]),
            None => self.client.url(&["v2", "firewalls", id], &[]),
        }
    }

    /// `GET /v2/firewalls`, every page.
    pub fn list(&self) -> Pager<'c, Firewall> {
        let url = self.client.url(&["v2", "firewalls"], &[]);
        Pager::new(self.client, "firewalls", "firewall list", url)
    }

    /// `GET /v2/firewalls/{id}`.
    pub async fn get(&self, id: &str) -> Result<Firewall> {
        let url = self.url(id, None)?;
        let env: FirewallEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "firewall")
            .await?;
        Ok(env.firewall)
    }

    /// `POST /v2/firewalls` (202): a new firewall with at least one rule.
    ///
    /// # Retries
    /// Not safe to repeat: a second create makes a second firewall (names need not be
    /// unique). Never retried after a 5xx or a timeout; after such an error
    /// ([`Error::is_ambiguous`]), look for the name in [`Firewalls::list`] first.
    pub async fn create(&self, req: &FirewallRequest) -> Result<Firewall> {
        req.validate()?;
        let url = self.client.url(&["v2", "firewalls"], &[])?;
        let env: FirewallEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "firewall create")
            .await?;
        Ok(env.firewall)
    }

    /// `PUT /v2/firewalls/{id}`: replace the firewall's name, rules, droplets and tags
    /// with `req` (start from `FirewallRequest::from(&firewall)` to change one thing).
    ///
    /// # Retries
    /// Safe to repeat (a replacement): retried after a 5xx or a timeout.
    pub async fn update(&self, id: &str, req: &FirewallRequest) -> Result<Firewall> {
        req.validate()?;
        let url = self.url(id, None)?;
        let env: FirewallEnvelope = self
            .client
            .send(Method::PUT, url, Some(req), "firewall update")
            .await?;
        Ok(env.firewall)
    }

    /// `DELETE /v2/firewalls/{id}` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout. Once the firewall is gone, a
    /// repeat answers 404 ([`Error::is_not_found`]).
    pub async fn delete(&self, id: &str) -> Result<()> {
        let url = self.url(id, None)?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "firewall delete")
            .await
    }

    /// `POST /v2/firewalls/{id}/droplets` (204): apply the firewall to these droplets
    /// (all of a batch in one call).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). Its outcome is a set membership,
    /// so repeating it after an ambiguous failure does not add anything twice; check with
    /// [`Firewalls::get`] if in doubt.
    pub async fn add_droplets(&self, id: &str, droplet_ids: &[u64]) -> Result<()> {
        validate::ids("droplet_ids", droplet_ids)?;
        let url = self.url(id, Some("droplets"))?;
        self.client
            .send_no_content(
                Method::POST,
                url,
                Some(&DropletIds { droplet_ids }),
                "firewall add droplets",
            )
            .await
    }

    /// `DELETE /v2/firewalls/{id}/droplets` (204): remove these droplets from the firewall.
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout.
    pub async fn remove_droplets(&self, id: &str, droplet_ids: &[u64]) -> Result<()> {
        validate::ids("droplet_ids", droplet_ids)?;
        let url = self.url(id, Some("droplets"))?;
        self.client
            .send_no_content(
                Method::DELETE,
                url,
                Some(&DropletIds { droplet_ids }),
                "firewall remove droplets",
            )
            .await
    }

    /// `POST /v2/firewalls/{id}/tags` (204): apply the firewall to the droplets carrying
    /// these (existing) tags.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). A set membership: repeating it
    /// adds nothing twice.
    pub async fn add_tags(&self, id: &str, tags: &[String]) -> Result<()> {
        validate::tag_names(tags)?;
        let url = self.url(id, Some("tags"))?;
        self.client
            .send_no_content(
                Method::POST,
                url,
                Some(&TagNames { tags }),
                "firewall add tags",
            )
            .await
    }

    /// `DELETE /v2/firewalls/{id}/tags` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout.
    pub async fn remove_tags(&self, id: &str, tags: &[String]) -> Result<()> {
        validate::tag_names(tags)?;
        let url = self.url(id, Some("tags"))?;
        self.client
            .send_no_content(
                Method::DELETE,
                url,
                Some(&TagNames { tags }),
                "firewall remove tags",
            )
            .await
    }

    /// `POST /v2/firewalls/{id}/rules` (204): add rules.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). After an ambiguous failure,
    /// compare with [`Firewalls::get`] before adding the rules again.
    pub async fn add_rules(&self, id: &str, rules: &FirewallRules) -> Result<()> {
        rules.validate()?;
        let url = self.url(id, Some("rules"))?;
        self.client
            .send_no_content(Method::POST, url, Some(rules), "firewall add rules")
            .await
    }

    /// `DELETE /v2/firewalls/{id}/rules` (204): remove rules (matched by their content).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout.
    pub async fn remove_rules(&self, id: &str, rules: &FirewallRules) -> Result<()> {
        rules.validate()?;
        let url = self.url(id, Some("rules"))?;
        self.client
            .send_no_content(Method::DELETE, url, Some(rules), "firewall remove rules")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked() {
        let ok = FirewallRequest::new("web")
            .inbound(InboundRule::tcp("22", FirewallTarget::anywhere()))
            .outbound(OutboundRule::icmp(FirewallTarget::tags(["web"])));
        ok.validate().unwrap();
        assert!(FirewallRequest::new("web").validate().is_err(), "no rules");
        let mut bad_name = ok;
        bad_name.name = "web_1".into();
        assert!(bad_name.validate().is_err());
        let no_source =
            FirewallRequest::new("web").inbound(InboundRule::tcp("22", FirewallTarget::default()));
        assert!(no_source.validate().is_err());
        let bad_port = FirewallRequest::new("web")
            .inbound(InboundRule::tcp("70000", FirewallTarget::anywhere()));
        assert!(bad_port.validate().is_err());
        let mut icmp = InboundRule::icmp(FirewallTarget::anywhere());
        icmp.ports = "22".into();
        assert!(
            FirewallRequest::new("web")
                .inbound(icmp)
                .validate()
                .is_err()
        );
        let bad_addr = FirewallRequest::new("web").inbound(InboundRule::udp(
            "53",
            FirewallTarget::addresses(["10.0.0.0/40"]),
        ));
        assert!(bad_addr.validate().is_err());
        let unknown = FirewallRequest::new("web").inbound(InboundRule {
            protocol: Protocol::Unknown,
            ports: "1".into(),
            sources: FirewallTarget::anywhere(),
        });
        assert!(unknown.validate().is_err());
        assert!(FirewallRules::default().validate().is_err());
    }

    #[test]
    fn a_request_serialises_every_field_and_targets_only_what_is_set() {
        let req = FirewallRequest::new("web").inbound(InboundRule::tcp(
            "22",
            FirewallTarget::addresses(["1.2.3.4"]),
        ));
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({
                "name": "web",
                "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["1.2.3.4"]}}],
                "outbound_rules": [], "droplet_ids": [], "tags": []
            })
        );
    }
}
