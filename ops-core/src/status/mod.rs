//! A status summary and a status page computed from Nagios's state.
//!
//! Components are defined in configuration: a component is a set of hosts
//! and/or `host:service` pairs. The rules, in the order they apply:
//!
//! - **HARD states only.** A SOFT state is Nagios still re-checking; until it
//!   is confirmed the last HARD state holds, so a blip never shows as an outage.
//! - **Scheduled downtime is maintenance**, not an outage: a member in
//!   downtime (or whose host is in downtime) is *under maintenance*.
//! - **A DOWN or UNREACHABLE host rolls up its services**: every service of
//!   that host counts as an outage, whatever its own last check says.
//! - A **host member** counts the host check and every service on the host;
//!   a **service member** counts that one service (and its host's state).
//!   WARNING and UNKNOWN are *degraded*, CRITICAL and DOWN are *outages*.
//! - A component is *major outage* when every member not in maintenance is
//!   out, *partial outage* when some are, *degraded performance* when some
//!   are degraded, *under maintenance* when no member has a problem and at
//!   least one is in downtime, else *operational*.
//! - **An acknowledged problem is "identified"**: it stays on the page with
//!   its status, and its incident is `identified` rather than `investigating`.
//! - **What nobody has checked is unknown, never operational**: a member that
//!   was never checked (Nagios's *pending*), whose last check is older than its
//!   freshness limit (a passive feed that stopped, a check that stopped being
//!   scheduled), or that is not in Nagios's state at all is *unknown*, with the
//!   reason on the page. The limit is the component's `stale_after_secs`, else
//!   the page's `member_stale_after_secs`, else the page's `stale_after_secs`
//!   (nagios-api's `/state` does not carry check intervals). A component whose
//!   known members are fine but has an unknown one is *unknown*; an outage or
//!   degradation among its known members still shows as such.
//! - **Staleness guard**: nagios-api keeps serving its last snapshot when
//!   Nagios dies. When the data is older than [`StatusConfig::stale_after`]
//!   (or carries no time at all, or a time further ahead of the clock than
//!   that, which no clock skew explains), the summary is marked stale, every
//!   component's status is [`ComponentStatus::Unknown`] and the page says that
//!   monitoring data is stale instead of showing green.
//!
//! **Groups.** A member `group:NAME` (or `hostgroup:NAME`) stands for every host of a
//! Nagios hostgroup, `servicegroup:NAME` for every service of a servicegroup. nagios-api
//! 1.2.2 does not serve groups, so they are read from Nagios's `objects.cache`
//! ([`StatusConfig::objects_cache`], through [`NagiosFiles::groups`] into
//! [`Snapshot::groups`]); a group that does not resolve (no `objects_cache`, the file
//! unreadable, the group not in it or empty) is an unknown member with the reason.
//!
//! **History.** Per component, daily uptime over the last [`StatusConfig::history_days`]
//! (90) UTC days and the incidents of that period, computed from Nagios's own state
//! history with **the same rules** (the functions above, replayed at every change):
//! nagios-api's `/log` for the recent lines and Nagios's archived logs
//! ([`StatusConfig::log_archive_path`]) for older ones, each archived file parsed once and
//! cached by path, size and modification time ([`NagiosFiles`]; a served page's [`Feed`]
//! keeps it). Uptime is operational or degraded time over the time known and not in
//! maintenance; a malformed log line is skipped and counted. The reading rules are in
//! [`history`]; the page shows one bar per day (a `title` and hidden text say what the
//! colour does) and the JSON `history.components[].uptime` / `.incidents`.
//!
//! Output: [`Summary`] serialises to JSON shaped like Statuspage's
//! `summary.json` (`page`, `components`, `incidents`,
//! `scheduled_maintenances`, `status.indicator`/`description`), plus
//! `stale`, `data_as_of` and, when computed, `history`. The one deliberate departure: a stale page uses
//! the component status `"unknown"`, which Statuspage does not have, because
//! any of its five values would be a lie. [`render_html`] renders a
//! self-contained page (inline CSS, no JavaScript) readable on a phone.
//!
//! ```
//! use ops_core::status::{StatusConfig, Snapshot, summarize};
//! use std::time::SystemTime;
//!
//! let config: StatusConfig = serde_json::from_str(r#"{
//!     "page_name": "Example",
//!     "stale_after_secs": 300,
//!     "components": [{ "name": "Website", "members": ["web1", "db1:PostgreSQL"] }]
//! }"#).unwrap();
//! let summary = summarize(&config, &Snapshot::default(), SystemTime::now());
//! assert!(summary.stale); // an empty snapshot carries no time: stale, not green
//! ```

mod feed;
mod files;
mod groups;
pub mod history;
mod model;
mod nagios;
mod render;

pub use feed::{Feed, FeedHealth, RefreshState};
pub use files::NagiosFiles;
pub use groups::Groups;
pub use history::{History, LogEvents};
pub use model::{HostHealth, HostState, ServiceHealth, ServiceState, Snapshot, StateType};
pub use render::render_html;

/// The status page's port: one snapshot of every host and service it may show.
///
/// The adapter over nagios-api is [`NagiosStatusSource`](crate::adapters::NagiosStatusSource);
/// a page fed by something else (Prometheus, another Nagios front end) implements this.
#[async_trait::async_trait]
pub trait StatusSource: Send + Sync {
    /// Reads the current state.
    async fn snapshot(&self) -> crate::ports::PortResult<Snapshot>;
}

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// What the status page shows, read from configuration (TOML or JSON).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct StatusConfig {
    /// The page's title.
    pub page_name: String,
    /// Data older than this many seconds is stale (default 600).
    #[serde(default = "default_stale_secs")]
    pub stale_after_secs: u64,
    /// A member whose own last check is older than this many seconds is unknown
    /// (default: `stale_after_secs`). A component's `stale_after_secs` overrides it.
    #[serde(default)]
    pub member_stale_after_secs: Option<u64>,
    /// The components, in display order.
    pub components: Vec<ComponentSpec>,
    /// Days of history (uptime bars, past incidents) on the page: default 90, at most
    /// 366; 0 turns the history off.
    #[serde(default = "default_history_days")]
    pub history_days: u32,
    /// Nagios's `log_archive_path` (e.g. `/var/log/nagios4/archives`): the archived
    /// `nagios-MM-DD-YYYY-HH.log` files the history reads beyond nagios-api's `/log`
    /// (which holds the last 1000 lines). Without it the history is `/log` alone.
    #[serde(default)]
    pub log_archive_path: Option<PathBuf>,
    /// Nagios's `object_cache_file` (e.g. `/var/cache/nagios4/objects.cache`), read for
    /// `group:` and `servicegroup:` members (nagios-api does not serve groups).
    #[serde(default)]
    pub objects_cache: Option<PathBuf>,
}

fn default_stale_secs() -> u64 {
    600
}

fn default_history_days() -> u32 {
    90
}

/// The most days of history a page may ask for.
pub const MAX_HISTORY_DAYS: u32 = 366;

impl StatusConfig {
    /// The staleness threshold.
    pub fn stale_after(&self) -> Duration {
        Duration::from_secs(self.stale_after_secs)
    }

    /// The freshness limit of `component`'s members.
    pub fn member_stale_after(&self, component: &ComponentSpec) -> Duration {
        Duration::from_secs(
            component
                .stale_after_secs
                .or(self.member_stale_after_secs)
                .unwrap_or(self.stale_after_secs),
        )
    }

    /// Check the configuration: at least one component, unique non-empty
    /// names, every component with at least one member, at most
    /// [`MAX_HISTORY_DAYS`] days of history.
    pub fn validate(&self) -> crate::Result<()> {
        if self.history_days > MAX_HISTORY_DAYS {
            return Err(crate::Error::Precondition(format!(
                "status config: history_days = {} is more than {MAX_HISTORY_DAYS}",
                self.history_days
            )));
        }
        if self.components.is_empty() {
            return Err(crate::Error::Precondition(
                "status config has no components: add at least one [[components]] entry".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.components {
            if c.name.trim().is_empty() {
                return Err(crate::Error::Precondition(
                    "a status component has an empty name".into(),
                ));
            }
            if !seen.insert(c.name.as_str()) {
                return Err(crate::Error::Precondition(format!(
                    "status component `{}` is defined twice",
                    c.name
                )));
            }
            if c.members.is_empty() {
                return Err(crate::Error::Precondition(format!(
                    "status component `{}` has no members: list hosts or host:service pairs",
                    c.name
                )));
            }
        }
        Ok(())
    }
}

/// One component of the page.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ComponentSpec {
    /// Shown on the page.
    pub name: String,
    /// Optional one-line description.
    #[serde(default)]
    pub description: Option<String>,
    /// `"host"`, `"host:service"`, `"group:HOSTGROUP"` or `"servicegroup:SERVICEGROUP"`
    /// entries.
    pub members: Vec<Member>,
    /// Freshness limit of this component's members, in seconds: set it above the
    /// longest check interval among them (a daily passive backup check needs more
    /// than a day). Default: the page's `member_stale_after_secs`.
    #[serde(default)]
    pub stale_after_secs: Option<u64>,
}

/// A member of a component: a whole host, one service of a host, or a group of either.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Member {
    /// The host check and all of the host's services.
    Host(String),
    /// One service.
    Service {
        /// Host name.
        host: String,
        /// Service description.
        service: String,
    },
    /// `group:NAME` (or `hostgroup:NAME`): every host of a Nagios hostgroup, each counted
    /// as a host member. Resolved from `objects.cache` ([`StatusConfig::objects_cache`]).
    HostGroup(String),
    /// `servicegroup:NAME`: every service of a Nagios servicegroup, each counted as a
    /// service member. Resolved from `objects.cache` ([`StatusConfig::objects_cache`]).
    ServiceGroup(String),
}

impl FromStr for Member {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid component member `{s}`: expected `host`, `host:service`, \
                 `group:HOSTGROUP` or `servicegroup:SERVICEGROUP`"
            )
        };
        match s.split_once(':') {
            None if !s.trim().is_empty() => Ok(Member::Host(s.trim().to_owned())),
            Some((kind, name)) if !name.trim().is_empty() => match kind.trim() {
                "group" | "hostgroup" => Ok(Member::HostGroup(name.trim().to_owned())),
                "servicegroup" => Ok(Member::ServiceGroup(name.trim().to_owned())),
                "" => Err(bad()),
                h => Ok(Member::Service {
                    host: h.to_owned(),
                    service: name.trim().to_owned(),
                }),
            },
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Member {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::Host(h) => f.write_str(h),
            Member::Service { host, service } => write!(f, "{host}:{service}"),
            Member::HostGroup(g) => write!(f, "group:{g}"),
            Member::ServiceGroup(g) => write!(f, "servicegroup:{g}"),
        }
    }
}

impl Member {
    /// The host and service members this member stands for: itself, or a group's members
    /// as `groups` lists them (`Err` with the reason when the group cannot be resolved).
    fn expand(&self, groups: Option<&Groups>) -> Result<Vec<Member>, String> {
        let (kind, name) = match self {
            Member::Host(_) | Member::Service { .. } => return Ok(vec![self.clone()]),
            Member::HostGroup(g) => ("hostgroup", g),
            Member::ServiceGroup(g) => ("servicegroup", g),
        };
        let Some(groups) = groups else {
            return Err(format!(
                "{kind} members need Nagios's objects.cache: set objects_cache in the status \
                 config (nagios-api does not serve groups)"
            ));
        };
        if let Some(why) = &groups.unavailable {
            return Err(why.clone());
        }
        let members: Option<Vec<Member>> = match self {
            Member::HostGroup(_) => groups
                .hostgroups
                .get(name)
                .map(|hs| hs.iter().map(|h| Member::Host(h.clone())).collect()),
            _ => groups.servicegroups.get(name).map(|ss| {
                ss.iter()
                    .map(|(host, service)| Member::Service {
                        host: host.clone(),
                        service: service.clone(),
                    })
                    .collect()
            }),
        };
        match members {
            None => Err(format!(
                "{kind} `{name}` is not in Nagios's objects.cache (check the status configuration)"
            )),
            Some(m) if m.is_empty() => Err(format!("{kind} `{name}` has no members in Nagios")),
            Some(m) => Ok(m),
        }
    }
}

/// A component's status, in Statuspage's vocabulary plus `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Everything HARD OK / UP.
    Operational,
    /// Some member WARNING or UNKNOWN.
    DegradedPerformance,
    /// Some, not all, members out.
    PartialOutage,
    /// Every member not in maintenance is out.
    MajorOutage,
    /// No problem, and at least one member in scheduled downtime.
    UnderMaintenance,
    /// Nobody knows: the page's monitoring data is stale, or a member was never
    /// checked, is past its freshness limit or is not in Nagios's state.
    Unknown,
}

impl ComponentStatus {
    /// Human wording, as the page shows it.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::Unknown => "Unknown",
        }
    }
}

/// How bad one member is, after the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Health {
    Ok,
    Maintenance,
    Unknown,
    Degraded,
    Outage,
}

/// One problem behind a component's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// `host` or `host:service`.
    pub member: String,
    /// `degraded`, `outage` or `unknown`.
    pub severity: &'static str,
    /// Whether an operator acknowledged it ("identified").
    pub acknowledged: bool,
    /// Nagios's plugin output (internal; curate before publishing).
    pub output: String,
    /// Why an `unknown` member is unknown, in this crate's words (safe to publish:
    /// never plugin output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The Statuspage-shaped page header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// Stable id derived from the name.
    pub id: String,
    /// The page title.
    pub name: String,
    /// When this summary was computed (RFC 3339).
    pub updated_at: String,
}

/// One component in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentSummary {
    /// Stable id derived from the name.
    pub id: String,
    /// Name from the configuration.
    pub name: String,
    /// Status after the rules.
    pub status: ComponentStatus,
    /// Description from the configuration.
    pub description: Option<String>,
    /// Position on the page (1-based, configuration order).
    pub position: usize,
    /// Every problem is acknowledged (and there is at least one).
    pub identified: bool,
    /// Members currently in scheduled downtime.
    pub in_maintenance: Vec<String>,
    /// The problems behind the status (empty when operational).
    pub problems: Vec<Problem>,
}

/// An open incident: one per component with a problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Stable id derived from the component.
    pub id: String,
    /// Title.
    pub name: String,
    /// `investigating` or `identified` (acknowledged in Nagios).
    pub status: &'static str,
    /// `minor`, `major` or `critical`.
    pub impact: &'static str,
    /// Affected component ids.
    pub components: Vec<String>,
}

/// A maintenance in progress: one per component with members in downtime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintenance {
    /// Stable id derived from the component.
    pub id: String,
    /// Title.
    pub name: String,
    /// Always `in_progress` (Nagios's downtime is active).
    pub status: &'static str,
    /// Affected component ids.
    pub components: Vec<String>,
}

/// The overall indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// `none`, `minor`, `major`, `critical` or `maintenance`.
    pub indicator: &'static str,
    /// "All Systems Operational" and friends.
    pub description: String,
}

/// The computed summary; serialises to Statuspage-shaped JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Page header.
    pub page: Page,
    /// Components in configuration order.
    pub components: Vec<ComponentSummary>,
    /// Open incidents.
    pub incidents: Vec<Incident>,
    /// Maintenances in progress.
    pub scheduled_maintenances: Vec<Maintenance>,
    /// Overall indicator.
    pub status: Overall,
    /// The staleness guard tripped.
    pub stale: bool,
    /// How fresh Nagios's data is (RFC 3339), if known.
    pub data_as_of: Option<String>,
    /// A served page's refreshes ([`Feed`]); absent from one-shot summaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshState>,
    /// Daily uptime and past incidents per component ([`history::history`]); absent when
    /// not computed (`summarize` alone, or `history_days = 0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
}

fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// RFC 3339, clamped to what the format can say (1970 to 9999): never a panic, whatever
/// clock or data a caller passes.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .min(nagios::LATEST);
    let t = std::time::UNIX_EPOCH
        .checked_add(since)
        .unwrap_or(std::time::UNIX_EPOCH);
    #[allow(clippy::disallowed_methods)] // clamped to the formatter's range just above
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s
}

fn service_health(host: &HostHealth, svc: &ServiceHealth) -> (Health, bool) {
    if host.in_downtime || svc.in_downtime {
        return (Health::Maintenance, false);
    }
    if host.effective_state() != HostState::Up {
        return (Health::Outage, host.acknowledged);
    }
    match svc.effective_state() {
        ServiceState::Ok => (Health::Ok, false),
        ServiceState::Warning | ServiceState::Unknown => (Health::Degraded, svc.acknowledged),
        ServiceState::Critical => (Health::Outage, svc.acknowledged),
    }
}

fn host_only_health(host: &HostHealth) -> (Health, bool) {
    if host.in_downtime {
        (Health::Maintenance, false)
    } else if host.effective_state() != HostState::Up {
        (Health::Outage, host.acknowledged)
    } else {
        (Health::Ok, false)
    }
}

struct MemberHealth {
    name: String,
    health: Health,
    acknowledged: bool,
    output: String,
    reason: Option<String>,
}

/// Why a check result cannot be trusted now, if it cannot: never checked, older
/// than `limit`, or further ahead of the clock than `limit` (no clock skew explains it).
fn unfresh(last_check: Option<SystemTime>, now: SystemTime, limit: Duration) -> Option<String> {
    let secs = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs()));
    match last_check.map(|t| now.duration_since(t)) {
        None => Some("never checked (pending), or no usable check time".to_owned()),
        Some(Ok(age)) if age > limit => Some(format!(
            "last checked {} ago, past its freshness limit of {}",
            secs(age),
            secs(limit)
        )),
        Some(Err(ahead)) if ahead.duration() > limit => {
            Some("its last check time is in the future".to_owned())
        }
        Some(_) => None,
    }
}

/// What the rules say of a check, its freshness considered: maintenance first (nobody
/// expects results from a host in downtime), then an untrusted result is unknown.
fn judged(
    (health, ack): (Health, bool),
    last_check: Option<SystemTime>,
    now: SystemTime,
    limit: Duration,
) -> (Health, bool, Option<String>) {
    if health == Health::Maintenance {
        return (health, ack, None);
    }
    match unfresh(last_check, now, limit) {
        Some(why) => (Health::Unknown, false, Some(why)),
        None => (health, ack, None),
    }
}

fn member_health(
    snapshot: &Snapshot,
    member: &Member,
    now: SystemTime,
    limit: Duration,
) -> Vec<MemberHealth> {
    let missing = |name: String, what: &str| MemberHealth {
        name,
        health: Health::Unknown,
        acknowledged: false,
        output: String::new(),
        reason: Some(format!(
            "{what} is not in Nagios's state (check the status configuration)"
        )),
    };
    match member {
        Member::HostGroup(_) | Member::ServiceGroup(_) => {
            match member.expand(snapshot.groups.as_ref()) {
                Ok(members) => members
                    .iter()
                    .flat_map(|m| member_health(snapshot, m, now, limit))
                    .collect(),
                Err(why) => vec![MemberHealth {
                    name: member.to_string(),
                    health: Health::Unknown,
                    acknowledged: false,
                    output: String::new(),
                    reason: Some(why),
                }],
            }
        }
        Member::Host(h) => {
            let Some(host) = snapshot.hosts.get(h) else {
                return vec![missing(h.clone(), "host")];
            };
            let (health, ack, reason) = judged(host_only_health(host), host.last_check, now, limit);
            let mut out = vec![MemberHealth {
                name: h.clone(),
                health,
                acknowledged: ack,
                output: host.output.clone(),
                reason,
            }];
            // A DOWN host already stands for its services: suppress their noise.
            if health != Health::Outage {
                for (desc, svc) in &host.services {
                    let (health, ack, reason) =
                        judged(service_health(host, svc), svc.last_check, now, limit);
                    out.push(MemberHealth {
                        name: format!("{h}:{desc}"),
                        health,
                        acknowledged: ack,
                        output: svc.output.clone(),
                        reason,
                    });
                }
            }
            out
        }
        Member::Service { host, service } => {
            let name = member.to_string();
            let Some(h) = snapshot.hosts.get(host) else {
                return vec![missing(name, "host")];
            };
            let Some(svc) = h.services.get(service) else {
                return vec![missing(name, "service")];
            };
            let host_down = h.effective_state() != HostState::Up;
            // A DOWN host stands for its services: its own check is the one that must be fresh.
            let checked = if host_down && !(h.in_downtime || svc.in_downtime) {
                h.last_check
            } else {
                svc.last_check
            };
            let (health, ack, reason) = judged(service_health(h, svc), checked, now, limit);
            let output = if health == Health::Outage && host_down {
                format!("host {host} is down: {}", h.output)
            } else {
                svc.output.clone()
            };
            vec![MemberHealth {
                name,
                health,
                acknowledged: ack,
                output,
                reason,
            }]
        }
    }
}

/// Every known problem (degraded or outage) is acknowledged, and there is at least one.
fn identified(members: &[MemberHealth]) -> bool {
    let mut known = members
        .iter()
        .filter(|m| matches!(m.health, Health::Degraded | Health::Outage))
        .peekable();
    known.peek().is_some() && known.all(|m| m.acknowledged)
}

fn component_status(members: &[MemberHealth]) -> ComponentStatus {
    let active: Vec<&MemberHealth> = members
        .iter()
        .filter(|m| m.health != Health::Maintenance)
        .collect();
    if active.is_empty() {
        return ComponentStatus::UnderMaintenance;
    }
    let out = active.iter().filter(|m| m.health == Health::Outage).count();
    if out == active.len() {
        ComponentStatus::MajorOutage
    } else if out > 0 {
        ComponentStatus::PartialOutage
    } else if active.iter().any(|m| m.health == Health::Degraded) {
        ComponentStatus::DegradedPerformance
    } else if active.iter().any(|m| m.health == Health::Unknown) {
        // Known members fine, some not known: never "operational".
        ComponentStatus::Unknown
    } else if active.len() < members.len() {
        ComponentStatus::UnderMaintenance
    } else {
        ComponentStatus::Operational
    }
}

/// Apply the rules to a snapshot. `now` is when the summary is computed
/// (the staleness guard compares it with [`Snapshot::data_as_of`]).
pub fn summarize(config: &StatusConfig, snapshot: &Snapshot, now: SystemTime) -> Summary {
    let stale = match snapshot.data_as_of {
        None => true,
        Some(t) => match now.duration_since(t) {
            Ok(age) => age > config.stale_after(),
            // A data time ahead of this clock: a little is clock skew, more than the
            // staleness window is a time nobody can trust (nagios-api relays whatever Nagios
            // wrote); taken at its word it would keep the page "fresh" until then.
            Err(ahead) => ahead.duration() > config.stale_after(),
        },
    };
    let mut components = Vec::with_capacity(config.components.len());
    let mut incidents = Vec::new();
    let mut maintenances = Vec::new();
    for (i, spec) in config.components.iter().enumerate() {
        let limit = config.member_stale_after(spec);
        let members: Vec<MemberHealth> = spec
            .members
            .iter()
            .flat_map(|m| member_health(snapshot, m, now, limit))
            .collect();
        let computed = component_status(&members);
        let problems: Vec<Problem> = members
            .iter()
            .filter(|m| {
                matches!(
                    m.health,
                    Health::Degraded | Health::Outage | Health::Unknown
                )
            })
            .map(|m| Problem {
                member: m.name.clone(),
                severity: match m.health {
                    Health::Outage => "outage",
                    Health::Unknown => "unknown",
                    _ => "degraded",
                },
                acknowledged: m.acknowledged,
                output: m.output.clone(),
                reason: m.reason.clone(),
            })
            .collect();
        // Incidents are about what is known to be wrong; an unknown member is a reason
        // on the page, not an incident.
        let known_problems = problems.iter().filter(|p| p.severity != "unknown").count();
        let in_maintenance: Vec<String> = members
            .iter()
            .filter(|m| m.health == Health::Maintenance)
            .map(|m| m.name.clone())
            .collect();
        let identified = identified(&members);
        let id = slug(&spec.name);
        if !stale && known_problems > 0 {
            incidents.push(Incident {
                id: format!("incident-{id}"),
                name: format!("{}: {}", spec.name, computed.label()),
                status: if identified {
                    "identified"
                } else {
                    "investigating"
                },
                impact: match computed {
                    ComponentStatus::MajorOutage => "critical",
                    ComponentStatus::PartialOutage => "major",
                    _ => "minor",
                },
                components: vec![id.clone()],
            });
        }
        if !stale && !in_maintenance.is_empty() {
            maintenances.push(Maintenance {
                id: format!("maintenance-{id}"),
                name: format!("{}: scheduled maintenance", spec.name),
                status: "in_progress",
                components: vec![id.clone()],
            });
        }
        components.push(ComponentSummary {
            id,
            name: spec.name.clone(),
            status: if stale {
                ComponentStatus::Unknown
            } else {
                computed
            },
            description: spec.description.clone(),
            position: i + 1,
            identified,
            in_maintenance,
            problems,
        });
    }
    let status = overall(&components, stale, snapshot.data_as_of, now);
    Summary {
        page: Page {
            id: slug(&config.page_name),
            name: config.page_name.clone(),
            updated_at: rfc3339(now),
        },
        components,
        incidents,
        scheduled_maintenances: maintenances,
        status,
        stale,
        data_as_of: snapshot.data_as_of.map(rfc3339),
        refresh: None,
        history: None,
    }
}

fn overall(
    components: &[ComponentSummary],
    stale: bool,
    as_of: Option<SystemTime>,
    now: SystemTime,
) -> Overall {
    if stale {
        let when = match as_of.map(|t| now.duration_since(t)) {
            Some(Ok(age)) => format!(
                "last update {} ago",
                humantime::format_duration(Duration::from_secs(age.as_secs()))
            ),
            Some(Err(_)) => "the reported update time is in the future".to_owned(),
            None => "no update time reported".to_owned(),
        };
        return Overall {
            indicator: "major",
            description: format!("Monitoring data is stale ({when}): current status unknown"),
        };
    }
    let has = |s: ComponentStatus| components.iter().any(|c| c.status == s);
    let (indicator, description) = if !components.is_empty()
        && components
            .iter()
            .all(|c| c.status == ComponentStatus::MajorOutage)
    {
        ("critical", "Major System Outage")
    } else if has(ComponentStatus::MajorOutage) || has(ComponentStatus::PartialOutage) {
        ("major", "Partial System Outage")
    } else if has(ComponentStatus::DegradedPerformance) {
        ("minor", "Minor Service Outage")
    } else if has(ComponentStatus::Unknown) {
        ("minor", "Some Systems' Status Unknown")
    } else if has(ComponentStatus::UnderMaintenance) {
        ("maintenance", "Service Under Maintenance")
    } else {
        ("none", "All Systems Operational")
    };
    Overall {
        indicator,
        description: description.to_owned(),
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
