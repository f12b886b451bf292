//! Progress events: each is logged through `tracing` and handed to the caller's callback.

use super::{ProgressEvent, Provisioner};

impl Provisioner {
    #[allow(clippy::needless_pass_by_value)] // events are built for this call
    pub(crate) fn emit(&self, ev: ProgressEvent) {
        match &ev {
            ProgressEvent::StepStarted { host, run_id, step } => {
                tracing::info!(host = %host, run_id = %run_id, step = %step, "step started");
            }
            ProgressEvent::StepDone {
                host,
                run_id,
                step,
                elapsed,
            } => {
                tracing::info!(host = %host, run_id = %run_id, step = %step, elapsed_ms = elapsed.as_millis() as u64, "step done");
            }
            ProgressEvent::StepFailed {
                host,
                run_id,
                step,
                error,
            } => {
                tracing::warn!(host = %host, run_id = %run_id, step = %step, error = %error, "step failed");
            }
            ProgressEvent::Waiting {
                host,
                step,
                status,
                elapsed,
                ..
            } => {
                tracing::debug!(host = %host, step = %step, status = %status, elapsed_s = elapsed.as_secs(), "waiting");
            }
            ProgressEvent::Undo { host, action, .. } => {
                tracing::info!(host = %host, resource = %action.resource, outcome = ?action.outcome, "undo");
            }
            other => tracing::info!(event = ?other, "progress"),
        }
        if let Some(f) = &self.progress {
            f(&ev);
        }
    }
}
