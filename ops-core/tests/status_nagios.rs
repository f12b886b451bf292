//! The status summary against a real Nagios 4 and the real nagios-api 1.2.2
//! (the harness of nagios-client's conformance suite): a passive CRITICAL
//! takes a component to an outage, scheduled downtime turns it into
//! maintenance; a hostgroup from Nagios's objects.cache is a member; the
//! history is read from Nagios's own log (nagios-api's `/log`) after an outage,
//! an acknowledgement and a downtime, and from 89 days of archived logs written in
//! Nagios's format. Run by `scripts/ci/status.sh`. The harness is `ops_proptest::nagios`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nagios_client::{
    Acknowledge, CancelDowntime, CancelOutcome, Client, PassiveResult, RetryConfig,
    ScheduleDowntime, ServiceStatus, Target, Timestamp,
};
use ops_core::adapters::NagiosStatusSource;
use ops_core::status::history::History;
use ops_core::status::{
    ComponentStatus, Feed, LogEvents, NagiosFiles, StatusConfig, StatusSource, Summary, summarize,
};
use ops_proptest::nagios::Harness;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// `promtool check metrics` on `text` (the shared helper in ops-proptest).
fn promtool(text: &str) -> String {
    ops_proptest::promtool::check(text)
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

/// Poll nagios-api's `/log` until a line contains `needle`; its timestamp.
async fn until_logged(c: &Client, needle: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = c.log().await.unwrap();
        if let Some(e) = log.iter().find(|e| e.message.contains(needle)) {
            return e.timestamp.expect("a timestamped line").0;
        }
        assert!(
            Instant::now() < deadline,
            "`{needle}` never appeared in /log: {:#?}",
            log.iter().rev().take(20).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Poll until the clock has left second `t` (so that what happens next is a later second
/// in Nagios's log, and a stretch between the two lasts at least one second).
async fn until_after(t: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Timestamp::now().0 <= t {
        assert!(Instant::now() < deadline, "the clock never passed {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A time from this Nagios's log (now-ish: well within what RFC 3339 can say).
fn rfc3339(t: i64) -> String {
    #[allow(clippy::disallowed_methods)]
    let s =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t as u64)).to_string();
    s
}

fn history_config(h: &Harness, archive: Option<&std::path::Path>) -> StatusConfig {
    let mut config: StatusConfig = serde_json::from_value(serde_json::json!({
        "page_name": "History E2E",
        "stale_after_secs": 600,
        "components": [
            {"name": "Queue", "members": ["web01:passive_check"]},
            {"name": "Website", "members": ["web01:HTTP"]},
            {"name": "Database", "members": ["db01"]},
            {"name": "Test hosts", "members": ["group:test-hosts"]}
        ]
    }))
    .unwrap();
    config.objects_cache = Some(h.dir().join("var/objects.cache"));
    config.log_archive_path = archive.map(std::path::Path::to_owned);
    config
}

fn sum_days(h: &History, component: usize, f: impl Fn(&serde_json::Value) -> u64) -> u64 {
    let v = serde_json::to_value(&h.components[component].uptime).unwrap();
    v.as_array().unwrap().iter().map(f).sum()
}

#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2; run by scripts/ci/status.sh"]
async fn history_of_an_outage_an_ack_and_a_downtime_from_nagios_log() {
    let h = Harness::start("status-history-");
    let c = client(&h);
    let config = history_config(&h, None);

    // A hostgroup member, resolved from the objects.cache this Nagios wrote: db01 is DOWN.
    let mut files = NagiosFiles::default();
    let groups = files.groups(&config);
    assert_eq!(
        groups.as_ref().unwrap().hostgroups["test-hosts"],
        ["app01", "db01", "web01"]
    );
    let mut snapshot = NagiosStatusSource::new(c.clone()).snapshot().await.unwrap();
    snapshot.groups = groups.clone();
    let s = summarize(&config, &snapshot, SystemTime::now());
    assert_eq!(
        s.components[3].status,
        ComponentStatus::PartialOutage,
        "{s:#?}"
    );

    // An outage of the passive check, acknowledged, over; then a downtime.
    let t_start = until_logged(&c, "Nagios 4").await;
    c.submit_result(&PassiveResult::service(
        "web01",
        "passive_check",
        ServiceStatus::Critical,
        "CRITICAL - queue stuck",
    ))
    .await
    .unwrap();
    let t_crit = until_logged(&c, "SERVICE ALERT: web01;passive_check;CRITICAL;HARD").await;
    c.acknowledge_problem(&Acknowledge::new(
        Target::service("web01", "passive_check"),
        "looking into it",
    ))
    .await
    .unwrap();
    let t_ack = until_logged(&c, "ACKNOWLEDGE_SVC_PROBLEM;web01;passive_check").await;
    until_after(t_ack.max(t_crit)).await;
    c.submit_result(&PassiveResult::service(
        "web01",
        "passive_check",
        ServiceStatus::Ok,
        "OK - queue drained",
    ))
    .await
    .unwrap();
    let t_ok = until_logged(&c, "SERVICE ALERT: web01;passive_check;OK;HARD").await;
    until_after(t_ok).await;
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
    let t_dt = until_logged(&c, "SERVICE DOWNTIME ALERT: web01;passive_check;STARTED").await;
    until_after(t_dt).await;
    // nagios-api finds the downtime to cancel in status.dat: wait until it is there.
    until(&c, "Queue maintenance", |s| {
        status_of(s, "Queue") == ComponentStatus::UnderMaintenance
    })
    .await;
    let outcome = c
        .cancel_downtime(&CancelDowntime::target(Target::service(
            "web01",
            "passive_check",
        )))
        .await
        .unwrap();
    assert_eq!(outcome, CancelOutcome::Cancelled);
    let t_dt_end = until_logged(&c, "SERVICE DOWNTIME ALERT: web01;passive_check;CANCELLED").await;

    // The history from /log alone (the harness never rotates its log).
    let log = c.log().await.unwrap();
    let recent = LogEvents::from_nagios(&log);
    let now = SystemTime::now();
    let hist = files
        .history(&config, groups.as_ref(), Ok(&recent), now)
        .unwrap();
    let json = serde_json::to_string_pretty(&hist).unwrap();
    assert_eq!(hist.days, 90);
    assert_eq!(hist.sources.malformed_lines, 0, "{json}");
    assert_eq!(hist.sources.recent_log_lines, log.len());

    // The queue: one incident, from the CRITICAL to the OK, identified at the ack.
    let queue = &hist.components[0];
    assert_eq!(queue.incidents_total, 1, "{json}");
    let i = &queue.incidents[0];
    assert_eq!(i.start, rfc3339(t_crit));
    assert_eq!(i.end.as_deref(), Some(rfc3339(t_ok).as_str()));
    assert_eq!(i.worst, ComponentStatus::MajorOutage);
    assert_eq!(i.identified_at.as_deref(), Some(rfc3339(t_ack).as_str()));
    assert_eq!(i.members, ["web01:passive_check"]);
    let down = u64::try_from(t_ok - t_crit).unwrap();
    let maint = u64::try_from(t_dt_end - t_dt).unwrap();
    assert!(down >= 1 && maint >= 1);
    assert_eq!(
        sum_days(&hist, 0, |d| d["major_outage_secs"].as_u64().unwrap()),
        down,
        "{json}"
    );
    assert_eq!(
        sum_days(&hist, 0, |d| d["maintenance_secs"].as_u64().unwrap()),
        maint,
        "{json}"
    );
    // The day of the outage is below 100% (and no day says 100% with down time in it).
    let day = queue
        .uptime
        .iter()
        .find(|d| d.major_outage_secs > 0)
        .unwrap();
    assert!(day.percent.unwrap() < 100.0, "{day:?}");

    // The database has been DOWN since Nagios's first check: one incident, still open; the
    // group is in a partial outage as long.
    let db = &hist.components[2];
    assert_eq!(db.incidents_total, 1, "{json}");
    assert_eq!(db.incidents[0].end, None);
    assert!(db.incidents[0].start.as_str() >= rfc3339(t_start).as_str());
    assert_eq!(
        hist.components[3].incidents[0].worst,
        ComponentStatus::PartialOutage
    );
    // Everything the group's hosts had wrong while it lasted (app01's Load is WARNING and
    // web01's Disk CRITICAL in the harness's world).
    assert_eq!(
        hist.components[3].incidents[0].members,
        ["app01:Load", "db01", "web01:Disk", "web01:passive_check"]
    );
    // The website (HTTP OK from the start) was never stated in the log: no data, never
    // a made-up 100%.
    assert!(
        hist.components[1]
            .uptime
            .iter()
            .all(|d| d.percent.is_none()),
        "{json}"
    );

    // A served page keeps the history with its file cache.
    let mut feed = Feed::new(config.clone());
    feed.record_success(snapshot, now);
    feed.record_history(files, Some(hist.clone()));
    let page = feed.summary(now);
    assert_eq!(page.history.as_ref(), Some(&hist));
    let html = ops_core::status::render_html(&page, None);
    assert!(html.contains("1 incident in this period"), "{html}");
}

const DAY: i64 = 86_400;

/// `(year, month, day)` of a day number (days since 1970-01-01).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// One day of `nagios.log` as Nagios 4 writes it with daily rotation: the rotation's
/// header and CURRENT STATE lines at midnight, then the day's lines: web01's HTTP down for
/// `outage` seconds at 10:00, `noise` lines about hosts no component shows, and on the
/// 10th day one malformed line and Nagios stopped from 22:00 to 23:00. Returns the text
/// and what the page should count: (major outage, no data) seconds.
fn archived_day(day: i64, index: i64, noise: usize) -> (String, u64, u64) {
    let t = |secs: i64| day * DAY + secs;
    let mut l = vec![
        format!("[{}] LOG ROTATION: DAILY", t(0)),
        format!("[{}] LOG VERSION: 2.0", t(0)),
    ];
    for (host, state) in [("web01", "UP"), ("db01", "UP"), ("app01", "UP")] {
        l.push(format!(
            "[{}] CURRENT HOST STATE: {host};{state};HARD;1;PING OK",
            t(0)
        ));
    }
    for (host, svc) in [
        ("web01", "HTTP"),
        ("web01", "Disk"),
        ("web01", "passive_check"),
    ] {
        l.push(format!(
            "[{}] CURRENT SERVICE STATE: {host};{svc};OK;HARD;1;fine",
            t(0)
        ));
    }
    let outage = index % 7 * 60;
    for i in 0..noise {
        let i = i as i64;
        l.push(format!(
            "[{}] SERVICE ALERT: noise{};check{};{};SOFT;1;noise",
            t(60 + i * 20),
            i % 50,
            i % 7,
            ["OK", "WARNING", "CRITICAL"][(i % 3) as usize]
        ));
    }
    if outage > 0 {
        l.push(format!(
            "[{}] SERVICE ALERT: web01;HTTP;CRITICAL;SOFT;1;CRITICAL - timeout",
            t(35_940)
        ));
        l.push(format!(
            "[{}] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;3;CRITICAL - timeout",
            t(36_000)
        ));
        l.push(format!(
            "[{}] SERVICE ALERT: web01;HTTP;OK;HARD;1;HTTP OK",
            t(36_000 + outage)
        ));
    }
    let mut no_data = 0;
    if index == 10 {
        l.push("[not a time] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;x".to_owned());
        l.push(format!("[{}] Caught SIGTERM, shutting down...", t(79_200)));
        l.push(format!(
            "[{}] Successfully shutdown... (PID=4242)",
            t(79_200)
        ));
        l.push(format!(
            "[{}] Nagios 4.4.6 starting... (PID=4343)",
            t(82_800)
        ));
        no_data = 3600;
    }
    l.sort_by_key(|line| {
        line.strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .and_then(|(t, _)| t.parse::<i64>().ok())
            .unwrap_or(i64::MAX)
    });
    (l.join("\n") + "\n", outage as u64, no_data)
}

#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2; run by scripts/ci/status.sh"]
async fn ninety_days_from_archived_logs_and_nagios_api_log() {
    let h = Harness::start("status-archive-");
    let c = client(&h);
    let archive = tempfile::tempdir().unwrap();
    let config = history_config(&h, Some(archive.path()));
    // 89 archived days before today, each in the file rotated at the next midnight
    // (Nagios's name: the local time of the rotation; this machine runs in UTC), plus
    // an old file beyond the period and a compressed one, which are not read.
    let today = Timestamp::now().0 / DAY;
    let mut expected = std::collections::BTreeMap::new();
    let mut lines = 0;
    for index in 1..=89 {
        let day = today - 90 + index;
        let (text, outage, no_data) = archived_day(day, index, 2000);
        lines += text.lines().count();
        let (y, m, d) = civil(day + 1);
        std::fs::write(
            archive
                .path()
                .join(format!("nagios-{m:02}-{d:02}-{y}-00.log")),
            text,
        )
        .unwrap();
        expected.insert(date(day), (outage, no_data));
    }
    let (y, m, d) = civil(today - 200);
    std::fs::write(
        archive
            .path()
            .join(format!("nagios-{m:02}-{d:02}-{y}-00.log")),
        "[1] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;long ago\n",
    )
    .unwrap();
    std::fs::write(archive.path().join("nagios-01-01-2020-00.log.gz"), "gz").unwrap();

    until_logged(&c, "HOST ALERT: db01;DOWN;HARD").await;
    let recent = LogEvents::from_nagios(&c.log().await.unwrap());
    let mut files = NagiosFiles::default();
    let groups = files.groups(&config);

    let now = SystemTime::now();
    let started = Instant::now();
    let cold = files
        .history(&config, groups.as_ref(), Ok(&recent), now)
        .unwrap();
    let cold_took = started.elapsed();
    let started = Instant::now();
    let warm = files
        .history(&config, groups.as_ref(), Ok(&recent), now)
        .unwrap();
    let warm_took = started.elapsed();
    eprintln!(
        "90 days of history: {} archived files, {lines} lines: first read {cold_took:?} \
         ({} files read), refresh {warm_took:?} ({} read, {} from the cache)",
        cold.sources.archive_files,
        cold.sources.archive_files_read,
        warm.sources.archive_files_read,
        warm.sources.archive_files_cached,
    );
    assert_eq!(
        (cold.sources.archive_files, cold.sources.archive_files_read),
        (89, 89)
    );
    assert_eq!(
        (
            warm.sources.archive_files_read,
            warm.sources.archive_files_cached
        ),
        (0, 89)
    );
    assert_eq!(cold.sources.archive_lines, lines);
    assert_eq!(cold.sources.malformed_lines, 1);
    assert_eq!(warm.components, cold.components);

    let json = serde_json::to_string_pretty(&cold).unwrap();
    let website = &cold.components[1];
    assert_eq!(website.uptime.len(), 90);
    let mut checked = 0;
    for d in &website.uptime {
        let Some(&(outage, no_data)) = expected.get(&d.date) else {
            continue;
        };
        checked += 1;
        assert_eq!(d.major_outage_secs, outage, "{d:?}");
        assert_eq!(d.no_data_secs, no_data, "{d:?}");
        let up = 86_400 - no_data - outage;
        let want = (up as f64 * 100.0 / (86_400 - no_data) as f64 * 1000.0).floor() / 1000.0;
        assert_eq!(d.percent, Some(want), "{d:?}");
    }
    // Every archived day in the period (89, unless midnight passed since they were made).
    assert!(checked >= 88, "{checked} days checked:\n{json}");
    let total_outages = expected.values().filter(|(o, _)| *o > 0).count();
    assert_eq!(website.incidents_total, total_outages, "{json}");
    // Today comes from /log on top of the archives: the database went DOWN at this
    // Nagios's first check (it was UP at the last rotation), and is still down.
    let db = &cold.components[2];
    assert_eq!(db.incidents_total, 1, "{json}");
    assert_eq!(db.incidents[0].end, None);
    let db_today = db.uptime.last().unwrap();
    assert!(db_today.major_outage_secs > 0, "{db_today:?}");
    assert!(db.uptime[..89].iter().all(|d| d.major_outage_secs == 0));
}
