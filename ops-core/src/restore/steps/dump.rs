//! Dump (a live source only) and Inspect: what will be restored and what to expect of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::error::RestoreError;
use super::super::server::PgServer;
use super::super::toc::Toc;
use super::super::verify::{self, RowCountManifest};
use super::super::{DumpSource, Engine, RestoreJob, RowCounts, Step, leftovers, sql, tools};
use super::{Ctx, Expected, State};

/// `pg_dump` a live source into a fresh work folder, with counts from the same snapshot.
pub(super) async fn dump(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let DumpSource::Database { server, database } = &cx.job.source else {
        return Ok(()); // the table skips Dump for a file
    };
    let folder = work_folder(cx, st)?;
    let path = folder.join("dump");
    let manifest = dump_live(cx.job, server, database, &path).await?;
    manifest.save(&folder.join("rowcounts.json"))?;
    st.snapshot_counts = Some(manifest);
    st.dump_path = path;
    Ok(())
}

/// A fresh work folder for a live source (marked as this run's, held by the state so that
/// an interrupt or a failure removes it).
pub(super) fn work_folder(cx: &Ctx<'_>, st: &mut State) -> Result<PathBuf, RestoreError> {
    let mut b = tempfile::Builder::new();
    b.prefix(leftovers::DUMP_PREFIX);
    let dir = b
        .tempdir_in(leftovers::work_parent(cx.job))
        .map_err(|e| RestoreError::io("create the work directory", e))?;
    // The marker first: a run killed from here on leaves a folder a later run may remove.
    std::fs::write(dir.path().join(leftovers::OWNER_FILE), cx.owner.file_text())
        .map_err(|e| RestoreError::io("mark the work directory", e))?;
    let folder = dir.path().to_path_buf();
    // Held by the state at once: an interrupt mid-dump removes it.
    st.workdir = Some(dir);
    Ok(folder)
}

/// `pg_restore -l`: the items to restore; and the expected row counts.
pub(super) async fn inspect(cx: &Ctx<'_>, st: &mut State) -> Result<(), RestoreError> {
    let opts = &cx.job.options;
    let toc = Toc::parse(&tools::list_toc(opts.bin_dir.as_deref(), &st.dump_path).await?);
    let items = toc.item_ids(opts.no_acl);
    if toc.entries.is_empty() {
        return Err(RestoreError::InvalidDump(format!(
            "{} has an empty table of contents",
            st.dump_path.display()
        )));
    }
    // The stream engine's exact counts are the rows its copy reads (set by Copy).
    st.expected = if cx.engine == Engine::Stream && matches!(opts.row_counts, RowCounts::Auto) {
        None
    } else {
        expected_counts(cx.job, &st.dump_path, st.snapshot_counts.take()).await?
    };
    st.toc = toc;
    st.items = items;
    Ok(())
}

/// Resolve [`RowCounts`] into expected counts (or `None`: presence check only).
async fn expected_counts(
    job: &RestoreJob,
    dump: &Path,
    snapshot: Option<RowCountManifest>,
) -> Result<Option<Expected>, RestoreError> {
    let exact = |m: RowCountManifest| Expected {
        counts: m.tables,
        tolerance: 0.0,
        bytes: m.database_bytes,
    };
    match &job.options.row_counts {
        RowCounts::Off => Ok(None),
        RowCounts::Manifest(p) => Ok(Some(exact(RowCountManifest::load(p)?))),
        RowCounts::Auto => {
            if let Some(m) = snapshot {
                return Ok(Some(exact(m)));
            }
            let mut side = dump.as_os_str().to_owned();
            side.push(".rowcounts.json");
            let side = PathBuf::from(side);
            if side.exists() {
                Ok(Some(exact(RowCountManifest::load(&side)?)))
            } else {
                tracing::warn!(
                    manifest = %side.display(),
                    "no row-count manifest next to the dump: only table presence and checks gate the swap"
                );
                Ok(None)
            }
        }
        RowCounts::Production {
            server,
            database,
            tolerance,
            fallback,
        } => match RowCountManifest::collect(server, database, job.options.jobs).await {
            Ok(m) => Ok(Some(Expected {
                counts: m.tables,
                tolerance: *tolerance,
                bytes: m.database_bytes,
            })),
            Err(e) => match fallback {
                Some(p) => {
                    tracing::warn!(error = %e, manifest = %p.display(), "production not reachable; using the manifest");
                    Ok(Some(exact(RowCountManifest::load(p)?)))
                }
                None => Err(RestoreError::Verification(vec![format!(
                    "production row counts unavailable ({e}) and no fallback manifest is configured"
                )])),
            },
        },
    }
}

/// `pg_dump -Fd -Z<n> -j N` of a live database, with exact row counts taken
/// in the same exported snapshot while the dump runs.
async fn dump_live(
    job: &RestoreJob,
    server: &PgServer,
    database: &str,
    dir: &Path,
) -> Result<RowCountManifest, RestoreError> {
    let opts = &job.options;
    let mut holder = server.connect(database).await?;
    let tx = holder
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| RestoreError::pg("open the dump snapshot", e))?;
    let snap: String = tx
        .query_one(sql::EXPORT_SNAPSHOT, &[])
        .await
        .map_err(|e| RestoreError::pg("export the dump snapshot", e))?
        .get(0);
    let cmd = tools::dump_command(
        opts.bin_dir.as_deref(),
        server,
        database,
        dir,
        opts.jobs,
        opts.dump_compression,
        Some(&snap),
    );
    let ctl = tools::Control {
        cancel: job.cancel.clone(),
        pause: job.pause.clone().map(|p| (Step::Dump, p)),
    };
    let dump = tools::run_streaming(cmd, "pg_dump", |_| {}, &ctl);
    let counts = async {
        let tables = verify::user_tables(&tx).await?;
        let mut out = BTreeMap::new();
        for (s, t) in &tables {
            out.insert(verify::key(s, t), verify::count_one(&tx, s, t).await?);
        }
        let bytes = verify::database_size(&tx, database).await?;
        Ok::<_, RestoreError>(RowCountManifest {
            database: database.to_owned(),
            database_bytes: bytes,
            tables: out,
        })
    };
    // The first failure (or an interrupt of `pg_dump`) ends both.
    let ((), manifest) = tokio::try_join!(dump, counts)?;
    tx.commit()
        .await
        .map_err(|e| RestoreError::pg("close the dump snapshot", e))?;
    Ok(manifest)
}
