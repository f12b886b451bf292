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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
