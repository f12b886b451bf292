//! A status page left running: the last good snapshot, what became of the refreshes
//! since, and the summary recomputed from both and the current time at every read.
//!
//! A page served for days must never stay green on old data: a refresh that fails keeps
//! the last good snapshot, which ages into *stale* after `stale_after_secs` exactly as in
//! the one-shot modes, and the page says that the last update failed and how old its data
//! is. [`Feed::health`] is the answer for a supervisor, [`Feed::metrics`] the Prometheus
//! text for a scraper (written by the `prometheus` crate's text encoder).

use std::time::{Duration, SystemTime};

use prometheus::{Encoder, Gauge, IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use serde::Serialize;

use super::{
    ComponentStatus, History, NagiosFiles, Snapshot, StatusConfig, Summary, rfc3339, summarize,
};

/// What became of the page's refreshes, as the summary shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefreshState {
    /// When the last refresh succeeded (RFC 3339), if one ever did.
    pub last_success: Option<String>,
    /// When the last refresh failed (RFC 3339), if one failed since the last success.
    pub last_failure: Option<String>,
    /// Why it failed (already scrubbed of secrets by whoever recorded it).
    pub error: Option<String>,
    /// Refreshes that failed in a row, up to now.
    pub consecutive_failures: u32,
    /// What the page says of it while a failure stands, e.g. "Last update failed 40s ago
    /// (…); showing data from 3m 10s ago".
    pub notice: Option<String>,
}

/// A supervisor's view of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedHealth {
    /// Fresh data, last refresh fine.
    Ok,
    /// The last refresh failed; the data shown is still within `stale_after_secs`.
    Failing,
    /// The data is older than `stale_after_secs` (or there never was any): the page
    /// shows every component as unknown.
    Stale,
}

impl FeedHealth {
    /// `ok`, `failing` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedHealth::Ok => "ok",
            FeedHealth::Failing => "failing",
            FeedHealth::Stale => "stale",
        }
    }
}

#[derive(Debug, Clone)]
struct Failure {
    at: SystemTime,
    error: String,
}

/// The state of a long-running status page. Not synchronised: hold it in a lock.
#[derive(Debug, Clone)]
pub struct Feed {
    config: StatusConfig,
    last_good: Option<(Snapshot, SystemTime)>,
    failure: Option<Failure>,
    consecutive_failures: u32,
    refreshes: u64,
    failures: u64,
    files: NagiosFiles,
    history: Option<History>,
}

const STATUSES: [ComponentStatus; 6] = [
    ComponentStatus::Operational,
    ComponentStatus::DegradedPerformance,
    ComponentStatus::PartialOutage,
    ComponentStatus::MajorOutage,
    ComponentStatus::UnderMaintenance,
    ComponentStatus::Unknown,
];

fn status_label(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "operational",
        ComponentStatus::DegradedPerformance => "degraded_performance",
        ComponentStatus::PartialOutage => "partial_outage",
        ComponentStatus::MajorOutage => "major_outage",
        ComponentStatus::UnderMaintenance => "under_maintenance",
        ComponentStatus::Unknown => "unknown",
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl Feed {
    /// A page with no data yet (stale until the first successful refresh).
    pub fn new(config: StatusConfig) -> Self {
        Self {
            config,
            last_good: None,
            failure: None,
            consecutive_failures: 0,
            refreshes: 0,
            failures: 0,
            files: NagiosFiles::default(),
            history: None,
        }
    }

    /// The cache of Nagios's files (archived logs, objects.cache) the page keeps across
    /// refreshes: clone it (cheap), compute with it outside the page's lock
    /// ([`NagiosFiles::history`] reads files), then hand it back with
    /// [`Feed::record_history`].
    pub fn files(&self) -> &NagiosFiles {
        &self.files
    }

    /// The history computed by a refresh, and the file cache it left (kept for the next).
    pub fn record_history(&mut self, files: NagiosFiles, history: Option<History>) {
        self.files = files;
        self.history = history;
    }

    /// The page's configuration.
    pub fn config(&self) -> &StatusConfig {
        &self.config
    }

    /// A refresh at `at` read `snapshot`.
    pub fn record_success(&mut self, snapshot: Snapshot, at: SystemTime) {
        self.refreshes += 1;
        self.last_good = Some((snapshot, at));
        self.failure = None;
        self.consecutive_failures = 0;
    }

    /// A refresh at `at` failed with `error` (scrub it of secrets first: it is shown on
    /// the page). The last good snapshot stays and keeps ageing.
    pub fn record_failure(&mut self, error: impl Into<String>, at: SystemTime) {
        self.refreshes += 1;
        self.failures += 1;
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.failure = Some(Failure {
            at,
            error: error.into(),
        });
    }

    /// The summary as of `now`: the rules over the last good snapshot (an empty one before
    /// the first success, which is stale), with what became of the refreshes.
    pub fn summary(&self, now: SystemTime) -> Summary {
        let empty = Snapshot::default();
        let snapshot = self.last_good.as_ref().map_or(&empty, |(s, _)| s);
        let mut summary = summarize(&self.config, snapshot, now);
        summary.history.clone_from(&self.history);
        let notice = self.failure.as_ref().map(|f| {
            let data = match snapshot.data_as_of {
                Some(t) if self.last_good.is_some() => {
                    format!("showing data from {} ago", ago(t, now))
                }
                _ => "no data yet".to_owned(),
            };
            format!(
                "Last update failed {} ago ({}); {data}",
                ago(f.at, now),
                f.error
            )
        });
        summary.refresh = Some(RefreshState {
            last_success: self.last_good.as_ref().map(|(_, at)| rfc3339(*at)),
            last_failure: self.failure.as_ref().map(|f| rfc3339(f.at)),
            error: self.failure.as_ref().map(|f| f.error.clone()),
            consecutive_failures: self.consecutive_failures,
            notice,
        });
        summary
    }

    /// `ok`, `failing` or `stale` as of `now`, with the summary it was judged on.
    pub fn health(&self, now: SystemTime) -> (FeedHealth, Summary) {
        let summary = self.summary(now);
        let health = if summary.stale {
            FeedHealth::Stale
        } else if self.consecutive_failures > 0 {
            FeedHealth::Failing
        } else {
            FeedHealth::Ok
        };
        (health, summary)
    }

    /// The page's metrics as of `now`, in the Prometheus text exposition format (0.0.4):
    /// per component one `status_page_component_status` series per status (1 for the
    /// current one), data age, staleness, refreshes and failures, last successful refresh.
    pub fn metrics(&self, now: SystemTime) -> String {
        // Every name and label below is a constant: an error is a bug the tests catch.
        self.encode_metrics(now)
            .unwrap_or_else(|e| format!("# status page metrics unavailable: {e}\n"))
    }

    fn encode_metrics(&self, now: SystemTime) -> prometheus::Result<String> {
        let summary = self.summary(now);
        let registry = Registry::new_custom(Some("status_page".to_owned()), None)?;

        let components = IntGaugeVec::new(
            Opts::new(
                "component_status",
                "Status of each component: 1 for its current status, 0 for the others",
            ),
            &["component", "status"],
        )?;
        registry.register(Box::new(components.clone()))?;
        for c in &summary.components {
            for s in STATUSES {
                components
                    .with_label_values(&[c.id.as_str(), status_label(s)])
                    .set(i64::from(c.status == s));
            }
        }

        let stale = IntGauge::new(
            "stale",
            "1 when the monitoring data is older than stale_after_secs (or absent)",
        )?;
        stale.set(i64::from(summary.stale));
        registry.register(Box::new(stale))?;

        let as_of = self.last_good.as_ref().and_then(|(s, _)| s.data_as_of);
        if let Some(age) = as_of.and_then(|t| now.duration_since(t).ok()) {
            let g = Gauge::new(
                "data_age_seconds",
                "Age of the monitoring data shown (from Nagios's own times)",
            )?;
            g.set(age.as_secs_f64());
            registry.register(Box::new(g))?;
        }

        let refreshes = IntCounter::new(
            "refreshes_total",
            "Refreshes from the monitoring source attempted",
        )?;
        refreshes.inc_by(self.refreshes);
        registry.register(Box::new(refreshes))?;
        let failures = IntCounter::new(
            "refresh_failures_total",
            "Refreshes from the monitoring source that failed",
        )?;
        failures.inc_by(self.failures);
        registry.register(Box::new(failures))?;
        let in_a_row = IntGauge::new(
            "consecutive_refresh_failures",
            "Refreshes that failed in a row, up to now",
        )?;
        in_a_row.set(i64::from(self.consecutive_failures));
        registry.register(Box::new(in_a_row))?;
        if let Some((_, at)) = &self.last_good {
            let g = Gauge::new(
                "last_successful_refresh_timestamp_seconds",
                "When the last refresh succeeded, in seconds since the Unix epoch",
            )?;
            g.set(unix_secs(*at));
            registry.register(Box::new(g))?;
        }

        let mut out = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// How long ago `t` was, as the page words it ("3m 20s").
fn ago(t: SystemTime, now: SystemTime) -> String {
    let age = now.duration_since(t).unwrap_or_default();
    humantime::format_duration(Duration::from_secs(age.as_secs())).to_string()
}
