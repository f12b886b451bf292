//! Step 6: optionally wait until monitoring reports the host UP.

use tokio::time::Instant;

use super::super::journal::Step;
use super::super::run::HostRun;
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::HostState;

impl Provisioner {
    pub(crate) async fn step_wait_monitoring(&self, h: &mut HostRun) -> Result<()> {
        let host = h.j.spec.name.clone();
        let timeout = self.config.monitoring_timeout;
        let start = Instant::now();
        loop {
            let s = self
                .call(&self.budgets.monitoring, || self.mon.host_state(&host))
                .await?;
            if s == Some(HostState::Up) {
                return Ok(());
            }
            let elapsed = start.elapsed();
            self.emit(ProgressEvent::Waiting {
                host: host.clone(),
                run_id: h.j.run_id.clone(),
                step: Step::WaitMonitoring,
                status: s.map_or_else(
                    || "unknown to monitoring".to_string(),
                    |s| format!("{s:?}").to_lowercase(),
                ),
                elapsed,
                timeout,
            });
            if elapsed + self.config.monitoring_poll > timeout {
                return Err(Error::Timeout {
                    what: format!("monitoring to report {host} UP"),
                    after: timeout,
                });
            }
            tokio::time::sleep(self.config.monitoring_poll).await;
        }
    }
}
