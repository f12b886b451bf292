//! Errors of the restore workflow.

use std::fmt;

/// What can go wrong in the restore-to-QA workflow.
///
/// No variant carries a password: connection strings are kept as secrets and
/// child processes get the password through their environment only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A safety guard refused to run; nothing was changed.
    #[error("refused: {detail}")]
    Refused {
        /// Which guard.
        guard: Guard,
        /// What it saw and what to do about it.
        detail: String,
    },
    /// Another restore or rollback of the same QA database holds the advisory lock; nothing was changed.
    #[error("another restore or rollback of `{database}` is running (advisory lock is held)")]
    AlreadyRunning {
        /// The QA database.
        database: String,
    },
    /// The connected role lacks a privilege the workflow needs.
    #[error("missing privilege: {privilege} (needed to {needed_for})")]
    MissingPrivilege {
        /// The privilege, role membership or ownership that is missing.
        privilege: Privilege,
        /// What the workflow was about to do.
        needed_for: String,
    },
    /// The configuration is invalid; nothing was changed.
    #[error("invalid restore configuration: {0}")]
    Config(String),
    /// A SQL statement or connection failed.
    #[error("Postgres error while trying to {step}")]
    Postgres {
        /// What the workflow was doing.
        step: String,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A client program (`pg_restore`, `pg_dump`) could not be started.
    #[error("could not run `{program}`")]
    Spawn {
        /// The program path.
        program: String,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },
    /// A client program exited unsuccessfully.
    #[error("`{program}` failed ({status}): {stderr_tail}")]
    Tool {
        /// The program name.
        program: String,
        /// Exit code or the signal that killed it.
        status: String,
        /// The last error lines it printed.
        stderr_tail: String,
    },
    /// A local file operation failed.
    #[error("I/O error while trying to {what}")]
    Io {
        /// What the workflow was doing.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The dump cannot be read or is not a custom/directory archive.
    #[error("invalid dump: {0}")]
    InvalidDump(String),
    /// The new database failed verification; QA was left untouched.
    #[error("verification failed: {}", .0.join("; "))]
    Verification(Vec<String>),
    /// Sessions on a database could not be ended before the rename. Nothing was swapped: a
    /// session the role may not terminate is found before QA is closed; sessions still there
    /// at the deadline ([`RestoreOptions::terminate_timeout`](super::RestoreOptions::terminate_timeout))
    /// leave QA reopened as it was.
    #[error(
        "{} session(s) on `{database}` could not be ended: {}; nothing was swapped: end them \
         (or restore as a superuser, or allow a longer terminate_timeout) and run again",
        .sessions.len(),
        list(.sessions)
    )]
    SessionsRemain {
        /// The database.
        database: String,
        /// The sessions, and why each one stayed.
        sessions: Vec<StuckSession>,
    },
    /// Prepared transactions (`PREPARE TRANSACTION`) belong to a database the swap renames:
    /// no session holds them, so nothing can terminate them, and Postgres refuses to rename
    /// a database that has any. Found before QA was closed; nothing was changed.
    #[error(
        "{} prepared transaction(s) on `{database}` block the swap: {}; nothing was changed: \
         connected to `{database}`, finish each with COMMIT PREPARED '<gid>' or \
         ROLLBACK PREPARED '<gid>' (as its owner or a superuser), then run again",
        .transactions.len(),
        list(.transactions)
    )]
    PreparedTransactions {
        /// The database (QA, or the copy being swapped in).
        database: String,
        /// The prepared transactions on it.
        transactions: Vec<PreparedTransaction>,
    },
    /// The QA server's data directory lacks room for the working copy; nothing was changed.
    #[error(
        "not enough free space for the working copy `{working_copy}` on {location}: about {} \
         needed (estimated from {estimated_from}), {} available; free space there, or give \
         the free bytes yourself or turn the check off (RestoreOptions::space_check; the \
         restore binary: --space-check)",
        super::space::human(*.needed),
        super::space::human(*.available)
    )]
    InsufficientSpace {
        /// The working copy, `<qa>_next`.
        working_copy: String,
        /// Where the free space was measured: the data directory, or the figure given.
        location: String,
        /// Estimated size of the working copy, bytes.
        needed: u64,
        /// Free bytes there.
        available: u64,
        /// What the estimate is based on and the factor used.
        estimated_from: String,
    },
    /// `rollback` found no previous copy to swap back.
    #[error("no previous copy of `{0}` to roll back to")]
    NoPrevious(String),
    /// The run was stopped through its [`CancelToken`](super::CancelToken) (a signal).
    /// Before returning, the workflow killed `pg_dump`/`pg_restore`, dropped the working copy
    /// and removed the dump folder; `left_behind` names what it could not remove (a later
    /// run removes it: see the [module docs](super#interrupts)).
    #[error(
        "interrupted during step `{step}`: {}{}",
        if *.swapped {
            "the swap had committed, so QA is the new copy (the previous one is kept for rollback)"
        } else {
            "QA was not changed"
        },
        if .left_behind.is_empty() {
            String::from("; nothing of the run is left")
        } else {
            format!("; left for the next restore to remove: {}", .left_behind.join(", "))
        }
    )]
    Interrupted {
        /// The step that was running (or about to run).
        step: super::Step,
        /// Whether the swap had committed (QA is then the new copy, fully).
        swapped: bool,
        /// What the cleanup could not remove.
        left_behind: Vec<String>,
    },
}

impl RestoreError {
    /// Wrap a driver error; `insufficient_privilege` becomes [`RestoreError::MissingPrivilege`].
    pub(crate) fn pg(step: impl Into<String>, source: tokio_postgres::Error) -> Self {
        let step = step.into();
        if let Some(db) = source.as_db_error() {
            if *db.code() == tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE {
                return Self::MissingPrivilege {
                    privilege: Privilege::Denied(db.message().to_owned()),
                    needed_for: step,
                };
            }
        }
        Self::Postgres { step, source }
    }

    /// A refusal by `guard`.
    pub(crate) fn refused(guard: Guard, detail: impl Into<String>) -> Self {
        Self::Refused {
            guard,
            detail: detail.into(),
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// `a, b, c` of the items' `Display`.
fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A session that stayed on a database the swap had to empty ([`RestoreError::SessionsRemain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StuckSession {
    /// Its server process id (`pg_stat_activity.pid`).
    pub pid: i32,
    /// Its role (`?` if unknown).
    pub user: String,
    /// Its `application_name` (empty if unset).
    pub application_name: String,
    /// Its state (`idle`, `active`, `idle in transaction`…) when the restore role may see it.
    pub state: Option<String>,
    /// Why it stayed.
    pub reason: StuckReason,
}

impl fmt::Display for StuckSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} (user `{}`", self.pid, self.user)?;
        if !self.application_name.is_empty() {
            write!(f, ", application `{}`", self.application_name)?;
        }
        write!(
            f,
            ", {}): {}",
            self.state.as_deref().unwrap_or("state not visible"),
            self.reason
        )
    }
}

/// Why a [`StuckSession`] stayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StuckReason {
    /// A superuser's session (or a server process without a role) and the restore role is
    /// not a superuser: Postgres lets only a superuser terminate it.
    Superuser,
    /// The restore role may not signal this role's sessions (neither a member of it nor of
    /// `pg_signal_backend`).
    NotPermitted,
    /// Still there when the deadline passed (terminated but not yet exited, or, with a
    /// deadline of zero, not terminated at all).
    StillRunning {
        /// How long the swap waited.
        waited: std::time::Duration,
    },
}

impl fmt::Display for StuckReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Superuser => f.write_str("only a superuser may terminate it"),
            Self::NotPermitted => {
                f.write_str("the restore role may not terminate it (not a member of its role nor of pg_signal_backend)")
            }
            Self::StillRunning { waited } => write!(f, "still there after {waited:?}"),
        }
    }
}

/// A prepared transaction ([`RestoreError::PreparedTransactions`]), from `pg_prepared_xacts`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreparedTransaction {
    /// Its global id: what `COMMIT PREPARED` / `ROLLBACK PREPARED` take.
    pub gid: String,
    /// The role that prepared it.
    pub owner: String,
    /// When it was prepared (as the server prints a `timestamptz`).
    pub prepared: String,
}

impl fmt::Display for PreparedTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gid `{}` (owner `{}`, prepared {})",
            self.gid, self.owner, self.prepared
        )
    }
}

/// The safety guard behind a [`RestoreError::Refused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Guard {
    /// The target's database or host name looks like production
    /// ([`ProductionGuard`](super::ProductionGuard)).
    Production,
    /// The target is the source database: the same database (oid) on the same server
    /// (system identifier), however the connection strings spell the host.
    SourceIsTarget,
    /// The target is the maintenance database the workflow connects to.
    MaintenanceDatabase,
    /// The target is the database the admin session is connected to.
    ConnectedDatabase,
    /// The target (or a copy to drop) is a template database.
    Template,
    /// `<qa>_next` exists and is not a leftover this run may remove: no restore run marked
    /// it as its working copy, or the run that did is still alive on this host.
    WorkingCopy,
}

/// A privilege the connected role lacks ([`RestoreError::MissingPrivilege`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Privilege {
    /// `CREATEDB`, to create the working copy.
    CreateDb {
        /// The connected role.
        role: String,
    },
    /// Membership in `pg_signal_backend`, to terminate QA's sessions during the swap.
    SignalBackend {
        /// The connected role.
        role: String,
    },
    /// Ownership of QA (membership in its owner role), to rename it and give the copy the
    /// same owner.
    Ownership {
        /// The QA database.
        database: String,
        /// QA's owner.
        owner: String,
    },
    /// `CREATEROLE`, to carry other roles' `ALTER ROLE … IN DATABASE … SET` settings.
    CreateRole {
        /// The connected role.
        role: String,
    },
    /// `EXECUTE` on `pg_control_system()`, to read a server's system identifier and tell
    /// whether the source and QA are the same server.
    ServerIdentity {
        /// Which server: `source` or `QA`.
        server: String,
    },
    /// The server refused a statement (`insufficient_privilege`); its message.
    Denied(String),
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDb { role } => write!(f, "CREATEDB (role `{role}`)"),
            Self::SignalBackend { role } => {
                write!(f, "membership in pg_signal_backend (role `{role}`)")
            }
            Self::Ownership { database, owner } => {
                write!(
                    f,
                    "ownership of `{database}` (membership in role `{owner}`)"
                )
            }
            Self::CreateRole { role } => write!(f, "CREATEROLE (role `{role}`)"),
            Self::ServerIdentity { server } => write!(
                f,
                "EXECUTE on pg_control_system() on the {server} server (a stock server grants \
                 it to every role; GRANT EXECUTE ON FUNCTION pg_control_system() TO <role>)"
            ),
            Self::Denied(message) => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed variants print what the string ones printed.
    #[test]
    fn display_is_unchanged() {
        let e = RestoreError::refused(Guard::Template, "`qa` is a template database");
        assert_eq!(e.to_string(), "refused: `qa` is a template database");
        let e = RestoreError::MissingPrivilege {
            privilege: Privilege::CreateDb { role: "bob".into() },
            needed_for: "create the working copy `qa_next`".into(),
        };
        assert_eq!(
            e.to_string(),
            "missing privilege: CREATEDB (role `bob`) (needed to create the working copy `qa_next`)"
        );
        for (p, text) in [
            (
                Privilege::SignalBackend { role: "bob".into() },
                "membership in pg_signal_backend (role `bob`)",
            ),
            (
                Privilege::Ownership {
                    database: "qa".into(),
                    owner: "qa_owner".into(),
                },
                "ownership of `qa` (membership in role `qa_owner`)",
            ),
            (
                Privilege::CreateRole { role: "bob".into() },
                "CREATEROLE (role `bob`)",
            ),
            (
                Privilege::Denied("permission denied to create database".into()),
                "permission denied to create database",
            ),
        ] {
            assert_eq!(p.to_string(), text);
        }
    }
}
