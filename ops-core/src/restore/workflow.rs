//! The runner: the preflight, then the step table ([`steps::TABLE`]) in order, each step's
//! begin and end reported here once; on a failure, what the failed step's entry says to
//! undo; the advisory lock released last.

use std::time::Instant;

use super::error::RestoreError;
use super::steps::{self, Ctx, OnFailure, State};
use super::{Progress, RestoreJob, RestoreReport, Step, swap};

/// Step timings and progress events of one run.
struct Run<'a> {
    job: &'a RestoreJob,
    steps: Vec<(Step, std::time::Duration)>,
}

impl Run<'_> {
    fn begin(&self, step: Step) -> Instant {
        tracing::info!(%step, database = %self.job.qa, "step started");
        steps::emit(self.job, &Progress::StepStarted(step));
        Instant::now()
    }

    fn end(&mut self, step: Step, started: Instant) {
        let elapsed = started.elapsed();
        tracing::info!(%step, ?elapsed, database = %self.job.qa, "step finished");
        steps::emit(self.job, &Progress::StepFinished { step, elapsed });
        self.steps.push((step, elapsed));
    }
}

pub(super) async fn run(job: &RestoreJob) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let mut run = Run {
        job,
        steps: Vec::new(),
    };
    let t = run.begin(Step::Preflight);
    let session = steps::preflight(job).await?;
    run.end(Step::Preflight, t);

    let next = job.next_name();
    let cx = Ctx {
        job,
        admin: &session.admin,
        next: &next,
        current_user: &session.user,
    };
    let outcome = run_table(
        &mut run,
        &cx,
        State::new(job, session.qa, session.plan.working_copy_locale),
    )
    .await;
    let result = match outcome {
        Ok(mut report) => {
            report.total = started.elapsed();
            report.steps = std::mem::take(&mut run.steps);
            tracing::info!(
                database = %job.qa,
                total = ?report.total,
                swap_window = ?report.swap_window,
                "restore finished"
            );
            Ok(report)
        }
        Err((OnFailure::DropWorkingCopy, e)) => {
            tracing::error!(database = %job.qa, error = %e, "restore failed; QA left untouched, dropping the working copy");
            let cleanup = async {
                // A fresh connection: `admin` may be the reason we failed.
                let c = job.server.connect_admin().await?;
                swap::drop_database(&c, &next).await
            };
            if let Err(e2) = cleanup.await {
                tracing::error!(database = %next, error = %e2, "could not drop the working copy");
            }
            Err(e)
        }
        Err((OnFailure::Nothing, e)) => {
            tracing::error!(database = %job.qa, error = %e, "restore failed after the swap");
            Err(e)
        }
    };
    // Released before returning, after any cleanup (not left to the closing connection,
    // whose lock outlives "done" for a moment: a rollback started right then was refused as
    // "already running" on a loaded machine).
    swap::unlock(&session.admin, &job.qa).await;
    result
}

/// Every step of the table this run needs, in order. The state is dropped (the dump folder
/// deleted, the copy's session closed) before a failure is returned.
async fn run_table(
    run: &mut Run<'_>,
    cx: &Ctx<'_>,
    mut st: State,
) -> Result<RestoreReport, (OnFailure, RestoreError)> {
    for entry in steps::TABLE {
        if (entry.skip)(cx.job) {
            continue;
        }
        for held in entry.release {
            st.release(*held);
        }
        let t = run.begin(entry.step);
        (entry.run)(cx, &mut st)
            .await
            .map_err(|e| (entry.on_failure, e))?;
        run.end(entry.step, t);
    }
    Ok(st.into_report(&cx.job.qa))
}
