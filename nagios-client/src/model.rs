//! The typed state model.
//!
//! nagios-api copies values out of Nagios's `status.dat` as strings
//! (`"0"`, `"1795611171"`, `"5.000000"`). These types decode them into
//! enums, booleans, numbers and [`Timestamp`]s. Unknown fields are ignored;
//! a value that cannot be parsed is an [`Error::Decode`](crate::Error::Decode)
//! whose `path` names the field (e.g. `web01.services.Disk.current_state`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::de::{self, code_enum};

/// A Unix timestamp in seconds, as Nagios writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0
    }

    /// The current time, rounded down to a second.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(_) => Timestamp(0),
        }
    }

    /// As a [`SystemTime`], or `None` when the platform cannot represent it (nagios-api
    /// relays whatever Nagios wrote: `-5` and `253402300800` have been seen in the field).
    /// Never panics.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let d = Duration::from_secs(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH.checked_add(d)
        } else {
            UNIX_EPOCH.checked_sub(d)
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            // Before the epoch: 2^63 s does not fit an i64 but its negation does; saturate
            // at i64::MIN (never at -i64::MAX, which broke the round trip of i64::MIN).
            Err(e) => Timestamp(
                i64::try_from(e.duration().as_secs())
                    .map(|s| -s)
                    .unwrap_or(i64::MIN),
            ),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Host state (`current_state`, `last_hard_state` of a host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostStatus {
    /// 0
    Up,
    /// 1
    Down,
    /// 2
    Unreachable,
}
code_enum!(HostStatus, "a host state 0 (UP), 1 (DOWN) or 2 (UNREACHABLE)",
    { 0 => Up, 1 => Down, 2 => Unreachable });

impl fmt::Display for HostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostStatus::Up => "UP",
            HostStatus::Down => "DOWN",
            HostStatus::Unreachable => "UNREACHABLE",
        })
    }
}

/// Service state (`current_state`, `last_hard_state` of a service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceStatus {
    /// 0
    Ok,
    /// 1
    Warning,
    /// 2
    Critical,
    /// 3
    Unknown,
}
code_enum!(ServiceStatus, "a service state 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)",
    { 0 => Ok, 1 => Warning, 2 => Critical, 3 => Unknown });

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceStatus::Ok => "OK",
            ServiceStatus::Warning => "WARNING",
            ServiceStatus::Critical => "CRITICAL",
            ServiceStatus::Unknown => "UNKNOWN",
        })
    }
}

/// Whether a state is confirmed (`state_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    /// 0: not yet confirmed by `max_attempts` checks.
    Soft,
    /// 1: confirmed.
    Hard,
}
code_enum!(StateType, "a state type 0 (SOFT) or 1 (HARD)", { 0 => Soft, 1 => Hard });

/// `acknowledgement_type` of a host or service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcknowledgementType {
    /// 0: not acknowledged.
    None,
    /// 1: cleared by the next state change.
    Normal,
    /// 2: kept until the object recovers.
    Sticky,
}
code_enum!(AcknowledgementType, "an acknowledgement type 0, 1 or 2",
    { 0 => None, 1 => Normal, 2 => Sticky });

/// `entry_type` of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentEntryType {
    /// 1: added by a user (`add_comment`).
    User,
    /// 2: added by Nagios for a scheduled downtime.
    Downtime,
    /// 3: added by Nagios for flapping.
    Flapping,
    /// 4: added with an acknowledgement.
    Acknowledgement,
}
code_enum!(CommentEntryType, "a comment entry type 1 (user), 2 (downtime), 3 (flapping) or 4 (acknowledgement)",
    { 1 => User, 2 => Downtime, 3 => Flapping, 4 => Acknowledgement });

/// `source` of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentSource {
    /// 0: created by Nagios itself.
    Internal,
    /// 1: created by an external command.
    External,
}
code_enum!(CommentSource, "a comment source 0 (internal) or 1 (external)",
    { 0 => Internal, 1 => External });

/// One performance-data value. nagios-api keeps only the part before the
/// first `;` and turns it into a number when it can (`"x=1;2;3"` → `1`).
#[derive(Debug, Clone, PartialEq)]
pub enum PerfValue {
    /// A numeric value.
    Number(f64),
    /// A value nagios-api could not read as a number (e.g. `"5s"`).
    Text(String),
}

impl PerfValue {
    /// The numeric value, if any.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PerfValue::Number(n) => Some(*n),
            PerfValue::Text(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for PerfValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match de::scalar(d)? {
            de::Scalar::Int(i) => Ok(PerfValue::Number(i as f64)),
            de::Scalar::Float(x) => Ok(PerfValue::Number(x)),
            de::Scalar::Str(s) => Ok(PerfValue::Text(s)),
            other => Err(serde::de::Error::custom(format_args!(
                "invalid value {other}, expected a performance value (number or string)"
            ))),
        }
    }
}

/// Performance data by label.
pub type PerfData = BTreeMap<String, PerfValue>;

fn perf_data<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PerfData, D::Error> {
    Ok(Option::<PerfData>::deserialize(d)?.unwrap_or_default())
}

/// A scheduled downtime.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Downtime {
    /// Nagios's id; use it with [`CancelDowntime::id`](crate::CancelDowntime::id).
    #[serde(deserialize_with = "de::u64_")]
    pub downtime_id: u64,
    /// When it was scheduled.
    #[serde(deserialize_with = "de::timestamp")]
    pub entry_time: Timestamp,
    /// Start of the window.
    #[serde(deserialize_with = "de::timestamp")]
    pub start_time: Timestamp,
    /// End of the window.
    #[serde(deserialize_with = "de::timestamp")]
    pub end_time: Timestamp,
    /// The downtime that triggers this one, if any.
    #[serde(deserialize_with = "de::opt_id", default)]
    pub triggered_by: Option<u64>,
    /// Fixed (`true`) or flexible.
    #[serde(deserialize_with = "de::bool_")]
    pub fixed: bool,
    /// Duration in seconds (for flexible downtime; `0` is common for fixed).
    #[serde(deserialize_with = "de::u64_")]
    pub duration: u64,
    /// Who scheduled it.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub author: String,
    /// Its comment.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub comment: String,
}

/// A host or service comment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Comment {
    /// Nagios's id; use it with [`DeleteComment::one`](crate::DeleteComment::one).
    #[serde(deserialize_with = "de::u64_")]
    pub comment_id: u64,
    /// What created it.
    pub entry_type: CommentEntryType,
    /// Internal or external.
    pub source: CommentSource,
    /// Survives a Nagios restart.
    #[serde(deserialize_with = "de::bool_")]
    pub persistent: bool,
    /// When it was added.
    #[serde(deserialize_with = "de::timestamp")]
    pub entry_time: Timestamp,
    /// Whether it expires.
    #[serde(deserialize_with = "de::bool_")]
    pub expires: bool,
    /// When it expires (`None` if it does not).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub expire_time: Option<Timestamp>,
    /// Who added it.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub author: String,
    /// The text.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub comment_data: String,
}

/// The whole state from `GET /state` (or `GET /problems`), by host name.
pub type State = BTreeMap<String, HostState>;

/// Host and service names from `GET /objects`.
pub type Objects = BTreeMap<String, Vec<String>>;

/// A host in `/state`, with its services, comments and downtimes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HostState {
    /// Current state.
    pub current_state: HostStatus,
    /// Last hard state.
    pub last_hard_state: HostStatus,
    /// First line of the last check output.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub plugin_output: String,
    /// Parsed performance data.
    #[serde(deserialize_with = "perf_data", default)]
    pub performance_data: PerfData,
    /// Notifications enabled.
    #[serde(deserialize_with = "de::bool_")]
    pub notifications_enabled: bool,
    /// Active checks enabled.
    #[serde(deserialize_with = "de::bool_")]
    pub active_checks_enabled: bool,
    /// A problem is acknowledged.
    #[serde(deserialize_with = "de::bool_")]
    pub problem_has_been_acknowledged: bool,
    /// Number of downtimes in effect (0 = none).
    #[serde(deserialize_with = "de::u32_")]
    pub scheduled_downtime_depth: u32,
    /// Last check (`None` = never checked).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub last_check: Option<Timestamp>,
    /// Last notification (`None` = never).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub last_notification: Option<Timestamp>,
    /// Last state change (`None` = never).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub last_state_change: Option<Timestamp>,
    /// Current check attempt.
    #[serde(deserialize_with = "de::u32_")]
    pub current_attempt: u32,
    /// Attempts before a state becomes HARD.
    #[serde(deserialize_with = "de::u32_")]
    pub max_attempts: u32,
    /// Comments by id.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub comments: BTreeMap<u64, Comment>,
    /// Downtimes by id.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub downtimes: BTreeMap<u64, Downtime>,
    /// Services by description.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub services: BTreeMap<String, ServiceState>,
}

/// A service in `/state`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServiceState {
    /// Current state.
    pub current_state: ServiceStatus,
    /// Last hard state.
    pub last_hard_state: ServiceStatus,
    /// First line of the last check output.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub plugin_output: String,
    /// Parsed performance data.
    #[serde(deserialize_with = "perf_data", default)]
    pub performance_data: PerfData,
    /// Notifications enabled.
    #[serde(deserialize_with = "de::bool_")]
    pub notifications_enabled: bool,
    /// Active checks enabled.
    #[serde(deserialize_with = "de::bool_")]
    pub active_checks_enabled: bool,
    /// A problem is acknowledged.
    #[serde(deserialize_with = "de::bool_")]
    pub problem_has_been_acknowledged: bool,
    /// Number of downtimes in effect (0 = none).
    #[serde(deserialize_with = "de::u32_")]
    pub scheduled_downtime_depth: u32,
    /// Last check (`None` = never checked).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub last_check: Option<Timestamp>,
    /// Last notification (`None` = never).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub last_notification: Option<Timestamp>,
    /// Last state change (`None` = never).
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub last_state_change: Option<Timestamp>,
    /// Current check attempt.
    #[serde(deserialize_with = "de::u32_")]
    pub current_attempt: u32,
    /// Attempts before a state becomes HARD.
    #[serde(deserialize_with = "de::u32_")]
    pub max_attempts: u32,
    /// Comments by id.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub comments: BTreeMap<u64, Comment>,
    /// Downtimes by id.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub downtimes: BTreeMap<u64, Downtime>,
}

impl HostState {
    /// In at least one downtime.
    pub fn in_downtime(&self) -> bool {
        self.scheduled_downtime_depth > 0
    }
}

impl ServiceState {
    /// In at least one downtime.
    pub fn in_downtime(&self) -> bool {
        self.scheduled_downtime_depth > 0
    }
}

/// Declares the `/host` and `/service` detail structs: their own leading fields, the status
/// fields Nagios keeps for hosts and services alike (`hoststatus` / `servicestatus` blocks),
/// then their own trailing fields.
macro_rules! status_detail {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
        trailing {
            $( $(#[$tmeta:meta])* pub $tfield:ident : $tty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Checked at least once since Nagios started.
            #[serde(deserialize_with = "de::bool_")]
            pub has_been_checked: bool,
            /// First line of the last check output.
            #[serde(deserialize_with = "de::string_or_null", default)]
            pub plugin_output: String,
            /// Further output lines.
            #[serde(deserialize_with = "de::string_or_null", default)]
            pub long_plugin_output: String,
            /// The check command with arguments.
            #[serde(deserialize_with = "de::string_or_null", default)]
            pub check_command: String,
            /// Last check.
            #[serde(deserialize_with = "de::opt_timestamp", default)]
            pub last_check: Option<Timestamp>,
            /// Next scheduled check.
            #[serde(deserialize_with = "de::opt_timestamp", default)]
            pub next_check: Option<Timestamp>,
            /// Last state change.
            #[serde(deserialize_with = "de::opt_timestamp", default)]
            pub last_state_change: Option<Timestamp>,
            /// Last hard state change.
            #[serde(deserialize_with = "de::opt_timestamp", default)]
            pub last_hard_state_change: Option<Timestamp>,
            /// Last notification.
            #[serde(deserialize_with = "de::opt_timestamp", default)]
            pub last_notification: Option<Timestamp>,
            /// Current check attempt.
            #[serde(deserialize_with = "de::u32_")]
            pub current_attempt: u32,
            /// Attempts before a state becomes HARD.
            #[serde(deserialize_with = "de::u32_")]
            pub max_attempts: u32,
            /// Notifications enabled.
            #[serde(deserialize_with = "de::bool_")]
            pub notifications_enabled: bool,
            /// Active checks enabled.
            #[serde(deserialize_with = "de::bool_")]
            pub active_checks_enabled: bool,
            /// Passive checks accepted.
            #[serde(deserialize_with = "de::bool_")]
            pub passive_checks_enabled: bool,
            /// Flapping.
            #[serde(deserialize_with = "de::bool_")]
            pub is_flapping: bool,
            /// Percent state change (flap detection).
            #[serde(deserialize_with = "de::f64_")]
            pub percent_state_change: f64,
            /// A problem is acknowledged.
            #[serde(deserialize_with = "de::bool_")]
            pub problem_has_been_acknowledged: bool,
            /// Kind of acknowledgement.
            pub acknowledgement_type: AcknowledgementType,
            /// Number of downtimes in effect.
            #[serde(deserialize_with = "de::u32_")]
            pub scheduled_downtime_depth: u32,
            /// Check interval in `interval_length` units.
            #[serde(deserialize_with = "de::f64_")]
            pub check_interval: f64,
            /// Retry interval in `interval_length` units.
            #[serde(deserialize_with = "de::f64_")]
            pub retry_interval: f64,
            /// When Nagios last wrote this block.
            #[serde(deserialize_with = "de::opt_timestamp", default)]
            pub last_update: Option<Timestamp>,
            $( $(#[$tmeta])* pub $tfield: $tty, )*
        }
    };
}

status_detail! {
    /// One host from `GET /host/<name>`: every field of its `hoststatus` block
    /// (those not modelled here are ignored).
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct HostDetail {
        /// Host name.
        pub host_name: String,
        /// Current state.
        pub current_state: HostStatus,
        /// Last hard state.
        pub last_hard_state: HostStatus,
        /// SOFT or HARD.
        pub state_type: StateType,
    }
    trailing {
        /// Comments on the host.
        #[serde(rename = "comment", default, deserialize_with = "de::null_as_default")]
        pub comments: Vec<Comment>,
        /// Downtimes of the host.
        #[serde(rename = "downtime", default, deserialize_with = "de::null_as_default")]
        pub downtimes: Vec<Downtime>,
        /// Service descriptions (empty when the host has none).
        #[serde(default, deserialize_with = "de::null_as_default")]
        pub services: Vec<String>,
    }
}

status_detail! {
    /// One service from `GET /service/<host>`: every field of its
    /// `servicestatus` block (those not modelled here are ignored).
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct ServiceDetail {
        /// Host name.
        pub host_name: String,
        /// Service description.
        pub service_description: String,
        /// Current state.
        pub current_state: ServiceStatus,
        /// Last hard state.
        pub last_hard_state: ServiceStatus,
        /// SOFT or HARD.
        pub state_type: StateType,
        /// Last time the service was OK.
        #[serde(deserialize_with = "de::opt_timestamp", default)]
        pub last_time_ok: Option<Timestamp>,
    }
    trailing {}
}

/// One line of `GET /log`: `"[1795611171] HOST ALERT: …"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The bracketed timestamp, when the line has one.
    pub timestamp: Option<Timestamp>,
    /// The rest of the line (the whole line when there is no timestamp).
    pub message: String,
}

impl LogEntry {
    /// Split a raw Nagios log line.
    pub fn parse(line: &str) -> Self {
        if let Some(rest) = line.strip_prefix('[') {
            if let Some((ts, msg)) = rest.split_once(']') {
                if let Ok(n) = ts.trim().parse::<i64>() {
                    return LogEntry {
                        timestamp: Some(Timestamp(n)),
                        message: msg.strip_prefix(' ').unwrap_or(msg).to_owned(),
                    };
                }
            }
        }
        LogEntry {
            timestamp: None,
            message: line.to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for LogEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(LogEntry::parse(&s))
    }
}

/// `GET /status` (nagios-api after 1.2.2): the `info` and `programstatus`
/// blocks of `status.dat`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NagiosStatus {
    /// The `info` block.
    pub info: StatusInfo,
    /// The `programstatus` block.
    pub program: ProgramStatus,
}

/// The `info` block of `status.dat`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusInfo {
    /// When status.dat was written.
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub created: Option<Timestamp>,
    /// Nagios version.
    #[serde(deserialize_with = "de::string_or_null", default)]
    pub version: String,
}

/// The `programstatus` block of `status.dat`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProgramStatus {
    /// PID of the Nagios daemon.
    #[serde(deserialize_with = "de::u32_")]
    pub nagios_pid: u32,
    /// Running as a daemon.
    #[serde(deserialize_with = "de::bool_")]
    pub daemon_mode: bool,
    /// When Nagios started.
    #[serde(deserialize_with = "de::opt_timestamp", default)]
    pub program_start: Option<Timestamp>,
    /// Global notifications switch.
    #[serde(deserialize_with = "de::bool_")]
    pub enable_notifications: bool,
    /// Global active service checks switch.
    #[serde(deserialize_with = "de::bool_")]
    pub active_service_checks_enabled: bool,
    /// Global passive service checks switch.
    #[serde(deserialize_with = "de::bool_")]
    pub passive_service_checks_enabled: bool,
    /// Global active host checks switch.
    #[serde(deserialize_with = "de::bool_")]
    pub active_host_checks_enabled: bool,
    /// Global passive host checks switch.
    #[serde(deserialize_with = "de::bool_")]
    pub passive_host_checks_enabled: bool,
    /// Event handlers enabled.
    #[serde(deserialize_with = "de::bool_")]
    pub enable_event_handlers: bool,
    /// Flap detection enabled.
    #[serde(deserialize_with = "de::bool_")]
    pub enable_flap_detection: bool,
    /// The id the next comment will get.
    #[serde(deserialize_with = "de::u64_")]
    pub next_comment_id: u64,
    /// The id the next downtime will get.
    #[serde(deserialize_with = "de::u64_")]
    pub next_downtime_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_split() {
        let e = LogEntry::parse("[1795611171] LOG VERSION: 2.0");
        assert_eq!(e.timestamp, Some(Timestamp(1795611171)));
        assert_eq!(e.message, "LOG VERSION: 2.0");
        let e = LogEntry::parse("no timestamp");
        assert_eq!(e.timestamp, None);
        assert_eq!(e.message, "no timestamp");
    }

    #[test]
    fn timestamps_convert() {
        let t = Timestamp(1795611171);
        assert_eq!(Timestamp::from(t.to_system_time().unwrap()), t);
        assert!(Timestamp::now().0 > 1_700_000_000);
    }

    #[test]
    fn codes_round_trip() {
        let s: ServiceStatus = serde_json::from_str("\"2\"").unwrap();
        assert_eq!(s, ServiceStatus::Critical);
        assert_eq!(s.code(), 2);
        let h: HostStatus = serde_json::from_str("1").unwrap();
        assert_eq!(h.to_string(), "DOWN");
        let err = serde_json::from_str::<HostStatus>("\"7\"").unwrap_err();
        assert!(err.to_string().contains("invalid value 7"), "{err}");
        let err = serde_json::from_str::<StateType>("\"x\"").unwrap_err();
        assert!(err.to_string().contains("\"x\""), "{err}");
    }
}

#[cfg(test)]
mod time_range_tests {
    use super::*;

    /// Issue #16: `to_system_time` used to panic on what nagios-api may relay.
    #[test]
    fn any_timestamp_converts_without_panic() {
        for secs in [i64::MIN, -5, 0, 1_795_611_171, 253_402_300_800, i64::MAX] {
            let _ = Timestamp(secs).to_system_time();
        }
        assert_eq!(Timestamp(0).to_system_time(), Some(UNIX_EPOCH));
    }

    /// Found by the property tests (issue #15): the earliest timestamp came back one second
    /// later (`-i64::MAX`) after a trip through `SystemTime`.
    #[test]
    fn the_earliest_timestamp_round_trips() {
        for secs in [i64::MIN, i64::MIN + 1, -5, 0, i64::MAX] {
            let t = Timestamp(secs);
            if let Some(st) = t.to_system_time() {
                assert_eq!(Timestamp::from(st), t);
            }
        }
    }
}
