//! The public entry points of [`Provisioner`]: provision one host or a fleet, resume, roll
//! back (and its plan and dry run). The engine behind them is in `run.rs`.

use super::journal::new_id;
use super::journal::{RunJournal, Step, check_id};
use super::run::unknown_run;
use super::{FleetReport, HostFailure, HostOutcome, HostSpec, Provisioner, RollbackReport};
use crate::error::{Error, Result};

impl Provisioner {
    // ------------------------------------------------------------------------------------
    // public entry points
    // ------------------------------------------------------------------------------------

    /// Provisions one host. The outcome carries the run id for `resume`.
    pub async fn provision(&self, spec: &HostSpec) -> HostOutcome {
        let j = RunJournal::new(new_id(), None, spec.clone());
        let mut r = self.run_batch(None, vec![(j, false)]).await;
        r.hosts.pop().unwrap_or_else(|| HostOutcome {
            name: spec.name.clone(),
            run_id: None,
            result: Err(HostFailure {
                name: spec.name.clone(),
                step: Step::Validate,
                error: Error::Precondition("no outcome".into()),
                kept: Default::default(),
                rollback: None,
                journal_error: None,
            }),
        })
    }

    /// Provisions many hosts as one batch (see the module docs).
    ///
    /// The fleet is checked as a whole first (every static check of every host, as the dry
    /// run does): if any host is invalid, nothing is written for any host, and each host's
    /// outcome says what is wrong with it or with the others (issue #17: a fleet used to create
    /// the valid hosts before refusing an invalid one at its own validate step).
    pub async fn provision_fleet(&self, specs: &[HostSpec]) -> FleetReport {
        let problems: Vec<(String, Vec<String>)> = specs
            .iter()
            .map(|s| {
                let mut p = s.check();
                p.extend(self.config.bootstrap.check());
                (s.name.clone(), p)
            })
            .collect();
        let invalid: Vec<&str> = problems
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(n, _)| n.as_str())
            .collect();
        if !invalid.is_empty() {
            let others = invalid.join(", ");
            let hosts = problems
                .into_iter()
                .map(|(name, p)| {
                    let problems = if p.is_empty() {
                        vec![format!(
                            "not started: the fleet spec has invalid hosts ({others}); nothing was written"
                        )]
                    } else {
                        p
                    };
                    HostOutcome {
                        name: name.clone(),
                        run_id: None,
                        result: Err(HostFailure {
                            name: name.clone(),
                            step: Step::Validate,
                            error: Error::Validation {
                                target: name,
                                problems,
                            },
                            kept: Default::default(),
                            rollback: None,
                            journal_error: None,
                        }),
                    }
                })
                .collect();
            return FleetReport {
                batch_id: None,
                hosts,
                publishes: 0,
            };
        }
        let batch = new_id();
        let runs = specs
            .iter()
            .map(|s| {
                (
                    RunJournal::new(new_id(), Some(batch.clone()), s.clone()),
                    false,
                )
            })
            .collect();
        self.run_batch(Some(batch), runs).await
    }

    /// Continues the run `run_id` from its first unfinished step.
    ///
    /// A succeeded run reports success again without any call; a rolled-back run cannot be
    /// resumed. Validation is repeated first (things may have changed since), counting what
    /// the journal says this run created as its own.
    pub async fn resume(&self, run_id: &str) -> HostOutcome {
        match self.store.load(run_id).await {
            Ok(j) => {
                let mut r = self.run_batch(None, vec![(j, true)]).await;
                match r.hosts.pop() {
                    Some(h) => h,
                    None => unknown_run(run_id, Error::Precondition("no outcome".into())),
                }
            }
            Err(e) => unknown_run(run_id, e),
        }
    }

    /// Resumes every unfinished run of a fleet batch (succeeded hosts are reported as such).
    pub async fn resume_batch(&self, batch_id: &str) -> Result<FleetReport> {
        check_id(batch_id)?;
        let runs: Vec<_> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|j| j.batch_id.as_deref() == Some(batch_id))
            .map(|j| (j, true))
            .collect();
        if runs.is_empty() {
            return Err(Error::Precondition(format!(
                "no journals for batch `{batch_id}`"
            )));
        }
        Ok(self.run_batch(Some(batch_id.to_string()), runs).await)
    }

    /// Undoes what the run `run_id` created (e.g. one kept with `keep_on_failure`).
    ///
    /// Holds the lease on the run's host name meanwhile (refused with
    /// [`StateError::Held`](crate::state::StateError::Held) while another run holds it).
    pub async fn rollback(&self, run_id: &str) -> Result<RollbackReport> {
        let mut j = self.store.load(run_id).await?;
        let name = j.spec.name.clone();
        let leases = self
            .take_leases(std::iter::once((name.as_str(), run_id)))
            .await?;
        let report = self.leased(&leases, self.undo(&mut j)).await;
        self.give_back(&leases).await;
        Ok(report)
    }

    /// What [`rollback`](Self::rollback) of `run_id` would remove, in order (reads only).
    pub async fn rollback_plan(&self, run_id: &str) -> Result<super::RemovalPlan> {
        let j = self.store.load(run_id).await?;
        Ok(self.plan_from_journal(&j).await)
    }

    /// A dry run of [`rollback`](Self::rollback): the report of what it would do, with reads
    /// only (outcomes `would_remove`); the journal is not touched.
    pub async fn rollback_dry_run(&self, run_id: &str) -> Result<RollbackReport> {
        let j = self.store.load(run_id).await?;
        let plan = self.plan_from_journal(&j).await;
        let executed = self.execute_removal(&plan, true, false).await;
        Ok(RollbackReport {
            actions: executed.actions(),
        })
    }
}
