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
                tracing::info!(host = %host, resource = %action.resource, outcome = %action.outcome, "undo");
            }
            // Every field as its plain value, never a `Debug` dump (issue #17).
            ProgressEvent::StepSkipped { host, run_id, step } => {
                tracing::info!(host = %host, run_id = %run_id, step = %step, "step skipped");
            }
            ProgressEvent::Adopted {
                host,
                run_id,
                resource,
            } => {
                tracing::info!(host = %host, run_id = %run_id, resource = %resource, "adopted");
            }
            ProgressEvent::DuplicateRemoved {
                host,
                run_id,
                droplet_id,
                kept,
            } => {
                tracing::info!(host = %host, run_id = %run_id, droplet_id, kept, "duplicate droplet removed");
            }
            ProgressEvent::Retrying {
                host,
                run_id,
                step,
                attempt,
                reason,
            } => {
                tracing::info!(host = %host, run_id = %run_id, step = %step, attempt, reason = %reason, "retrying");
            }
            ProgressEvent::Published { zone, hosts } => {
                tracing::info!(zone = %zone, hosts, "zone published");
            }
            ProgressEvent::Finished {
                host,
                run_id,
                status,
            } => {
                tracing::info!(host = %host, run_id = %run_id, status = %status, "run finished");
            }
        }
        if let Some(f) = &self.progress {
            f(&ev);
        }
    }
}
