//! `--metrics-file PATH`: a Prometheus textfile for node_exporter's textfile collector
//! (issue #21), so a job run by cron, a systemd timer or a Kubernetes CronJob can be alerted
//! on ("no success for 2 h", "the last run failed", "drift found").
//!
//! The file is written when the run ends, on success **and** on failure, atomically by the
//! collector's convention: a temporary file in the same folder, then a rename over `PATH`
//! (node_exporter never reads half a file). It is 0644 (the collector usually runs as
//! another user). Every series carries a `workflow` label (`provision`, `teardown`,
//! `key-sync`, `restore`; not `job`, which Prometheus sets itself):
//!
//! | metric | what |
//! |---|---|
//! | `ops_workflow_last_run_timestamp_seconds` | when this run ended (Unix time) |
//! | `ops_workflow_last_success_timestamp_seconds` | when the last successful run ended; a failed run carries the previous file's value forward (absent until a first success) |
//! | `ops_workflow_duration_seconds` | how long this run took |
//! | `ops_workflow_failed` | 1 when this run failed, else 0 (an audit that found drift, exit 5, ran to the end: 0, with `ops_workflow_drift`) |
//! | `ops_workflow_exit_code` | the process's exit code |
//! | `ops_workflow_<count>` | what the run counted, when it got that far: `hosts`, `hosts_failed`, `publishes` (provision), `hosts`, `hosts_incomplete` (teardown), `writes`, `drift`, `nodes` (key-sync) |
//!
//! One file per job: two jobs writing the same file would overwrite each other's series.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus::{Encoder, Gauge, Opts, Registry, TextEncoder};

use crate::cli::{CliError, Secrets};

const LAST_SUCCESS: &str = "ops_workflow_last_success_timestamp_seconds";

/// What the run counted so far: `(name, help, value)`; one entry per name.
static COUNTS: Mutex<Vec<(&'static str, &'static str, f64)>> = Mutex::new(Vec::new());

/// Records a count for the metrics file (`ops_workflow_<name>`); a second call with the same
/// name replaces the value. Does nothing visible without `--metrics-file`.
pub fn record(name: &'static str, help: &'static str, value: f64) {
    let mut counts = COUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match counts.iter_mut().find(|c| c.0 == name) {
        Some(c) => c.2 = value,
        None => counts.push((name, help, value)),
    }
}

/// A metrics file to write when the run ends.
#[derive(Debug)]
pub struct MetricsFile {
    path: PathBuf,
    workflow: &'static str,
    started: Instant,
}

impl MetricsFile {
    /// Checks `path` before any work (bad input, exit 2): its folder must exist and its name
    /// end in `.prom` (the only files the collector reads).
    pub fn start(path: Option<&Path>, workflow: &'static str) -> Result<Option<Self>, CliError> {
        let Some(path) = path else {
            return Ok(None);
        };
        if path.extension().and_then(|e| e.to_str()) != Some("prom") {
            return Err(CliError::bad_input(format!(
                "--metrics-file {}: the name must end in `.prom` (node_exporter's textfile \
                 collector reads only those); nothing was done",
                path.display()
            )));
        }
        let dir = parent(path);
        if !dir.is_dir() {
            return Err(CliError::bad_input(format!(
                "--metrics-file {}: the folder {} does not exist; create it (the textfile \
                 collector's --collector.textfile.directory) or fix the path; nothing was done",
                path.display(),
                dir.display()
            )));
        }
        Ok(Some(MetricsFile {
            path: path.to_path_buf(),
            workflow,
            started: Instant::now(),
        }))
    }

    /// The file's text for a run that ended now with `exit_code` (0: success).
    fn render(&self, exit_code: u8) -> prometheus::Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        // `key-sync --audit` finding drift (5) ran to the end: a success with a drift
        // count, not a failed job.
        let failed = !matches!(exit_code, 0 | 5);
        let last_success = if failed {
            previous_success(&self.path, self.workflow)
        } else {
            Some(now)
        };
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, value: f64| -> prometheus::Result<()> {
            let g = Gauge::with_opts(Opts::new(name, help).const_label("workflow", self.workflow))?;
            g.set(value);
            registry.register(Box::new(g))
        };
        gauge(
            "ops_workflow_last_run_timestamp_seconds",
            "When the last run of the workflow ended (Unix time).",
            now,
        )?;
        if let Some(t) = last_success {
            gauge(
                LAST_SUCCESS,
                "When the last successful run of the workflow ended (Unix time).",
                t,
            )?;
        }
        gauge(
            "ops_workflow_duration_seconds",
            "How long the last run of the workflow took.",
            self.started.elapsed().as_secs_f64(),
        )?;
        gauge(
            "ops_workflow_failed",
            "1 when the last run of the workflow failed, else 0 (drift found is not a failure).",
            f64::from(u8::from(failed)),
        )?;
        gauge(
            "ops_workflow_exit_code",
            "The exit code of the last run of the workflow (see its --help).",
            f64::from(exit_code),
        )?;
        let counts = COUNTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for (name, help, value) in counts {
            gauge(&format!("ops_workflow_{name}"), help, value)?;
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    /// Writes the file for a run that ended with `exit_code`: a temp file in the same
    /// folder, fsync, rename.
    pub fn write(&self, exit_code: u8) -> Result<(), CliError> {
        let fail = |what: &str| {
            let what = format!(
                "could not {what} the metrics file {}: check the folder's permissions and free \
                 space",
                self.path.display()
            );
            move |e: std::io::Error| CliError::other(what).with_source(e)
        };
        let text = self.render(exit_code).map_err(|e| {
            CliError::other(format!(
                "could not encode the metrics for {}",
                self.path.display()
            ))
            .with_source(e)
        })?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".metrics-")
            .suffix(".tmp")
            .tempfile_in(parent(&self.path))
            .map_err(fail("create a temporary file beside"))?;
        tmp.write_all(text.as_bytes())
            .map_err(fail("write a temporary file for"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(fail("set the permissions of"))?;
        }
        tmp.as_file()
            .sync_all()
            .map_err(fail("flush a temporary file for"))?;
        tmp.persist(&self.path)
            .map_err(|e| fail("rename a temporary file over")(e.error))?;
        Ok(())
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The last success recorded in the file a previous run of `workflow` wrote, if any.
fn previous_success(path: &Path, workflow: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let prefix = format!("{LAST_SUCCESS}{{workflow=\"{workflow}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// [`crate::cli::finish`], after writing the metrics file (when there is one). A run that
/// succeeded but whose metrics file could not be written fails (exit 1): a scheduler must
/// not believe a job is watched when it is not.
pub fn finish(
    result: Result<(), CliError>,
    metrics: Option<&MetricsFile>,
    secrets: &Secrets,
) -> std::process::ExitCode {
    let result = match metrics {
        None => result,
        Some(m) => {
            let code = match &result {
                Ok(()) => 0,
                Err(e) => e.kind().code(),
            };
            match (m.write(code), result) {
                (Ok(()), r) => r,
                (Err(e), Ok(())) => Err(e),
                (Err(e), Err(r)) => {
                    tracing::warn!(error = %secrets.redact(&e.to_string()), "metrics file not written");
                    Err(r)
                }
            }
        }
    };
    crate::cli::finish(result, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_carries_the_last_success_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.prom");
        let m = MetricsFile::start(Some(&path), "teardown")
            .unwrap()
            .unwrap();
        m.write(0).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        let ok_at = previous_success(&path, "teardown").unwrap();
        assert!(
            first.contains("ops_workflow_failed{workflow=\"teardown\"} 0"),
            "{first}"
        );
        m.write(3).unwrap();
        let second = std::fs::read_to_string(&path).unwrap();
        assert!(
            second.contains("ops_workflow_failed{workflow=\"teardown\"} 1"),
            "{second}"
        );
        assert!(
            second.contains("ops_workflow_exit_code{workflow=\"teardown\"} 3"),
            "{second}"
        );
        assert_eq!(previous_success(&path, "teardown"), Some(ok_at));
        // Another workflow's file says nothing about this one.
        assert_eq!(previous_success(&path, "restore"), None);
        // Only the file is left: the temp file was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_paths_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [dir.path().join("job.txt"), dir.path().join("nope/job.prom")] {
            let e = MetricsFile::start(Some(&bad), "provision").unwrap_err();
            assert_eq!(e.kind(), crate::cli::ExitKind::BadInput, "{e}");
        }
        assert!(MetricsFile::start(None, "provision").unwrap().is_none());
    }
}
