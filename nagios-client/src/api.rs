//! Every nagios-api endpoint, as methods on [`Client`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::client::Client;
use crate::commands::{Acknowledge, Wire};
use crate::commands::{
    AddComment, CancelDowntime, CancelOutcome, DeleteComment, PassiveResult, ScheduleCheck,
    ScheduleDowntime, ScheduleHostgroupDowntime, Scope, Target, raw_command_wire,
};
use crate::error::{Error, Result};
use crate::model::{Downtime, HostDetail, LogEntry, NagiosStatus, Objects, ServiceDetail, State};
use crate::retry::Idempotency::{Idempotent, NotIdempotent};

/// A downtime found in `/state` after scheduling it; see
/// [`Client::schedule_downtime_and_wait`].
#[derive(Debug, Clone, PartialEq)]
pub struct FoundDowntime {
    /// The host it belongs to.
    pub host: String,
    /// The service it belongs to (`None` for a host downtime).
    pub service: Option<String>,
    /// The downtime, with its id.
    pub downtime: Downtime,
}

impl Client {
    // ----- reads ---------------------------------------------------------

    /// `GET /state`: every host with its services, comments and downtimes.
    ///
    /// This is nagios-api's copy of the last `status.dat` Nagios wrote:
    /// a command shows up here only after Nagios's `status_update_interval`
    /// (Debian default 10 s) plus up to 1 s.
    pub async fn state(&self) -> Result<State> {
        self.get("state", &["state"]).await
    }

    /// `GET /problems` (nagios-api after 1.2.2): like [`state`](Self::state)
    /// but only hosts with at least one non-OK service, and only those
    /// services. A DOWN host without failing services is not listed.
    pub async fn problems(&self) -> Result<State> {
        self.get("problems", &["problems"]).await
    }

    /// `GET /objects`: service descriptions by host name.
    pub async fn objects(&self) -> Result<Objects> {
        self.get("objects", &["objects"]).await
    }

    /// `GET /host/<name>`: the full status of one host.
    /// An unknown host is an error with [`Error::is_unknown_host`].
    pub async fn host(&self, name: &str) -> Result<HostDetail> {
        self.get("host", &["host", name]).await
    }

    /// `GET /service/<host>`: the full status of every service of a host, by
    /// description. An unknown host, **or a host without services**, is an
    /// error with [`Error::is_unknown_host`].
    pub async fn services(&self, host: &str) -> Result<BTreeMap<String, ServiceDetail>> {
        self.get("service", &["service", host]).await
    }

    /// `GET /log`: the last (up to 1000) lines of `nagios.log`.
    pub async fn log(&self) -> Result<Vec<LogEntry>> {
        self.get("log", &["log"]).await
    }

    /// `GET /status` (nagios-api after 1.2.2): program status. Against 1.2.2
    /// this is an error with [`Error::is_unsupported_endpoint`].
    pub async fn status(&self) -> Result<NagiosStatus> {
        self.get("status", &["status"]).await
    }

    // ----- downtime ------------------------------------------------------

    /// `POST /schedule_downtime`. nagios-api does not return the new
    /// downtime's id; use [`schedule_downtime_and_wait`](Self::schedule_downtime_and_wait)
    /// for that. Not retried after a timeout or 5xx (it would add a second
    /// downtime).
    pub async fn schedule_downtime(&self, req: &ScheduleDowntime) -> Result<()> {
        self.command(
            "schedule_downtime",
            &["schedule_downtime"],
            req.wire()?,
            NotIdempotent,
        )
        .await
        .map(drop)
    }

    /// Schedule a downtime and wait (polling `/state` every
    /// [`poll_interval`](crate::ClientBuilder::poll_interval)) until Nagios
    /// shows it, then return the new downtime(s) with their ids: one for a
    /// host or service, plus one per service with `services_too`.
    ///
    /// A downtime counts as new when its id was not in `/state` just before
    /// scheduling and its target, author and comment match the request.
    /// Give it a distinctive comment when other clients schedule downtime
    /// with the same author at the same time. `timeout` must cover Nagios's
    /// `status_update_interval` (10 s by default). On timeout the downtime
    /// was still scheduled: the error is [`Error::WaitTimeout`].
    pub async fn schedule_downtime_and_wait(
        &self,
        req: &ScheduleDowntime,
        timeout: Duration,
    ) -> Result<Vec<FoundDowntime>> {
        let start = tokio::time::Instant::now();
        let before = downtime_ids(&self.state().await?);
        self.schedule_downtime(req).await?;
        loop {
            let found = find_new_downtimes(&self.state().await?, &before, req);
            if !found.is_empty() {
                return Ok(found);
            }
            if start.elapsed() + self.poll_interval > timeout {
                return Err(Error::WaitTimeout {
                    what: "the new downtime to appear in /state",
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// `POST /schedule_hostgroup_downtime` (nagios-api after 1.2.2).
    pub async fn schedule_hostgroup_downtime(&self, req: &ScheduleHostgroupDowntime) -> Result<()> {
        self.command(
            "schedule_hostgroup_downtime",
            &["schedule_hostgroup_downtime"],
            req.wire()?,
            NotIdempotent,
        )
        .await
        .map(drop)
    }

    /// `POST /cancel_downtime[/<id>]`. An id nagios-api does not know (yet:
    /// it only sees downtimes after the next `status.dat` update) is an
    /// error (`"Downtime ID does not seem valid."`).
    pub async fn cancel_downtime(&self, req: &CancelDowntime) -> Result<CancelOutcome> {
        let id;
        let segments: Vec<&str> = match req.downtime_id() {
            Some(n) => {
                id = n.to_string();
                vec!["cancel_downtime", id.as_str()]
            }
            None => vec!["cancel_downtime"],
        };
        let content = self
            .command("cancel_downtime", &segments, req.wire()?, Idempotent)
            .await?;
        Ok(match content.as_str() {
            Some("none found") => CancelOutcome::NoneFound,
            _ => CancelOutcome::Cancelled,
        })
    }

    // ----- acknowledgements, notifications, checks -----------------------

    /// `POST /acknowledge_problem`. See [`Acknowledge`] for the sticky
    /// quirk. Not retried after a timeout or 5xx.
    pub async fn acknowledge_problem(&self, req: &Acknowledge) -> Result<()> {
        self.simple("acknowledge_problem", req.wire()?, NotIdempotent)
            .await
    }

    /// `POST /remove_acknowledgement`.
    pub async fn remove_acknowledgement(&self, target: &Target) -> Result<()> {
        self.simple("remove_acknowledgement", target.wire()?, Idempotent)
            .await
    }

    /// `POST /enable_notifications`.
    pub async fn enable_notifications(&self, scope: impl Into<Scope>) -> Result<()> {
        self.simple("enable_notifications", scope.into().wire()?, Idempotent)
            .await
    }

    /// `POST /disable_notifications`.
    pub async fn disable_notifications(&self, scope: impl Into<Scope>) -> Result<()> {
        self.simple("disable_notifications", scope.into().wire()?, Idempotent)
            .await
    }

    /// `POST /enable_checks` (nagios-api after 1.2.2): active checks.
    pub async fn enable_checks(&self, scope: impl Into<Scope>) -> Result<()> {
        self.simple("enable_checks", scope.into().wire()?, Idempotent)
            .await
    }

    /// `POST /disable_checks` (nagios-api after 1.2.2): active checks.
    pub async fn disable_checks(&self, scope: impl Into<Scope>) -> Result<()> {
        self.simple("disable_checks", scope.into().wire()?, Idempotent)
            .await
    }

    // ----- results, comments, checks, raw --------------------------------

    /// `POST /submit_result`: a passive check result. Not retried after a
    /// timeout or 5xx (a second result would count as another attempt).
    pub async fn submit_result(&self, req: &PassiveResult) -> Result<()> {
        self.simple("submit_result", req.wire()?, NotIdempotent)
            .await
    }

    /// `POST /add_comment`. Not retried after a timeout or 5xx.
    pub async fn add_comment(&self, req: &AddComment) -> Result<()> {
        self.simple("add_comment", req.wire()?, NotIdempotent).await
    }

    /// `POST /delete_comment`.
    pub async fn delete_comment(&self, req: &DeleteComment) -> Result<()> {
        self.simple("delete_comment", req.wire()?, Idempotent).await
    }

    /// `POST /schedule_check`. Not retried after a timeout or 5xx.
    pub async fn schedule_check(&self, req: &ScheduleCheck) -> Result<()> {
        self.simple("schedule_check", req.wire()?, NotIdempotent)
            .await
    }

    /// `POST /raw_command` (nagios-api after 1.2.2): writes `command`
    /// (e.g. `"ENABLE_NOTIFICATIONS"` or `"DISABLE_HOST_CHECK;web01"`)
    /// verbatim to the Nagios command pipe. Any Nagios command can be sent
    /// this way, so expose it to trusted callers only. A line break is
    /// rejected. Never retried after a timeout or 5xx.
    pub async fn raw_command(&self, command: &str) -> Result<()> {
        self.simple("raw_command", raw_command_wire(command)?, NotIdempotent)
            .await
    }

    /// `GET /restart_nagios` (nagios-api after 1.2.2): sends
    /// `RESTART_PROGRAM`. A `GET` with a side effect: never retried after a
    /// timeout or 5xx.
    pub async fn restart_nagios(&self) -> Result<()> {
        self.send_raw::<Value>(Method::GET, "restart_nagios", NotIdempotent)
            .await
            .map(drop)
    }

    async fn simple(
        &self,
        endpoint: &'static str,
        wire: Wire,
        idem: crate::retry::Idempotency,
    ) -> Result<()> {
        self.command(endpoint, &[endpoint], wire, idem)
            .await
            .map(drop)
    }
}

fn downtime_ids(state: &State) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    for h in state.values() {
        ids.extend(h.downtimes.keys().copied());
        for s in h.services.values() {
            ids.extend(s.downtimes.keys().copied());
        }
    }
    ids
}

/// The downtimes in `state` that `req` created: not in `before`, on its
/// target, with its author and comment. Sorted by id.
pub fn find_new_downtimes(
    state: &State,
    before: &BTreeSet<u64>,
    req: &ScheduleDowntime,
) -> Vec<FoundDowntime> {
    let target = req.target();
    let matches = |d: &Downtime| {
        !before.contains(&d.downtime_id)
            && d.author == req.effective_author()
            && d.comment == req.effective_comment()
    };
    let mut out = Vec::new();
    let Some(host) = state.get(target.host_name()) else {
        return out;
    };
    match target.service_description() {
        Some(svc) => {
            if let Some(s) = host.services.get(svc) {
                out.extend(
                    s.downtimes
                        .values()
                        .filter(|d| matches(d))
                        .map(|d| FoundDowntime {
                            host: target.host_name().to_owned(),
                            service: Some(svc.to_owned()),
                            downtime: d.clone(),
                        }),
                );
            }
        }
        None => {
            out.extend(
                host.downtimes
                    .values()
                    .filter(|d| matches(d))
                    .map(|d| FoundDowntime {
                        host: target.host_name().to_owned(),
                        service: None,
                        downtime: d.clone(),
                    }),
            );
            if req.includes_services() {
                for (name, s) in &host.services {
                    out.extend(s.downtimes.values().filter(|d| matches(d)).map(|d| {
                        FoundDowntime {
                            host: target.host_name().to_owned(),
                            service: Some(name.clone()),
                            downtime: d.clone(),
                        }
                    }));
                }
            }
        }
    }
    out.sort_by_key(|f| f.downtime.downtime_id);
    out
}

/// The ids of every downtime in `state` (to pass to [`find_new_downtimes`]).
pub fn all_downtime_ids(state: &State) -> BTreeSet<u64> {
    downtime_ids(state)
}
