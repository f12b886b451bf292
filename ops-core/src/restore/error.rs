//! Errors of the restore workflow.

/// What can go wrong in the restore-to-QA workflow.
///
/// No variant carries a password: connection strings are kept as secrets and
/// child processes get the password through their environment only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A safety guard refused to run; nothing was changed.
    #[error("refused: {0}")]
    Refused(String),
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
        privilege: String,
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
    /// Sessions on a database could not be terminated before the rename.
    #[error("{} session(s) on `{database}` could not be terminated: {}", .sessions.len(), .sessions.join(", "))]
    SessionsRemain {
        /// The database.
        database: String,
        /// `pid N (user): reason` per remaining session.
        sessions: Vec<String>,
    },
    /// `rollback` found no previous copy to swap back.
    #[error("no previous copy of `{0}` to roll back to")]
    NoPrevious(String),
}

impl RestoreError {
    /// Wrap a driver error; `insufficient_privilege` becomes [`RestoreError::MissingPrivilege`].
    pub(crate) fn pg(step: impl Into<String>, source: tokio_postgres::Error) -> Self {
        let step = step.into();
        if let Some(db) = source.as_db_error() {
            if *db.code() == tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE {
                return Self::MissingPrivilege {
                    privilege: db.message().to_owned(),
                    needed_for: step,
                };
            }
        }
        Self::Postgres { step, source }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
