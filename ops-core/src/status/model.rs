//! The monitoring snapshot the status rules read: a provider-neutral view of
//! Nagios's state (an adapter builds it from `nagios-client`'s typed state).

use std::collections::BTreeMap;
use std::time::SystemTime;

/// A host's check result as Nagios reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostState {
    /// 0: the host answers.
    Up,
    /// 1: the host is down.
    Down,
    /// 2: the host is unreachable (a parent is down).
    Unreachable,
}

/// A service's check result as Nagios reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceState {
    /// 0.
    Ok,
    /// 1.
    Warning,
    /// 2.
    Critical,
    /// 3.
    Unknown,
}

/// Whether a state is confirmed (HARD) or still being re-checked (SOFT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    /// Confirmed after `max_check_attempts`.
    Hard,
    /// Not yet confirmed; the last HARD state still holds.
    Soft,
}

/// One host and its services.
#[derive(Debug, Clone, PartialEq)]
pub struct HostHealth {
    /// Current state (may be SOFT).
    pub state: HostState,
    /// HARD or SOFT.
    pub state_type: StateType,
    /// The last HARD state, used while the current one is SOFT.
    pub last_hard_state: HostState,
    /// `scheduled_downtime_depth > 0`.
    pub in_downtime: bool,
    /// `problem_has_been_acknowledged`.
    pub acknowledged: bool,
    /// The plugin output of the last check.
    pub output: String,
    /// When the host was last checked. `None`: never checked (Nagios's *pending*,
    /// `last_check` 0) or a time a page cannot use; the page shows it as unknown.
    pub last_check: Option<SystemTime>,
    /// The host's services, by description.
    pub services: BTreeMap<String, ServiceHealth>,
}

/// One service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    /// Current state (may be SOFT).
    pub state: ServiceState,
    /// HARD or SOFT.
    pub state_type: StateType,
    /// The last HARD state, used while the current one is SOFT.
    pub last_hard_state: ServiceState,
    /// `scheduled_downtime_depth > 0`.
    pub in_downtime: bool,
    /// `problem_has_been_acknowledged`.
    pub acknowledged: bool,
    /// The plugin output of the last check.
    pub output: String,
    /// When the service was last checked. `None`: never checked (Nagios's *pending*,
    /// `last_check` 0) or a time a page cannot use; the page shows it as unknown.
    pub last_check: Option<SystemTime>,
}

/// Everything the status rules need, taken at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// How fresh Nagios's data is: the newest of the program's last command
    /// check and the hosts' and services' last checks. `None` when Nagios
    /// reported no time at all, which the staleness guard treats as stale.
    pub data_as_of: Option<SystemTime>,
    /// Hosts by name.
    pub hosts: BTreeMap<String, HostHealth>,
    /// Host and service groups, for `group:` and `servicegroup:` members: read from
    /// Nagios's `objects.cache` (nagios-api 1.2.2 does not serve them). `None`: not read
    /// (no `objects_cache` in the status config); group members are then unknown.
    pub groups: Option<super::Groups>,
}

impl HostHealth {
    /// A host that is UP (HARD), with no services and never checked (set
    /// `last_check` for one the page shows as operational); handy in tests and fakes.
    pub fn up() -> Self {
        Self {
            state: HostState::Up,
            state_type: StateType::Hard,
            last_hard_state: HostState::Up,
            in_downtime: false,
            acknowledged: false,
            output: String::new(),
            last_check: None,
            services: BTreeMap::new(),
        }
    }

    /// The state that counts for the page: the current one when HARD, the
    /// last HARD one while SOFT.
    pub fn effective_state(&self) -> HostState {
        match self.state_type {
            StateType::Hard => self.state,
            StateType::Soft => self.last_hard_state,
        }
    }
}

impl ServiceHealth {
    /// A service that is OK (HARD) and never checked (set `last_check` for one the
    /// page shows as operational); handy in tests and fakes.
    pub fn ok() -> Self {
        Self {
            state: ServiceState::Ok,
            state_type: StateType::Hard,
            last_hard_state: ServiceState::Ok,
            in_downtime: false,
            acknowledged: false,
            output: String::new(),
            last_check: None,
        }
    }

    /// The state that counts for the page: the current one when HARD, the
    /// last HARD one while SOFT.
    pub fn effective_state(&self) -> ServiceState {
        match self.state_type {
            StateType::Hard => self.state,
            StateType::Soft => self.last_hard_state,
        }
    }
}
