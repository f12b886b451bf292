//! Zones: `/REST/Zone/`, publish, `/REST/ZoneChanges/`, `/REST/Task/`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Call, Client};
use crate::envelope::{lenient_u32_opt, lenient_u64_opt};
use crate::error::{Error, Result};
use crate::resources::records::RecordData;
use crate::validate;

/// A zone (`GET /REST/Zone/<zone>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Zone {
    /// Zone name; `None` when the answer left it out (the zone asked for).
    #[serde(default)]
    pub zone: Option<String>,
    /// `"Primary"` or `"Secondary"`.
    #[serde(default)]
    pub zone_type: Option<String>,
    /// Current serial.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub serial: Option<u64>,
    /// `increment`, `epoch`, `day` or `minute`.
    #[serde(default)]
    pub serial_style: Option<String>,
}

/// The answer to a publish, after its task completed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublishedZone {
    /// Zone name; `None` when the answer left it out (the zone asked for).
    #[serde(default)]
    pub zone: Option<String>,
    /// `"Primary"` or `"Secondary"`.
    #[serde(default)]
    pub zone_type: Option<String>,
    /// Serial after the publish.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub serial: Option<u64>,
    /// Serial style.
    #[serde(default)]
    pub serial_style: Option<String>,
    /// The publish task (a string on the wire).
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub task_id: Option<u64>,
}

/// State of a zone task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Queued.
    Ready,
    /// In progress.
    Running,
    /// Waiting.
    Waiting,
    /// Done.
    Complete,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
    /// Stalled (treated as a failure when waiting).
    Stalled,
    /// Anything else, or no status at all.
    #[default]
    #[serde(other)]
    Unknown,
}

impl TaskStatus {
    fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Ready => "ready",
            TaskStatus::Running => "running",
            TaskStatus::Waiting => "waiting",
            TaskStatus::Complete => "complete",
            TaskStatus::Failed => "failed",
            TaskStatus::Canceled => "canceled",
            TaskStatus::Stalled => "stalled",
            TaskStatus::Unknown => "unknown",
        }
    }
}

/// A zone task (`GET /REST/Task/<task_id>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Task {
    /// Task id; `None` when the answer left it out (the task asked for).
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub task_id: Option<u64>,
    /// Status; [`TaskStatus::Unknown`] when missing or null (still polled, never taken
    /// for complete).
    #[serde(default, deserialize_with = "null_as_unknown")]
    pub status: TaskStatus,
    /// Task name, e.g. `ProvisionZone`.
    #[serde(default)]
    pub name: Option<String>,
    /// Zone, when reported.
    #[serde(default)]
    pub zone_name: Option<String>,
    /// `Y` when the task blocks other operations on the zone.
    #[serde(default)]
    pub blocking: Option<String>,
    /// Progress.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub step_count: Option<u64>,
    /// Total steps.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub total_steps: Option<u64>,
    /// Status text.
    #[serde(default)]
    pub message: Option<String>,
    /// Creation time (epoch seconds).
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub created_ts: Option<u64>,
    /// Last change (epoch seconds).
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub modified_ts: Option<u64>,
}

fn null_as_unknown<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<TaskStatus, D::Error> {
    Ok(Option::<TaskStatus>::deserialize(d)?.unwrap_or_default())
}

/// One pending (unpublished) change (`GET /REST/ZoneChanges/<zone>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoneChange {
    /// Change id; `None` when the answer left it out.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub id: Option<u64>,
    /// User who made it.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub user_id: Option<u64>,
    /// Zone; `None` when the answer left it out.
    #[serde(default)]
    pub zone: Option<String>,
    /// Node; `None` when the answer left it out.
    #[serde(default)]
    pub fqdn: Option<String>,
    /// Serial the change applies to.
    #[serde(default, deserialize_with = "lenient_u64_opt")]
    pub serial: Option<u64>,
    /// TTL.
    #[serde(default, deserialize_with = "lenient_u32_opt")]
    pub ttl: Option<u32>,
    /// Record type, e.g. `"A"`; `None` when the answer left it out (then
    /// [`ZoneChange::data`] is `None`).
    #[serde(default)]
    pub rdata_type: Option<String>,
    /// Raw rdata: `{"rdata_a": {"address": …}, …}`; see [`ZoneChange::data`].
    #[serde(default)]
    pub rdata: serde_json::Value,
}

impl ZoneChange {
    /// The typed data, taken from the `rdata_<type>` key.
    pub fn data(&self) -> Option<RecordData> {
        let rdata_type = self.rdata_type.as_deref()?;
        let key = format!("rdata_{}", rdata_type.to_ascii_lowercase());
        let v = self.rdata.get(&key)?.clone();
        RecordData::from_wire(rdata_type, v).ok()
    }
}

#[derive(Serialize)]
struct PublishBody<'a> {
    publish: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

/// Zone operations. Obtain with [`Client::zones`].
#[derive(Debug, Clone, Copy)]
pub struct Zones<'c> {
    client: &'c Client,
}

impl<'c> Zones<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Names of all zones of the account (`GET /REST/Zone`).
    pub async fn list(&self) -> Result<Vec<String>> {
        let call = Call::new(Method::GET, &["REST", "Zone"], "zone list");
        let uris: Vec<String> = self.client.execute(&call).await?.decode("zone list")?;
        Ok(uris
            .iter()
            .filter_map(|u| u.split('/').filter(|s| !s.is_empty()).nth(2))
            .map(str::to_owned)
            .collect())
    }

    /// Get a zone (`GET /REST/Zone/<zone>`).
    pub async fn get(&self, zone: &str) -> Result<Zone> {
        let zone = validate::zone(zone)?;
        let call = Call::new(Method::GET, &["REST", "Zone", &zone], "zone");
        self.client.execute(&call).await?.decode("zone")
    }

    /// Publish the pending changes of this session (`PUT /REST/Zone/<zone>` with
    /// `{"publish": true, "notes": …}`) and wait until the publish task is `complete`
    /// (polling `GET /REST/Task/<task_id>`). A busy zone ("Operation blocked by current
    /// task") is retried with bounded backoff.
    ///
    /// If the session expired after changes were made, this fails with
    /// [`Error::SessionExpiredWithPendingChanges`] instead of publishing nothing.
    ///
    /// ```no_run
    /// # async fn run(client: dynect_client::Client) -> dynect_client::Result<()> {
    /// let z = client.zones().publish("example.com", Some("add www")).await?;
    /// println!("serial {:?}", z.serial);
    /// # Ok(()) }
    /// ```
    pub async fn publish(&self, zone: &str, notes: Option<&str>) -> Result<PublishedZone> {
        let zone = validate::zone(zone)?;
        let call =
            Call::new(Method::PUT, &["REST", "Zone", &zone], "publish").json(&PublishBody {
                publish: true,
                notes,
            })?;
        let published: PublishedZone = self.client.execute(&call).await?.decode("publish")?;
        self.client.clear_pending(&zone);
        if let Some(task_id) = published.task_id {
            self.wait_for_task(task_id).await?;
        }
        tracing::debug!(zone = %zone, serial = published.serial, "zone published");
        Ok(published)
    }

    /// Pending (unpublished) changes of this session (`GET /REST/ZoneChanges/<zone>`).
    pub async fn changes(&self, zone: &str) -> Result<Vec<ZoneChange>> {
        let zone = validate::zone(zone)?;
        let call = Call::new(Method::GET, &["REST", "ZoneChanges", &zone], "zone changes");
        self.client.execute(&call).await?.decode("zone changes")
    }

    /// Discard the pending changes of this session (`DELETE /REST/ZoneChanges/<zone>`).
    pub async fn discard_changes(&self, zone: &str) -> Result<()> {
        let zone = validate::zone(zone)?;
        let call = Call::new(
            Method::DELETE,
            &["REST", "ZoneChanges", &zone],
            "discard changes",
        );
        self.client.execute(&call).await?;
        self.client.clear_pending(&zone);
        Ok(())
    }

    /// Get a task (`GET /REST/Task/<task_id>`).
    pub async fn task(&self, task_id: u64) -> Result<Task> {
        let id = task_id.to_string();
        let call = Call::new(Method::GET, &["REST", "Task", &id], "task");
        self.client.execute(&call).await?.decode("task")
    }

    /// Poll a task until `complete` ([`Error::TaskFailed`] for `failed`, `canceled`,
    /// `stalled`; [`Error::TaskTimeout`] after the poll deadline).
    pub async fn wait_for_task(&self, task_id: u64) -> Result<Task> {
        let poll = *self.client.poll_config();
        let start = tokio::time::Instant::now();
        let mut n: u32 = 0;
        loop {
            let task = self.task(task_id).await?;
            match task.status {
                TaskStatus::Complete => return Ok(task),
                TaskStatus::Failed | TaskStatus::Canceled | TaskStatus::Stalled => {
                    return Err(Error::TaskFailed {
                        task_id,
                        status: task.status.as_str().to_owned(),
                        message: task.message,
                    });
                }
                _ => {}
            }
            let delay = poll.interval(n);
            n = n.saturating_add(1);
            if start.elapsed() + delay > poll.timeout {
                return Err(Error::TaskTimeout {
                    task_id,
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(delay).await;
        }
    }
}
