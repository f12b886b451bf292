//! The durable run journal: one JSON file per host run in a state directory.
//!
//! Every step's start and end, and every resource the run created (ids and names — never a
//! key or user data), is written **before the workflow moves on**. Writes are atomic: the JSON
//! goes to a temporary file in the same directory, which is `fsync`ed, renamed over the
//! journal, and the directory is `fsync`ed. A crash therefore leaves either the previous or
//! the new journal, never a torn one. `provision --resume RUN` reads it and continues from the
//! first step that is not done.

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::spec::HostSpec;
use crate::error::{Error, Result};
use crate::ports::DnsRecord;
use crate::state::{FileStore, Kind, Lease, StateError, StateStore};

/// Journal format version.
pub const JOURNAL_VERSION: u32 = 1;

/// The provision steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 1. Check everything before any write.
    Validate,
    /// 2a. Create the Chef API client (key kept in memory).
    ChefClient,
    /// 2b. Create the Chef node with run list and environment.
    ChefNode,
    /// 2c. Use the spec's VPC, creating it when the account has none of that name (skipped
    /// without `vpc`).
    Vpc,
    /// 2d. Find or create the spec's volumes, attached when the droplet is created (skipped
    /// without `volumes`).
    Volumes,
    /// 3. Create the droplet with the cloud-init user data.
    CreateDroplet,
    /// 4. Wait until the droplet is active and has its addresses.
    WaitActive,
    /// 4b. Apply the spec's cloud firewalls to the droplet, creating those it defines and
    /// the account lacks (skipped without `firewalls`).
    Firewalls,
    /// 4c. Assign the spec's reserved IP to the droplet, or reserve a new one for it
    /// (skipped without `reserved_ip`).
    ReservedIp,
    /// 4d. Create the spec's monitoring alert policies on the droplet (skipped without
    /// `alerts`).
    Alerts,
    /// 4e. Put the droplet, its volumes and its reserved IP in the spec's project, creating
    /// it when the account has none of that name (skipped without `project`).
    Project,
    /// 5a. Create the A/AAAA records.
    DnsRecords,
    /// 5b. Publish the zone (once per batch).
    PublishZone,
    /// 6. Optionally wait until monitoring reports the host UP.
    WaitMonitoring,
}

impl Step {
    /// All steps in order.
    pub const ALL: [Step; 14] = [
        Step::Validate,
        Step::ChefClient,
        Step::ChefNode,
        Step::Vpc,
        Step::Volumes,
        Step::CreateDroplet,
        Step::WaitActive,
        Step::Firewalls,
        Step::ReservedIp,
        Step::Alerts,
        Step::Project,
        Step::DnsRecords,
        Step::PublishZone,
        Step::WaitMonitoring,
    ];

    /// Short name used in logs and journals.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Validate => "validate",
            Step::ChefClient => "chef_client",
            Step::ChefNode => "chef_node",
            Step::Vpc => "vpc",
            Step::Volumes => "volumes",
            Step::Alerts => "alerts",
            Step::Project => "project",
            Step::CreateDroplet => "create_droplet",
            Step::WaitActive => "wait_active",
            Step::Firewalls => "firewalls",
            Step::ReservedIp => "reserved_ip",
            Step::DnsRecords => "dns_records",
            Step::PublishZone => "publish_zone",
            Step::WaitMonitoring => "wait_monitoring",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Started; a crash here means its write may or may not have happened.
    Started,
    /// Finished.
    Done,
    /// Not needed for this host (e.g. publish on a provider without publishing).
    Skipped,
    /// Failed with `error`.
    Failed,
}

/// One step's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Which step.
    pub step: Step,
    /// Its state.
    pub state: StepState,
    /// Unix milliseconds when it (last) started.
    pub started_ms: u64,
    /// Unix milliseconds when it finished or failed.
    pub finished_ms: Option<u64>,
    /// The error chain, for failed steps (never contains secrets).
    pub error: Option<String>,
}

/// Overall state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Running, or interrupted (crash): resumable.
    InProgress,
    /// Every step done.
    Succeeded,
    /// A step failed and the resources were kept (`keep_on_failure`): resumable.
    Failed,
    /// A step failed and everything this run created was removed.
    RolledBack,
    /// A step failed and the rollback could not remove everything (see `rollback`).
    RollbackIncomplete,
}

impl RunStatus {
    /// The name journals use (`in_progress`, `succeeded`, `failed`, `rolled_back`,
    /// `rollback_incomplete`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::InProgress => "in_progress",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::RollbackIncomplete => "rollback_incomplete",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A droplet the run created or adopted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropletRef {
    /// Provider id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// True when found by run tag after an ambiguous create instead of created directly.
    #[serde(default)]
    pub adopted: bool,
}

/// The VPC a run put its droplet in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcRef {
    /// Provider id.
    pub id: String,
    /// Name.
    pub name: String,
    /// True when this run created it (or adopted it after an ambiguous create); rollback
    /// removes only such a VPC, and only once nothing else is in it. False: it existed
    /// before and is only used.
    pub created: bool,
}

/// A cloud firewall a run applied to its droplet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRef {
    /// Provider id.
    pub id: String,
    /// Name.
    pub name: String,
    /// True when this run created it (or adopted it by name after an ambiguous create);
    /// rollback removes only such a firewall, once it applies to no droplet.
    pub created: bool,
}

/// The reserved IP a run gave its droplet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedIpRef {
    /// The address.
    pub ip: String,
    /// True when this run reserved it (rollback releases only such an address); false: an
    /// address the account had, only assigned.
    pub created: bool,
}

/// A block-storage volume a run attached to its droplet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRef {
    /// Provider id.
    pub id: String,
    /// Name.
    pub name: String,
    /// True when this run created it (or adopted it by name and run tag after an ambiguous
    /// create); rollback removes only such a volume. False: it existed and is only attached.
    pub created: bool,
}

/// The project a run put its resources in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRef {
    /// Provider id.
    pub id: String,
    /// Name.
    pub name: String,
    /// True when this run created it (rollback removes it once it holds nothing).
    pub created: bool,
}

/// A monitoring alert policy a run created for its droplet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRef {
    /// Provider id.
    pub id: String,
    /// The metric.
    pub metric: crate::ports::AlertMetric,
}

/// Everything the run created (what rollback undoes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Chef client name.
    pub chef_client: Option<String>,
    /// Chef node name.
    pub chef_node: Option<String>,
    /// The droplet.
    pub droplet: Option<DropletRef>,
    /// A/AAAA records.
    #[serde(default)]
    pub dns_records: Vec<DnsRecord>,
    /// Droplet create requests this run sent, each journaled **before** it was sent. While no
    /// [`droplet`](Self::droplet) is recorded, a droplet carrying the run tag may exist (the
    /// create may have been applied and its answer lost): resume, rollback, teardown and the
    /// orphan audit look it up by that tag. Reset once a lookup by tag proves none exists.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub droplet_creates_sent: u32,
    /// The VPC of the droplet (spec `vpc`), created or found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<VpcRef>,
    /// VPC create requests sent, each journaled **before** it was sent: while no
    /// [`vpc`](Self::vpc) is recorded, one of the spec's name may have been made by this
    /// run; resume and rollback look it up by name.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub vpc_creates_sent: u32,
    /// The firewalls applied to the droplet (spec `firewalls`), created or found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firewalls: Vec<FirewallRef>,
    /// Names of firewalls whose create was sent, each journaled **before** it was sent and
    /// kept until the firewall is recorded in [`firewalls`](Self::firewalls) or proven absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firewall_creates_sent: Vec<String>,
    /// The droplet's reserved IP (spec `reserved_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_ip: Option<ReservedIpRef>,
    /// Reserve requests sent (journaled before sending): while none is recorded, an address
    /// assigned to the droplet may be this run's; resume and rollback look for it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserved_ip_creates_sent: u32,
    /// The volumes attached to the droplet (spec `volumes`), created or found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeRef>,
    /// Names of volumes whose create was sent (journaled before sending), kept until the
    /// volume is recorded or proven absent: one carrying the run tag may exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_creates_sent: Vec<String>,
    /// The project (spec `project`), created or found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectRef>,
    /// Project create requests sent (journaled before sending): while no project is
    /// recorded, one of the spec's name may have been made by this run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub project_creates_sent: u32,
    /// The alert policies created for the droplet (spec `alerts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertRef>,
    /// Metrics whose policy create was sent (journaled before sending), kept until the
    /// policy is recorded or proven absent: one with the run's description may exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_creates_sent: Vec<crate::ports::AlertMetric>,
    /// A zone whose record removals (by a rollback) are not published yet: the publish
    /// failed, and the next rollback pass publishes it even with no record left to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpublished_zone: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Resources {
    /// True when nothing is recorded and no droplet create is unconfirmed.
    pub fn is_empty(&self) -> bool {
        self.chef_client.is_none()
            && self.chef_node.is_none()
            && self.droplet.is_none()
            && self.droplet_creates_sent == 0
            && self.dns_records.is_empty()
            && !self.vpc.as_ref().is_some_and(|v| v.created)
            && self.vpc_creates_sent == 0
            && !self.firewalls.iter().any(|f| f.created)
            && self.firewall_creates_sent.is_empty()
            && !self.reserved_ip.as_ref().is_some_and(|r| r.created)
            && self.reserved_ip_creates_sent == 0
            && !self.volumes.iter().any(|v| v.created)
            && self.volume_creates_sent.is_empty()
            && !self.project.as_ref().is_some_and(|p| p.created)
            && self.project_creates_sent == 0
            && self.alerts.is_empty()
            && self.alert_creates_sent.is_empty()
    }

    /// True when a droplet create was sent and no droplet is recorded: one carrying the run
    /// tag may exist.
    pub fn droplet_unconfirmed(&self) -> bool {
        self.droplet.is_none() && self.droplet_creates_sent > 0
    }

    /// One line per resource, for reports: `"droplet 123 (web-01)"`, `"chef node web-01"`,
    /// `"dns A web-01.example.com -> 192.0.2.1"`, and for an unconfirmed create
    /// `"unknown: a droplet tagged ops-run:<id> may exist (create sent, outcome not confirmed)"`.
    pub fn describe(&self, run_tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(d) = &self.droplet {
            out.push(format!("droplet {} ({})", d.id, d.name));
        } else if self.droplet_creates_sent > 0 {
            out.push(format!(
                "unknown: a droplet tagged {run_tag} may exist (create sent, outcome not confirmed)"
            ));
        }
        for r in &self.dns_records {
            out.push(format!("dns {} {} -> {}", r.rtype, r.fqdn, r.data));
        }
        if let Some(n) = &self.chef_node {
            out.push(format!("chef node {n}"));
        }
        if let Some(c) = &self.chef_client {
            out.push(format!("chef client {c}"));
        }
        match &self.reserved_ip {
            Some(r) if r.created => out.push(format!("reserved ip {}", r.ip)),
            None if self.reserved_ip_creates_sent > 0 => out.push(
                "unknown: a reserved IP assigned to the droplet may exist (reserve sent, outcome not confirmed)"
                    .into(),
            ),
            _ => {}
        }
        for f in self.firewalls.iter().filter(|f| f.created) {
            out.push(format!("firewall {} ({})", f.id, f.name));
        }
        for n in &self.firewall_creates_sent {
            if !self.firewalls.iter().any(|f| f.name == *n) {
                out.push(format!(
                    "unknown: a firewall named {n} may exist (create sent, outcome not confirmed)"
                ));
            }
        }
        for a in &self.alerts {
            out.push(format!("alert policy {} ({})", a.id, a.metric.as_str()));
        }
        for m in &self.alert_creates_sent {
            if !self.alerts.iter().any(|a| a.metric == *m) {
                out.push(format!(
                    "unknown: a {} alert policy for the droplet may exist (create sent, outcome not confirmed)",
                    m.as_str()
                ));
            }
        }
        for v in self.volumes.iter().filter(|v| v.created) {
            out.push(format!("volume {} ({})", v.id, v.name));
        }
        for n in &self.volume_creates_sent {
            if !self.volumes.iter().any(|v| v.name == *n) {
                out.push(format!(
                    "unknown: a volume named {n} tagged {run_tag} may exist (create sent, outcome not confirmed)"
                ));
            }
        }
        match &self.project {
            Some(p) if p.created => out.push(format!("project {} ({})", p.id, p.name)),
            None if self.project_creates_sent > 0 => out.push(
                "unknown: a project of the spec's name may exist (create sent, outcome not confirmed)"
                    .into(),
            ),
            _ => {}
        }
        match &self.vpc {
            Some(v) if v.created => out.push(format!("vpc {} ({})", v.id, v.name)),
            None if self.vpc_creates_sent > 0 => out.push(
                "unknown: a VPC of the spec's name may exist (create sent, outcome not confirmed)"
                    .into(),
            ),
            _ => {}
        }
        out
    }
}

/// What rollback or teardown did to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum UndoOutcome {
    /// Removed now.
    Removed,
    /// Was already gone.
    AlreadyGone,
    /// Left in place on purpose (e.g. not managed by this tool).
    Skipped(String),
    /// Would be removed (dry run).
    WouldRemove,
    /// Could not be removed: the error chain.
    Failed(String),
}

/// How reports and logs say it (`removed`, `already gone`, `skipped: why`, `would remove`,
/// `FAILED: why`): never the `Debug` form (issue #17).
impl std::fmt::Display for UndoOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UndoOutcome::Removed => f.write_str("removed"),
            UndoOutcome::AlreadyGone => f.write_str("already gone"),
            UndoOutcome::Skipped(why) => write!(f, "skipped: {why}"),
            UndoOutcome::WouldRemove => f.write_str("would remove"),
            UndoOutcome::Failed(why) => write!(f, "FAILED: {why}"),
        }
    }
}

/// One resource acted on by rollback or teardown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoAction {
    /// `"dns A web-01.example.com -> 192.0.2.1"`, `"droplet 123 (web-01)"`, `"chef node web-01"`…
    pub resource: String,
    /// What happened.
    pub outcome: UndoOutcome,
}

/// The result of a rollback: exactly what was undone and what could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackReport {
    /// In the order performed (reverse creation order).
    pub actions: Vec<UndoAction>,
}

impl RollbackReport {
    /// True when every resource was removed or already gone.
    pub fn complete(&self) -> bool {
        self.actions
            .iter()
            .all(|a| matches!(a.outcome, UndoOutcome::Removed | UndoOutcome::AlreadyGone))
    }
}

/// The public addresses the droplet got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addresses {
    /// Public IPv4.
    pub ipv4: Option<std::net::Ipv4Addr>,
    /// Public IPv6.
    pub ipv6: Option<std::net::Ipv6Addr>,
}

/// The journal of one host run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunJournal {
    /// Format version ([`JOURNAL_VERSION`]).
    pub version: u32,
    /// Unique run id; the droplet carries the tag `ops-run:<run_id>`.
    pub run_id: String,
    /// Fleet batch id, when part of one (tag `ops-batch:<batch_id>`).
    pub batch_id: Option<String>,
    /// Unix milliseconds of creation.
    pub created_ms: u64,
    /// Unix milliseconds of the last write.
    pub updated_ms: u64,
    /// The spec being provisioned.
    pub spec: HostSpec,
    /// Overall state.
    pub status: RunStatus,
    /// SSH key ids resolved at validation.
    #[serde(default)]
    pub ssh_key_ids: Vec<u64>,
    /// Step records, at most one per step.
    pub steps: Vec<StepRecord>,
    /// What this run created.
    pub resources: Resources,
    /// The droplet's addresses.
    pub addresses: Addresses,
    /// The last rollback, if any.
    pub rollback: Option<RollbackReport>,
    /// Droplets that also carried this run's tag (a create the listing showed late) and that
    /// the run deleted, keeping [`Resources::droplet`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates_removed: Vec<u64>,
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RunJournal {
    /// A fresh journal for `spec`.
    pub fn new(run_id: String, batch_id: Option<String>, spec: HostSpec) -> Self {
        let now = now_ms();
        RunJournal {
            version: JOURNAL_VERSION,
            run_id,
            batch_id,
            created_ms: now,
            updated_ms: now,
            spec,
            status: RunStatus::InProgress,
            ssh_key_ids: Vec::new(),
            steps: Vec::new(),
            resources: Resources::default(),
            addresses: Addresses::default(),
            rollback: None,
            duplicates_removed: Vec::new(),
        }
    }

    /// The run's unique droplet tag.
    pub fn run_tag(&self) -> String {
        format!("{}{}", super::spec::RUN_TAG_PREFIX, self.run_id)
    }

    /// The batch tag, if any.
    pub fn batch_tag(&self) -> Option<String> {
        self.batch_id
            .as_ref()
            .map(|b| format!("{}{b}", super::spec::BATCH_TAG_PREFIX))
    }

    /// The record of `step`, if it ever started.
    pub fn step(&self, step: Step) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.step == step)
    }

    /// True when `step` is done or skipped.
    pub fn is_done(&self, step: Step) -> bool {
        self.step(step)
            .is_some_and(|s| matches!(s.state, StepState::Done | StepState::Skipped))
    }

    /// True when `step` was started before (a crash or failure may have left its write behind).
    pub fn was_attempted(&self, step: Step) -> bool {
        self.step(step).is_some()
    }

    /// The first step that is not done or skipped.
    pub fn first_unfinished(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.is_done(*s))
    }

    fn set(&mut self, step: Step, state: StepState, error: Option<String>) {
        let now = now_ms();
        self.updated_ms = now;
        match self.steps.iter_mut().find(|s| s.step == step) {
            Some(r) => {
                if state == StepState::Started {
                    r.started_ms = now;
                    r.finished_ms = None;
                } else {
                    r.finished_ms = Some(now);
                }
                r.state = state;
                r.error = error;
            }
            None => self.steps.push(StepRecord {
                step,
                state,
                started_ms: now,
                finished_ms: (state != StepState::Started).then_some(now),
                error,
            }),
        }
    }

    /// Marks `step` started.
    pub fn start(&mut self, step: Step) {
        self.set(step, StepState::Started, None);
    }

    /// Marks `step` done.
    pub fn done(&mut self, step: Step) {
        self.set(step, StepState::Done, None);
    }

    /// Marks `step` skipped.
    pub fn skip(&mut self, step: Step) {
        self.set(step, StepState::Skipped, None);
    }

    /// Marks `step` failed with an error chain.
    pub fn fail(&mut self, step: Step, error: String) {
        self.set(step, StepState::Failed, Some(error));
    }
}

/// Where journals live: the state folder by default ([`JournalStore::new`]), or any
/// [`StateStore`] ([`JournalStore::with_store`]: Postgres, so a run started on one machine
/// is resumed, rolled back or audited from another).
#[derive(Debug, Clone)]
pub struct JournalStore {
    dir: PathBuf,
    store: Arc<dyn StateStore>,
    /// Only the folder backend has journal files ([`Self::path`]).
    is_folder: bool,
    redactor: crate::redact::Redactor,
    /// The lease each run's journal writes are fenced with (by run id), while a run holds
    /// one: a write after the lease was lost (expired and taken over) is refused.
    fences: Arc<std::sync::Mutex<std::collections::HashMap<String, Lease>>>,
}

/// Run and batch ids are generated by the tool; only these characters are accepted back.
pub(crate) fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(Error::Precondition(format!("`{id}` is not a run id")));
    }
    Ok(())
}

impl JournalStore {
    /// A store in the state folder `dir` (created 0700 on first write; one file per run,
    /// `<dir>/<run id>.json`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        JournalStore {
            store: Arc::new(FileStore::new(dir.clone())),
            dir,
            is_folder: true,
            redactor: crate::redact::Redactor::new(),
            fences: Arc::default(),
        }
    }

    /// Journals in `store` (e.g. a [`PgStore`](crate::state::PgStore)). With a
    /// [`FileStore`], prefer [`Self::new`].
    pub fn with_store(store: Arc<dyn StateStore>) -> Self {
        JournalStore {
            dir: PathBuf::from(store.describe()),
            store,
            is_folder: false,
            redactor: crate::redact::Redactor::new(),
            fences: Arc::default(),
        }
    }

    /// Scrub the secrets `redactor` knows out of every journal before it is written.
    #[must_use]
    pub fn with_redactor(mut self, redactor: crate::redact::Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The store the journals live in (leases are taken there too).
    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// From now on, writes of `run_id`'s journal succeed only while `lease` is held.
    pub(crate) fn fence(&self, run_id: &str, lease: Lease) {
        if let Ok(mut m) = self.fences.lock() {
            m.insert(run_id.to_owned(), lease);
        }
    }

    /// Gives back every lease the journal writes are fenced with now (the host leases of
    /// runs under way), e.g. once a run's future was dropped by an interrupt: a `resume` can
    /// then start at once instead of after the leases expire.
    pub async fn release_leases(&self) {
        let leases: Vec<Lease> = self
            .fences
            .lock()
            .map(|mut m| m.drain().map(|(_, l)| l).collect())
            .unwrap_or_default();
        for lease in leases {
            if let Err(e) = self.store.release(&lease).await {
                tracing::warn!(lease = %lease.name, error = %e,
                    "could not release a lease; it expires by itself");
            }
        }
    }

    /// Writes of `run_id`'s journal are no longer fenced.
    pub(crate) fn unfence(&self, run_id: &str) {
        if let Ok(mut m) = self.fences.lock() {
            m.remove(run_id);
        }
    }

    /// The state directory (for another backend: its description).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file of `run_id` (for another backend: a label naming the store and run,
    /// used in messages).
    pub fn path(&self, run_id: &str) -> PathBuf {
        if self.is_folder {
            self.dir.join(format!("{run_id}.json"))
        } else {
            PathBuf::from(format!("{} (run {run_id})", self.store.describe()))
        }
    }

    fn state_error(&self, run_id: &str, action: &'static str, e: StateError) -> Error {
        if let e @ StateError::LeaseLost { .. } = e {
            // Not a journal failure: another run took the host over; this one must stop.
            return Error::State(e);
        }
        let source = match e {
            StateError::Io { source, .. } => source,
            other => std::io::Error::other(other),
        };
        Error::Journal {
            path: self.path(run_id),
            action,
            source,
        }
    }

    /// Writes the journal atomically (folder: temp file + fsync + rename + directory fsync;
    /// Postgres: one statement).
    pub async fn save(&self, journal: &RunJournal) -> Result<()> {
        check_id(&journal.run_id)?;
        let bytes = serde_json::to_vec_pretty(journal).map_err(Error::Json)?;
        let bytes = self.redactor.redact_bytes(&bytes).into_owned();
        let fence = self
            .fences
            .lock()
            .ok()
            .and_then(|m| m.get(&journal.run_id).cloned());
        self.store
            .put(Kind::Journal, &journal.run_id, &bytes, fence.as_ref())
            .await
            .map_err(|e| self.state_error(&journal.run_id, "written", e))
    }

    /// Reads the journal of `run_id`.
    pub async fn load(&self, run_id: &str) -> Result<RunJournal> {
        check_id(run_id)?;
        let path = self.path(run_id);
        match self.store.get(Kind::Journal, run_id).await {
            Ok(Some(bytes)) => decode(&path, run_id, &bytes),
            Ok(None) => Err(Error::Journal {
                path,
                action: "read",
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no journal of that run"),
            }),
            Err(e) => Err(self.state_error(run_id, "read", e)),
        }
    }

    /// Every journal in the store. A journal that cannot be read or decoded (truncated,
    /// edited by hand) is an error naming the file, never skipped: a run left out would look
    /// finished to the orphan audit and would not be resumed with its batch. A file removed
    /// while listing is skipped.
    pub async fn list(&self) -> Result<Vec<RunJournal>> {
        let docs = self
            .store
            .list(Kind::Journal)
            .await
            .map_err(|e| Error::Journal {
                path: self.dir.clone(),
                action: "listed",
                source: match e {
                    StateError::Io { source, .. } => source,
                    other => std::io::Error::other(other),
                },
            })?;
        let mut out = Vec::new();
        for (id, bytes) in docs {
            if check_id(&id).is_ok() {
                out.push(decode(&self.path(&id), &id, &bytes)?);
            }
        }
        out.sort_by(|a, b| {
            a.created_ms
                .cmp(&b.created_ms)
                .then(a.run_id.cmp(&b.run_id))
        });
        Ok(out)
    }
}

/// Decodes the journal file at `path`, which must be the journal of `run_id`. Every failure
/// names the file: a truncated or hand-edited journal is [`Error::Journal`] (action
/// `"decoded"`), a journal of another version or of another run is [`Error::Precondition`].
fn decode(path: &Path, run_id: &str, bytes: &[u8]) -> Result<RunJournal> {
    let j: RunJournal = serde_json::from_slice(bytes).map_err(|e| Error::Journal {
        path: path.to_path_buf(),
        action: "decoded (truncated or edited by hand?)",
        source: std::io::Error::from(e),
    })?;
    if j.version != JOURNAL_VERSION {
        return Err(Error::Precondition(format!(
            "journal {} has version {}, expected {JOURNAL_VERSION}",
            path.display(),
            j.version
        )));
    }
    if j.run_id != run_id {
        // Saving it would write another run's file.
        return Err(Error::Precondition(format!(
            "journal {} holds run `{}`, not `{run_id}` (edited by hand?)",
            path.display(),
            j.run_id
        )));
    }
    Ok(j)
}

/// A new run/batch id: unix seconds, `-`, 8 random hex digits.
pub(crate) fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let secs = now_ms() / 1000;
    format!("{secs}-{:08x}", h.finish() as u32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::provision::spec::{ChefSpec, DnsSpec, UserDataExtras};
    use proptest::prelude::*;

    fn spec() -> HostSpec {
        HostSpec {
            name: "web-01".into(),
            region: "nyc3".into(),
            size: "s-1vcpu-1gb".into(),
            image: "ubuntu-24-04-x64".into(),
            tags: vec!["web".into()],
            ssh_keys: vec!["ops@bastion".into()],
            ipv6: true,
            monitoring_agent: false,
            dns: DnsSpec {
                zone: "example.com".into(),
                record: None,
                ttl: Some(300),
            },
            chef: ChefSpec {
                environment: "prod".into(),
                run_list: vec!["role[base]".into()],
                attributes: Default::default(),
                version: None,
                license: None,
            },
            user_data: UserDataExtras::default(),
            wait_for_monitoring: false,
            vpc: None,
            firewalls: Vec::new(),
            reserved_ip: None,
            volumes: Vec::new(),
            project: None,
            alerts: None,
        }
    }

    const RUN: &str = "run-0001";

    /// A journal as a run writes it: steps in every state, resources, a rollback report.
    fn journal_bytes() -> Vec<u8> {
        let mut j = RunJournal::new(RUN.into(), Some("batch-01".into()), spec());
        j.start(Step::Validate);
        j.done(Step::Validate);
        j.skip(Step::ChefClient);
        j.start(Step::CreateDroplet);
        j.fail(Step::CreateDroplet, "HTTP 503".into());
        j.ssh_key_ids = vec![1, 2];
        j.resources.droplet = Some(DropletRef {
            id: 3_164_444,
            name: "web-01".into(),
            adopted: true,
        });
        j.resources.droplet_creates_sent = 1;
        j.resources.chef_node = Some("web-01".into());
        j.addresses.ipv4 = Some("192.0.2.1".parse().unwrap());
        j.rollback = Some(RollbackReport {
            actions: vec![UndoAction {
                resource: "chef node web-01".into(),
                outcome: UndoOutcome::Failed("HTTP 500".into()),
            }],
        });
        j.status = RunStatus::RollbackIncomplete;
        j.duplicates_removed = vec![7];
        serde_json::to_vec_pretty(&j).unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Writes `bytes` as the journal of [`RUN`] and loads it back.
    fn load_bytes(rt: &tokio::runtime::Runtime, dir: &Path, bytes: &[u8]) -> Result<RunJournal> {
        let store = JournalStore::new(dir);
        std::fs::write(store.path(RUN), bytes).unwrap();
        rt.block_on(store.load(RUN))
    }

    /// What a caller does with a loaded journal.
    fn use_journal(j: &RunJournal) {
        let _ = (j.first_unfinished(), j.run_tag(), j.batch_tag());
        let _ = j.resources.describe(&j.run_tag());
        let _ = (j.resources.is_empty(), j.resources.droplet_unconfirmed());
        let _ = j.rollback.as_ref().map(RollbackReport::complete);
        for s in Step::ALL {
            let _ = (j.is_done(s), j.was_attempted(s));
        }
        let _ = j.spec.check();
        let _ = j.spec.fqdn();
        serde_json::to_vec_pretty(j).unwrap();
    }

    /// Issue #17: a journal holds errors that may quote a provider's answer; the secrets
    /// the process knows never reach the file, and the file is its owner's only.
    #[test]
    fn a_saved_journal_is_scrubbed_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let rt = rt();
        let redactor = crate::redact::Redactor::new();
        redactor.add(&secrecy::SecretString::from("canary-token-17".to_owned()));
        let store = JournalStore::new(&state).with_redactor(redactor);
        let mut j: RunJournal = serde_json::from_slice(&journal_bytes()).unwrap();
        j.fail(
            Step::CreateDroplet,
            "HTTP 401: refused Authorization: Bearer canary-token-17".into(),
        );
        rt.block_on(store.save(&j)).unwrap();
        let text = std::fs::read_to_string(store.path(RUN)).unwrap();
        assert!(!text.contains("canary-token-17"), "{text}");
        assert!(text.contains("Bearer [REDACTED]"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.path(RUN)), 0o600);
            assert_eq!(mode(&state), 0o700);
        }
    }

    /// Issue #15: a truncated journal was `Error::Json` ("could not parse JSON"), naming no
    /// file; it is now `Error::Journal` with the path.
    #[test]
    fn a_truncated_journal_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let rt = rt();
        let full = journal_bytes();
        assert!(load_bytes(&rt, dir.path(), &full).is_ok());
        let err = load_bytes(&rt, dir.path(), &full[..full.len() / 2]).unwrap_err();
        let path = JournalStore::new(dir.path()).path(RUN);
        match &err {
            Error::Journal { path: p, .. } => assert_eq!(p, &path),
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    /// Issue #15: a journal whose `run_id` was edited would have been saved under another
    /// run's file; it is refused, naming the file.
    #[test]
    fn a_journal_of_another_run_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = String::from_utf8(journal_bytes()).unwrap();
        let edited = text.replace(RUN, "run-0002");
        let err = load_bytes(&rt(), dir.path(), edited.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, Error::Precondition(m) if m.contains("run-0002")),
            "{err}"
        );
        assert!(err.to_string().contains(RUN), "{err}");
    }

    /// Issue #15: `list` skipped a journal it could not decode, so a truncated journal
    /// vanished from the orphan audit and from `--resume-batch`; it is an error now.
    #[test]
    fn list_reports_a_corrupt_journal_instead_of_skipping_it() {
        let dir = tempfile::tempdir().unwrap();
        let rt = rt();
        let store = JournalStore::new(dir.path());
        std::fs::write(store.path(RUN), journal_bytes()).unwrap();
        assert_eq!(rt.block_on(store.list()).unwrap().len(), 1);
        std::fs::write(
            store.path("run-0009"),
            b"{\"version\": 1, \"run_id\": \"run-0",
        )
        .unwrap();
        let err = rt.block_on(store.list()).unwrap_err();
        assert!(err.to_string().contains("run-0009.json"), "{err}");
    }

    proptest! {
        #![proptest_config(ops_proptest::config())]

        /// Issue #15: any bytes in a journal file load as a journal or fail with an error
        /// naming the file; a loaded journal is usable.
        #[test]
        fn proptest_any_journal_file_loads_or_fails_naming_the_file(
            bytes in prop_oneof![
                ops_proptest::bytes_mutated(vec![journal_bytes()]),
                ops_proptest::json_mutated_bytes(
                    vec![serde_json::from_slice(&journal_bytes()).unwrap()]
                ),
                ops_proptest::bytes_arbitrary(),
            ]
        ) {
            // `load` is read + `decode`; the file I/O is covered by the tests above.
            let path = Path::new("/state/run-0001.json");
            match decode(path, RUN, &bytes) {
                Ok(j) => use_journal(&j),
                Err(e) => prop_assert!(
                    e.to_string().contains("/state/run-0001.json"),
                    "{e} does not name the file"
                ),
            }
        }
    }
}
