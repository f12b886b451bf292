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
    /// A spec file is not valid TOML or JSON for the expected shape. The message never
    /// quotes the file (a spec can hold secrets, e.g. in `user_data`): it says what is wrong
    /// and where, with any value replaced by `"…"`.
    #[error("could not parse the spec ({format}){}: {message}", match at {
        Some((line, column)) => format!(" at line {line}, column {column}"),
        None => String::new(),
    })]
    SpecParse {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// What is wrong, without the file's values.
        message: String,
        /// Line and column (1-based), when known.
        at: Option<(usize, usize)>,
    },
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
    /// key-sync: the Chef server lacks a compatible version of the cookbook whose recipe it
    /// would put on run-lists (issue #23); nothing was written. Upload the cookbook.
    #[error("refused: {problem}")]
    CookbookMissing {
        /// The cookbook and the accepted versions, e.g. `user_setup >= 0.1.0, < 0.2.0`.
        requirement: String,
        /// What the server has instead, and what to do.
        problem: String,
    },
    /// The restore-to-QA workflow failed; the [`RestoreError`](crate::restore::RestoreError) says how.
    #[error("restore to QA failed")]
    Restore(#[source] Box<crate::restore::RestoreError>),
    /// The state store refused or failed: a lease held by another run
    /// ([`StateError::Held`](crate::state::StateError::Held): "held by run R on host H since
    /// T"), a lease this run lost, or the store itself (issue #21). Nothing was written
    /// under a lease this run did not hold.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A parser's message without the values it quotes: serde and toml put the offending value
/// in their messages (`invalid type: string "hunter2", expected a boolean`), and a config or
/// spec value may be a secret. Every double-quoted part becomes `"…"`; field names (in
/// backticks) and the rest stay.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"…");
                quoted = true;
            }
            ('"', true) => {
                out.push('"');
                quoted = false;
            }
            (_, true) => {}
            (c, false) => out.push(if c == '\n' { ' ' } else { c }),
        }
    }
    if quoted {
        out.push('"');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Line and column (1-based) of byte `offset` in `text`, for parse errors.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

impl Error {
    /// [`Error::SpecParse`] from a TOML error on `text`.
    pub(crate) fn spec_toml(text: &str, e: &toml::de::Error) -> Self {
        Error::SpecParse {
            format: "TOML",
            message: without_values(e.message()),
            at: e.span().map(|s| line_column(text, s.start)),
        }
    }

    /// [`Error::SpecParse`] from a JSON error.
    pub(crate) fn spec_json(e: &serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its message; the position is kept
        // separately.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        Error::SpecParse {
            format: "JSON",
            message: without_values(&message),
            at: (e.line() > 0).then(|| (e.line(), e.column())),
        }
    }
}

#[cfg(test)]
mod value_tests {
    use super::*;

    #[test]
    fn parser_messages_lose_their_values_not_their_meaning() {
        assert_eq!(
            without_values("invalid type: string \"hunter2\", expected a boolean"),
            "invalid type: string \"…\", expected a boolean"
        );
        assert_eq!(
            without_values("unknown field `user_dta`, expected one of `a`, `b`"),
            "unknown field `user_dta`, expected one of `a`, `b`"
        );
        assert_eq!(without_values("cut \"abc"), "cut \"…\"");
    }
}
