//! The read-only half of the preflight that looks past QA's own catalog: whether a live
//! source is QA itself (by server identity, not host text), the encoding and locale the
//! working copy gets, and whether the working copy fits. The restore's preflight computes it
//! before taking the lock and logs it; [`RestoreJob::plan`](super::RestoreJob::plan) returns
//! it for a dry run.

use std::path::PathBuf;

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::error::{Privilege, RestoreError};
use super::guards::{self, DbIdentity};
use super::settings::{self, DatabaseLocale};
use super::space::{self, Bytes, Estimate, SpaceCheck, SpaceOutcome};
use super::{DumpSource, Engine, RestoreJob, sql, verify};

/// Where the working copy's encoding and locale come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocaleFrom {
    /// The QA database it replaces (the default whenever QA exists).
    Qa,
    /// The live source (QA does not exist yet).
    Source,
    /// The cluster's defaults (QA does not exist yet and the source is a dump file).
    ClusterDefault,
}

/// What a restore will do about the things that differ from run to run, found with reads
/// only. See [`RestoreJob::plan`](super::RestoreJob::plan).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// Whether QA exists (if not, the swap creates it).
    pub qa_exists: bool,
    /// QA's encoding and locale, if it exists.
    pub qa_locale: Option<DatabaseLocale>,
    /// The live source's encoding and locale (`None` for a dump file).
    pub source_locale: Option<DatabaseLocale>,
    /// What the working copy is created with (`None`: the cluster's defaults).
    pub working_copy_locale: Option<DatabaseLocale>,
    /// Where [`Self::working_copy_locale`] comes from.
    pub locale_from: LocaleFrom,
    /// How the source's encoding and locale differ from QA's, one line each (empty when they
    /// agree or either is unknown). QA's are kept: `ORDER BY` on text gives what QA's
    /// applications saw before; a source text that QA's encoding cannot hold fails the
    /// restore (QA untouched).
    pub locale_differences: Vec<String>,
    /// The free-space check.
    pub space: SpaceOutcome,
    /// The engine the run uses: [`Engine::Dump`] or [`Engine::Stream`], never
    /// [`Engine::Auto`] (see [`Engine`]).
    pub engine: Engine,
}

/// The server's system identifier; a role that may not call `pg_control_system()` gets
/// [`Privilege::ServerIdentity`].
async fn system_identifier(client: &Client, server: &str) -> Result<String, RestoreError> {
    match client.query_one(sql::SYSTEM_IDENTIFIER, &[]).await {
        Ok(row) => Ok(row.get(0)),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
            Err(RestoreError::MissingPrivilege {
                privilege: Privilege::ServerIdentity {
                    server: server.to_owned(),
                },
                needed_for: "tell whether the source and QA are the same database (or restore \
                             from a dump file, which needs no such check)"
                    .to_owned(),
            })
        }
        Err(e) => Err(RestoreError::pg(
            format!("read the {server} server's system identifier"),
            e,
        )),
    }
}

async fn identity(
    client: &Client,
    server: &str,
    database: &str,
) -> Result<DbIdentity, RestoreError> {
    let system = system_identifier(client, server).await?;
    let oid = client
        .query_opt(sql::DATABASE_OID, &[&database])
        .await
        .map_err(|e| RestoreError::pg(format!("look up the oid of `{database}`"), e))?
        .map(|r| r.get(0));
    Ok(DbIdentity { system, oid })
}

/// The plan of `job`, read through `admin` (QA's maintenance database) and a session on the
/// live source, if any. Refuses a source that is QA itself and a working copy that does not
/// fit.
pub(crate) async fn plan(
    job: &RestoreJob,
    admin: &Client,
    qa_exists: bool,
) -> Result<Plan, RestoreError> {
    let qa = job.qa.as_str();
    let next = job.next_name();
    let qa_locale = settings::locale(admin, qa).await?;
    let mut engine = job.options.engine;
    if let DumpSource::File(path) = &job.source {
        if engine == Engine::Stream {
            return Err(RestoreError::Config(format!(
                "the stream engine copies from a live source, and {} is a dump file: \
                 use the dump engine (or auto) for it",
                path.display()
            )));
        }
        engine = Engine::Dump;
    }
    let (source_locale, estimate) = match &job.source {
        DumpSource::Database { server, database } => {
            let src = server.connect(database).await?;
            if engine == Engine::Auto {
                engine = match can_export_snapshot(&src).await {
                    Ok(()) => Engine::Stream,
                    Err(e) => {
                        tracing::warn!(database, error = %e, "the source cannot export a snapshot: using the dump engine");
                        Engine::Dump
                    }
                };
            }
            let source_id = identity(&src, "source", database).await?;
            let qa_id = identity(admin, "QA", qa).await?;
            guards::source_is_not_target_by_identity(qa, &qa_id, database, &source_id)?;
            let locale = settings::locale(&src, database).await?;
            let size = verify::database_size(&src, database).await?.unwrap_or(0);
            (locale, Some(Estimate::LiveSource(Bytes(size))))
        }
        // Nothing to compare: a dump file comes from no server.
        DumpSource::File(path) => (
            None,
            space::dump_size(path)
                .ok()
                .map(|b| Estimate::Dump(Bytes(b))),
        ),
    };
    let (working_copy_locale, locale_from) = match (&qa_locale, &source_locale) {
        (Some(q), _) => (Some(q.clone()), LocaleFrom::Qa),
        (None, Some(s)) => (Some(s.clone()), LocaleFrom::Source),
        (None, None) => (None, LocaleFrom::ClusterDefault),
    };
    let locale_differences = match (&source_locale, &qa_locale) {
        (Some(s), Some(q)) => s.differences("source", q, "QA"),
        _ => Vec::new(),
    };
    let space = match (job.options.space_check, estimate) {
        (SpaceCheck::Off, _) => SpaceOutcome::Skipped("turned off".to_owned()),
        (_, None) => SpaceOutcome::Skipped("the dump's size could not be read".to_owned()),
        (SpaceCheck::Available(free), Some(est)) => space::decide(
            est,
            Bytes(free),
            "the QA server (free space as given)",
            &next,
        )?,
        (SpaceCheck::Auto, Some(est)) => match data_directory(admin).await {
            Err(why) => SpaceOutcome::Skipped(why),
            Ok(dir) => {
                let local = match system_identifier(admin, "QA").await {
                    Ok(id) => space::local_available(&dir, &id),
                    Err(e) => Err(format!("the server's identity is unknown ({e})")),
                };
                match local {
                    Ok(free) => space::decide(est, free, &dir.display().to_string(), &next)?,
                    Err(why) => SpaceOutcome::Skipped(why),
                }
            }
        },
    };
    Ok(Plan {
        qa_exists,
        qa_locale,
        source_locale,
        working_copy_locale,
        locale_from,
        locale_differences,
        space,
        engine,
    })
}

/// Whether `src` can export a snapshot for the stream engine's workers (a read-only
/// transaction, rolled back).
async fn can_export_snapshot(src: &Client) -> Result<(), tokio_postgres::Error> {
    src.batch_execute(sql::BEGIN_SNAPSHOT).await?;
    let r = src.query_one(sql::EXPORT_SNAPSHOT, &[]).await.map(|_| ());
    src.batch_execute("ROLLBACK").await?;
    r
}

/// `data_directory`, or why it cannot be read.
async fn data_directory(admin: &Client) -> Result<PathBuf, String> {
    match admin.query_one(sql::DATA_DIRECTORY, &[]).await {
        Ok(row) => Ok(PathBuf::from(row.get::<_, String>(0))),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Err(
            "the role may not read data_directory (superuser or pg_read_all_settings needed), \
             so whether the server is local is unknown"
                .to_owned(),
        ),
        Err(e) => Err(format!("data_directory could not be read ({e})")),
    }
}

impl Plan {
    /// Log what a run will do (warnings for differences and a skipped check).
    pub(crate) fn log(&self, qa: &str) {
        match &self.working_copy_locale {
            Some(l) => {
                tracing::info!(database = qa, from = ?self.locale_from, locale = %l, "the working copy's encoding and locale")
            }
            None => tracing::info!(
                database = qa,
                "the working copy gets the cluster's default encoding and locale"
            ),
        }
        tracing::info!(database = qa, engine = %self.engine, "restore engine");
        for d in &self.locale_differences {
            tracing::warn!(database = qa, difference = %d, "the source's locale differs from QA's; QA's is kept");
        }
        match &self.space {
            SpaceOutcome::Skipped(why) => {
                tracing::warn!(database = qa, "free-space check skipped: {why}");
            }
            s @ SpaceOutcome::Enough { .. } => {
                tracing::info!(database = qa, "free space for the working copy: {s}");
            }
        }
    }
}
