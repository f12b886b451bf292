//! The runner: the preflight (and the removal of what killed runs left), then the step
//! table ([`steps::TABLE`]) in order, each step's begin and end reported here once; on a
//! failure or an interrupt, what the failed step's entry says to undo; the advisory lock
//! released last.
//!
//! Interrupts ([`CancelToken`](super::CancelToken)): the token is checked before each step
//! and raced against each step, which is dropped when it fires (its SQL abandoned; the
//! sessions it used go with the working copy's `DROP … WITH (FORCE)`). `pg_dump` and
//! `pg_restore` watch the token themselves: their process group is killed and reaped before
//! the step returns, so the dump folder is removed after they are gone. The swap is never
//! raced: it finishes (or fails and reopens QA), and the interrupt is honoured after it.

use std::future::Future;
use std::time::{Duration, Instant};

use super::error::RestoreError;
use super::leftovers::{self, Owner};
use super::steps::{self, Ctx, Held, OnFailure, State};
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

/// The error of an interrupted step (completed by the runner's cleanup).
fn interrupted(step: Step) -> RestoreError {
    RestoreError::Interrupted {
        step,
        swapped: false,
        left_behind: Vec::new(),
    }
}

fn cancelled(job: &RestoreJob) -> bool {
    job.cancel.as_ref().is_some_and(|c| c.is_cancelled())
}

/// The test hook's pause at `step`, if any.
async fn pause(job: &RestoreJob, step: Step) {
    if let Some(p) = &job.pause {
        p(step, None).await;
    }
}

/// `work`, unless the job's token fires first. `pg_dump`/`pg_restore` stop themselves on
/// the token (their step gets a grace period to kill and reap them); other steps are
/// dropped at once.
async fn cancellable<T>(
    job: &RestoreJob,
    step: Step,
    work: impl Future<Output = Result<T, RestoreError>>,
) -> Result<T, RestoreError> {
    let Some(token) = &job.cancel else {
        return work.await;
    };
    tokio::pin!(work);
    tokio::select! {
        biased;
        r = &mut work => r,
        () = token.cancelled() => {
            let grace = if matches!(
                step,
                Step::Dump | Step::Restore | Step::Schema | Step::Copy | Step::PostData
            ) {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            };
            match tokio::time::timeout(grace, &mut work).await {
                Ok(Err(e)) => Err(e),
                _ => Err(interrupted(step)),
            }
        }
    }
}

pub(super) async fn run(job: &RestoreJob) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let mut run = Run {
        job,
        steps: Vec::new(),
    };
    let next = job.next_name();
    let owner = Owner::current();
    let t = run.begin(Step::Preflight);
    if cancelled(job) {
        return Err(interrupted(Step::Preflight));
    }
    // Dropped by an interrupt: nothing to undo (the lock goes with its session).
    let (session, leftovers) = cancellable(job, Step::Preflight, async {
        pause(job, Step::Preflight).await;
        let mut session = steps::preflight(job).await?;
        match leftovers::sweep(job, &session.admin, &next).await {
            Ok((removed, qa_reopened)) => {
                if qa_reopened {
                    // Closed only by the killed run's swap: the new QA opens as the old did.
                    if let Some(qa) = session.qa.as_mut() {
                        qa.allow_conn = true;
                    }
                }
                Ok((session, removed))
            }
            Err(e) => {
                swap::unlock(&session.admin, &job.qa).await;
                Err(e)
            }
        }
    })
    .await
    .map_err(|e| match e {
        RestoreError::Interrupted { .. } => interrupted(Step::Preflight),
        e => e,
    })?;
    run.end(Step::Preflight, t);

    let cx = Ctx {
        job,
        admin: &session.admin,
        next: &next,
        current_user: &session.user,
        owner: &owner,
        engine: session.plan.engine,
    };
    let mut st = State::new(job, session.qa, session.plan.working_copy_locale);
    let outcome = run_table(&mut run, &cx, &mut st).await;
    let result = match outcome {
        Ok(()) => {
            let mut report = st.into_report(&job.qa);
            report.engine = cx.engine;
            report.total = started.elapsed();
            report.steps = std::mem::take(&mut run.steps);
            report.leftovers_removed = leftovers;
            tracing::info!(
                database = %job.qa,
                total = ?report.total,
                swap_window = ?report.swap_window,
                "restore finished"
            );
            Ok(report)
        }
        Err((step, on_failure, e)) => {
            if matches!(e, RestoreError::Interrupted { .. }) {
                tracing::warn!(database = %job.qa, %step, "restore interrupted; cleaning up");
            } else if on_failure == OnFailure::DropWorkingCopy {
                tracing::error!(database = %job.qa, error = %e, "restore failed; QA left untouched, dropping the working copy");
            } else {
                tracing::error!(database = %job.qa, error = %e, "restore failed after the swap");
            }
            let left_behind = cleanup(&cx, &mut st, on_failure).await;
            // Asked after the cleanup too: a signal sent to a whole service (systemd's
            // control group) can end `pg_dump` a moment before the token is set; that failure
            // is the interrupt's.
            if matches!(e, RestoreError::Interrupted { .. }) || cancelled(job) {
                Err(RestoreError::Interrupted {
                    step,
                    swapped: on_failure == OnFailure::Nothing,
                    left_behind,
                })
            } else {
                Err(e)
            }
        }
    };
    // Released before returning, after any cleanup (not left to the closing connection,
    // whose lock outlives "done" for a moment: a rollback started right then was refused as
    // "already running" on a loaded machine).
    swap::unlock(&session.admin, &job.qa).await;
    result
}

/// Undo what a failed or interrupted run holds: the copy's session, the dump folder (after
/// the tools are gone: they were reaped before their step returned) and, before the swap,
/// the working copy, dropped over a fresh connection (`admin` may be why we failed). Returns
/// what could not be removed.
async fn cleanup(cx: &Ctx<'_>, st: &mut State, on_failure: OnFailure) -> Vec<String> {
    let mut left = Vec::new();
    st.release(Held::CopySession);
    st.release(Held::SourceSnapshot);
    if let Some(dir) = st.take_workdir() {
        let path = dir.path().display().to_string();
        match leftovers::remove_folder(dir).await {
            Ok(()) => tracing::info!(folder = %path, "removed the dump folder"),
            Err(e) => {
                tracing::error!(folder = %path, error = %e, "could not remove the dump folder");
                left.push(format!("dump folder {path}"));
            }
        }
    }
    if on_failure == OnFailure::DropWorkingCopy {
        let dropped = async {
            let c = cx.job.server.connect_admin().await?;
            swap::drop_database(&c, cx.next).await
        };
        match dropped.await {
            Ok(_) => tracing::info!(database = %cx.next, "dropped the working copy"),
            Err(e) => {
                tracing::error!(database = %cx.next, error = %e, "could not drop the working copy");
                left.push(format!("working copy `{}`", cx.next));
            }
        }
    }
    left
}

/// Every step of the table this run needs, in order; on failure, the step, what to undo
/// and the error (the caller cleans up).
async fn run_table(
    run: &mut Run<'_>,
    cx: &Ctx<'_>,
    st: &mut State,
) -> Result<(), (Step, OnFailure, RestoreError)> {
    let job = cx.job;
    for entry in steps::TABLE {
        if (entry.skip)(job, cx.engine) {
            continue;
        }
        let step = entry.step;
        if cancelled(job) {
            return Err((step, entry.on_failure, interrupted(step)));
        }
        for held in entry.release {
            st.release(*held);
        }
        let t = run.begin(step);
        let outcome = match step {
            // Never raced: a swap stopped midway could leave QA closed. It ends (committed,
            // or rolled back with QA reopened) and the interrupt is honoured after it.
            Step::Swap => {
                pause(job, step).await;
                (entry.run)(cx, st).await
            }
            // Their tools (the copy's workers) pause and watch the token themselves.
            Step::Dump | Step::Restore | Step::Schema | Step::Copy | Step::PostData => {
                cancellable(job, step, (entry.run)(cx, st)).await
            }
            _ => {
                cancellable(job, step, async {
                    pause(job, step).await;
                    (entry.run)(cx, st).await
                })
                .await
            }
        };
        outcome.map_err(|e| (step, entry.on_failure, e))?;
        run.end(step, t);
        if step == Step::Swap && cancelled(job) {
            return Err((step, OnFailure::Nothing, interrupted(step)));
        }
    }
    Ok(())
}
