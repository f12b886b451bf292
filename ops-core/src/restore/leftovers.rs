//! What a run leaves when it is killed outright (`kill -9`, a power cut), and how a later
//! run finds and removes it without touching anything else.
//!
//! Every run marks what it creates with its [`Owner`] (run id, host, pid and the process's
//! start time, so a reused pid is not taken for the owner):
//! - the working copy `<qa>_next` gets `COMMENT ON DATABASE … IS 'ops-core restore working
//!   copy of `qa`: run=… host=… pid=… start=…'` right after it is created (QA's own comment
//!   is given to the copy only after the swap, so the marker stays until then);
//! - a dump folder `ops-restore-*` gets a file [`OWNER_FILE`] with the same fields.
//!
//! The preflight, holding QA's advisory lock (so no other run of this QA is live on this
//! server), removes a marked `<qa>_next` unless its owner is a live process on this host,
//! and refuses an unmarked one; it removes marked dump folders in the work folder whose
//! owner was on this host and is gone. An unmarked folder, or one of another host, is left.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

use super::catalog::Catalog;
use super::error::{Guard, RestoreError};
use super::sql::{self, exec};
use super::{RestoreJob, swap};

/// The marker file in a dump folder.
pub(crate) const OWNER_FILE: &str = "ops-restore-owner";

/// The prefix of the dump folders a run creates.
pub(crate) const DUMP_PREFIX: &str = "ops-restore-";

/// Appended to the marker while the swap closes QA (QA was open before).
const SWAPPING: &str = "swapping=qa-was-open";

/// The prefix of the working copy's marker comment.
const COMMENT_PREFIX: &str = "ops-core restore working copy of ";

/// The process that made a working copy or a dump folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    /// `<ms since the epoch>-<pid>`.
    pub(crate) run: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    /// The process's start time (`/proc/<pid>/stat`, clock ticks since boot; 0 if unknown).
    pub(crate) start: u64,
}

/// Whether a marker's owner still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    Alive,
    Gone,
    /// Another host: this host cannot tell.
    OtherHost,
}

/// This machine's host name (the kernel's node name), as markers and leases record it.
pub(crate) fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Start time of `pid` in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Self {
        let pid = std::process::id();
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Self {
            run: format!("{ms}-{pid}"),
            host: host_name(),
            pid,
            start: start_ticks(pid).unwrap_or(0),
        }
    }

    fn fields(&self) -> String {
        format!(
            "run={} host={} pid={} start={}",
            self.run, self.host, self.pid, self.start
        )
    }

    fn parse_fields(text: &str) -> Option<Self> {
        let mut run = None;
        let mut host = None;
        let mut pid = None;
        let mut start = None;
        for kv in text.split_whitespace() {
            match kv.split_once('=')? {
                ("run", v) => run = Some(v.to_owned()),
                ("host", v) => host = Some(v.to_owned()),
                ("pid", v) => pid = v.parse().ok(),
                ("start", v) => start = v.parse().ok(),
                _ => {}
            }
        }
        Some(Self {
            run: run?,
            host: host?,
            pid: pid?,
            start: start?,
        })
    }

    /// The marker comment of the working copy of `qa`.
    pub(crate) fn comment(&self, qa: &str) -> String {
        format!("{COMMENT_PREFIX}`{qa}`: {}", self.fields())
    }

    /// The marker once the swap is about to close QA: the same owner, and that QA was open
    /// (so a run that finds it on a dead run's copy, with QA closed, reopens QA).
    pub(crate) fn swap_comment(&self, qa: &str) -> String {
        format!("{} {SWAPPING}", self.comment(qa))
    }

    /// The owner a working copy's comment names, if it is a marker for `qa`.
    fn from_comment(qa: &str, comment: &str) -> Option<Self> {
        let rest = comment.strip_prefix(&format!("{COMMENT_PREFIX}`{qa}`: "))?;
        Self::parse_fields(rest)
    }

    /// The text of [`OWNER_FILE`].
    pub(crate) fn file_text(&self) -> String {
        format!("{}\n", self.fields())
    }

    /// Whether this owner still runs (same host, same pid, same start time).
    pub(crate) fn liveness(&self) -> Liveness {
        if self.host != host_name() {
            return Liveness::OtherHost;
        }
        match start_ticks(self.pid) {
            Some(t) if t == self.start => Liveness::Alive,
            Some(_) => Liveness::Gone, // the pid was reused
            None => {
                let alive = rustix::process::Pid::from_raw(self.pid as i32)
                    .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
                // No /proc: a pid that exists is taken as the owner (never remove a live run's).
                if alive && !Path::new("/proc/self/stat").exists() {
                    Liveness::Alive
                } else {
                    Liveness::Gone
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!("run {} (pid {} on {})", self.run, self.pid, self.host)
    }
}

/// The folder dump folders are created in.
pub(crate) fn work_parent(job: &RestoreJob) -> PathBuf {
    job.options
        .work_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
}

/// Remove what killed runs left: the working copy `next` of `job`'s QA (the caller holds
/// QA's advisory lock) and dead runs' dump folders, and reopen QA if a run killed in its swap
/// left it closed. Returns a line per thing done, and whether QA was reopened.
pub(crate) async fn sweep(
    job: &RestoreJob,
    admin: &Client,
    next: &str,
) -> Result<(Vec<String>, bool), RestoreError> {
    let mut removed = Vec::new();
    let mut reopened = false;
    if let Some(copy) = admin.database(next).await? {
        let owner = copy
            .comment
            .as_deref()
            .and_then(|c| Owner::from_comment(&job.qa, c));
        let Some(owner) = owner else {
            return Err(RestoreError::refused(
                Guard::WorkingCopy,
                format!(
                    "`{next}` exists but no restore run marked it as its working copy; \
                     the restore never drops a database it did not create: rename or drop \
                     `{next}` yourself"
                ),
            ));
        };
        if owner.liveness() == Liveness::Alive {
            return Err(RestoreError::refused(
                Guard::WorkingCopy,
                format!(
                    "`{next}` is the working copy of {}, which is still running on this host \
                     without holding the restore lock; stop it first",
                    owner.describe()
                ),
            ));
        }
        // Killed in the swap's window: QA was closed to connections and never reopened.
        let swapping = copy
            .comment
            .as_deref()
            .is_some_and(|c| c.ends_with(SWAPPING));
        if swapping
            && admin
                .database(&job.qa)
                .await?
                .is_some_and(|qa| !qa.allow_conn)
        {
            exec(
                admin,
                &sql::allow_connections(&job.qa, true),
                "reopen QA left closed by an interrupted swap",
            )
            .await?;
            reopened = true;
            tracing::warn!(database = %job.qa, run = %owner.run, "reopened QA, left closed by an interrupted swap");
            removed.push(format!(
                "`{}` reopened to connections (closed by the swap of interrupted {})",
                job.qa,
                owner.describe()
            ));
        }
        swap::drop_database(admin, next).await?;
        let line = format!("working copy `{next}` of interrupted {}", owner.describe());
        tracing::warn!(database = next, run = %owner.run, "removed the working copy of an interrupted run");
        removed.push(line);
    }
    let parent = work_parent(job);
    let folders = tokio::task::spawn_blocking(move || sweep_folders(&parent))
        .await
        .map_err(|e| RestoreError::io("sweep old dump folders", std::io::Error::other(e)))?;
    for (path, owner) in folders {
        tracing::warn!(folder = %path.display(), run = %owner.run, "removed the dump folder of an interrupted run");
        removed.push(format!(
            "dump folder {} of interrupted {}",
            path.display(),
            owner.describe()
        ));
    }
    Ok((removed, reopened))
}

/// Remove the marked dump folders under `parent` whose owner on this host is gone.
fn sweep_folders(parent: &Path) -> Vec<(PathBuf, Owner)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_ours = entry.file_name().to_string_lossy().starts_with(DUMP_PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_ours {
            continue;
        }
        let Some(owner) = std::fs::read_to_string(path.join(OWNER_FILE))
            .ok()
            .and_then(|t| Owner::parse_fields(t.trim()))
        else {
            continue;
        };
        if owner.liveness() != Liveness::Gone {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => out.push((path, owner)),
            Err(e) => {
                tracing::warn!(folder = %path.display(), error = %e, "could not remove the dump folder of an interrupted run")
            }
        }
    }
    out
}

/// Remove a dump folder of this run, retrying while a killed tool's last write lands
/// (bounded).
pub(crate) async fn remove_folder(dir: tempfile::TempDir) -> Result<(), RestoreError> {
    let path = dir.keep();
    tokio::task::spawn_blocking(move || {
        let mut last = None;
        for _ in 0..200 {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err(RestoreError::io(
            format!("remove the dump folder {}", path.display()),
            last.unwrap_or_else(|| std::io::Error::other("still there")),
        ))
    })
    .await
    .map_err(|e| RestoreError::io("remove the dump folder", std::io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_only_for_their_qa() {
        let me = Owner::current();
        assert_eq!(me.liveness(), Liveness::Alive);
        let c = me.comment("qa");
        assert_eq!(Owner::from_comment("qa", &c), Some(me.clone()));
        assert_eq!(Owner::from_comment("qa2", &c), None);
        assert_eq!(Owner::from_comment("qa", "QA's db"), None);
        assert_eq!(Owner::parse_fields(me.file_text().trim()), Some(me.clone()));
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Gone);
        let elsewhere = Owner {
            host: format!("{}-elsewhere", me.host),
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::OtherHost);
    }

    #[test]
    fn only_dead_marked_folders_go() {
        let parent = tempfile::tempdir().unwrap();
        let me = Owner::current();
        let dead = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        let mk = |name: &str, owner: Option<&Owner>| {
            let d = parent.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("toc.dat"), "x").unwrap();
            if let Some(o) = owner {
                std::fs::write(d.join(OWNER_FILE), o.file_text()).unwrap();
            }
        };
        mk("ops-restore-dead", Some(&dead));
        mk("ops-restore-live", Some(&me));
        mk("ops-restore-unmarked", None);
        mk("other-dead", Some(&dead));
        let removed = sweep_folders(parent.path());
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert!(removed[0].0.ends_with("ops-restore-dead"));
        let mut left: Vec<String> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["ops-restore-live", "ops-restore-unmarked", "other-dead"]
        );
    }
}
