//! Nagios (nagios-api) adapters over `nagios-client`: [`Monitoring`] for the provision
//! workflow's last step, the restore workflow's [`Downtime`] for QA's database checks, and
//! the status page's [`StatusSource`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use nagios_client as nag;

use crate::ports::{
    HostState, Monitoring, PortError, PortErrorKind, PortResult, ProviderError, Service,
};
use crate::restore::Downtime;
use crate::status::{Snapshot, StatusSource};

/// Provider name used in [`PortError`]s.
pub const PROVIDER: &str = "nagios";

impl ProviderError for nag::Error {
    fn http_status(&self) -> Option<u16> {
        self.status().map(|s| s.as_u16())
    }
    fn retry_after(&self) -> Option<Duration> {
        nag::Error::retry_after(self)
    }
    fn maybe_sent(&self) -> bool {
        match self {
            nag::Error::Transport(t) => !t.is_connect(),
            _ => self.status().is_some_and(|s| s.is_server_error()),
        }
    }
    fn kind_hint(&self) -> Option<PortErrorKind> {
        Some(match self {
            _ if self.is_rate_limited() => PortErrorKind::RateLimited,
            _ if self.is_unauthorized() => PortErrorKind::Unauthorized,
            _ if self.is_unknown_host() || self.is_unknown_service() => PortErrorKind::NotFound,
            nag::Error::Transport(_) | nag::Error::WaitTimeout { .. } => PortErrorKind::Unavailable,
            nag::Error::InvalidRequest { .. } | nag::Error::Config(_) => PortErrorKind::Rejected,
            _ => return None,
        })
    }
}

/// Maps a nagios-client error (see [`PortError::from_provider`]). The calls this adapter
/// makes are reads and idempotent-in-effect commands, or commands it matches by token
/// afterwards: none is reported as ambiguous.
fn port_error(what: &str, e: nag::Error) -> PortError {
    PortError::from_provider(Service::Monitoring, PROVIDER, what, false, e)
}

/// [`StatusSource`] over nagios-api: `/state` and `/status`, read concurrently.
///
/// nagios-api 1.2.2 has no `/status` endpoint; there the freshness falls back to the newest
/// `last_check` in `/state` (so keep the staleness threshold above the longest check
/// interval).
#[derive(Debug, Clone)]
pub struct NagiosStatusSource {
    client: nag::Client,
}

impl NagiosStatusSource {
    /// An adapter over `client`.
    pub fn new(client: nag::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl StatusSource for NagiosStatusSource {
    #[tracing::instrument(name = "status.fetch_snapshot", skip_all)]
    async fn snapshot(&self) -> PortResult<Snapshot> {
        let (state, status) = tokio::join!(self.client.state(), self.client.status());
        let state = state.map_err(|e| port_error("read /state", e))?;
        let status = match status {
            Ok(s) => Some(s),
            Err(e) if e.is_unsupported_endpoint() => {
                tracing::debug!("nagios-api has no /status (1.2.2): freshness from last checks");
                None
            }
            Err(e) => return Err(port_error("read /status", e)),
        };
        let snapshot = Snapshot::from_nagios(&state, status.as_ref());
        tracing::debug!(hosts = snapshot.hosts.len(), "nagios snapshot");
        Ok(snapshot)
    }
}

/// [`Monitoring`] over nagios-api: `GET /host/<name>`.
///
/// A host nagios-api does not know (yet) is `Ok(None)`; a known host that Nagios has not
/// checked yet is [`HostState::Pending`]; otherwise its current state (UP, DOWN,
/// UNREACHABLE). The provision workflow waits for [`HostState::Up`].
#[derive(Debug, Clone)]
pub struct NagiosMonitoring {
    client: nag::Client,
}

impl NagiosMonitoring {
    /// An adapter over `client`.
    pub fn new(client: nag::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Monitoring for NagiosMonitoring {
    async fn host_state(&self, host: &str) -> PortResult<Option<HostState>> {
        match self.client.host(host).await {
            Ok(h) if !h.has_been_checked => Ok(Some(HostState::Pending)),
            Ok(h) => Ok(Some(match h.current_state {
                nag::HostStatus::Up => HostState::Up,
                nag::HostStatus::Down => HostState::Down,
                nag::HostStatus::Unreachable => HostState::Unreachable,
            })),
            Err(e) if e.is_unknown_host() => Ok(None),
            Err(e) => Err(port_error("get host", e)),
        }
    }
}

/// The restore workflow's [`Downtime`] over nagios-api: fixed downtime on QA's database
/// checks (a list of host and/or host-service [targets](nag::Target)) for the swap window.
///
/// [`Downtime::schedule`] sends one `POST /schedule_downtime` per target, each with the same
/// comment carrying a unique token, and returns that token at once (nagios-api returns no
/// ids, and waiting for Nagios's next status update — 10 s by default — would stretch the
/// restore). [`Downtime::cancel`] reads `/state`, cancels every downtime whose comment carries
/// the token by id, and polls for up to [`cancel_wait`](Self::cancel_wait) when Nagios has
/// not published them yet. Downtime it cannot find in time ends by itself with its window.
#[derive(Debug, Clone)]
pub struct NagiosDowntime {
    client: nag::Client,
    targets: Vec<nag::Target>,
    author: String,
    cancel_wait: Duration,
    poll: Duration,
}

impl NagiosDowntime {
    /// Downtime on `targets`: QA's database checks, e.g.
    /// `Target::service("db-qa-01", "PostgreSQL connections")`.
    pub fn new(client: nag::Client, targets: Vec<nag::Target>) -> Self {
        Self {
            client,
            targets,
            author: "ops-core restore".to_owned(),
            cancel_wait: Duration::from_secs(30),
            poll: Duration::from_secs(2),
        }
    }

    /// The author recorded on the downtime. Default `ops-core restore`.
    #[must_use]
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = author.into();
        self
    }

    /// How long [`Downtime::cancel`] waits for scheduled downtime to show up in `/state`
    /// (cover Nagios's `status_update_interval`), and how often it looks. Default 30 s / 2 s.
    #[must_use]
    pub fn cancel_wait(mut self, wait: Duration, poll: Duration) -> Self {
        self.cancel_wait = wait;
        self.poll = poll;
        self
    }

    fn matching_ids(&self, state: &nag::State, token: &str) -> Vec<u64> {
        let mut ids = Vec::new();
        for t in &self.targets {
            let Some(h) = state.get(t.host_name()) else {
                continue;
            };
            let downtimes = match t.service_description() {
                None => Some(&h.downtimes),
                Some(s) => h.services.get(s).map(|s| &s.downtimes),
            };
            ids.extend(
                downtimes
                    .into_iter()
                    .flat_map(|d| d.values())
                    .filter(|d| d.author == self.author && d.comment.contains(token))
                    .map(|d| d.downtime_id),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

fn token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("ops-dt-{nanos:x}-{:x}", std::process::id())
}

#[async_trait]
impl Downtime for NagiosDowntime {
    async fn schedule(
        &self,
        database: &str,
        window: Duration,
        comment: &str,
    ) -> crate::Result<String> {
        let token = token();
        let text = format!("{comment}: database {database} [{token}]");
        for t in &self.targets {
            let req = nag::ScheduleDowntime::new(t.clone(), window)
                .author(self.author.clone())
                .comment(text.clone());
            self.client
                .schedule_downtime(&req)
                .await
                .map_err(|e| port_error("schedule downtime", e))?;
            tracing::info!(host = t.host_name(), service = ?t.service_description(), %token, "downtime scheduled");
        }
        Ok(token)
    }

    async fn cancel(&self, id: &str) -> crate::Result<()> {
        let start = tokio::time::Instant::now();
        loop {
            let state = self
                .client
                .state()
                .await
                .map_err(|e| port_error("read /state", e))?;
            let ids = self.matching_ids(&state, id);
            if !ids.is_empty() {
                for d in ids {
                    match self
                        .client
                        .cancel_downtime(&nag::CancelDowntime::id(d))
                        .await
                    {
                        Ok(_) => tracing::info!(downtime_id = d, "downtime cancelled"),
                        // Ended or cancelled meanwhile.
                        Err(e) if e.api_message().is_some() => {
                            tracing::warn!(downtime_id = d, error = %e, "downtime not cancelled");
                        }
                        Err(e) => return Err(port_error("cancel downtime", e).into()),
                    }
                }
                return Ok(());
            }
            if start.elapsed() + self.poll > self.cancel_wait {
                return Err(crate::Error::Timeout {
                    what: format!("downtime {id} to appear in nagios-api's /state"),
                    after: start.elapsed(),
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}
