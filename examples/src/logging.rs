//! `tracing` output on stderr.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

/// Set by [`init`] with `quiet`: no progress bars, only warnings and errors.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether stderr is a terminal (progress bars and colours) or not (plain lines).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether progress bars may be drawn: stderr is a terminal and `--quiet` was not given.
pub fn progress_bars() -> bool {
    stderr_is_terminal() && !QUIET.load(Ordering::Relaxed)
}

/// The filter [`init`] installs when `RUST_LOG` is not set.
///
/// - default: `info` for the workflows and the binaries, `warn` for everything else (the
///   clients log a retry that recovered at `debug`: it needs no human). On a terminal the
///   workflows' own `info` events are left out (the progress bars show them).
/// - `verbose`: `debug` for the workflows, the binaries and the four clients (their retries).
/// - `quiet` (for cron and other schedulers): `warn` for everything, so a run that succeeds
///   prints nothing on stderr, and one that fails prints the warnings that need a human, if
///   any, then its one `error:` line.
pub fn default_filter(verbose: bool, quiet: bool, terminal: bool) -> String {
    if quiet {
        return "warn".to_owned();
    }
    let level = if verbose { "debug" } else { "info" };
    let core = if verbose || !terminal { level } else { "warn" };
    let mut filter = format!(
        "warn,ops_core={core},ops_examples={level},status={level},restore={level},demo={level}"
    );
    if verbose {
        // The clients' retries and requests.
        filter.push_str(
            ",digitalocean_client=debug,dynect_client=debug,chef_client=debug,nagios_client=debug",
        );
    }
    filter
}

/// Install the global subscriber on stderr with `RUST_LOG` if set, else
/// [`default_filter`]. Plain lines without colours when stderr is not a terminal. Calling it
/// twice is harmless.
pub fn init(verbose: bool, quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_filter(verbose, quiet, stderr_is_terminal())));
    let ansi = stderr_is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// The `tracing` writer: each event is formatted into a buffer, scrubbed of every secret
/// the process knows ([`crate::cli::redactor`]) and written to stderr in one piece.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer(Vec::new())
    }
}

/// One event's text on its way to stderr; written, scrubbed, when dropped.
#[derive(Debug)]
pub struct EventBuffer(Vec<u8>);

impl std::io::Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        use std::io::Write as _;
        if self.0.is_empty() {
            return;
        }
        let text = crate::cli::redactor().redact_bytes(&self.0);
        let _ = std::io::stderr().lock().write_all(&text);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use secrecy::SecretString;

    #[test]
    fn events_are_scrubbed_before_they_reach_stderr() {
        crate::cli::redactor().add(&SecretString::from("canary-log-secret".to_owned()));
        let mut buf = super::EventBuffer(Vec::new());
        write!(buf, "WARN refused: canary-log-secret").unwrap();
        let text = crate::cli::redactor().redact_bytes(&buf.0).into_owned();
        std::mem::forget(buf);
        assert_eq!(String::from_utf8(text).unwrap(), "WARN refused: [REDACTED]");
    }
}
