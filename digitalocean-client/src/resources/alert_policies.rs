//! Monitoring alert policies: `/v2/monitoring/alerts`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// Alert type: a droplet's CPU use, in percent.
pub const ALERT_DROPLET_CPU: &str = "v1/insights/droplet/cpu";
/// Alert type: a droplet's memory use, in percent.
pub const ALERT_DROPLET_MEMORY: &str = "v1/insights/droplet/memory_utilization_percent";
/// Alert type: a droplet's disk use, in percent.
pub const ALERT_DROPLET_DISK: &str = "v1/insights/droplet/disk_utilization_percent";
/// Alert type: a droplet's 5-minute load average.
pub const ALERT_DROPLET_LOAD_5: &str = "v1/insights/droplet/load_5";

/// Every alert `type` the spec allows (its enum), in its order.
pub const ALERT_TYPES: &[&str] = &[
    "v1/insights/droplet/load_1",
    "v1/insights/droplet/load_5",
    "v1/insights/droplet/load_15",
    "v1/insights/droplet/memory_utilization_percent",
    "v1/insights/droplet/disk_utilization_percent",
    "v1/insights/droplet/cpu",
    "v1/insights/droplet/disk_read",
    "v1/insights/droplet/disk_write",
    "v1/insights/droplet/public_outbound_bandwidth",
    "v1/insights/droplet/public_inbound_bandwidth",
    "v1/insights/droplet/private_outbound_bandwidth",
    "v1/insights/droplet/private_inbound_bandwidth",
    "v1/insights/lbaas/avg_cpu_utilization_percent",
    "v1/insights/lbaas/connection_utilization_percent",
    "v1/insights/lbaas/droplet_health",
    "v1/insights/lbaas/tls_connections_per_second_utilization_percent",
    "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx",
    "v1/insights/lbaas/increase_in_http_error_rate_percentage_4xx",
    "v1/insights/lbaas/increase_in_http_error_rate_count_5xx",
    "v1/insights/lbaas/increase_in_http_error_rate_count_4xx",
    "v1/insights/lbaas/high_http_request_response_time",
    "v1/insights/lbaas/high_http_request_response_time_50p",
    "v1/insights/lbaas/high_http_request_response_time_95p",
    "v1/insights/lbaas/high_http_request_response_time_99p",
    "v1/dbaas/alerts/load_15_alerts",
    "v1/dbaas/alerts/memory_utilization_alerts",
    "v1/dbaas/alerts/disk_utilization_alerts",
    "v1/dbaas/alerts/cpu_alerts",
    "v1/droplet/autoscale_alerts/current_instances",
    "v1/droplet/autoscale_alerts/target_instances",
    "v1/droplet/autoscale_alerts/current_cpu_utilization",
    "v1/droplet/autoscale_alerts/target_cpu_utilization",
    "v1/droplet/autoscale_alerts/current_memory_utilization",
    "v1/droplet/autoscale_alerts/target_memory_utilization",
    "v1/droplet/autoscale_alerts/scale_up",
    "v1/droplet/autoscale_alerts/scale_down",
];

/// A monitoring alert policy: notify when a metric of some droplets crosses a value.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct AlertPolicy {
    /// Policy id.
    pub uuid: String,
    /// The metric, one of [`ALERT_TYPES`] (e.g. [`ALERT_DROPLET_CPU`]).
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: String,
    /// Shown in the alert.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub description: String,
    /// Above or below [`AlertPolicy::value`].
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub compare: AlertCompare,
    /// The threshold.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub value: f64,
    /// How long the metric must stay past the threshold.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub window: AlertWindow,
    /// The droplets watched, by id (as strings; ids sent as numbers, as in the spec's own
    /// list example, are read too).
    #[serde(default, deserialize_with = "strings_or_numbers")]
    pub entities: Vec<String>,
    /// The droplets watched, by tag.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tags: Vec<String>,
    /// Whether it fires.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub enabled: bool,
    /// Who is told.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub alerts: AlertDestinations,
}

/// A list of ids as strings, reading numbers as their decimal text and `null` as empty.
fn strings_or_numbers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    let ids: Option<Vec<Id>> = Option::deserialize(d)?;
    Ok(ids
        .unwrap_or_default()
        .into_iter()
        .map(|id| match id {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        })
        .collect())
}

/// Whether an alert fires above or below its value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertCompare {
    /// Fires above the value.
    GreaterThan,
    /// Fires below the value.
    LessThan,
    /// A comparison this crate does not know about, or none given (refused when sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// How long a metric must stay past the threshold before the alert fires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertWindow {
    /// 5 minutes.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// 10 minutes.
    #[serde(rename = "10m")]
    TenMinutes,
    /// 30 minutes.
    #[serde(rename = "30m")]
    ThirtyMinutes,
    /// One hour.
    #[serde(rename = "1h")]
    OneHour,
    /// A window this crate does not know about, or none given (refused when sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// Where an alert goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDestinations {
    /// Email addresses (each must be verified on the account).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub email: Vec<String>,
    /// Slack channels.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub slack: Vec<SlackDestination>,
}

/// A Slack channel and the incoming-webhook URL that posts to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackDestination {
    /// Channel, e.g. `#ops`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub channel: String,
    /// The webhook URL. Anyone holding it can post to the channel, so it is kept as a
    /// secret: `Debug` never shows it.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub url: WebhookUrl,
}

/// A webhook URL kept as a [`SecretString`](secrecy::SecretString): serialized as the plain
/// URL the API wants, `Debug` shows `[REDACTED]`.
#[derive(Clone, Default)]
pub struct WebhookUrl(secrecy::SecretString);

impl WebhookUrl {
    /// The URL (for the request body).
    pub fn expose_secret(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUrl([REDACTED])")
    }
}

impl PartialEq for WebhookUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl Eq for WebhookUrl {}

impl Serialize for WebhookUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.expose_secret())
    }
}

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Self(String::deserialize(d)?.into()))
    }
}

impl From<String> for WebhookUrl {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl From<&str> for WebhookUrl {
    fn from(s: &str) -> Self {
        Self(s.to_owned().into())
    }
}

impl From<secrecy::SecretString> for WebhookUrl {
    fn from(s: secrecy::SecretString) -> Self {
        Self(s)
    }
}

/// The body of a create (`POST /v2/monitoring/alerts`) or a full update (`PUT`): every
/// field is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertPolicyRequest {
    /// The metric, one of [`ALERT_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Shown in the alert; not empty.
    pub description: String,
    /// Above or below `value`.
    pub compare: AlertCompare,
    /// The threshold (percent for CPU, memory and disk).
    pub value: f64,
    /// How long the metric must stay past the threshold.
    pub window: AlertWindow,
    /// Droplet ids (as strings) to watch.
    pub entities: Vec<String>,
    /// Droplet tags to watch.
    pub tags: Vec<String>,
    /// Whether it fires.
    pub enabled: bool,
    /// Who is told.
    pub alerts: AlertDestinations,
}

impl AlertPolicyRequest {
    /// An enabled policy on `kind` past `value` for `window`, watching nothing yet and
    /// telling no one yet: add droplets (`entities`/`tags`) and destinations.
    pub fn new(
        kind: impl Into<String>,
        description: impl Into<String>,
        compare: AlertCompare,
        value: f64,
        window: AlertWindow,
    ) -> Self {
        Self {
            kind: kind.into(),
            description: description.into(),
            compare,
            value,
            window,
            entities: Vec::new(),
            tags: Vec::new(),
            enabled: true,
            alerts: AlertDestinations::default(),
        }
    }

    /// Watch these droplets.
    pub fn droplets(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.entities
            .extend(ids.into_iter().map(|id| id.to_string()));
        self
    }

    /// Tell this address.
    pub fn email(mut self, address: impl Into<String>) -> Self {
        self.alerts.email.push(address.into());
        self
    }

    fn validate(&self) -> Result<()> {
        if !ALERT_TYPES.contains(&self.kind.as_str()) {
            return Err(Error::InvalidInput {
                field: "type",
                reason: format!(
                    "{:?} is not an alert type the API knows (see ALERT_TYPES)",
                    self.kind
                ),
            });
        }
        validate::non_empty("description", &self.description)?;
        if self.compare == AlertCompare::Unknown {
            return Err(Error::InvalidInput {
                field: "compare",
                reason: "must be GreaterThan or LessThan".to_owned(),
            });
        }
        if !self.value.is_finite() {
            return Err(Error::InvalidInput {
                field: "value",
                reason: format!("{} is not a finite number", self.value),
            });
        }
        if self.window == AlertWindow::Unknown {
            return Err(Error::InvalidInput {
                field: "window",
                reason: "must be 5m, 10m, 30m or 1h".to_owned(),
            });
        }
        for e in &self.entities {
            validate::non_empty("entities", e)?;
        }
        self.tags.iter().try_for_each(|t| validate::tag_name(t))?;
        for e in &self.alerts.email {
            validate::non_empty("alerts.email", e)?;
        }
        for s in &self.alerts.slack {
            validate::non_empty("alerts.slack.channel", &s.channel)?;
            validate::non_empty("alerts.slack.url", s.url.expose_secret())?;
        }
        Ok(())
    }
}

impl From<&AlertPolicy> for AlertPolicyRequest {
    /// The writable part of a policy: edit it and send it back with
    /// [`AlertPolicies::update`].
    fn from(p: &AlertPolicy) -> Self {
        Self {
            kind: p.kind.clone(),
            description: p.description.clone(),
            compare: p.compare,
            value: p.value,
            window: p.window,
            entities: p.entities.clone(),
            tags: p.tags.clone(),
            enabled: p.enabled,
            alerts: p.alerts.clone(),
        }
    }
}

#[derive(Deserialize)]
struct PolicyEnvelope {
    policy: AlertPolicy,
}

impl Client {
    /// Monitoring alert policies (droplet CPU, memory, disk, load, bandwidth…).
    pub fn alert_policies(&self) -> AlertPolicies<'_> {
        AlertPolicies { client: self }
    }
}

/// Handler for `/v2/monitoring/alerts`; see [`Client::alert_policies`].
///
/// The type (one of [`ALERT_TYPES`]), comparison, window, value, tags and destinations are
/// checked before sending. Slack webhook URLs are [`WebhookUrl`]s: never in `Debug`.
///
/// ```no_run
/// use digitalocean_client::{
///     ALERT_DROPLET_CPU, AlertCompare, AlertPolicyRequest, AlertWindow, Client,
/// };
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let req = AlertPolicyRequest::new(
///     ALERT_DROPLET_CPU, "web-1 CPU above 80%", AlertCompare::GreaterThan, 80.0,
///     AlertWindow::FiveMinutes,
/// )
/// .droplets([3164444])
/// .email("ops@example.com");
/// let policy = client.alert_policies().create(&req).await?;
/// println!("alert {}", policy.uuid);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AlertPolicies<'c> {
    client: &'c Client,
}

impl<'c> AlertPolicies<'c> {
    fn url(&self, uuid: &str) -> Result<url::Url> {
        self.client.url(&["v2", "monitoring", "alerts", uuid], &[])
    }

    /// `GET /v2/monitoring/alerts`, every page.
    pub fn list(&self) -> Pager<'c, AlertPolicy> {
        let url = self.client.url(&["v2", "monitoring", "alerts"], &[]);
        Pager::new(self.client, "policies", "alert policy list", url)
    }

    /// `GET /v2/monitoring/alerts/{uuid}`.
    pub async fn get(&self, uuid: &str) -> Result<AlertPolicy> {
        let url = self.url(uuid)?;
        let env: PolicyEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "alert policy")
            .await?;
        Ok(env.policy)
    }

    /// `POST /v2/monitoring/alerts` (200).
    ///
    /// # Retries
    /// Not safe to repeat: a second create makes a second policy (alerts twice). Never
    /// retried after a 5xx or a timeout; after such an error
    /// ([`Error::is_ambiguous`]), look for the description in [`AlertPolicies::list`].
    pub async fn create(&self, req: &AlertPolicyRequest) -> Result<AlertPolicy> {
        req.validate()?;
        let url = self.client.url(&["v2", "monitoring", "alerts"], &[])?;
        let env: PolicyEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "alert policy create")
            .await?;
        Ok(env.policy)
    }

    /// `PUT /v2/monitoring/alerts/{uuid}`: replace every field (start from
    /// `AlertPolicyRequest::from(&policy)` to change one).
    ///
    /// # Retries
    /// Safe to repeat (a replacement): retried after a 5xx or a timeout.
    pub async fn update(&self, uuid: &str, req: &AlertPolicyRequest) -> Result<AlertPolicy> {
        req.validate()?;
        let url = self.url(uuid)?;
        let env: PolicyEnvelope = self
            .client
            .send(Method::PUT, url, Some(req), "alert policy update")
            .await?;
        Ok(env.policy)
    }

    /// `DELETE /v2/monitoring/alerts/{uuid}` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, uuid: &str) -> Result<()> {
        let url = self.url(uuid)?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "alert policy delete")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> AlertPolicyRequest {
        AlertPolicyRequest::new(
            ALERT_DROPLET_DISK,
            "disk",
            AlertCompare::GreaterThan,
            90.0,
            AlertWindow::OneHour,
        )
    }

    #[test]
    fn webhook_urls_never_reach_debug() {
        let mut r = req();
        r.alerts.slack.push(SlackDestination {
            channel: "#ops".into(),
            url: "https://hooks.slack.com/services/T1/B2/SECRETxyz".into(),
        });
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("SECRETxyz"), "{dbg}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["alerts"]["slack"][0]["url"],
            "https://hooks.slack.com/services/T1/B2/SECRETxyz"
        );
        let back: AlertDestinations = serde_json::from_value(json["alerts"].clone()).unwrap();
        assert!(!format!("{back:?}").contains("SECRETxyz"));
    }

    #[test]
    fn requests_are_checked() {
        req().validate().unwrap();
        let mut r = req();
        r.kind = "v1/insights/droplet/temperature".into();
        assert!(r.validate().is_err());
        let mut r = req();
        r.compare = AlertCompare::Unknown;
        assert!(r.validate().is_err());
        let mut r = req();
        r.window = AlertWindow::Unknown;
        assert!(r.validate().is_err());
        let mut r = req();
        r.value = f64::NAN;
        assert!(r.validate().is_err());
        let mut r = req();
        r.description = " ".into();
        assert!(r.validate().is_err());
        assert_eq!(ALERT_TYPES.len(), 36);
        for t in [
            ALERT_DROPLET_CPU,
            ALERT_DROPLET_MEMORY,
            ALERT_DROPLET_DISK,
            ALERT_DROPLET_LOAD_5,
        ] {
            assert!(ALERT_TYPES.contains(&t));
        }
    }
}
