//! CarrySettings, Swap and Prune: the copy takes QA's settings and QA's name; old copies
//! beyond the limit go.

use std::time::Duration;

use super::super::catalog::Catalog;
use super::super::error::RestoreError;
use super::super::settings;
use super::super::sql::{self, exec};
use super::super::swap::{self, cancel_downtime, schedule_downtime};
use super::{Ctx, State};

/// Re-apply QA's database-level settings and grants to the copy, then close the copy to
/// connections and end every session on it.
pub(super) async fn carry_settings(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let (admin, qa, next) = (cx.admin, cx.job.qa.as_str(), cx.next);
    // Re-read QA's settings: they may have changed during a long restore.
    let qa_now = match st.qa_before {
        Some(_) => admin.database(qa).await?,
        None => None,
    };
    if let Some(s) = &qa_now {
        // QA's comment is given after the swap: until then the copy keeps the marker that
        // lets a later run remove it if this one is killed (`leftovers.rs`).
        let s = settings::DbSettings {
            comment: None,
            ..s.clone()
        };
        for statement in settings::apply_statements(&s, next, cx.current_user) {
            exec(
                admin,
                &statement,
                &format!("carry QA's settings to `{next}` ({statement})"),
            )
            .await?;
        }
    }
    // Nobody may use the copy between now and the swap; our own sessions must be gone.
    exec(
        admin,
        &sql::allow_connections(next, false),
        "block connections to the working copy",
    )
    .await?;
    // They are the workflow's own (the copy's session was just closed, `pg_restore` has
    // exited) and QA is open meanwhile: wait at least 5 s for them, even when the option
    // says not to wait on QA's.
    let wait = cx.job.options.terminate_timeout.max(Duration::from_secs(5));
    swap::clear_sessions(admin, next, wait).await?;
    st.qa_now = qa_now;
    Ok(())
}

/// Monitoring downtime, then the rename swap; QA refuses connections only meanwhile.
pub(super) async fn swap(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let (job, qa) = (cx.job, cx.job.qa.as_str());
    let opts = &job.options;
    let prev = st
        .qa_now
        .as_ref()
        .map(|_| format!("{qa}_prev_{}", swap::stamp()));
    let qa_open = st.qa_now.as_ref().is_none_or(|s| s.allow_conn);
    if prev.is_some() && qa_open {
        // Before QA is closed: should this process die (kill -9) between closing QA and the
        // swap's commit, the next run finds this mark on the copy and reopens QA.
        exec(
            cx.admin,
            &sql::comment(cx.next, &cx.owner.swap_comment(qa)),
            "mark the working copy as being swapped in",
        )
        .await?;
    }
    let downtime_id =
        schedule_downtime(job.downtime.as_deref(), qa, "restore", opts.downtime_window).await;
    let swapped = swap::swap_in(
        &job.server,
        qa,
        cx.next,
        prev.as_deref(),
        qa_open,
        opts.terminate_timeout,
    )
    .await;
    cancel_downtime(job.downtime.as_deref(), downtime_id).await;
    let swap_window = swapped?;
    tracing::info!(database = qa, previous = ?prev, ?swap_window, "swapped");
    // The copy's marker comment gives way to QA's (or to none).
    let comment = st.qa_now.as_ref().and_then(|s| s.comment.clone());
    let statement = match &comment {
        Some(c) => sql::comment(qa, c),
        None => sql::clear_comment(qa),
    };
    if let Err(e) = exec(cx.admin, &statement, "give QA its comment").await {
        tracing::warn!(database = qa, error = %e, "could not set QA's comment after the swap");
    }
    st.swap_window = swap_window;
    st.previous = prev;
    Ok(())
}

/// Keep [`keep_previous`](super::super::RestoreOptions::keep_previous) previous copies.
/// Never fails: QA is already the new copy, so what cannot be dropped is only a warning.
pub(super) async fn prune(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let (admin, qa) = (cx.admin, cx.job.qa.as_str());
    match swap::previous_copies(admin, qa).await {
        Ok(copies) => {
            for old in copies.into_iter().skip(cx.job.options.keep_previous) {
                match swap::drop_database(admin, &old).await {
                    Ok(_) => {
                        if st.previous.as_deref() == Some(old.as_str()) {
                            st.previous = None;
                        }
                        st.dropped.push(old);
                    }
                    Err(e) => {
                        tracing::warn!(database = %old, error = %e, "could not drop an old copy")
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list old copies"),
    }
    Ok(())
}
