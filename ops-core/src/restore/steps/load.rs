//! Prepare and Restore: an empty working copy, then `pg_restore` into it with progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::super::error::RestoreError;
use super::super::sql::{self, exec};
use super::super::{Progress, Step, toc, tools, verify};
use super::{Ctx, State};

/// Create an empty working copy from `template0` with the encoding and locale the plan chose
/// (QA's), and mark it as this run's (a leftover of a killed run was removed by the
/// preflight; an unmarked one refused it).
pub(super) async fn prepare(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    exec(
        cx.admin,
        &sql::create_database(cx.next, st.locale.as_ref()),
        "create the working copy",
    )
    .await?;
    exec(
        cx.admin,
        &sql::comment(cx.next, &cx.owner.comment(&cx.job.qa)),
        "mark the working copy as this run's",
    )
    .await
}

/// Run `pg_restore` into the working copy, reporting progress.
pub(super) async fn restore(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    pg_restore(cx, st, None, Some(Step::Restore)).await?;
    st.items_restored = st.items.len();
    Ok(())
}

/// Run `pg_restore` (of `section`, or all) into the working copy, reporting progress; items
/// done count on from [`State::items_restored`], which is updated. The test hook pauses it
/// in `pause_at`, if given.
pub(super) async fn pg_restore(
    cx: &Ctx<'_>,
    st: &mut State,
    section: Option<&str>,
    pause_at: Option<Step>,
) -> Result<(), RestoreError> {
    let bytes_expected = st.expected.as_ref().and_then(|e| e.bytes);
    let items = &st.items;
    let opts = &cx.job.options;
    let total = items.len();
    let done = Arc::new(AtomicUsize::new(st.items_restored));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut seen = std::collections::HashSet::new();
    let cmd = tools::restore_section_command(
        &cx.job.server,
        cx.next,
        &st.dump_path,
        opts,
        section,
        st.post_list
            .as_deref()
            .filter(|_| section == Some("post-data")),
    );
    let report = |items_done: usize, b: u64| {
        let p = Progress::Restore {
            items_done,
            items_total: total,
            bytes: b,
            bytes_expected,
        };
        cx.emit(&p);
    };
    let done_l = Arc::clone(&done);
    let bytes_l = Arc::clone(&bytes);
    let ctl = tools::Control {
        cancel: cx.job.cancel.clone(),
        pause: pause_at.and_then(|step| cx.job.pause.clone().map(|p| (step, p))),
    };
    let child = tools::run_streaming(
        cmd,
        "pg_restore",
        |line| {
            if let Some(id) = toc::done_item(line) {
                if items.contains(&id) && seen.insert(id) {
                    let n = done_l.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::debug!(items_done = n, items_total = total, "{line}");
                    report(n, bytes_l.load(Ordering::Relaxed));
                }
            }
        },
        &ctl,
    );
    tokio::pin!(child);
    let mut tick = tokio::time::interval(opts.progress_interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            r = &mut child => break r,
            _ = tick.tick() => {
                if let Ok(Some(b)) = verify::database_size(cx.admin, cx.next).await {
                    bytes.store(b, Ordering::Relaxed);
                    let n = done.load(Ordering::Relaxed);
                    tracing::info!(items_done = n, items_total = total, bytes = b, bytes_expected, "restore progress");
                    report(n, b);
                }
            }
        }
    };
    result?;
    let b = verify::database_size(cx.admin, cx.next).await?.unwrap_or(0);
    // A whole archive restored is every item, whatever lines were seen.
    let n = if section.is_none() {
        total
    } else {
        done.load(Ordering::Relaxed)
    };
    report(n, b);
    st.items_restored = n;
    Ok(())
}
