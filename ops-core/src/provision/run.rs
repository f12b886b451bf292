//! The provision engine: the per-host step machine and fleet batches (entry points in
//! `api.rs`, steps in `steps/`, rollback in `removal.rs`).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::budget::RateBudget;
use super::fleet::Batch;
use super::journal::{RunJournal, RunStatus, Step};
use super::{
    FleetReport, HostFailure, HostOutcome, HostReport, HostSpec, ProgressEvent, Provisioner,
};
use crate::error::{Error, Result};
use crate::ports::{ClientCredentials, PortResult};
use crate::state::{Holder, Lease, StateError};

/// The lease a run holds on a host name.
pub(crate) fn lease_name(host: &str) -> String {
    format!("host:{host}")
}

/// The report of a batch refused because a host name's lease is held: every host fails at
/// `validate` with the refusal, and nothing was written (no journal either).
fn refused(batch_id: Option<String>, runs: &[(RunJournal, bool)], e: &StateError) -> FleetReport {
    let hosts = runs
        .iter()
        .map(|(j, _)| {
            let error = Error::State(e.duplicate());
            HostOutcome {
                name: j.spec.name.clone(),
                run_id: Some(j.run_id.clone()),
                result: Err(HostFailure {
                    name: j.spec.name.clone(),
                    step: Step::Validate,
                    error,
                    kept: j.resources.clone(),
                    rollback: None,
                    journal_error: None,
                }),
            }
        })
        .collect();
    FleetReport {
        batch_id,
        hosts,
        publishes: 0,
    }
}

/// The error and every source below it, joined with `": "`. Never contains secrets: no
/// error in this crate or a port carries one.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

pub(crate) fn step_err(step: Step, host: &str, e: Error) -> Error {
    Error::Step {
        step: step.as_str(),
        target: host.to_string(),
        source: Box::new(e),
    }
}

/// In-memory state of one host run.
pub(crate) struct HostRun {
    pub(crate) j: RunJournal,
    pub(crate) creds: Option<ClientCredentials>,
    pub(crate) registered: bool,
    pub(crate) ticket: Option<u64>,
    /// Firewall names this host is registered for in the batch's add calls and has not
    /// arrived at yet (withdrawn if it fails first).
    pub(crate) gathering_firewalls: Vec<String>,
    /// The project name this host is registered for in the batch's assign calls.
    pub(crate) gathering_project: Option<String>,
}

impl HostRun {
    /// Leaves the batch's add call for firewall `name`, if still registered for it.
    pub(crate) fn leave_firewall(&mut self, b: &Batch, name: &str) {
        if let Some(i) = self.gathering_firewalls.iter().position(|k| k == name) {
            self.gathering_firewalls.remove(i);
            b.firewall_adds.withdraw(name);
        }
    }

    /// Leaves every batch call this host was registered for and will not make.
    pub(crate) fn withdraw_gathers(&mut self, b: &Batch) {
        for k in std::mem::take(&mut self.gathering_firewalls) {
            b.firewall_adds.withdraw(&k);
        }
        if let Some(k) = self.gathering_project.take() {
            b.project_assigns.withdraw(&k);
        }
    }
}

impl Provisioner {
    // ------------------------------------------------------------------------------------
    // plumbing
    // ------------------------------------------------------------------------------------

    /// One port call under `budget`: waits for a token, then calls once.
    ///
    /// Retrying is the clients' job: each follows its provider's policy (idempotency per
    /// endpoint, `Retry-After` against the server's `Date`, a cap on the wait). A 429 that
    /// reaches here is one the client gave up on, and retrying it again would multiply the
    /// requests and the waits (issue #18 measured 12 requests for one lookup).
    pub(crate) async fn call<T, F, Fut>(&self, budget: &RateBudget, f: F) -> PortResult<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = PortResult<T>>,
    {
        budget.acquire().await;
        f().await
    }

    pub(crate) async fn save(&self, j: &mut RunJournal) -> Result<()> {
        self.store.save(j).await
    }
    /// Runs hosts as one batch, holding the lease on each host name for the whole batch
    /// (issue #21): taken before anything is written, renewed while the batch runs, released
    /// at the end. One name held by another run refuses the whole batch, and nothing is
    /// written.
    pub(crate) async fn run_batch(
        &self,
        batch_id: Option<String>,
        runs: Vec<(RunJournal, bool)>,
    ) -> FleetReport {
        let names = runs
            .iter()
            .map(|(j, _)| (j.spec.name.as_str(), j.run_id.as_str()));
        let leases = match self.take_leases(names).await {
            Ok(l) => l,
            Err(e) => return refused(batch_id, &runs, &e),
        };
        let report = self.leased(&leases, self.run_leased(batch_id, runs)).await;
        self.give_back(&leases).await;
        report
    }

    /// Runs `work` while renewing `leases`.
    pub(crate) async fn leased<T>(
        &self,
        leases: &[(Lease, String)],
        work: impl Future<Output = T>,
    ) -> T {
        for (lease, run) in leases {
            self.store.fence(run, lease.clone());
        }
        let renew = self.renew_leases(leases.iter().map(|(l, _)| l.clone()).collect());
        tokio::pin!(work, renew);
        loop {
            tokio::select! {
                r = &mut work => return r,
                () = &mut renew => {}
            }
        }
    }

    /// Stops fencing and releases `leases` (in one call to the store).
    pub(crate) async fn give_back(&self, leases: &[(Lease, String)]) {
        for (_, run) in leases {
            self.store.unfence(run);
        }
        let all: Vec<Lease> = leases.iter().map(|(l, _)| l.clone()).collect();
        if let Err(e) = self.store.state().release_all(&all).await {
            tracing::warn!(leases = all.len(), error = %chain(&e),
                "could not release the leases; they expire by themselves");
        }
    }

    /// The lease of every host name of `hosts`, in name order (two runners asking for the
    /// same fleet ask in the same order: one gets them all). On a refusal the ones taken are
    /// given back; with `lease_wait`, the whole set is asked for again every poll until the
    /// deadline (nothing is held meanwhile, so nothing expires while waiting).
    pub(crate) async fn take_leases<'a>(
        &self,
        hosts: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> std::result::Result<Vec<(Lease, String)>, StateError> {
        let mut names: Vec<(String, String)> = hosts
            .map(|(host, run)| (lease_name(host), run.to_owned()))
            .collect();
        names.sort();
        names.dedup_by(|a, b| a.0 == b.0);
        let ttl = self.config.lease_ttl;
        let poll = (ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        let start = tokio::time::Instant::now();
        loop {
            match self.take_all(&names).await {
                Err(StateError::Held { .. })
                    if self
                        .config
                        .lease_wait
                        .is_some_and(|d| start.elapsed() + poll <= d) =>
                {
                    tokio::time::sleep(poll).await;
                }
                other => return other,
            }
        }
    }

    /// One attempt of [`Self::take_leases`]: all or none, in one call to the store.
    async fn take_all(
        &self,
        names: &[(String, String)],
    ) -> std::result::Result<Vec<(Lease, String)>, StateError> {
        let asked: Vec<(String, Holder)> = names
            .iter()
            .map(|(name, run)| (name.clone(), Holder::this_process(run.clone())))
            .collect();
        let taken = self
            .store
            .state()
            .acquire_all(&asked, self.config.lease_ttl)
            .await?;
        Ok(taken
            .into_iter()
            .zip(names.iter().map(|(_, run)| run.clone()))
            .collect())
    }

    /// Renews `leases` every third of their time to live, forever (the caller stops it). A
    /// lease that was lost is logged and dropped: the fenced journal writes fail from then on.
    async fn renew_leases(&self, mut leases: Vec<Lease>) {
        let every = (self.config.lease_ttl / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(every).await;
            let mut kept = Vec::with_capacity(leases.len());
            let renewed = self
                .store
                .state()
                .renew_all(&leases, self.config.lease_ttl)
                .await;
            for (l, r) in leases.into_iter().zip(renewed) {
                match r {
                    Ok(n) => kept.push(n),
                    Err(e @ StateError::LeaseLost { .. }) => {
                        tracing::error!(lease = %l.name, error = %e, "lost a host lease");
                    }
                    Err(e) => {
                        tracing::warn!(lease = %l.name, error = %chain(&e),
                            "could not renew a host lease; trying again");
                        kept.push(l);
                    }
                }
            }
            leases = kept;
        }
    }

    async fn run_leased(
        &self,
        batch_id: Option<String>,
        runs: Vec<(RunJournal, bool)>,
    ) -> FleetReport {
        let b = Batch::new(
            runs.len(),
            self.config.concurrency,
            self.config.publish_linger,
        );
        let needs_publish = self.dns.needs_publish();
        let mut futs = Vec::with_capacity(runs.len());
        for (j, resumed) in runs {
            let registered = needs_publish
                && matches!(j.status, RunStatus::InProgress | RunStatus::Failed)
                && !j.is_done(Step::PublishZone);
            if registered {
                b.publish.register(&zone_of(&j.spec));
            }
            let open = matches!(j.status, RunStatus::InProgress | RunStatus::Failed);
            let gathering_firewalls: Vec<String> = if open && !j.is_done(Step::Firewalls) {
                j.spec.firewalls.iter().map(|f| f.name.clone()).collect()
            } else {
                Vec::new()
            };
            for k in &gathering_firewalls {
                b.firewall_adds.register(k);
            }
            let gathering_project = j
                .spec
                .project
                .as_ref()
                .filter(|_| open && !j.is_done(Step::Project))
                .map(|p| p.name.clone());
            if let Some(k) = &gathering_project {
                b.project_assigns.register(k);
            }
            let h = HostRun {
                j,
                creds: None,
                registered,
                ticket: None,
                gathering_firewalls,
                gathering_project,
            };
            futs.push(self.run_host(&b, h, resumed));
        }
        let hosts = futures_util::future::join_all(futs).await;
        FleetReport {
            batch_id,
            hosts,
            publishes: b.publish.publishes(),
        }
    }

    // ------------------------------------------------------------------------------------
    // one host
    // ------------------------------------------------------------------------------------

    async fn run_host(&self, b: &Batch, mut h: HostRun, resumed: bool) -> HostOutcome {
        let name = h.j.spec.name.clone();
        let run_id = h.j.run_id.clone();
        match h.j.status {
            RunStatus::Succeeded => {
                return HostOutcome {
                    name,
                    run_id: Some(run_id),
                    result: Ok(report_of(&h.j)),
                };
            }
            RunStatus::RolledBack => {
                let e = Error::Precondition(format!(
                    "run {run_id} was rolled back; start a new run instead"
                ));
                return self
                    .finish_failed(b, &mut h, Step::Validate, e, false)
                    .await;
            }
            RunStatus::RollbackIncomplete => {
                // What the run was doing when it stopped was removing what it had made:
                // resuming it means finishing that (issue #17), not refusing.
                if h.registered && h.ticket.is_none() {
                    b.publish.withdraw(&zone_of(&h.j.spec));
                    h.registered = false;
                }
                let report = self.undo(&mut h.j).await;
                let done = report.complete();
                let e = Error::Precondition(if done {
                    format!(
                        "run {run_id} had failed and its rollback was incomplete: the rollback is \
                         now finished; start a new run to provision {name}"
                    )
                } else {
                    format!(
                        "run {run_id} had failed and its rollback is still incomplete: see what \
                         is left below, then resume again (or tear the host down)"
                    )
                });
                let step =
                    h.j.steps
                        .iter()
                        .rev()
                        .find(|s| s.error.is_some())
                        .map_or(Step::Validate, |s| s.step);
                self.emit(ProgressEvent::Finished {
                    host: name.clone(),
                    run_id: run_id.clone(),
                    status: h.j.status,
                });
                return HostOutcome {
                    name: name.clone(),
                    run_id: Some(run_id),
                    result: Err(HostFailure {
                        name,
                        step,
                        error: e,
                        kept: h.j.resources.clone(),
                        rollback: Some(report),
                        journal_error: None,
                    }),
                };
            }
            RunStatus::InProgress | RunStatus::Failed => {}
        }
        if resumed && h.j.is_done(Step::Validate) {
            let (problems, _, failed_read) = self.check_reads(b, &h.j).await;
            if let Some(e) = failed_read {
                return self
                    .finish_failed(b, &mut h, Step::Validate, Error::Port(e), true)
                    .await;
            }
            if !problems.is_empty() {
                let e = Error::Validation {
                    target: name.clone(),
                    problems,
                };
                // Nothing new was written: keep what the run has and let the operator decide.
                return self.finish_failed(b, &mut h, Step::Validate, e, true).await;
            }
        }
        h.j.status = RunStatus::InProgress;
        let Some(first) = h.j.first_unfinished() else {
            h.j.status = RunStatus::Succeeded;
            if let Err(e) = self.save(&mut h.j).await {
                return self
                    .finish_failed(b, &mut h, Step::WaitMonitoring, e, true)
                    .await;
            }
            return HostOutcome {
                name,
                run_id: Some(run_id),
                result: Ok(report_of(&h.j)),
            };
        };
        for step in Step::ALL.into_iter().filter(|s| *s >= first) {
            if h.j.is_done(step) {
                continue;
            }
            if self.step_skipped(step, &h) {
                h.j.skip(step);
                self.emit(ProgressEvent::StepSkipped {
                    host: name.clone(),
                    run_id: run_id.clone(),
                    step,
                });
                continue;
            }
            if let Some(pause) = &self.pause {
                pause(&name, step).await;
            }
            let retried = h.j.was_attempted(step);
            let permit = match step.permit() {
                Some(pool) => b.permit(pool).await,
                None => None,
            };
            h.j.start(step);
            if let Err(e) = self.save(&mut h.j).await {
                drop(permit);
                return self.finish_failed(b, &mut h, step, e, false).await;
            }
            self.emit(ProgressEvent::StepStarted {
                host: name.clone(),
                run_id: run_id.clone(),
                step,
            });
            let t0 = Instant::now();
            let r = self.run_step(step, b, &mut h, retried).await;
            drop(permit);
            if let Err(e) = r {
                return self.finish_failed(b, &mut h, step, e, false).await;
            }
            h.j.done(step);
            if let Err(e) = self.save(&mut h.j).await {
                return self.finish_failed(b, &mut h, step, e, false).await;
            }
            self.emit(ProgressEvent::StepDone {
                host: name.clone(),
                run_id: run_id.clone(),
                step,
                elapsed: t0.elapsed(),
            });
        }
        // Once more before reporting success: a listing that lagged through the boot wait.
        if let Err(e) = self.settle_duplicates(&mut h).await {
            return self
                .finish_failed(b, &mut h, Step::WaitMonitoring, e, true)
                .await;
        }
        h.j.status = RunStatus::Succeeded;
        if let Err(e) = self.save(&mut h.j).await {
            return self
                .finish_failed(b, &mut h, Step::WaitMonitoring, e, true)
                .await;
        }
        self.emit(ProgressEvent::Finished {
            host: name.clone(),
            run_id: run_id.clone(),
            status: RunStatus::Succeeded,
        });
        HostOutcome {
            name,
            run_id: Some(run_id),
            result: Ok(report_of(&h.j)),
        }
    }

    /// Records the failure, then rolls back (or keeps, per config or `force_keep`).
    async fn finish_failed(
        &self,
        b: &Batch,
        h: &mut HostRun,
        step: Step,
        err: Error,
        force_keep: bool,
    ) -> HostOutcome {
        let name = h.j.spec.name.clone();
        let run_id = h.j.run_id.clone();
        if h.registered && h.ticket.is_none() {
            b.publish.withdraw(&zone_of(&h.j.spec));
            h.registered = false;
        }
        h.withdraw_gathers(b);
        if matches!(err, Error::State(StateError::LeaseLost { .. })) {
            // The host's lease expired and another run may have taken the host over: this
            // run neither writes its journal nor removes anything (that run owns them now).
            tracing::error!(run_id = %run_id, host = %name,
                "lost the host's lease; stopping without a rollback");
            let err = step_err(step, &name, err);
            self.emit(ProgressEvent::StepFailed {
                host: name.clone(),
                run_id: run_id.clone(),
                step,
                error: chain(&err),
            });
            return HostOutcome {
                name: name.clone(),
                run_id: Some(run_id),
                result: Err(HostFailure {
                    name,
                    step,
                    error: err,
                    kept: h.j.resources.clone(),
                    rollback: None,
                    journal_error: None,
                }),
            };
        }
        let err = step_err(step, &name, err);
        let text = chain(&err);
        self.emit(ProgressEvent::StepFailed {
            host: name.clone(),
            run_id: run_id.clone(),
            step,
            error: text.clone(),
        });
        let mut journal_error = None;
        let rolled_back =
            h.j.status == RunStatus::RolledBack || h.j.status == RunStatus::RollbackIncomplete;
        if !rolled_back {
            h.j.fail(step, text);
        }
        let (kept, rollback) = if rolled_back {
            (h.j.resources.clone(), None)
        } else if self.config.keep_on_failure
            || force_keep
            // Validation writes nothing; on a resumed run, what earlier steps made is left for
            // the operator (resume again, or `rollback`) rather than removed on a re-check.
            || (step == Step::Validate && h.j.steps.iter().any(|s| s.step != Step::Validate))
        {
            h.j.status = RunStatus::Failed;
            if let Err(e) = self.save(&mut h.j).await {
                // The journal is the safety net: say so loudly, with what it would have held.
                tracing::error!(
                    run_id = %run_id,
                    error = %chain(&e),
                    left = ?h.j.resources.describe(&h.j.run_tag()),
                    "could not record the failure in the run journal"
                );
                journal_error = Some(e);
            }
            (h.j.resources.clone(), None)
        } else {
            let report = self.undo(&mut h.j).await;
            (h.j.resources.clone(), Some(report))
        };
        self.emit(ProgressEvent::Finished {
            host: name.clone(),
            run_id: run_id.clone(),
            status: h.j.status,
        });
        HostOutcome {
            name: name.clone(),
            run_id: Some(run_id),
            result: Err(HostFailure {
                name,
                step,
                error: err,
                kept,
                rollback,
                journal_error,
            }),
        }
    }
}

pub(crate) fn zone_of(spec: &HostSpec) -> String {
    spec.dns.zone.trim_end_matches('.').to_string()
}

fn report_of(j: &RunJournal) -> HostReport {
    HostReport {
        name: j.spec.name.clone(),
        run_id: j.run_id.clone(),
        droplet_id: j.resources.droplet.as_ref().map_or(0, |d| d.id),
        adopted: j.resources.droplet.as_ref().is_some_and(|d| d.adopted),
        fqdn: j.spec.fqdn(),
        addresses: j.addresses.clone(),
        duplicates_removed: j.duplicates_removed.clone(),
        step_times: j
            .steps
            .iter()
            .filter_map(|s| {
                s.finished_ms.map(|f| {
                    (
                        s.step,
                        Duration::from_millis(f.saturating_sub(s.started_ms)),
                    )
                })
            })
            .collect(),
    }
}

pub(crate) fn unknown_run(run_id: &str, e: Error) -> HostOutcome {
    HostOutcome {
        name: String::new(),
        run_id: Some(run_id.to_string()),
        result: Err(HostFailure {
            name: String::new(),
            step: Step::Validate,
            error: e,
            kept: Default::default(),
            rollback: None,
            journal_error: None,
        }),
    }
}
