//! The one error type of `ops-workflows`.

/// Everything a workflow can fail with.
///
/// Provider failures keep their own typed error as the `source`; workflow
/// steps wrap them with the step and the target they were working on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input or configuration is invalid; nothing was changed.
    #[error("invalid input: {0}")]
    Precondition(String),
    /// A workflow step failed; `source` says why.
    #[error("step `{step}` failed for {target}")]
    Step {
        /// The step that failed.
        step: &'static str,
        /// What the step was working on (a host name, a database…).
        target: String,
        /// The underlying failure.
        #[source]
        source: Box<Error>,
    },
    /// A port (provider) call failed. The [`PortError`](crate::ports::PortError) says which
    /// provider, what kind of failure, and whether the call may still have taken effect.
    #[error("provider call failed")]
    Port(#[from] crate::ports::PortError),
    /// Validation found problems before any write; nothing was changed.
    #[error("validation failed for {target}: {}", problems.join("; "))]
    Validation {
        /// The host (or spec file) that was validated.
        target: String,
        /// Every problem found, not just the first.
        problems: Vec<String>,
    },
    /// A wait did not finish before its deadline.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline that passed.
        after: std::time::Duration,
    },
    /// The run journal could not be read or written.
    #[error("run journal {} could not be {action}", path.display())]
    Journal {
        /// The journal file.
        path: std::path::PathBuf,
        /// `"read"`, `"written"`, `"decoded"`…
        action: &'static str,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A spec file is not valid TOML for the expected shape.
    #[error("could not parse spec TOML")]
    SpecToml(#[source] toml::de::Error),
    /// A spec or journal file is not valid JSON for the expected shape.
    #[error("could not parse JSON")]
    Json(#[source] serde_json::Error),
    /// key-sync: the lockout guard refused the change (it could leave people unable to log
    /// in); nothing was written. Re-run with `force` if that is really intended.
    #[error("refused by the lockout guard (use force to override): {}", problems.join("; "))]
    Lockout {
        /// Every finding.
        problems: Vec<String>,
    },
    /// The restore-to-QA workflow failed; the [`RestoreError`](crate::restore::RestoreError) says how.
    #[error("restore to QA failed")]
    Restore(#[source] Box<crate::restore::RestoreError>),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
