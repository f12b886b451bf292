//! Preflight: the guards on the job's names, the guards and privilege checks over the
//! catalog ([`guards`](super::super::guards)), the plan (source identity, locale, free
//! space: [`plan`](super::super::plan)), then the advisory lock.

use tokio_postgres::Client;

use super::super::error::RestoreError;
use super::super::settings::DbSettings;
use super::super::{DumpSource, Plan, RestoreJob, guards, plan, swap};

/// What the preflight hands to the other steps.
pub(in super::super) struct Session {
    /// The admin connection holding the advisory lock.
    pub(in super::super) admin: Client,
    /// QA's settings, `None` if QA does not exist yet.
    pub(in super::super) qa: Option<DbSettings>,
    /// The connected role.
    pub(in super::super) user: String,
    /// Identity, locale and free space, found before anything was written.
    pub(in super::super) plan: Plan,
}

/// Guards, privileges and the advisory lock. A failure leaves nothing to undo: the lock is
/// the last thing taken.
pub(in super::super) async fn preflight(job: &RestoreJob) -> Result<Session, RestoreError> {
    let qa = job.qa.as_str();
    guards::target(&job.options.production_guard, qa, &job.server)?;
    guards::source_is_not_target(qa, &job.server, &job.source)?;
    if let DumpSource::File(path) = &job.source {
        if !path.exists() {
            return Err(RestoreError::InvalidDump(format!(
                "{} does not exist",
                path.display()
            )));
        }
    }
    let admin = job.server.connect_admin().await?;
    let checked = guards::check_catalog(&admin, qa, &job.next_name()).await?;
    let plan = plan::plan(job, &admin, checked.qa.is_some()).await?;
    plan.log(qa);
    // Checked again just before the swap; refused here too, before a long restore.
    swap::refuse_prepared(&admin, qa).await?;
    swap::lock(&admin, qa).await?;
    Ok(Session {
        admin,
        qa: checked.qa,
        user: checked.role.name,
        plan,
    })
}
