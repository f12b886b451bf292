//! Building a [`Snapshot`] from nagios-api, through `nagios-client`.

use super::history::LogEvents;
use super::model::{HostHealth, HostState, ServiceHealth, ServiceState, Snapshot, StateType};
use nagios_client::{HostStatus, LogEntry, NagiosStatus, ServiceStatus, State};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The latest time a status page can print (RFC 3339 stops at 9999-12-31T23:59:59Z).
pub(crate) const LATEST: Duration = Duration::from_secs(253_402_300_799);

/// A timestamp from nagios-api as a time, or `None` when it is not one a page can use:
/// before 1970 or after 9999 (Nagios writes what it is given; a broken passive feed can
/// send anything). Such a check is "unknown time", never "just now".
fn checked_time(t: nagios_client::Timestamp) -> Option<SystemTime> {
    let at = t.to_system_time()?;
    let since = at.duration_since(UNIX_EPOCH).ok()?;
    (since <= LATEST).then_some(at)
}

fn host_state(s: HostStatus) -> HostState {
    match s {
        HostStatus::Up => HostState::Up,
        HostStatus::Down => HostState::Down,
        HostStatus::Unreachable => HostState::Unreachable,
    }
}

fn service_state(s: ServiceStatus) -> ServiceState {
    match s {
        ServiceStatus::Ok => ServiceState::Ok,
        ServiceStatus::Warning => ServiceState::Warning,
        ServiceStatus::Critical => ServiceState::Critical,
        ServiceStatus::Unknown => ServiceState::Unknown,
    }
}

/// nagios-api's `/state` has no `state_type`: a state is SOFT while it
/// differs from the last HARD state and the check has attempts left.
fn state_type(differs_from_hard: bool, attempt: u32, max: u32) -> StateType {
    if differs_from_hard && attempt < max {
        StateType::Soft
    } else {
        StateType::Hard
    }
}

impl Snapshot {
    /// Convert nagios-api's `/state` (and, when available, `/status`, whose
    /// `info.created` says when Nagios last wrote status.dat) into a snapshot.
    ///
    /// Freshness is `info.created` when known, else the newest `last_check`.
    pub fn from_nagios(state: &State, status: Option<&NagiosStatus>) -> Snapshot {
        let mut newest_check: Option<SystemTime> = None;
        let mut seen = |t: Option<SystemTime>| {
            if let Some(t) = t {
                newest_check = Some(newest_check.map_or(t, |n| n.max(t)));
            }
        };
        let hosts = state
            .iter()
            .map(|(name, h)| {
                let last_check = h.last_check.and_then(checked_time);
                seen(last_check);
                let services = h
                    .services
                    .iter()
                    .map(|(desc, s)| {
                        let last_check = s.last_check.and_then(checked_time);
                        seen(last_check);
                        let health = ServiceHealth {
                            state: service_state(s.current_state),
                            state_type: state_type(
                                s.current_state != s.last_hard_state,
                                s.current_attempt,
                                s.max_attempts,
                            ),
                            last_hard_state: service_state(s.last_hard_state),
                            in_downtime: s.in_downtime(),
                            acknowledged: s.problem_has_been_acknowledged,
                            output: s.plugin_output.clone(),
                            last_check,
                        };
                        (desc.clone(), health)
                    })
                    .collect();
                let health = HostHealth {
                    state: host_state(h.current_state),
                    state_type: state_type(
                        h.current_state != h.last_hard_state,
                        h.current_attempt,
                        h.max_attempts,
                    ),
                    last_hard_state: host_state(h.last_hard_state),
                    in_downtime: h.in_downtime(),
                    acknowledged: h.problem_has_been_acknowledged,
                    output: h.plugin_output.clone(),
                    last_check,
                    services,
                };
                (name.clone(), health)
            })
            .collect();
        let created = status.and_then(|s| s.info.created).and_then(checked_time);
        Snapshot {
            data_as_of: created.or(newest_check),
            hosts,
            groups: None,
        }
    }
}

impl LogEvents {
    /// The events of nagios-api's `/log` answer (the last 1000 lines of `nagios.log`).
    pub fn from_nagios(entries: &[LogEntry]) -> LogEvents {
        LogEvents::from_entries(
            entries
                .iter()
                .map(|e| (e.timestamp.map(|t| t.0), e.message.as_str())),
        )
    }
}
