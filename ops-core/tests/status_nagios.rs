//! The status summary against a real Nagios 4 and the real nagios-api 1.2.2
//! (the harness of nagios-client's conformance suite): a passive CRITICAL
//! takes a component to an outage, scheduled downtime turns it into
//! maintenance. Run by `scripts/ci/status.sh`. The harness is `ops_proptest::nagios`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nagios_client::{Client, PassiveResult, RetryConfig, ScheduleDowntime, ServiceStatus, Target};
use ops_core::adapters::NagiosStatusSource;
use ops_core::status::{ComponentStatus, Feed, StatusConfig, StatusSource, Summary, summarize};
use ops_proptest::nagios::Harness;
use std::time::{Duration, Instant, SystemTime};

fn client(h: &Harness) -> Client {
    Client::builder(h.url())
        .retry(RetryConfig::disabled())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn config() -> StatusConfig {
    serde_json::from_str(
        r#"{
            "page_name": "E2E",
            "stale_after_secs": 600,
            "components": [
                {"name": "Website", "members": ["web01:HTTP"]},
                {"name": "Queue", "members": ["web01:passive_check"]},
                {"name": "Database", "members": ["db01"]}
            ]
        }"#,
    )
    .unwrap()
}

fn status_of(s: &Summary, name: &str) -> ComponentStatus {
    s.components.iter().find(|c| c.name == name).unwrap().status
}

/// Poll nagios-api until the summary satisfies `cond` (Nagios applies
/// external commands asynchronously and rewrites status.dat every second).
async fn until(c: &Client, what: &str, cond: impl Fn(&Summary) -> bool) -> Summary {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let snapshot = NagiosStatusSource::new(c.clone()).snapshot().await.unwrap();
        let summary = summarize(&config(), &snapshot, SystemTime::now());
        if cond(&summary) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last summary: {}",
            serde_json::to_string_pretty(&summary).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2; run by scripts/ci/status.sh"]
async fn passive_critical_is_an_outage_and_downtime_is_maintenance() {
    let h = Harness::start("status-e2e-");
    let c = client(&h);

    // The harness's recorded world: web01 UP with HTTP OK, db01 DOWN.
    let s = until(&c, "initial state", |s| {
        status_of(s, "Website") == ComponentStatus::Operational
            && status_of(s, "Database") == ComponentStatus::MajorOutage
    })
    .await;
    assert!(!s.stale, "live Nagios data is fresh");
    // The passive check has had no result since Nagios started: pending, so unknown
    // with the reason on the page, never operational (issue #20).
    assert_eq!(status_of(&s, "Queue"), ComponentStatus::Unknown, "{s:#?}");
    let queue = s.components.iter().find(|c| c.name == "Queue").unwrap();
    assert!(
        queue.problems[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("never checked")),
        "{queue:#?}"
    );
    assert_ne!(s.status.description, "All Systems Operational");

    c.submit_result(&PassiveResult::service(
        "web01",
        "passive_check",
        ServiceStatus::Ok,
        "OK - queue drained",
    ))
    .await
    .unwrap();
    until(&c, "Queue operational", |s| {
        status_of(s, "Queue") == ComponentStatus::Operational
    })
    .await;

    c.submit_result(&PassiveResult::service(
        "web01",
        "passive_check",
        ServiceStatus::Critical,
        "CRITICAL - queue stuck",
    ))
    .await
    .unwrap();
    let s = until(&c, "Queue outage", |s| {
        status_of(s, "Queue") == ComponentStatus::MajorOutage
    })
    .await;
    let incident = s
        .incidents
        .iter()
        .find(|i| i.components == ["queue"])
        .expect("an incident for the queue");
    assert_eq!(incident.status, "investigating");
    assert_eq!(s.status.indicator, "major");

    c.schedule_downtime(
        &ScheduleDowntime::new(
            Target::service("web01", "passive_check"),
            Duration::from_secs(600),
        )
        .author("status-e2e")
        .comment("queue maintenance"),
    )
    .await
    .unwrap();
    let s = until(&c, "Queue maintenance", |s| {
        status_of(s, "Queue") == ComponentStatus::UnderMaintenance
    })
    .await;
    assert!(
        s.scheduled_maintenances
            .iter()
            .any(|m| m.components == ["queue"])
    );
    assert!(!s.incidents.iter().any(|i| i.components == ["queue"]));
}

/// `promtool check metrics` on `text`: its findings (empty when clean). `promtool` comes
/// from Debian's `prometheus` package (scripts/ci/status.sh installs it); missing, this fails.
fn promtool(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect(
            "promtool (Debian package `prometheus`) must be installed: run scripts/ci/status.sh",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool refused the metrics: {findings}\n{text}"
    );
    findings
}

#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2 and promtool; run by scripts/ci/status.sh"]
async fn metrics_of_a_real_nagios_pass_promtool() {
    let h = Harness::start("status-metrics-");
    let c = client(&h);
    let mut feed = Feed::new(config());
    let snapshot = NagiosStatusSource::new(c.clone()).snapshot().await.unwrap();
    feed.record_success(snapshot, SystemTime::now());
    feed.record_failure("nagios-api did not answer", SystemTime::now());
    let text = feed.metrics(SystemTime::now());
    for series in [
        "status_page_component_status{component=\"database\",status=\"major_outage\"} 1",
        "status_page_refresh_failures_total 1",
        "status_page_stale 0",
    ] {
        assert!(
            text.lines().any(|l| l == series),
            "missing `{series}`:\n{text}"
        );
    }
    let findings = promtool(&text);
    assert!(
        findings.trim().is_empty(),
        "promtool lint findings: {findings}\n{text}"
    );
}
