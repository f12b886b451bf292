//! The restore steps after the preflight, as one ordered table ([`TABLE`]): each entry is a
//! [`Step`], when it has nothing to do, the function that runs it, what the runner lets go
//! of before it begins and what the runner undoes when it fails. The runner
//! (`workflow.rs`) reports begin and end of each step once, for all of them.
//!
//! The preflight ([`preflight`]) comes first and stands outside the table: it opens the
//! admin session every later step shares and takes the advisory lock, and a failure there
//! has nothing to undo.
//!
//! A new step is a [`Step`] variant, its function in the file of its phase here, and its
//! entry in [`TABLE`]; SQL it sends goes into [`sql`](super::sql).

mod cutover;
mod dump;
mod gate;
mod load;
mod preflight;
mod stream;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio_postgres::Client;

pub(super) use preflight::preflight;

use super::error::RestoreError;
use super::leftovers::Owner;
use super::settings::{DatabaseLocale, DbSettings};
use super::toc::Toc;
use super::verify::RowCountManifest;
use super::{DumpSource, Engine, Progress, RestoreJob, RestoreReport, Step};

/// What every step may read: the job and the preflight's admin session.
pub(super) struct Ctx<'a> {
    pub(super) job: &'a RestoreJob,
    /// The admin session (maintenance database) holding the advisory lock.
    pub(super) admin: &'a Client,
    /// The working copy, `<qa>_next`.
    pub(super) next: &'a str,
    /// The connected role.
    pub(super) current_user: &'a str,
    /// This run, as its markers name it (working copy comment, dump folder file).
    pub(super) owner: &'a Owner,
    /// The engine the plan chose: [`Engine::Dump`] or [`Engine::Stream`].
    pub(super) engine: Engine,
}

impl Ctx<'_> {
    /// Hand `p` to the job's progress callback, if any.
    pub(super) fn emit(&self, p: &Progress) {
        emit(self.job, p);
    }
}

/// Hand `p` to `job`'s progress callback, if any.
pub(super) fn emit(job: &RestoreJob, p: &Progress) {
    if let Some(f) = &job.progress {
        f(p);
    }
}

/// Expected row counts and how strictly to compare them.
pub(super) struct Expected {
    pub(super) counts: std::collections::BTreeMap<String, i64>,
    pub(super) tolerance: f64,
    pub(super) bytes: Option<u64>,
}

/// What the steps hand on to later steps, and the report's numbers.
pub(super) struct State {
    /// QA's settings at the preflight (`None`: QA does not exist yet).
    qa_before: Option<DbSettings>,
    /// The working copy's encoding and locale (`None`: the cluster's defaults).
    locale: Option<DatabaseLocale>,
    /// The dump to restore: the job's file, or the folder the Dump step wrote.
    dump_path: PathBuf,
    /// The Dump step's work folder (deleted when dropped).
    workdir: Option<tempfile::TempDir>,
    /// Counts taken in the Dump step's snapshot.
    snapshot_counts: Option<RowCountManifest>,
    toc: Toc,
    /// The table-of-contents items `pg_restore` reports on.
    items: HashSet<u32>,
    expected: Option<Expected>,
    items_restored: usize,
    /// The stream engine's source session holding the exported snapshot, and its name.
    snapshot: Option<(Client, String)>,
    /// The stream engine's list of the post-data items left for PostData (`pg_restore -L`):
    /// the tables' own indexes and constraints were built by Copy, each once its table was,
    /// and the foreign keys between plain tables once both their tables were.
    post_list: Option<PathBuf>,
    /// The stream engine's sequence values, read at the snapshot.
    sequences: Vec<stream::SequenceValue>,
    /// Tables (`schema.table`) the stream engine analyzed in Copy, each once its indexes
    /// were built (none when sanitise scripts run: Analyze then does them all).
    analyzed: std::collections::BTreeSet<String>,
    /// The session on the working copy: opened by Verify, used by Sanitize and Checks (a
    /// script's `SET` is seen by the checks).
    copy: Option<Client>,
    /// The working copy's tables, as Verify found them.
    present: Vec<(String, String)>,
    tables_counted: usize,
    /// QA's settings re-read just before the swap.
    qa_now: Option<DbSettings>,
    /// The name the old QA gets (`<qa>_prev_<ms>`); `None` after pruning dropped it.
    previous: Option<String>,
    dropped: Vec<String>,
    swap_window: Duration,
}

impl State {
    pub(super) fn new(
        job: &RestoreJob,
        qa_before: Option<DbSettings>,
        locale: Option<DatabaseLocale>,
    ) -> Self {
        Self {
            qa_before,
            locale,
            dump_path: match &job.source {
                DumpSource::File(p) => p.clone(),
                DumpSource::Database { .. } => PathBuf::new(),
            },
            workdir: None,
            snapshot_counts: None,
            toc: Toc::default(),
            items: HashSet::new(),
            expected: None,
            items_restored: 0,
            snapshot: None,
            post_list: None,
            analyzed: std::collections::BTreeSet::new(),
            sequences: Vec::new(),
            copy: None,
            present: Vec::new(),
            tables_counted: 0,
            qa_now: None,
            previous: None,
            dropped: Vec::new(),
            swap_window: Duration::ZERO,
        }
    }

    /// Let go of `held`.
    pub(super) fn release(&mut self, held: Held) {
        match held {
            Held::DumpFolder => self.workdir = None,
            Held::CopySession => self.copy = None,
            Held::SourceSnapshot => self.snapshot = None,
        }
    }

    /// The Dump step's work folder, for the runner's cleanup to remove.
    pub(super) fn take_workdir(&mut self) -> Option<tempfile::TempDir> {
        self.workdir.take()
    }

    /// The session on the working copy, opened if there is none.
    async fn copy_session(&mut self, cx: &Ctx<'_>) -> Result<&Client, RestoreError> {
        let client = match self.copy.take() {
            Some(c) => c,
            None => cx.job.server.connect(cx.next).await?,
        };
        Ok(self.copy.insert(client))
    }

    /// The report of a run whose steps all succeeded (`total` and `steps` are the runner's).
    pub(super) fn into_report(self, qa: &str) -> RestoreReport {
        RestoreReport {
            qa_database: qa.to_owned(),
            previous: self.previous,
            dropped: self.dropped,
            engine: Engine::Dump,
            items_restored: self.items_restored,
            tables_counted: self.tables_counted,
            swap_window: self.swap_window,
            total: Duration::ZERO,
            steps: Vec::new(),
            leftovers_removed: Vec::new(),
        }
    }
}

/// Something a step holds for later steps, let go of as soon as no later step needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Held {
    /// The folder of a dump of a live source (restored by then).
    DumpFolder,
    /// The session on the working copy (whose connections are blocked next).
    CopySession,
    /// The stream engine's snapshot on the source (its session).
    SourceSnapshot,
}

/// What the runner undoes when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnFailure {
    /// Drop the working copy; QA is untouched (a failed swap has already reopened it).
    DropWorkingCopy,
    /// Nothing: QA is already the new copy (pruning only warns, so it never fails).
    Nothing,
}

/// A step's body: reads the context, updates the state.
pub(super) type StepFn =
    for<'a> fn(&'a Ctx<'a>, &'a mut State) -> BoxFuture<'a, Result<(), RestoreError>>;

/// One entry of [`TABLE`].
pub(super) struct Entry {
    pub(super) step: Step,
    /// Whether this run has nothing for the step to do (then it has no progress events and
    /// no line in the report).
    pub(super) skip: fn(&RestoreJob, Engine) -> bool,
    /// Let go of these before the step begins.
    pub(super) release: &'static [Held],
    pub(super) run: StepFn,
    pub(super) on_failure: OnFailure,
}

fn never(_: &RestoreJob, _: Engine) -> bool {
    false
}

fn unless_stream(_: &RestoreJob, engine: Engine) -> bool {
    engine != Engine::Stream
}

/// The steps after the preflight, in order.
pub(super) const TABLE: &[Entry] = &[
    Entry {
        step: Step::Dump,
        skip: |job, engine| {
            !matches!(job.source, DumpSource::Database { .. }) || engine == Engine::Stream
        },
        release: &[],
        run: |cx, st| dump::dump(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Schema,
        skip: unless_stream,
        release: &[],
        run: |cx, st| stream::schema(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Inspect,
        skip: never,
        release: &[],
        run: |cx, st| dump::inspect(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Prepare,
        skip: never,
        release: &[],
        run: |cx, st| load::prepare(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Restore,
        skip: |_, engine| engine == Engine::Stream,
        release: &[],
        run: |cx, st| load::restore(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Copy,
        skip: unless_stream,
        release: &[],
        run: |cx, st| stream::copy(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::PostData,
        skip: unless_stream,
        release: &[Held::SourceSnapshot],
        run: |cx, st| stream::post_data(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Verify,
        skip: never,
        release: &[Held::DumpFolder],
        run: |cx, st| gate::verify(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Sanitize,
        skip: |job, _| job.options.sanitize.is_empty(),
        release: &[],
        run: |cx, st| gate::sanitize(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Analyze,
        skip: |job, _| !job.options.analyze,
        release: &[],
        run: |cx, st| gate::analyze(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Checks,
        skip: |job, _| job.options.checks.is_empty(),
        release: &[],
        run: |cx, st| gate::checks(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::CarrySettings,
        skip: never,
        release: &[Held::CopySession],
        run: |cx, st| cutover::carry_settings(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Swap,
        skip: never,
        release: &[],
        run: |cx, st| cutover::swap(cx, st).boxed(),
        on_failure: OnFailure::DropWorkingCopy,
    },
    Entry {
        step: Step::Prune,
        skip: never,
        release: &[],
        run: |cx, st| cutover::prune(cx, st).boxed(),
        on_failure: OnFailure::Nothing,
    },
];

/// The steps a run of `job` with `engine` makes, preflight first (see [`RestoreJob::steps`]).
pub(super) fn planned(job: &RestoreJob, engine: Engine) -> Vec<Step> {
    std::iter::once(Step::Preflight)
        .chain(
            TABLE
                .iter()
                .filter(|e| !(e.skip)(job, engine))
                .map(|e| e.step),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{CheckQuery, PgServer, RestoreOptions, SqlScript};
    use super::*;

    /// The steps after the preflight.
    fn steps_run(job: &RestoreJob, engine: Engine) -> Vec<Step> {
        let mut all = planned(job, engine);
        assert_eq!(all.remove(0), Step::Preflight);
        all
    }

    fn server() -> PgServer {
        PgServer::new("host=h user=u").unwrap()
    }

    #[test]
    fn a_file_restore_with_defaults_runs_these_steps() {
        let job = RestoreJob::new(server(), "qa", DumpSource::File("/d.dump".into()));
        assert_eq!(
            steps_run(&job, Engine::Dump),
            [
                Step::Inspect,
                Step::Prepare,
                Step::Restore,
                Step::Verify,
                Step::Analyze,
                Step::CarrySettings,
                Step::Swap,
                Step::Prune,
            ]
        );
    }

    #[test]
    fn optional_steps_run_when_asked_for() {
        let job = RestoreJob::new(
            server(),
            "qa",
            DumpSource::Database {
                server: server(),
                database: "shop".into(),
            },
        )
        .options(RestoreOptions {
            sanitize: vec![SqlScript::new("mask", "SELECT 1")],
            checks: vec![CheckQuery::new("ok", "SELECT true")],
            analyze: false,
            ..RestoreOptions::default()
        });
        assert_eq!(
            steps_run(&job, Engine::Dump),
            [
                Step::Dump,
                Step::Inspect,
                Step::Prepare,
                Step::Restore,
                Step::Verify,
                Step::Sanitize,
                Step::Checks,
                Step::CarrySettings,
                Step::Swap,
                Step::Prune,
            ]
        );
        assert_eq!(
            steps_run(&job, Engine::Stream),
            [
                Step::Schema,
                Step::Inspect,
                Step::Prepare,
                Step::Copy,
                Step::PostData,
                Step::Verify,
                Step::Sanitize,
                Step::Checks,
                Step::CarrySettings,
                Step::Swap,
                Step::Prune,
            ]
        );
    }

    #[test]
    fn every_failure_before_prune_drops_the_working_copy() {
        for e in TABLE {
            let want = if e.step == Step::Prune {
                OnFailure::Nothing
            } else {
                OnFailure::DropWorkingCopy
            };
            assert_eq!(e.on_failure, want, "{}", e.step);
        }
        // The dump folder goes once restored; the copy's session before it is blocked.
        let released: Vec<(Step, Held)> = TABLE
            .iter()
            .flat_map(|e| e.release.iter().map(move |h| (e.step, *h)))
            .collect();
        assert_eq!(
            released,
            [
                (Step::PostData, Held::SourceSnapshot),
                (Step::Verify, Held::DumpFolder),
                (Step::CarrySettings, Held::CopySession)
            ]
        );
    }
}
