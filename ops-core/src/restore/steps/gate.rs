//! The gate before the swap: Verify (tables and row counts), Sanitize, Analyze, Checks.
//! Counts are compared before sanitising (scripts may delete rows), checks run after.

use super::super::error::RestoreError;
use super::super::server::PgServer;
use super::super::sql::{self, exec};
use super::super::verify;
use super::{Ctx, State};

/// Every table of the dump is there, and row counts match what was expected.
pub(super) async fn verify(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let (job, next) = (cx.job, cx.next);
    let client = st.copy_session(cx).await?;
    let present = verify::user_tables(client).await?;
    let mut failures = verify::missing_tables(&st.toc, &present);
    if let Some(exp) = &st.expected {
        let wanted: Vec<(String, String)> = present
            .iter()
            .filter(|(s, t)| exp.counts.contains_key(&verify::key(s, t)))
            .cloned()
            .collect();
        let actual = verify::count_rows(&job.server, next, &wanted, job.options.jobs).await?;
        st.tables_counted = actual.len();
        failures.extend(verify::compare_counts(&exp.counts, &actual, exp.tolerance));
    }
    if !failures.is_empty() {
        return Err(RestoreError::Verification(failures));
    }
    st.present = present;
    Ok(())
}

/// The sanitise scripts, in order, on the copy's session.
pub(super) async fn sanitize(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let client = st.copy_session(cx).await?;
    for script in &cx.job.options.sanitize {
        tracing::info!(script = %script.name, "running sanitise script");
        client
            .batch_execute(&script.sql)
            .await
            .map_err(|e| RestoreError::pg(format!("run sanitise script `{}`", script.name), e))?;
    }
    Ok(())
}

/// `ANALYZE` the restored tables (`pg_restore` does not), but those the stream engine
/// analyzed in Copy once their indexes were built (it does so only when no sanitise script
/// runs after it, so nothing changed their rows since).
pub(super) async fn analyze(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let tables: Vec<(String, String)> = verify::toc_tables_resolved(&st.toc, &st.present)
        .into_iter()
        .filter(|(s, t)| !st.analyzed.contains(&verify::key(s, t)))
        .collect();
    tracing::debug!(
        tables = tables.len(),
        analyzed_in_copy = st.analyzed.len(),
        "analyzing the working copy"
    );
    analyze_tables(&cx.job.server, cx.next, &tables, cx.job.options.jobs).await
}

/// The user's check queries, on the copy's session; all must return `true`.
pub(super) async fn checks(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let client = st.copy_session(cx).await?;
    let failures = verify::run_checks(client, &cx.job.options.checks).await;
    if !failures.is_empty() {
        return Err(RestoreError::Verification(failures));
    }
    Ok(())
}

/// `ANALYZE` `tables` over `jobs` connections.
async fn analyze_tables(
    server: &PgServer,
    database: &str,
    tables: &[(String, String)],
    jobs: u32,
) -> Result<(), RestoreError> {
    let jobs = usize::try_from(jobs.max(1))
        .unwrap_or(1)
        .min(tables.len().max(1));
    let mut buckets: Vec<Vec<&(String, String)>> = vec![Vec::new(); jobs];
    for (i, t) in tables.iter().enumerate() {
        buckets[i % jobs].push(t);
    }
    let futs = buckets.into_iter().map(|bucket| async move {
        if bucket.is_empty() {
            return Ok(());
        }
        let c = server.connect(database).await?;
        for (s, t) in bucket {
            exec(&c, &sql::analyze(s, t), "analyze the working copy").await?;
        }
        Ok::<_, RestoreError>(())
    });
    for r in futures_util::future::join_all(futs).await {
        r?;
    }
    Ok(())
}
