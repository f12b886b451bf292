//! Load balancers: `/v2/load_balancers`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::catalog::Region;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// A load balancer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct LoadBalancer {
    /// Load balancer id (a UUID); `None` when the server left it out (the spec does not
    /// require it).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Public IPv4 address (empty while it is being created).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub ip: String,
    /// Public IPv6 address, if any.
    #[serde(default)]
    pub ipv6: Option<String>,
    /// Lifecycle status.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status: LoadBalancerStatus,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Its region.
    #[serde(default)]
    pub region: Option<Region>,
    /// Nodes (1–100): its size.
    #[serde(default)]
    pub size_unit: Option<u32>,
    /// Legacy size slug (`lb-small`…), if any.
    #[serde(default)]
    pub size: Option<String>,
    /// `round_robin` or `least_connections` (deprecated by DigitalOcean), if given.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Traffic routing: at least one rule.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub forwarding_rules: Vec<ForwardingRule>,
    /// How backends are checked.
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    /// Session affinity.
    #[serde(default)]
    pub sticky_sessions: Option<StickySessions>,
    /// Whether HTTP is redirected to HTTPS.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub redirect_http_to_https: bool,
    /// Whether the PROXY protocol is used towards the backends.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub enable_proxy_protocol: bool,
    /// Whether connections to the backends are kept alive.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub enable_backend_keepalive: bool,
    /// HTTP idle timeout (30–600 s).
    #[serde(default)]
    pub http_idle_timeout_seconds: Option<u32>,
    /// VPC it lives in.
    #[serde(default)]
    pub vpc_uuid: Option<String>,
    /// Project it belongs to.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Allow and deny rules for incoming traffic.
    #[serde(default)]
    pub firewall: Option<LoadBalancerFirewall>,
    /// Backend droplets, by id (empty when they are chosen by tag).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub droplet_ids: Vec<u64>,
    /// Backend droplets, by tag (empty when they are listed by id).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tag: String,
}

/// The lifecycle status of a [`LoadBalancer`].
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LoadBalancerStatus {
    /// Being created.
    New,
    /// Serving.
    Active,
    /// Failed.
    Errored,
    /// A status this crate does not know about, or none given.
    #[default]
    #[serde(other)]
    Unknown,
}

/// A protocol of a forwarding rule or health check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LbProtocol {
    /// HTTP.
    #[default]
    Http,
    /// HTTPS (TLS terminated at the load balancer unless `tls_passthrough`).
    Https,
    /// HTTP/2.
    Http2,
    /// HTTP/3 (entry side only).
    Http3,
    /// Plain TCP.
    Tcp,
    /// UDP.
    Udp,
    /// A protocol this crate does not know about (decoding only: refused when sent).
    #[serde(other)]
    Unknown,
}

/// How traffic entering on one port goes to the backends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardingRule {
    /// Protocol clients use.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub entry_protocol: LbProtocol,
    /// Port clients use.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub entry_port: u32,
    /// Protocol towards the backends (not HTTP/3).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub target_protocol: LbProtocol,
    /// Port on the backends.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub target_port: u32,
    /// Certificate for HTTPS entry (its id, from `/v2/certificates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Pass TLS through to the backends instead of terminating it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_passthrough: Option<bool>,
}

impl ForwardingRule {
    /// `entry_protocol`:`entry_port` → `target_protocol`:`target_port`.
    pub fn new(
        entry_protocol: LbProtocol,
        entry_port: u32,
        target_protocol: LbProtocol,
        target_port: u32,
    ) -> Self {
        Self {
            entry_protocol,
            entry_port,
            target_protocol,
            target_port,
            certificate_id: None,
            tls_passthrough: None,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.entry_protocol == LbProtocol::Unknown {
            return Err(invalid("entry_protocol", "unknown protocol"));
        }
        if matches!(
            self.target_protocol,
            LbProtocol::Unknown | LbProtocol::Http3
        ) {
            return Err(invalid(
                "target_protocol",
                "must be http, https, http2, tcp or udp",
            ));
        }
        port("entry_port", self.entry_port)?;
        port("target_port", self.target_port)?;
        if let Some(c) = &self.certificate_id {
            validate::non_empty("certificate_id", c)?;
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::InvalidInput {
        field,
        reason: reason.to_owned(),
    }
}

fn port(field: &'static str, p: u32) -> Result<()> {
    if p == 0 || p > 65_535 {
        return Err(invalid(field, "ports are 1 to 65535"));
    }
    Ok(())
}

/// How a load balancer checks its backends. Unset fields take DigitalOcean's defaults
/// (HTTP on port 80, path `/`, every 10 s, 5 s timeout, 5 failures / 3 successes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `http`, `https` or `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<LbProtocol>,
    /// Backend port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Path for HTTP(S) checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval_seconds: Option<u32>,
    /// Seconds to wait for an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_timeout_seconds: Option<u32>,
    /// Failures before a backend is taken out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
    /// Successes before a backend is put back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
}

impl HealthCheck {
    fn validate(&self) -> Result<()> {
        if let Some(p) = self.protocol
            && !matches!(p, LbProtocol::Http | LbProtocol::Https | LbProtocol::Tcp)
        {
            return Err(invalid(
                "health_check.protocol",
                "must be http, https or tcp",
            ));
        }
        if let Some(p) = self.port {
            port("health_check.port", p)?;
        }
        Ok(())
    }
}

/// Session affinity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickySessions {
    /// `cookies` or `none`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Cookie name (with `cookies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    /// Cookie lifetime (with `cookies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_ttl_seconds: Option<u32>,
}

/// Allow and deny rules for traffic to a load balancer: `ip:1.2.3.4` or
/// `cidr:1.2.0.0/16`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerFirewall {
    /// Denied sources.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub deny: Vec<String>,
    /// Allowed sources.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub allow: Vec<String>,
}

impl LoadBalancerFirewall {
    fn validate(&self) -> Result<()> {
        for rule in self.deny.iter().chain(&self.allow) {
            let ok = match rule.split_once(':') {
                Some(("ip", ip)) => {
                    validate::ip_or_cidr("firewall", ip).is_ok() && !ip.contains('/')
                }
                Some(("cidr", cidr)) => validate::cidr("firewall", cidr).is_ok(),
                _ => false,
            };
            if !ok {
                return Err(Error::InvalidInput {
                    field: "firewall",
                    reason: format!("{rule:?} is not `ip:<address>` or `cidr:<block>`"),
                });
            }
        }
        Ok(())
    }
}

/// The backends of a load balancer: listed droplets, or every droplet with a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LoadBalancerTargets {
    /// These droplets.
    Droplets {
        /// Droplet ids.
        droplet_ids: Vec<u64>,
    },
    /// Every droplet carrying this tag.
    Tag {
        /// The tag.
        tag: String,
    },
}

/// The body of a create (`POST /v2/load_balancers`) or a full update
/// (`PUT /v2/load_balancers/{id}`, which replaces the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerRequest {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Region slug, e.g. `nyc1`.
    pub region: String,
    /// The backends.
    #[serde(flatten)]
    pub targets: LoadBalancerTargets,
    /// At least one rule.
    pub forwarding_rules: Vec<ForwardingRule>,
    /// Nodes, 1 to 100 (`None`: 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_unit: Option<u32>,
    /// Health checks (`None`: DigitalOcean's defaults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Session affinity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky_sessions: Option<StickySessions>,
    /// Redirect HTTP to HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_http_to_https: Option<bool>,
    /// Use the PROXY protocol towards the backends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_proxy_protocol: Option<bool>,
    /// Keep connections to the backends alive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_backend_keepalive: Option<bool>,
    /// HTTP idle timeout, 30 to 600 s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_idle_timeout_seconds: Option<u32>,
    /// VPC (a UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<String>,
    /// Project (a UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Allow and deny rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<LoadBalancerFirewall>,
}

impl LoadBalancerRequest {
    /// A load balancer in `region` in front of `targets`, with one rule.
    pub fn new(
        region: impl Into<String>,
        targets: LoadBalancerTargets,
        rule: ForwardingRule,
    ) -> Self {
        Self {
            name: None,
            region: region.into(),
            targets,
            forwarding_rules: vec![rule],
            size_unit: None,
            health_check: None,
            sticky_sessions: None,
            redirect_http_to_https: None,
            enable_proxy_protocol: None,
            enable_backend_keepalive: None,
            http_idle_timeout_seconds: None,
            vpc_uuid: None,
            project_id: None,
            firewall: None,
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(n) = &self.name {
            validate::non_empty("name", n)?;
        }
        validate::non_empty("region", &self.region)?;
        match &self.targets {
            LoadBalancerTargets::Droplets { droplet_ids } => droplet_ids
                .iter()
                .try_for_each(|id| validate::id("droplet_ids", *id))?,
            LoadBalancerTargets::Tag { tag } => validate::tag_name(tag)?,
        }
        rules(&self.forwarding_rules)?;
        if let Some(n) = self.size_unit
            && !(1..=100).contains(&n)
        {
            return Err(invalid("size_unit", "must be 1 to 100"));
        }
        if let Some(t) = self.http_idle_timeout_seconds
            && !(30..=600).contains(&t)
        {
            return Err(invalid("http_idle_timeout_seconds", "must be 30 to 600"));
        }
        if let Some(h) = &self.health_check {
            h.validate()?;
        }
        if let Some(v) = &self.vpc_uuid {
            validate::uuid("vpc_uuid", v)?;
        }
        if let Some(p) = &self.project_id {
            validate::uuid("project_id", p)?;
        }
        match &self.firewall {
            Some(f) => f.validate(),
            None => Ok(()),
        }
    }
}

fn rules(rules: &[ForwardingRule]) -> Result<()> {
    if rules.is_empty() {
        return Err(invalid(
            "forwarding_rules",
            "at least one forwarding rule is required",
        ));
    }
    rules.iter().try_for_each(ForwardingRule::validate)
}

#[derive(Serialize)]
struct DropletIds<'a> {
    droplet_ids: &'a [u64],
}

#[derive(Serialize)]
struct Rules<'a> {
    forwarding_rules: &'a [ForwardingRule],
}

#[derive(Deserialize)]
struct LoadBalancerEnvelope {
    load_balancer: LoadBalancer,
}

impl Client {
    /// Load balancers: CRUD, their droplets and forwarding rules.
    pub fn load_balancers(&self) -> LoadBalancers<'_> {
        LoadBalancers { client: self }
    }
}

/// Handler for `/v2/load_balancers`; see [`Client::load_balancers`].
///
/// Forwarding rules (protocols, ports), sizes (1–100 nodes), the idle timeout (30–600 s),
/// health-check protocols, firewall rules (`ip:…`/`cidr:…`), tags, ids and UUIDs are
/// checked before sending.
///
/// ```no_run
/// use digitalocean_client::{
///     Client, ForwardingRule, LbProtocol, LoadBalancerRequest, LoadBalancerTargets,
/// };
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let targets = LoadBalancerTargets::Tag { tag: "web".into() };
/// let rule = ForwardingRule::new(LbProtocol::Http, 80, LbProtocol::Http, 8080);
/// let mut req = LoadBalancerRequest::new("nyc1", targets, rule);
/// req.name = Some("web-lb".into());
/// let lb = client.load_balancers().create(&req).await?;
/// println!("{:?} {}", lb.status, lb.ip);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LoadBalancers<'c> {
    client: &'c Client,
}

impl<'c> LoadBalancers<'c> {
    fn url(&self, id: &str, sub: Option<&str>) -> Result<url::Url> {
        match sub {
            Some(sub) => self.client.url(&["v2", "load_balancers", id, sub], &[]),
            None => self.client.url(&["v2", "load_balancers", id], &[]),
        }
    }

    /// `GET /v2/load_balancers`, every page.
    pub fn list(&self) -> Pager<'c, LoadBalancer> {
        let url = self.client.url(&["v2", "load_balancers"], &[]);
        Pager::new(self.client, "load_balancers", "load balancer list", url)
    }

    /// `GET /v2/load_balancers/{id}`.
    pub async fn get(&self, id: &str) -> Result<LoadBalancer> {
        let url = self.url(id, None)?;
        let env: LoadBalancerEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "load balancer")
            .await?;
        Ok(env.load_balancer)
    }

    /// `POST /v2/load_balancers` (202): the load balancer starts `new`.
    ///
    /// # Retries
    /// Not safe to repeat: a second create makes (and bills) a second load balancer. Never
    /// retried after a 5xx or a timeout; after such an error ([`Error::is_ambiguous`]),
    /// look for the name in [`LoadBalancers::list`] first.
    pub async fn create(&self, req: &LoadBalancerRequest) -> Result<LoadBalancer> {
        req.validate()?;
        let url = self.client.url(&["v2", "load_balancers"], &[])?;
        let env: LoadBalancerEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "load balancer create")
            .await?;
        Ok(env.load_balancer)
    }

    /// `PUT /v2/load_balancers/{id}`: replace the configuration with `req`.
    ///
    /// # Retries
    /// Safe to repeat (a replacement): retried after a 5xx or a timeout.
    pub async fn update(&self, id: &str, req: &LoadBalancerRequest) -> Result<LoadBalancer> {
        req.validate()?;
        let url = self.url(id, None)?;
        let env: LoadBalancerEnvelope = self
            .client
            .send(Method::PUT, url, Some(req), "load balancer update")
            .await?;
        Ok(env.load_balancer)
    }

    /// `DELETE /v2/load_balancers/{id}` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let url = self.url(id, None)?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "load balancer delete")
            .await
    }

    /// `POST /v2/load_balancers/{id}/droplets` (204): add backends (for a load balancer
    /// whose backends are listed by id, not by tag).
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). A set membership: repeating it
    /// adds nothing twice; [`LoadBalancers::get`] shows `droplet_ids`.
    pub async fn add_droplets(&self, id: &str, droplet_ids: &[u64]) -> Result<()> {
        validate::ids("droplet_ids", droplet_ids)?;
        let url = self.url(id, Some("droplets"))?;
        self.client
            .send_no_content(
                Method::POST,
                url,
                Some(&DropletIds { droplet_ids }),
                "load balancer add droplets",
            )
            .await
    }

    /// `DELETE /v2/load_balancers/{id}/droplets` (204).
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
                "load balancer remove droplets",
            )
            .await
    }

    /// `POST /v2/load_balancers/{id}/forwarding_rules` (204): add rules.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`); after an ambiguous failure,
    /// compare with [`LoadBalancers::get`] before adding again.
    pub async fn add_forwarding_rules(
        &self,
        id: &str,
        forwarding_rules: &[ForwardingRule],
    ) -> Result<()> {
        rules(forwarding_rules)?;
        let url = self.url(id, Some("forwarding_rules"))?;
        self.client
            .send_no_content(
                Method::POST,
                url,
                Some(&Rules { forwarding_rules }),
                "load balancer add forwarding rules",
            )
            .await
    }

    /// `DELETE /v2/load_balancers/{id}/forwarding_rules` (204): remove rules (matched by
    /// their content).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout.
    pub async fn remove_forwarding_rules(
        &self,
        id: &str,
        forwarding_rules: &[ForwardingRule],
    ) -> Result<()> {
        rules(forwarding_rules)?;
        let url = self.url(id, Some("forwarding_rules"))?;
        self.client
            .send_no_content(
                Method::DELETE,
                url,
                Some(&Rules { forwarding_rules }),
                "load balancer remove forwarding rules",
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> LoadBalancerRequest {
        LoadBalancerRequest::new(
            "nyc1",
            LoadBalancerTargets::Droplets {
                droplet_ids: vec![1, 2],
            },
            ForwardingRule::new(LbProtocol::Http, 80, LbProtocol::Http, 80),
        )
    }

    #[test]
    fn requests_are_checked() {
        req().validate().unwrap();
        let mut r = req();
        r.forwarding_rules.clear();
        assert!(r.validate().is_err());
        let mut r = req();
        r.forwarding_rules[0].target_protocol = LbProtocol::Http3;
        assert!(r.validate().is_err());
        let mut r = req();
        r.forwarding_rules[0].entry_port = 0;
        assert!(r.validate().is_err());
        r.forwarding_rules[0].entry_port = 65_536;
        assert!(r.validate().is_err());
        let mut r = req();
        r.size_unit = Some(101);
        assert!(r.validate().is_err());
        let mut r = req();
        r.http_idle_timeout_seconds = Some(29);
        assert!(r.validate().is_err());
        let mut r = req();
        r.firewall = Some(LoadBalancerFirewall {
            deny: vec!["ip:1.2.3.4".into(), "cidr:1.2.0.0/16".into()],
            allow: vec![],
        });
        r.validate().unwrap();
        for bad in ["1.2.3.4", "ip:1.2.3.4/32", "cidr:1.2.3.4", "host:x"] {
            r.firewall = Some(LoadBalancerFirewall {
                deny: vec![bad.into()],
                allow: vec![],
            });
            assert!(r.validate().is_err(), "{bad}");
        }
        let mut r = req();
        r.targets = LoadBalancerTargets::Tag { tag: "a b".into() };
        assert!(r.validate().is_err());
        let mut r = req();
        r.health_check = Some(HealthCheck {
            protocol: Some(LbProtocol::Udp),
            ..HealthCheck::default()
        });
        assert!(r.validate().is_err());
    }

    #[test]
    fn targets_flatten_into_the_body() {
        let mut r = req();
        r.targets = LoadBalancerTargets::Tag { tag: "web".into() };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["tag"], "web");
        assert!(v.get("droplet_ids").is_none());
        assert_eq!(v["forwarding_rules"][0]["entry_protocol"], "http");
        assert!(v["forwarding_rules"][0].get("certificate_id").is_none());
    }
}
