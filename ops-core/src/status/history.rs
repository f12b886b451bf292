//! The page's history: per component, daily uptime and the incidents of the last
//! `history_days` days, computed from Nagios's own state history (its log).
//!
//! Pure functions over log lines and a clock: [`LogEvents`] parses lines (nagios-api's
//! `/log`, or an archived `nagios.log` read by [`NagiosFiles`](super::NagiosFiles)),
//! [`history`] replays them and applies **the live summary's rules** (the same functions:
//! HARD states only, downtime is maintenance, a DOWN host rolls up its services, acks make an
//! incident "identified") at every change, then cuts the result into UTC days.
//!
//! The lines that matter (Nagios 4's `base/logging.c`, `common/downtime.c`):
//!
//! ```text
//! [1796478015] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;output
//! [1796478015] HOST ALERT: db01;DOWN;SOFT;1;output
//! [1796515200] CURRENT HOST STATE: db01;UP;HARD;1;output         (after each log rotation)
//! [1796515200] CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;output
//! [1796478007] INITIAL HOST STATE: …  INITIAL SERVICE STATE: …  (at start, log_initial_states=1)
//! [1796478019] SERVICE DOWNTIME ALERT: web01;HTTP;STARTED; Service has entered …
//! [1796478033] HOST DOWNTIME ALERT: db01;CANCELLED; Scheduled downtime …  (or STOPPED)
//! [1796478031] EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;me;looking
//! [1796478031] EXTERNAL COMMAND: REMOVE_HOST_ACKNOWLEDGEMENT;db01
//! [1796478100] Caught SIGTERM, shutting down...      [1796478200] Nagios 4.4.6 starting... (PID=1)
//! ```
//!
//! How the log is read:
//!
//! - A SOFT state never changes what counts (the last HARD state holds), as in the live
//!   rules. A SOFT line about an object the log has not stated yet says its HARD state is
//!   OK/UP: Nagios only goes SOFT from a HARD OK/UP.
//! - An object is *no data* until a line states it (an alert, a `CURRENT`/`INITIAL` state
//!   line, a downtime); a member with no data makes its component unknown, as in the live
//!   rules, and unknown time counts neither as up nor as down. A host the log never
//!   mentions does not make its services unknown (it is taken as UP for their sake).
//! - Between Nagios's `Caught SIG…, shutting down` and its next `starting...` nothing is
//!   monitored: every component is *no data*.
//! - A malformed line (no `[epoch]`, an epoch outside 1970–9999, a state line whose fields
//!   do not parse) is skipped and counted ([`HistorySources::malformed_lines`]), never fatal.
//!   Lines of other kinds are ignored.
//! - Acknowledgements follow Nagios: a normal one ends at the next state change, a sticky
//!   one (`2`) when the object recovers.
//!
//! Uptime of a day is the time the component was *operational* or *degraded* over the time
//! it was known and not in maintenance (a partial or major outage is down time); `null`
//! when there is no such time. Days are UTC days; the last one is today, up to `now`.
//! Group members (`group:`) are resolved with today's groups for the whole period.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{
    ComponentStatus, Groups, Health, HostHealth, HostState, Member, MemberHealth, ServiceHealth,
    ServiceState, Snapshot, StateType, StatusConfig, component_status, identified, member_health,
    rfc3339, slug,
};

/// The last second a page can print (9999-12-31T23:59:59Z), as `nagios::LATEST`.
const LATEST_SECS: i64 = 253_402_300_799;
const DAY: i64 = 86_400;
/// The most incidents listed per component (the newest); `incidents_total` counts them all.
pub const MAX_INCIDENTS: usize = 100;

/// What one log line says, for the history.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Event {
    /// Seconds since the epoch, within 0..=LATEST_SECS.
    pub(crate) at: i64,
    pub(crate) what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum What {
    /// `alert`: an ALERT line (a change); else a CURRENT/INITIAL state line (a reminder).
    Host {
        host: Arc<str>,
        state: HostState,
        hard: bool,
        alert: bool,
    },
    Service {
        host: Arc<str>,
        service: Arc<str>,
        state: ServiceState,
        hard: bool,
        alert: bool,
    },
    Downtime {
        host: Arc<str>,
        service: Option<Arc<str>>,
        started: bool,
    },
    Ack {
        host: Arc<str>,
        service: Option<Arc<str>>,
        sticky: bool,
    },
    Unack {
        host: Arc<str>,
        service: Option<Arc<str>>,
    },
    NagiosStopped,
    NagiosStarted,
}

impl What {
    fn host(&self) -> Option<&str> {
        match self {
            What::Host { host, .. }
            | What::Service { host, .. }
            | What::Downtime { host, .. }
            | What::Ack { host, .. }
            | What::Unack { host, .. } => Some(host),
            What::NagiosStopped | What::NagiosStarted => None,
        }
    }
}

enum Parsed {
    Event(What),
    Ignored,
    Malformed,
}

/// The events of some Nagios log lines (one archived file, or nagios-api's `/log`), with
/// how many lines were read and how many were malformed.
#[derive(Debug, Clone, Default)]
pub struct LogEvents {
    events: Vec<Event>,
    lines: usize,
    malformed: usize,
    names: HashSet<Arc<str>>,
}

impl LogEvents {
    /// Parse raw log lines (`[epoch] message`).
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = LogEvents::default();
        for line in lines {
            out.push_line(line);
        }
        out
    }

    /// Parse lines already split into their timestamp and message (nagios-api's `/log`
    /// entries); a line without a timestamp is malformed.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (Option<i64>, &'a str)>) -> Self {
        let mut out = LogEvents::default();
        for (at, message) in entries {
            match at {
                Some(at) => out.push_message(at, message),
                None if message.trim().is_empty() => {}
                None => {
                    out.lines += 1;
                    out.malformed += 1;
                }
            }
        }
        out
    }

    /// Parse one more raw line.
    pub fn push_line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return;
        }
        let split = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(ts, msg)| Some((ts.trim().parse::<i64>().ok()?, msg)));
        match split {
            Some((at, msg)) => self.push_message(at, msg.strip_prefix(' ').unwrap_or(msg)),
            None => {
                self.lines += 1;
                self.malformed += 1;
            }
        }
    }

    fn push_message(&mut self, at: i64, message: &str) {
        self.lines += 1;
        if !(0..=LATEST_SECS).contains(&at) {
            self.malformed += 1;
            return;
        }
        match self.parse_message(message) {
            Parsed::Event(what) => self.events.push(Event { at, what }),
            Parsed::Ignored => {}
            Parsed::Malformed => self.malformed += 1,
        }
    }

    /// Lines read (blank lines aside).
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Lines skipped as malformed.
    pub fn malformed(&self) -> usize {
        self.malformed
    }

    /// Lines that said something the history uses.
    pub fn events(&self) -> usize {
        self.events.len()
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.names.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        self.names.insert(Arc::clone(&a));
        a
    }

    fn name(&mut self, s: &str) -> Option<Arc<str>> {
        let s = s.trim();
        (!s.is_empty()).then(|| self.intern(s))
    }

    fn parse_message(&mut self, msg: &str) -> Parsed {
        if msg.starts_with("Nagios ") && msg.contains(" starting...") {
            return Parsed::Event(What::NagiosStarted);
        }
        if (msg.starts_with("Caught SIG") && msg.contains("shutting down"))
            || msg.starts_with("Successfully shutdown")
        {
            return Parsed::Event(What::NagiosStopped);
        }
        let Some((kind, rest)) = msg.split_once(": ") else {
            return Parsed::Ignored;
        };
        let parsed = match kind {
            "HOST ALERT" => self.host_state(rest, true),
            "CURRENT HOST STATE" | "INITIAL HOST STATE" => self.host_state(rest, false),
            "SERVICE ALERT" => self.service_state(rest, true),
            "CURRENT SERVICE STATE" | "INITIAL SERVICE STATE" => self.service_state(rest, false),
            "HOST DOWNTIME ALERT" => self.downtime(rest, false),
            "SERVICE DOWNTIME ALERT" => self.downtime(rest, true),
            "EXTERNAL COMMAND" => return self.command(rest),
            _ => return Parsed::Ignored,
        };
        parsed.map_or(Parsed::Malformed, Parsed::Event)
    }

    /// `host;STATE;HARD|SOFT;attempt;output`
    fn host_state(&mut self, rest: &str, alert: bool) -> Option<What> {
        let f: Vec<&str> = rest.splitn(5, ';').collect();
        let [host, state, ty, attempt, ..] = f.as_slice() else {
            return None;
        };
        let state = match state.trim() {
            "UP" => HostState::Up,
            "DOWN" => HostState::Down,
            "UNREACHABLE" => HostState::Unreachable,
            _ => return None,
        };
        let hard = state_type(ty)?;
        attempt.trim().parse::<u32>().ok()?;
        Some(What::Host {
            host: self.name(host)?,
            state,
            hard,
            alert,
        })
    }

    /// `host;service;STATE;HARD|SOFT;attempt;output`
    fn service_state(&mut self, rest: &str, alert: bool) -> Option<What> {
        let f: Vec<&str> = rest.splitn(6, ';').collect();
        let [host, service, state, ty, attempt, ..] = f.as_slice() else {
            return None;
        };
        let state = match state.trim() {
            "OK" => ServiceState::Ok,
            "WARNING" => ServiceState::Warning,
            "CRITICAL" => ServiceState::Critical,
            "UNKNOWN" => ServiceState::Unknown,
            _ => return None,
        };
        let hard = state_type(ty)?;
        attempt.trim().parse::<u32>().ok()?;
        Some(What::Service {
            host: self.name(host)?,
            service: self.name(service)?,
            state,
            hard,
            alert,
        })
    }

    /// `host;STARTED|STOPPED|CANCELLED; text` or `host;service;…`
    fn downtime(&mut self, rest: &str, service: bool) -> Option<What> {
        let f: Vec<&str> = rest.splitn(if service { 4 } else { 3 }, ';').collect();
        let (host, svc, what) = match (service, f.as_slice()) {
            (false, [h, w, ..]) => (*h, None, *w),
            (true, [h, s, w, ..]) => (*h, Some(*s), *w),
            _ => return None,
        };
        let started = match what.trim() {
            "STARTED" => true,
            "STOPPED" | "CANCELLED" => false,
            _ => return None,
        };
        let service = match svc {
            Some(s) => Some(self.name(s)?),
            None => None,
        };
        Some(What::Downtime {
            host: self.name(host)?,
            service,
            started,
        })
    }

    /// The acknowledgement commands; any other external command is ignored.
    fn command(&mut self, rest: &str) -> Parsed {
        let f: Vec<&str> = rest.split(';').collect();
        let Some(cmd) = f.first() else {
            return Parsed::Ignored;
        };
        let is = |name: &str| cmd.trim().eq_ignore_ascii_case(name);
        let what = if is("ACKNOWLEDGE_HOST_PROBLEM") {
            // host;sticky;notify;persistent;author;comment
            f.get(1).zip(f.get(2)).and_then(|(h, sticky)| {
                Some(What::Ack {
                    host: self.name(h)?,
                    service: None,
                    sticky: sticky.trim().parse::<i64>().ok()? == 2,
                })
            })
        } else if is("ACKNOWLEDGE_SVC_PROBLEM") {
            // host;service;sticky;notify;persistent;author;comment
            match f.as_slice() {
                [_, h, s, sticky, ..] => (|| {
                    Some(What::Ack {
                        host: self.name(h)?,
                        service: Some(self.name(s)?),
                        sticky: sticky.trim().parse::<i64>().ok()? == 2,
                    })
                })(),
                _ => None,
            }
        } else if is("REMOVE_HOST_ACKNOWLEDGEMENT") {
            f.get(1).and_then(|h| {
                Some(What::Unack {
                    host: self.name(h)?,
                    service: None,
                })
            })
        } else if is("REMOVE_SVC_ACKNOWLEDGEMENT") {
            f.get(1).zip(f.get(2)).and_then(|(h, s)| {
                Some(What::Unack {
                    host: self.name(h)?,
                    service: Some(self.name(s)?),
                })
            })
        } else {
            return Parsed::Ignored;
        };
        what.map_or(Parsed::Malformed, Parsed::Event)
    }
}

fn state_type(s: &str) -> Option<bool> {
    match s.trim() {
        "HARD" => Some(true),
        "SOFT" => Some(false),
        _ => None,
    }
}

/// The page's history, as the summary's `history` (JSON) and the uptime bars (HTML) show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    /// Days covered (the page's `history_days`).
    pub days: u32,
    /// The first day (`YYYY-MM-DD`).
    pub from: String,
    /// The last day: today.
    pub to: String,
    /// Days are cut at midnight in this zone (always `UTC`).
    pub time_zone: &'static str,
    /// Per component, in configuration order.
    pub components: Vec<ComponentHistory>,
    /// What the history was computed from.
    pub sources: HistorySources,
}

/// What the history was read from.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HistorySources {
    /// Lines of nagios-api's `/log` read.
    pub recent_log_lines: usize,
    /// Why `/log` could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_log_error: Option<String>,
    /// Archived log files (`log_archive_path`) the period needs.
    pub archive_files: usize,
    /// Of those, read and parsed by this refresh (new or changed since the last one).
    pub archive_files_read: usize,
    /// Of those, taken from the cache (same size and modification time as when read).
    pub archive_files_cached: usize,
    /// Lines of the archived files (cached or not).
    pub archive_lines: usize,
    /// Why the archive could not be read (or some of its files), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_error: Option<String>,
    /// Lines skipped as malformed, all sources together.
    pub malformed_lines: usize,
    /// The earliest state the logs give (RFC 3339), if any.
    pub earliest_data: Option<String>,
}

/// One component's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentHistory {
    /// The component's id (as in `components[].id`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Uptime over the whole period (`null` with no measured time).
    pub uptime_percent: Option<f64>,
    /// One entry per day, oldest first.
    pub uptime: Vec<DayUptime>,
    /// The incidents that overlap the period, newest first (at most [`MAX_INCIDENTS`]).
    pub incidents: Vec<PastIncident>,
    /// How many incidents overlap the period.
    pub incidents_total: usize,
}

/// One day of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayUptime {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Operational or degraded time over the time known and not in maintenance, in percent
    /// (0 to 100, never rounded up to 100); `null` when there is no such time.
    pub percent: Option<f64>,
    /// What the day's bar shows, the first that applies: `major_outage`, `partial_outage`,
    /// `degraded_performance` (any such time), `under_maintenance` (any), `operational`
    /// (any), else `no_data`.
    pub status: &'static str,
    /// Seconds operational.
    pub operational_secs: u64,
    /// Seconds in degraded performance (counted as up).
    pub degraded_secs: u64,
    /// Seconds in partial outage (down).
    pub partial_outage_secs: u64,
    /// Seconds in major outage (down).
    pub major_outage_secs: u64,
    /// Seconds in scheduled maintenance (left out of the percentage).
    pub maintenance_secs: u64,
    /// Seconds without data (before the logs start, a member never stated, Nagios stopped;
    /// after `now` today), left out of the percentage.
    pub no_data_secs: u64,
}

/// One incident of the period: a run of degraded performance or outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastIncident {
    /// When it began (RFC 3339).
    pub start: String,
    /// When it ended (RFC 3339); `null` while it lasts.
    pub end: Option<String>,
    /// How long it lasted (so far).
    pub duration_secs: u64,
    /// Its worst status.
    pub worst: ComponentStatus,
    /// When every problem of it was first acknowledged ("identified"), if ever.
    pub identified_at: Option<String>,
    /// The members that had a problem during it.
    pub members: Vec<String>,
}

/// One stretch of a component's timeline.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    start: i64,
    status: ComponentStatus,
    identified: bool,
    problems: Vec<String>,
}

fn secs_of(t: SystemTime) -> i64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    i64::try_from(d).unwrap_or(LATEST_SECS).min(LATEST_SECS)
}

fn time_of(secs: i64) -> SystemTime {
    let secs = u64::try_from(secs.clamp(0, LATEST_SECS)).unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `(year, month, day)` of a day number (days since 1970-01-01). H. Hinnant's algorithm.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// The day number of a civil date (the inverse of [`civil_from_days`]); `None` for a month
/// or day out of range.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(0..=9999).contains(&y) {
        return None;
    }
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The first second of the period that ends today (UTC) and lasts `days` days.
pub(crate) fn window_start(days: u32, now: SystemTime) -> i64 {
    let today = secs_of(now).div_euclid(DAY);
    (today - i64::from(days.max(1)) + 1) * DAY
}

/// The events of `archive` (files oldest first) and then `recent` (nagios-api's `/log`), in
/// time order. `/log` lines the archive already holds (nagios-api keeps the lines of a log
/// it saw rotated) are dropped, and so are `/log`'s repeats (nagios-api reads the whole
/// `nagios.log` again after a minute without new lines): by content, never by time alone,
/// so that one line with a wild time cannot hide the others.
fn merged<'a>(archive: &[&'a LogEvents], recent: Option<&'a LogEvents>) -> Vec<&'a Event> {
    let mut out: Vec<&Event> = archive.iter().flat_map(|l| l.events.iter()).collect();
    let recent_from = recent.and_then(|r| r.events.iter().map(|e| e.at).min());
    let overlap: HashSet<&Event> = match recent_from {
        Some(from) => out.iter().filter(|e| e.at >= from).copied().collect(),
        None => HashSet::new(),
    };
    let mut seen: HashSet<&Event> = HashSet::new();
    for e in recent.iter().flat_map(|r| r.events.iter()) {
        if !overlap.contains(e) && seen.insert(e) {
            out.push(e);
        }
    }
    out.sort_by_key(|e| e.at); // stable: a file's order stands within a second
    out
}

/// The log's state of the world, in the live summary's model.
struct Replay {
    snapshot: Snapshot,
    sticky: HashSet<(Arc<str>, Option<Arc<str>>)>,
    monitoring: bool,
}

impl Replay {
    fn host(&mut self, name: &str) -> &mut HostHealth {
        self.snapshot
            .hosts
            .entry(name.to_owned())
            .or_insert_with(HostHealth::up)
    }

    /// Apply one event at `at`; whether it may change a component's status.
    fn apply(&mut self, what: &What, at: SystemTime) -> bool {
        match what {
            What::NagiosStopped => std::mem::replace(&mut self.monitoring, false),
            What::NagiosStarted => !std::mem::replace(&mut self.monitoring, true),
            What::Host {
                host,
                state,
                hard,
                alert,
            } => {
                let key = (Arc::clone(host), None);
                let sticky = self.sticky.contains(&key);
                let h = self.host(host);
                let before = (h.effective_state(), h.acknowledged, h.last_check.is_some());
                let changed = h.last_check.is_none() || h.state != *state;
                // Only a change (an alert) ends an acknowledgement; a state line repeats.
                if h.acknowledged && *alert {
                    let ends = if sticky {
                        *state == HostState::Up
                    } else {
                        changed || !hard
                    };
                    if ends {
                        h.acknowledged = false;
                    }
                }
                if *hard {
                    h.state_type = StateType::Hard;
                    h.last_hard_state = *state;
                } else {
                    h.state_type = StateType::Soft;
                    if h.last_check.is_none() {
                        // Nagios goes SOFT only from a HARD UP.
                        h.last_hard_state = HostState::Up;
                    }
                }
                h.state = *state;
                h.last_check = Some(at);
                let after = (h.effective_state(), h.acknowledged, true);
                if !h.acknowledged {
                    self.sticky.remove(&key);
                }
                before != after
            }
            What::Service {
                host,
                service,
                state,
                hard,
                alert,
            } => {
                let key = (Arc::clone(host), Some(Arc::clone(service)));
                let sticky = self.sticky.contains(&key);
                let s = self
                    .host(host)
                    .services
                    .entry(service.to_string())
                    .or_insert_with(ServiceHealth::ok);
                let before = (s.effective_state(), s.acknowledged, s.last_check.is_some());
                let changed = s.last_check.is_none() || s.state != *state;
                if s.acknowledged && *alert {
                    let ends = if sticky {
                        *state == ServiceState::Ok
                    } else {
                        changed || !hard
                    };
                    if ends {
                        s.acknowledged = false;
                    }
                }
                if *hard {
                    s.state_type = StateType::Hard;
                    s.last_hard_state = *state;
                } else {
                    s.state_type = StateType::Soft;
                    if s.last_check.is_none() {
                        // Nagios goes SOFT only from a HARD OK.
                        s.last_hard_state = ServiceState::Ok;
                    }
                }
                s.state = *state;
                s.last_check = Some(at);
                let after = (s.effective_state(), s.acknowledged, true);
                if !s.acknowledged {
                    self.sticky.remove(&key);
                }
                before != after
            }
            What::Downtime {
                host,
                service,
                started,
            } => {
                let h = self.host(host);
                let flag = match service {
                    None => &mut h.in_downtime,
                    Some(s) => {
                        &mut h
                            .services
                            .entry(s.to_string())
                            .or_insert_with(ServiceHealth::ok)
                            .in_downtime
                    }
                };
                std::mem::replace(flag, *started) != *started
            }
            What::Ack {
                host,
                service,
                sticky,
            } => {
                let key = (Arc::clone(host), service.clone());
                let Some(h) = self.snapshot.hosts.get_mut(&**host) else {
                    return false;
                };
                // Nagios refuses to acknowledge an object that is OK/UP (or never checked).
                let acked = match service {
                    None => (h.last_check.is_some() && h.state != HostState::Up)
                        .then_some(&mut h.acknowledged),
                    Some(s) => h
                        .services
                        .get_mut(&**s)
                        .filter(|s| s.last_check.is_some() && s.state != ServiceState::Ok)
                        .map(|s| &mut s.acknowledged),
                };
                let Some(flag) = acked else {
                    return false;
                };
                let was = std::mem::replace(flag, true);
                if *sticky {
                    self.sticky.insert(key);
                } else {
                    self.sticky.remove(&key);
                }
                !was
            }
            What::Unack { host, service } => {
                let key = (Arc::clone(host), service.clone());
                self.sticky.remove(&key);
                let Some(h) = self.snapshot.hosts.get_mut(&**host) else {
                    return false;
                };
                let flag = match service {
                    None => Some(&mut h.acknowledged),
                    Some(s) => h.services.get_mut(&**s).map(|s| &mut s.acknowledged),
                };
                flag.is_some_and(|f| std::mem::replace(f, false))
            }
        }
    }
}

/// A component's status at `at` under the live rules, over the replayed state: the same
/// member and component functions as [`summarize`](super::summarize), with no freshness
/// limit (a state from the log holds until the log says otherwise).
fn status_at(replay: &Replay, members: &[Member], start: i64) -> Segment {
    let at = time_of(start);
    if !replay.monitoring {
        return Segment {
            start,
            status: ComponentStatus::Unknown,
            identified: false,
            problems: Vec::new(),
        };
    }
    let health: Vec<MemberHealth> = members
        .iter()
        .flat_map(|m| member_health(&replay.snapshot, m, at, Duration::MAX))
        .collect();
    Segment {
        start,
        status: component_status(&health),
        identified: identified(&health),
        problems: health
            .iter()
            .filter(|m| matches!(m.health, Health::Degraded | Health::Outage))
            .map(|m| m.name.clone())
            .collect(),
    }
}

/// Append `seg` to a timeline: nothing when nothing changed; a stretch of no length
/// (two changes within a second) is replaced.
fn push(timeline: &mut Vec<Segment>, seg: Segment) {
    let same = |a: &Segment, b: &Segment| {
        a.status == b.status && a.identified == b.identified && a.problems == b.problems
    };
    if let Some(last) = timeline.last() {
        if same(last, &seg) {
            return;
        }
        if last.start >= seg.start {
            timeline.pop();
            if timeline.last().is_some_and(|prev| same(prev, &seg)) {
                return;
            }
        }
    }
    timeline.push(seg);
}

/// Replay `events` and return every component's timeline, starting no later than `from`.
fn timelines(
    config: &StatusConfig,
    groups: Option<&Groups>,
    events: &[&Event],
    from: i64,
    now: i64,
) -> Vec<Vec<Segment>> {
    let mut replay = Replay {
        snapshot: Snapshot {
            data_as_of: None,
            hosts: Default::default(),
            groups: groups.cloned(),
        },
        sticky: HashSet::new(),
        monitoring: true,
    };
    // Which components a host's events concern (groups resolved once).
    let mut by_host: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, spec) in config.components.iter().enumerate() {
        for m in &spec.members {
            for e in m.expand(groups).unwrap_or_default() {
                let host = match e {
                    Member::Host(h) | Member::Service { host: h, .. } => h,
                    Member::HostGroup(_) | Member::ServiceGroup(_) => continue,
                };
                let list = by_host.entry(host).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
    }
    let start = events.first().map_or(from, |e| e.at.min(from));
    let mut lines: Vec<Vec<Segment>> = config
        .components
        .iter()
        .map(|c| vec![status_at(&replay, &c.members, start)])
        .collect();
    for e in events {
        let affected: &[usize] = match e.what.host() {
            Some(h) => match by_host.get(h) {
                Some(list) => list,
                None => continue, // no component shows this host
            },
            None => &[],
        };
        let at = e.at.min(now);
        if !replay.apply(&e.what, time_of(at)) {
            continue;
        }
        if e.what.host().is_some() {
            for &i in affected {
                push(
                    &mut lines[i],
                    status_at(&replay, &config.components[i].members, at),
                );
            }
        } else {
            for (i, c) in config.components.iter().enumerate() {
                push(&mut lines[i], status_at(&replay, &c.members, at));
            }
        }
    }
    lines
}

#[derive(Default, Clone, Copy)]
struct Buckets {
    operational: u64,
    degraded: u64,
    partial: u64,
    major: u64,
    maintenance: u64,
    no_data: u64,
}

impl Buckets {
    fn add(&mut self, status: ComponentStatus, secs: u64) {
        let b = match status {
            ComponentStatus::Operational => &mut self.operational,
            ComponentStatus::DegradedPerformance => &mut self.degraded,
            ComponentStatus::PartialOutage => &mut self.partial,
            ComponentStatus::MajorOutage => &mut self.major,
            ComponentStatus::UnderMaintenance => &mut self.maintenance,
            ComponentStatus::Unknown => &mut self.no_data,
        };
        *b = b.saturating_add(secs);
    }

    /// Up time over measured time, floored to a thousandth of a percent (so a day with any
    /// down time never reads 100).
    fn percent(&self) -> Option<f64> {
        let up = self.operational.saturating_add(self.degraded);
        let measured = up.saturating_add(self.partial).saturating_add(self.major);
        if measured == 0 {
            return None;
        }
        let p = (up as f64) * 100.0 / (measured as f64);
        Some(((p * 1000.0).floor() / 1000.0).clamp(0.0, 100.0))
    }

    fn status(&self) -> &'static str {
        if self.major > 0 {
            "major_outage"
        } else if self.partial > 0 {
            "partial_outage"
        } else if self.degraded > 0 {
            "degraded_performance"
        } else if self.maintenance > 0 {
            "under_maintenance"
        } else if self.operational > 0 {
            "operational"
        } else {
            "no_data"
        }
    }

    fn sum(&mut self, o: &Buckets) {
        self.operational = self.operational.saturating_add(o.operational);
        self.degraded = self.degraded.saturating_add(o.degraded);
        self.partial = self.partial.saturating_add(o.partial);
        self.major = self.major.saturating_add(o.major);
        self.maintenance = self.maintenance.saturating_add(o.maintenance);
        self.no_data = self.no_data.saturating_add(o.no_data);
    }
}

fn is_problem(s: ComponentStatus) -> bool {
    matches!(
        s,
        ComponentStatus::DegradedPerformance
            | ComponentStatus::PartialOutage
            | ComponentStatus::MajorOutage
    )
}

/// The incidents of a timeline that end after `from` (or last), newest first.
fn incidents(timeline: &[Segment], from: i64, now: i64) -> Vec<PastIncident> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < timeline.len() {
        if !is_problem(timeline[i].status) {
            i += 1;
            continue;
        }
        let first = i;
        let mut worst = timeline[i].status;
        let mut identified_at = None;
        let mut members = BTreeSet::new();
        while i < timeline.len() && is_problem(timeline[i].status) {
            let s = &timeline[i];
            worst = worst.max(s.status);
            if s.identified && identified_at.is_none() {
                identified_at = Some(s.start);
            }
            members.extend(s.problems.iter().cloned());
            i += 1;
        }
        let start = timeline[first].start;
        let end = timeline.get(i).map(|s| s.start.min(now));
        if end.is_some_and(|e| e <= from) {
            continue;
        }
        let until = end.unwrap_or(now);
        out.push(PastIncident {
            start: rfc3339(time_of(start)),
            end: end.map(|e| rfc3339(time_of(e))),
            duration_secs: u64::try_from(until.saturating_sub(start)).unwrap_or(0),
            worst,
            identified_at: identified_at.map(|t| rfc3339(time_of(t))),
            members: members.into_iter().collect(),
        });
    }
    out.reverse();
    out
}

/// Cut a timeline into `days` UTC days starting at `from` (a midnight), up to `now`.
fn days_of(timeline: &[Segment], from: i64, days: usize, now: i64) -> Vec<Buckets> {
    let mut out = vec![Buckets::default(); days];
    let first_day = from.div_euclid(DAY);
    for (i, seg) in timeline.iter().enumerate() {
        let end = timeline.get(i + 1).map_or(now, |n| n.start).min(now);
        let mut t = seg.start.max(from);
        while t < end {
            let day = t.div_euclid(DAY);
            let next = day.saturating_add(1).saturating_mul(DAY).min(end);
            let idx = usize::try_from(day - first_day).ok();
            if let Some(b) = idx.and_then(|i| out.get_mut(i)) {
                b.add(seg.status, u64::try_from(next - t).unwrap_or(0));
            }
            t = next;
        }
    }
    // Today after `now`: not known yet.
    if let Some(last) = out.last_mut() {
        let today_end = (first_day + i64::try_from(days).unwrap_or(0)) * DAY;
        last.no_data = last
            .no_data
            .saturating_add(u64::try_from(today_end.saturating_sub(now.max(from))).unwrap_or(0));
    }
    out
}

/// The history of `config`'s components over its last `history_days` days (at least one)
/// up to `now`, from the events of `archive` (archived files, oldest first) and `recent`
/// (nagios-api's `/log`); `groups` resolves group members. [`HistorySources`] holds the
/// line counts; the caller fills in what it knows of the files and `/log`.
pub fn history(
    config: &StatusConfig,
    groups: Option<&Groups>,
    archive: &[&LogEvents],
    recent: Option<&LogEvents>,
    now: SystemTime,
) -> History {
    let days = config.history_days.max(1);
    let now_s = secs_of(now);
    let from = window_start(days, now);
    let events = merged(archive, recent);
    let lines = timelines(config, groups, &events, from, now_s);
    let n = usize::try_from(days).unwrap_or(1);
    let first_day = from.div_euclid(DAY);
    let components = config
        .components
        .iter()
        .zip(&lines)
        .map(|(spec, timeline)| {
            let buckets = days_of(timeline, from, n, now_s);
            let mut total = Buckets::default();
            let uptime = buckets
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    total.sum(b);
                    DayUptime {
                        date: date(first_day + i64::try_from(i).unwrap_or(0)),
                        percent: b.percent(),
                        status: b.status(),
                        operational_secs: b.operational,
                        degraded_secs: b.degraded,
                        partial_outage_secs: b.partial,
                        major_outage_secs: b.major,
                        maintenance_secs: b.maintenance,
                        no_data_secs: b.no_data,
                    }
                })
                .collect();
            let mut incidents = incidents(timeline, from, now_s);
            let incidents_total = incidents.len();
            incidents.truncate(MAX_INCIDENTS);
            ComponentHistory {
                id: slug(&spec.name),
                name: spec.name.clone(),
                uptime_percent: total.percent(),
                uptime,
                incidents,
                incidents_total,
            }
        })
        .collect();
    let all = || archive.iter().copied().chain(recent);
    History {
        days,
        from: date(first_day),
        to: date(now_s.div_euclid(DAY)),
        time_zone: "UTC",
        components,
        sources: HistorySources {
            recent_log_lines: recent.map_or(0, LogEvents::lines),
            archive_files: archive.len(),
            archive_lines: archive.iter().map(|l| l.lines()).sum(),
            malformed_lines: all().map(LogEvents::malformed).sum(),
            earliest_data: events.first().map(|e| rfc3339(time_of(e.at))),
            ..HistorySources::default()
        },
    }
}

#[cfg(test)]
mod tests;
