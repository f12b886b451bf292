//! Exit codes and one-line error reports.

use std::error::Error as StdError;
use std::fmt;
use std::process::ExitCode;
use std::sync::OnceLock;

use ops_core::redact::Redactor;
use secrecy::SecretString;

/// The documented exit codes (see `examples/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `1`: anything else (I/O on local files, a bug, an interrupted run).
    Other,
    /// `2`: bad input — flags, environment, config/spec files, keys, credentials. Fix the input.
    BadInput,
    /// `3`: a provider failed or refused (HTTP API or Postgres server). Retrying may help.
    Provider,
    /// `4`: partial failure — some parts succeeded, others did not (see the output).
    Partial,
    /// `5`: `key-sync --audit` found drift (the report says what); for cron.
    Drift,
    /// `6`: `key-sync --revoke USER --wait` reached its deadline while nodes still hold a
    /// key of USER or have not reported (issue #23).
    Pending,
    /// `7`: another run holds the lease this run needs (a host name, the users bag): "held
    /// by run R on host H since T" (issue #21). Nothing was written; wait for it (`--wait`)
    /// or check that run.
    Busy,
    /// `128 + signal`: stopped by a signal after cleaning up, as shells report a process
    /// killed by it (`restore`: 130 for SIGINT, 143 for SIGTERM).
    Interrupted {
        /// The signal's number.
        signal: u8,
    },
}

impl ExitKind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Other => 1,
            ExitKind::BadInput => 2,
            ExitKind::Provider => 3,
            ExitKind::Partial => 4,
            ExitKind::Drift => 5,
            ExitKind::Pending => 6,
            ExitKind::Busy => 7,
            ExitKind::Interrupted { signal } => 128u8.saturating_add(signal),
        }
    }
}

/// An error of a binary: what to tell the user, how to exit, and the cause chain.
#[derive(Debug)]
pub struct CliError {
    kind: ExitKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for CliError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl CliError {
    /// An error of `kind` with a message saying what went wrong and what to do.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Bad input (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ExitKind::BadInput, message)
    }

    /// Provider failure (exit 3).
    pub fn provider(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Provider, message)
    }

    /// Partial failure (exit 4).
    pub fn partial(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Partial, message)
    }

    /// Other failure (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Other, message)
    }

    /// Attach the cause.
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// How the process exits.
    pub fn kind(&self) -> ExitKind {
        self.kind
    }

    /// Wrap a workflow error with context, classifying it.
    pub fn from_workflow(context: impl Into<String>, e: ops_core::Error) -> Self {
        let kind = classify(&e);
        CliError::new(kind, context).with_source(e)
    }
}

impl From<ops_core::Error> for CliError {
    fn from(e: ops_core::Error) -> Self {
        let kind = classify(&e);
        CliError {
            kind,
            message: match kind {
                ExitKind::BadInput => "invalid input".to_owned(),
                ExitKind::Provider => "a provider call failed".to_owned(),
                _ => "the workflow failed".to_owned(),
            },
            source: Some(Box::new(e)),
        }
    }
}

/// Which exit code a workflow error maps to.
pub fn classify(e: &ops_core::Error) -> ExitKind {
    use ops_core::Error as E;
    use ops_core::ports::PortErrorKind as K;
    use ops_core::restore::RestoreError as R;
    match e {
        E::Precondition(_) | E::Validation { .. } | E::SpecParse { .. } | E::Json(_) => {
            ExitKind::BadInput
        }
        E::Lockout { .. } | E::CookbookMissing { .. } => ExitKind::BadInput,
        E::Step { source, .. } => classify(source),
        E::Port(p) => match p.kind() {
            K::Unauthorized | K::Rejected => ExitKind::BadInput,
            _ => ExitKind::Provider,
        },
        E::Timeout { .. } => ExitKind::Provider,
        E::Journal { .. } => ExitKind::Other,
        E::State(s) => classify_state(s),
        E::Restore(r) => match r.as_ref() {
            R::Refused { .. }
            | R::Config(_)
            | R::InvalidDump(_)
            | R::MissingPrivilege { .. }
            | R::InsufficientSpace { .. }
            | R::PreparedTransactions { .. }
            | R::NoPrevious(_) => ExitKind::BadInput,
            R::Postgres { .. } | R::Tool { .. } | R::Verification(_) | R::SessionsRemain { .. } => {
                ExitKind::Provider
            }
            _ => ExitKind::Other,
        },
        _ => ExitKind::Other,
    }
}

/// Which exit code a state store error maps to: a lease held by another run is 7, the
/// state database failing is a provider failure (3), the local folder failing is 1.
pub fn classify_state(s: &ops_core::state::StateError) -> ExitKind {
    use ops_core::state::StateError as S;
    match s {
        S::Held { .. } => ExitKind::Busy,
        S::InvalidKey(_) | S::SchemaTooNew { .. } => ExitKind::BadInput,
        S::Postgres { .. } => ExitKind::Provider,
        _ => ExitKind::Other,
    }
}

/// The process's one redaction layer (issue #17): every secret the binary reads is
/// registered here, and every output path goes through it — stdout ([`crate::emit`]),
/// `tracing` on stderr ([`crate::logging`]), the final `error:` line, the journals (through
/// [`ProvisionConfig::redactor`](ops_core::provision::ProvisionConfig::redactor)) and the
/// status page's HTML.
pub fn redactor() -> &'static Redactor {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();
    REDACTOR.get_or_init(Redactor::new)
}

/// The secrets a binary knows: a handle on [`redactor`] (every `Secrets` shares it).
#[derive(Debug, Clone)]
pub struct Secrets(Redactor);

impl Default for Secrets {
    fn default() -> Self {
        Secrets(redactor().clone())
    }
}

impl Secrets {
    /// A handle on the process's secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember a secret (values shorter than 4 bytes are ignored: redacting them would
    /// mangle ordinary words).
    pub fn add(&mut self, secret: &SecretString) {
        self.0.add(secret);
    }

    /// Remember the password of a URL's userinfo (`http://user:password@host/`), if any.
    pub fn add_url(&mut self, url: &str) {
        self.0.add_url_password(url);
    }

    /// `text` with every known secret replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        self.0.redact(text).into_owned()
    }
}

/// The error and its whole `source()` chain on one line: `a: b: c`.
///
/// A layer whose text is already contained in the previous one is skipped (some errors
/// repeat their source), newlines become spaces, and known secrets are redacted.
pub fn render_error(err: &(dyn StdError + 'static), secrets: &Secrets) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    secrets.redact(&parts.join(": "))
}

/// Print the outcome (one line on stderr on error) and turn it into the process exit code.
pub fn finish(result: Result<(), CliError>, secrets: &Secrets) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render_error(&e, secrets));
            ExitCode::from(e.kind().code())
        }
    }
}

/// Read a secret from the environment (`None` when unset or empty).
pub fn env_secret(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| SecretString::from(v.trim().to_owned()))
}

/// `url` with any user name and password replaced by `…` (`http://…@host/`), for messages:
/// a password in a URL (`NAGIOS_API_URL=http://user:pw@host/`) is never printed (issue #17).
/// Text that does not parse as a URL is returned with anything before an `@` hidden.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let s = u.to_string();
            match s.split_once("://") {
                Some((scheme, rest)) => format!("{scheme}://…@{rest}"),
                None => s,
            }
        }
        Ok(u) => u.to_string(),
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("…@{host}"),
            None => url.to_owned(),
        },
    }
}

/// Runs `work` until it ends or SIGINT (Ctrl-C) arrives; then `work` is dropped (requests in
/// flight are abandoned) and the result is an [other](ExitKind::Other) error saying
/// `interrupted: {then}`. The handler is installed before `work` starts, so a SIGINT that
/// arrives once `work` has done anything is always handled (never the default exit by
/// signal). A handler that cannot be installed never fires.
pub async fn interruptible<F>(work: F, then: &str) -> Result<(), CliError>
where
    F: std::future::Future<Output = Result<(), CliError>>,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let interrupted = async {
        match sigint.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = work => r,
        () = interrupted => {
            // `work` is gone: give back what it held (its leases).
            run_interrupt_cleanups().await;
            Err(CliError::other(format!("interrupted: {then}")))
        }
    }
}

type Cleanup =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

fn cleanups() -> &'static std::sync::Mutex<Vec<Cleanup>> {
    static CLEANUPS: OnceLock<std::sync::Mutex<Vec<Cleanup>>> = OnceLock::new();
    CLEANUPS.get_or_init(Default::default)
}

/// Registers `f` to run when [`interruptible`] (or `provision`'s own Ctrl-C handling) stops
/// the work: a lease the work holds is given back then, so the re-run the message
/// suggests is not refused until the lease expires (issue #21). A cleanup must be harmless
/// when the work had already finished.
pub fn on_interrupt(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + 'static,
) {
    if let Ok(mut v) = cleanups().lock() {
        v.push(Box::new(f));
    }
}

/// Runs (once) every cleanup [`on_interrupt`] registered.
pub async fn run_interrupt_cleanups() {
    let fs: Vec<Cleanup> = cleanups()
        .lock()
        .map(|mut v| v.drain(..).collect())
        .unwrap_or_default();
    for f in fs {
        f().await;
    }
}

/// `--sandbox` in a build without the `sandbox` feature.
pub fn sandbox_not_built() -> CliError {
    CliError::bad_input(
        "--sandbox needs the `sandbox` cargo feature, which this build leaves out \
         (production builds use --no-default-features): rebuild with default features, \
         or drop --sandbox",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_is_one_line_without_repeats_or_secrets() {
        let inner = std::io::Error::other("token hunter2-secret\nrejected");
        let e = CliError::provider("could not list droplets").with_source(inner);
        let mut s = Secrets::new();
        s.add(&SecretString::from("hunter2-secret".to_owned()));
        let line = render_error(&e, &s);
        assert_eq!(line, "could not list droplets: token [REDACTED] rejected");
    }

    #[test]
    fn codes() {
        assert_eq!(ExitKind::Other.code(), 1);
        assert_eq!(ExitKind::BadInput.code(), 2);
        assert_eq!(ExitKind::Provider.code(), 3);
        assert_eq!(ExitKind::Partial.code(), 4);
        assert_eq!(ExitKind::Drift.code(), 5);
        assert_eq!(ExitKind::Interrupted { signal: 2 }.code(), 130);
        assert_eq!(ExitKind::Interrupted { signal: 15 }.code(), 143);
        let e: CliError = ops_core::Error::Precondition("x".into()).into();
        assert_eq!(e.kind(), ExitKind::BadInput);
    }

    /// Issue #19: not enough room for the working copy is a refusal (exit 2), like the guards.
    #[test]
    fn insufficient_space_is_a_refusal() {
        let e = ops_core::restore::RestoreError::InsufficientSpace {
            working_copy: "qa_next".into(),
            location: "/var/lib/postgresql/15/main".into(),
            needed: 2 << 30,
            available: 1 << 30,
            estimated_from: "the dump's size".into(),
        };
        assert_eq!(classify(&e.into()), ExitKind::BadInput);
    }
}
