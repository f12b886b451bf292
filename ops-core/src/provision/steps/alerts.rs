//! Step 4d: the spec's monitoring alert policies (CPU and/or disk use) on the droplet.
//! Alert policies have no name and their `tags` select droplets, so the run identifies its
//! own by description ([`alert_description`]: the tool tag, the host, the metric and the
//! run tag); each create is journaled before it is sent, and an ambiguous one is answered
//! by a lookup by that description, and adoption.

use super::super::journal::AlertRef;
use super::super::run::{HostRun, chain};
use super::super::spec::TOOL_TAG;
use super::super::{ProgressEvent, Provisioner};
use crate::error::{Error, Result};
use crate::ports::{AlertMetric, AlertPolicy, NewAlertPolicy};

/// The description of the alert policy a run creates for `host` on `metric`:
/// `ops-core web-01: cpu (ops-run:<id>)`. Teardown finds a host's policies by its start
/// (`ops-core <host>: `), adoption by the whole of it.
///
/// ```
/// use ops_core::ports::AlertMetric;
/// use ops_core::provision::alert_description;
///
/// assert_eq!(
///     alert_description("web-01", AlertMetric::Cpu, "ops-run:42"),
///     "ops-core web-01: cpu (ops-run:42)"
/// );
/// ```
pub fn alert_description(host: &str, metric: AlertMetric, run_tag: &str) -> String {
    format!("{}{} ({run_tag})", alert_prefix(host), metric.as_str())
}

/// How the descriptions of the alert policies this tool made for `host` start.
pub(crate) fn alert_prefix(host: &str) -> String {
    format!("{TOOL_TAG} {host}: ")
}

impl Provisioner {
    /// The account's alert policy with exactly this description; two are refused.
    pub(crate) async fn alert_described(&self, description: &str) -> Result<Option<AlertPolicy>> {
        let all = self
            .call(&self.budgets.compute, || self.compute.alert_policies())
            .await?;
        let mut found: Vec<AlertPolicy> = all
            .into_iter()
            .filter(|p| p.description == description)
            .collect();
        if found.len() > 1 {
            return Err(Error::Precondition(format!(
                "{} alert policies are described `{description}`: delete all but one",
                found.len()
            )));
        }
        Ok(found.pop())
    }

    pub(crate) async fn step_alerts(&self, h: &mut HostRun) -> Result<()> {
        let Some(want) = h.j.spec.alerts.clone() else {
            return Ok(());
        };
        let Some(droplet) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        for (metric, percent) in want.policies() {
            if h.j.resources.alerts.iter().any(|a| a.metric == metric) {
                continue;
            }
            let description = alert_description(&h.j.spec.name, metric, &h.j.run_tag());
            let what = format!("alert policy `{description}`");
            if h.j.resources.alert_creates_sent.contains(&metric)
                && let Some(p) = self
                    .await_found(h, &what, || self.alert_described(&description))
                    .await?
            {
                self.adopt_alert(h, &p, metric);
                self.save(&mut h.j).await?;
                continue;
            }
            let req = NewAlertPolicy {
                metric,
                description: description.clone(),
                percent: f64::from(percent),
                window: want.window().to_owned(),
                droplet_ids: vec![droplet],
                emails: want.emails.clone(),
            };
            // Journaled before it is sent.
            if !h.j.resources.alert_creates_sent.contains(&metric) {
                h.j.resources.alert_creates_sent.push(metric);
            }
            self.save(&mut h.j).await?;
            match self
                .call(&self.budgets.compute, || {
                    self.compute.create_alert_policy(&req)
                })
                .await
            {
                Ok(p) => self.record_alert(h, &p, metric),
                Err(e) if e.is_ambiguous() => {
                    tracing::warn!(host = %h.j.spec.name, metric = metric.as_str(), error = %chain(&e), "alert policy create ambiguous; looking up by description");
                    match self
                        .await_found(h, &what, || self.alert_described(&description))
                        .await?
                    {
                        Some(p) => self.adopt_alert(h, &p, metric),
                        None => {
                            h.j.resources.alert_creates_sent.retain(|m| *m != metric);
                            return Err(e.into());
                        }
                    }
                }
                Err(e) => {
                    h.j.resources.alert_creates_sent.retain(|m| *m != metric);
                    return Err(e.into());
                }
            }
            self.save(&mut h.j).await?;
        }
        Ok(())
    }

    fn adopt_alert(&self, h: &mut HostRun, p: &AlertPolicy, metric: AlertMetric) {
        self.emit(ProgressEvent::Adopted {
            host: h.j.spec.name.clone(),
            run_id: h.j.run_id.clone(),
            resource: format!("alert policy {} found by description", p.id),
        });
        self.record_alert(h, p, metric);
    }

    fn record_alert(&self, h: &mut HostRun, p: &AlertPolicy, metric: AlertMetric) {
        h.j.resources.alert_creates_sent.retain(|m| *m != metric);
        h.j.resources.alerts.push(AlertRef {
            id: p.id.clone(),
            metric,
        });
    }
}
