//! The history over hand-written Nagios log lines, at a pinned clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::status::{ComponentStatus, Groups, StatusConfig};
use proptest::prelude::*;

/// 2026-11-01T00:00:00Z: the first day of a three-day window.
fn d0() -> i64 {
    days_from_civil(2026, 11, 1).unwrap() * DAY
}

/// Noon on the third day (2026-11-03T12:00:00Z).
fn now() -> SystemTime {
    time_of(d0() + 2 * DAY + 12 * 3600)
}

fn cfg(days: u32, components: &[(&str, &[&str])]) -> StatusConfig {
    let components: Vec<serde_json::Value> = components
        .iter()
        .map(|(n, ms)| serde_json::json!({"name": n, "members": ms}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "page_name": "Acme",
        "history_days": days,
        "components": components,
    }))
    .unwrap()
}

/// `[d0 + offset] message` lines.
fn log(lines: &[(i64, &str)]) -> LogEvents {
    let text: Vec<String> = lines
        .iter()
        .map(|(off, msg)| format!("[{}] {msg}", d0() + off))
        .collect();
    LogEvents::parse(text.iter().map(String::as_str))
}

fn hist(config: &StatusConfig, lines: &[(i64, &str)]) -> History {
    history(config, None, &[], Some(&log(lines)), now())
}

fn day(h: &History, component: usize, i: usize) -> &DayUptime {
    &h.components[component].uptime[i]
}

/// Every day's seconds add up to a day.
fn assert_days_whole(h: &History) {
    for c in &h.components {
        for d in &c.uptime {
            let sum = d.operational_secs
                + d.degraded_secs
                + d.partial_outage_secs
                + d.major_outage_secs
                + d.maintenance_secs
                + d.no_data_secs;
            assert_eq!(sum, DAY as u64, "{d:?}");
        }
    }
}

#[test]
fn lines_that_matter_are_parsed_and_malformed_ones_counted() {
    let text = "\
[1796478007] Nagios 4.4.6 starting... (PID=13463)
[1796478007] LOG VERSION: 2.0
[1796478007] SERVICE ALERT: app01;Load;WARNING;HARD;1;WARNING: LOAD WARNING - dummy
[1796478007] HOST ALERT: db01;DOWN;HARD;1;CRITICAL: db01 is down (dummy)
[1796478013] PASSIVE SERVICE CHECK: web01;passive_check;0;(null)
[1796478015] SERVICE ALERT: web01;passive_check;CRITICAL;HARD;1;CRITICAL - stuck; with; semicolons
[1796478019] SERVICE DOWNTIME ALERT: web01;passive_check;STARTED; Service has entered a period of scheduled downtime
[1796478031] EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;passive_check;1;1;0;me;looking
[1796478031] EXTERNAL COMMAND: ACKNOWLEDGE_HOST_PROBLEM;db01;2;1;0;me;looking
[1796478032] EXTERNAL COMMAND: REMOVE_SVC_ACKNOWLEDGEMENT;web01;passive_check
[1796478033] SERVICE DOWNTIME ALERT: web01;passive_check;CANCELLED; Scheduled downtime for service has been cancelled.
[1796478034] HOST DOWNTIME ALERT: db01;STOPPED; Host has exited from a period of scheduled downtime
[1796515200] CURRENT HOST STATE: db01;DOWN;HARD;1;down
[1796515200] CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;HTTP OK
[1796515200] INITIAL SERVICE STATE: web01;Disk;CRITICAL;SOFT;1;
[1796515300] Caught SIGTERM, shutting down...
[1796515300] Successfully shutdown... (PID=13463)
[1796515400] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;web01;passive_check;0;OK

no timestamp at all
[17964x] SERVICE ALERT: web01;HTTP;OK;HARD;1;bad epoch
[-5] SERVICE ALERT: web01;HTTP;OK;HARD;1;before 1970
[253402300800] SERVICE ALERT: web01;HTTP;OK;HARD;1;after 9999
[1796515500] SERVICE ALERT: web01;HTTP;FINE;HARD;1;unknown state
[1796515500] SERVICE ALERT: web01;HTTP;OK;MEDIUM;1;unknown state type
[1796515500] HOST ALERT: db01;DOWN;HARD
[1796515500] SERVICE DOWNTIME ALERT: web01;HTTP;PAUSED; what
[1796515500] EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01
";
    let ev = LogEvents::parse(text.lines());
    assert_eq!(ev.malformed(), 9, "{ev:#?}");
    // 27 lines (the blank one is not a line).
    assert_eq!(ev.lines(), 27);
    // start, 2 alerts, 1 alert, downtime, 2 acks, unack, downtime, downtime, 3 states, stop x2
    assert_eq!(ev.events(), 15, "{:#?}", ev.events);
    let e = &ev.events[3];
    assert_eq!(e.at, 1_796_478_015);
    assert!(matches!(
        &e.what,
        What::Service { host, service, state: ServiceState::Critical, hard: true, alert: true }
            if &**host == "web01" && &**service == "passive_check"
    ));
    assert!(matches!(
        &ev.events[6].what,
        What::Ack {
            sticky: true,
            service: None,
            ..
        }
    ));
    assert!(matches!(
        &ev.events[12].what,
        What::Service {
            hard: false,
            alert: false,
            ..
        }
    ));

    // nagios-api's `/log` entries: already split; no timestamp is malformed.
    let ev = LogEvents::from_entries([
        (Some(1_796_478_015), "HOST ALERT: db01;UP;HARD;1;ok"),
        (None, "a line without its time"),
        (None, "  "),
        (Some(-1), "HOST ALERT: db01;UP;HARD;1;ok"),
    ]);
    assert_eq!((ev.lines(), ev.malformed(), ev.events()), (3, 2, 1));
}

#[test]
fn a_hard_outage_is_down_time_a_soft_one_is_not() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[
            (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
            (3600, "SERVICE ALERT: web01;HTTP;CRITICAL;SOFT;1;blip"),
            (3660, "SERVICE ALERT: web01;HTTP;OK;SOFT;2;back"),
            (7200, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;3;down"),
            (7800, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
        ],
    );
    assert_days_whole(&h);
    assert_eq!(h.days, 3);
    assert_eq!(
        (h.from.as_str(), h.to.as_str()),
        ("2026-11-01", "2026-11-03")
    );
    let d = day(&h, 0, 0);
    assert_eq!(d.date, "2026-11-01");
    assert_eq!(d.major_outage_secs, 600);
    assert_eq!(d.operational_secs, 86_400 - 600);
    // 85800 / 86400 = 99.30555…%, floored to a thousandth.
    assert_eq!(d.percent, Some(99.305));
    assert_eq!(d.status, "major_outage");
    assert_eq!(day(&h, 0, 1).percent, Some(100.0));
    // Today: up to noon known, the rest not yet.
    let today = day(&h, 0, 2);
    assert_eq!(
        (today.operational_secs, today.no_data_secs),
        (43_200, 43_200)
    );
    assert_eq!(today.percent, Some(100.0));

    let comp = &h.components[0];
    assert_eq!(comp.incidents_total, 1);
    let i = &comp.incidents[0];
    assert_eq!(i.start, "2026-11-01T02:00:00Z");
    assert_eq!(i.end.as_deref(), Some("2026-11-01T02:10:00Z"));
    assert_eq!(i.duration_secs, 600);
    assert_eq!(i.worst, ComponentStatus::MajorOutage);
    assert_eq!(i.members, ["web01:HTTP"]);
    assert_eq!(i.identified_at, None);
    // 600 s down over 216000 s measured.
    assert_eq!(comp.uptime_percent, Some(99.722));
    assert_eq!(h.sources.malformed_lines, 0);
    assert_eq!(h.sources.recent_log_lines, 5);
    assert_eq!(
        h.sources.earliest_data.as_deref(),
        Some("2026-11-01T00:00:00Z")
    );
}

#[test]
fn any_down_time_keeps_a_day_below_100() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[
            (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
            (100, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
            (101, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
        ],
    );
    let p = day(&h, 0, 0).percent.unwrap();
    assert!(p < 100.0 && p > 99.99, "{p}");
}

#[test]
fn scheduled_downtime_is_maintenance_left_out_of_uptime() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[
            (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
            (
                1000,
                "SERVICE DOWNTIME ALERT: web01;HTTP;STARTED; Service has entered a period of scheduled downtime",
            ),
            (2000, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;restarting"),
            (3000, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
            (
                4000,
                "SERVICE DOWNTIME ALERT: web01;HTTP;STOPPED; Service has exited from a period of scheduled downtime",
            ),
        ],
    );
    let d = day(&h, 0, 0);
    assert_eq!(d.maintenance_secs, 3000);
    assert_eq!(d.major_outage_secs, 0);
    assert_eq!(d.percent, Some(100.0));
    assert_eq!(d.status, "under_maintenance");
    assert!(h.components[0].incidents.is_empty());

    // A host's downtime covers its services (the live rule), and CANCELLED ends it too.
    let h = hist(
        &c,
        &[
            (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
            (1000, "HOST DOWNTIME ALERT: web01;STARTED; Host has entered"),
            (2000, "HOST ALERT: web01;DOWN;HARD;1;rebooting"),
            (2500, "HOST ALERT: web01;UP;HARD;1;back"),
            (
                3000,
                "HOST DOWNTIME ALERT: web01;CANCELLED; Scheduled downtime",
            ),
        ],
    );
    assert_eq!(day(&h, 0, 0).maintenance_secs, 2000);
    assert_eq!(day(&h, 0, 0).percent, Some(100.0));
}

#[test]
fn a_down_host_rolls_up_its_services() {
    let c = cfg(
        3,
        &[("Database", &["db01:PostgreSQL"]), ("DB host", &["db01"])],
    );
    let h = hist(
        &c,
        &[
            (0, "CURRENT HOST STATE: db01;UP;HARD;1;up"),
            (0, "CURRENT SERVICE STATE: db01;PostgreSQL;OK;HARD;1;fine"),
            (3600, "HOST ALERT: db01;DOWN;SOFT;1;no answer"),
            (3700, "HOST ALERT: db01;DOWN;HARD;3;no answer"),
            (7300, "HOST ALERT: db01;UP;HARD;1;back"),
        ],
    );
    for c in 0..2 {
        assert_eq!(day(&h, c, 0).major_outage_secs, 3600, "component {c}");
    }
    assert_eq!(h.components[0].incidents[0].members, ["db01:PostgreSQL"]);
    assert_eq!(h.components[1].incidents[0].members, ["db01"]);
}

#[test]
fn before_the_first_state_and_while_nagios_is_stopped_there_is_no_data() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[
            (3600, "SERVICE ALERT: web01;HTTP;OK;HARD;1;first word of it"),
            (7200, "Caught SIGTERM, shutting down..."),
            (7200, "Successfully shutdown... (PID=1)"),
            (10_800, "Nagios 4.4.6 starting... (PID=2)"),
        ],
    );
    assert_days_whole(&h);
    let d = day(&h, 0, 0);
    assert_eq!(d.no_data_secs, 7200);
    assert_eq!(d.operational_secs, 86_400 - 7200);
    assert_eq!(d.percent, Some(100.0));
    // Nothing at all: no data every day, no percentage.
    let h = hist(&c, &[]);
    assert_days_whole(&h);
    assert!(h.components[0].uptime.iter().all(|d| d.percent.is_none()));
    assert_eq!(h.components[0].uptime[0].status, "no_data");
    assert_eq!(h.components[0].uptime_percent, None);
}

#[test]
fn a_soft_line_about_an_unstated_object_says_its_hard_state_is_ok() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(&c, &[(0, "SERVICE ALERT: web01;HTTP;CRITICAL;SOFT;1;blip")]);
    assert_eq!(day(&h, 0, 0).operational_secs, 86_400);
    assert!(h.components[0].incidents.is_empty());
}

#[test]
fn an_acknowledged_incident_is_identified_from_the_ack() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[
            (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
            // An ack of an OK service does nothing (Nagios refuses it).
            (
                50,
                "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;me;early",
            ),
            (100, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
            (
                200,
                "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;1;1;0;me;on it",
            ),
            // A normal ack ends with the next state change.
            (300, "SERVICE ALERT: web01;HTTP;WARNING;HARD;1;slow"),
            (400, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
            (1000, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down again"),
            (
                1100,
                "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;me;sticky",
            ),
            // A sticky one lasts until recovery; a CURRENT state line changes nothing.
            (1200, "SERVICE ALERT: web01;HTTP;WARNING;HARD;1;slow"),
            (
                1250,
                "CURRENT SERVICE STATE: web01;HTTP;WARNING;HARD;1;slow",
            ),
            (1300, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
            (2000, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;third"),
            (
                2100,
                "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;1;1;0;me;x",
            ),
            (
                2200,
                "EXTERNAL COMMAND: REMOVE_SVC_ACKNOWLEDGEMENT;web01;HTTP",
            ),
            (2300, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
        ],
    );
    let inc = &h.components[0].incidents; // newest first
    assert_eq!(inc.len(), 3);
    let first = &inc[2];
    assert_eq!(first.identified_at.as_deref(), Some("2026-11-01T00:03:20Z"));
    assert_eq!(first.worst, ComponentStatus::MajorOutage);
    assert_eq!(first.duration_secs, 300);
    let second = &inc[1];
    assert_eq!(
        second.identified_at.as_deref(),
        Some("2026-11-01T00:18:20Z")
    );
    let third = &inc[0];
    assert_eq!(third.identified_at.as_deref(), Some("2026-11-01T00:35:00Z"));
    // Degraded time counts as up: 200 + 200 + 300 s down.
    assert_eq!(day(&h, 0, 0).major_outage_secs, 200 + 200 + 300);
    assert_eq!(day(&h, 0, 0).degraded_secs, 100 + 100);
}

#[test]
fn days_are_cut_at_utc_midnight_and_an_open_incident_has_no_end() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[
            (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
            (DAY - 400, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
            (DAY + 400, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
            (
                2 * DAY + 3600,
                "SERVICE ALERT: web01;HTTP;WARNING;HARD;1;slow",
            ),
        ],
    );
    assert_eq!(day(&h, 0, 0).major_outage_secs, 400);
    assert_eq!(day(&h, 0, 1).major_outage_secs, 400);
    let inc = &h.components[0].incidents;
    assert_eq!(inc.len(), 2);
    assert_eq!(inc[0].end, None, "still degraded at noon");
    assert_eq!(inc[0].worst, ComponentStatus::DegradedPerformance);
    assert_eq!(inc[0].duration_secs, 11 * 3600);
    assert_eq!(inc[1].duration_secs, 800);
    assert_eq!(day(&h, 0, 2).status, "degraded_performance");
}

#[test]
fn log_lines_in_the_archive_and_nagios_api_repeats_count_once() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let archive = log(&[
        (0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
        (1000, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
        (2000, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
    ]);
    // /log: the end of the archived file (nagios-api keeps lines across a rotation), then
    // the new file read twice (its re-read after a quiet minute), with one new line.
    let recent_lines = [
        (1000, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
        (2000, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
        (DAY, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
        (DAY + 100, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
        (DAY + 200, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
        (DAY, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine"),
        (DAY + 100, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
        (DAY + 200, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
        (DAY + 300, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
    ];
    let recent = log(&recent_lines);
    let h = history(&c, None, &[&archive], Some(&recent), now());
    assert_days_whole(&h);
    assert_eq!(day(&h, 0, 0).major_outage_secs, 1000);
    assert_eq!(day(&h, 0, 1).major_outage_secs, 100 + (DAY as u64 - 300));
    assert_eq!(h.components[0].incidents_total, 3);
    assert_eq!(h.sources.archive_files, 1);
    assert_eq!(h.sources.archive_lines, 3);
    assert_eq!(h.sources.recent_log_lines, recent_lines.len());
}

#[test]
fn a_wild_time_in_the_archive_hides_nothing_of_nagios_api_log() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let archive = LogEvents::parse([
        format!(
            "[{}] CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine",
            d0()
        )
        .as_str(),
        "[253402300000] SERVICE ALERT: web01;HTTP;WARNING;HARD;1;a clock in year 9999",
    ]);
    let recent = log(&[
        (DAY, "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down"),
        (DAY + 60, "SERVICE ALERT: web01;HTTP;OK;HARD;1;up"),
    ]);
    let h = history(&c, None, &[&archive], Some(&recent), now());
    assert_eq!(day(&h, 0, 1).major_outage_secs, 60);
    // The line from the future counts from now on: nothing of the period.
    assert_eq!(day(&h, 0, 2).degraded_secs, 0);
}

#[test]
fn group_members_count_every_host_of_the_group() {
    let c = cfg(3, &[("Fleet", &["group:web"]), ("Nobody", &["group:none"])]);
    let groups =
        Groups::parse("define hostgroup {\n\thostgroup_name\tweb\n\tmembers\tweb01,web02\n\t}\n");
    let lines = log(&[
        (0, "CURRENT HOST STATE: web01;UP;HARD;1;up"),
        (0, "CURRENT HOST STATE: web02;UP;HARD;1;up"),
        (600, "HOST ALERT: web02;DOWN;HARD;1;down"),
        (1200, "HOST ALERT: web02;UP;HARD;1;up"),
    ]);
    let h = history(&c, Some(&groups), &[], Some(&lines), now());
    assert_eq!(day(&h, 0, 0).partial_outage_secs, 600);
    assert_eq!(h.components[0].incidents[0].members, ["web02"]);
    assert_eq!(
        h.components[0].incidents[0].worst,
        ComponentStatus::PartialOutage
    );
    // A group that does not resolve: never any data.
    assert!(h.components[1].uptime.iter().all(|d| d.percent.is_none()));
}

#[test]
fn incidents_are_capped_newest_first() {
    let c = cfg(3, &[("Web", &["web01:HTTP"])]);
    let mut lines = vec![(
        0,
        "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine".to_owned(),
    )];
    for i in 0..150 {
        lines.push((
            100 + i * 20,
            "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;x".to_owned(),
        ));
        lines.push((
            110 + i * 20,
            "SERVICE ALERT: web01;HTTP;OK;HARD;1;y".to_owned(),
        ));
    }
    let lines: Vec<(i64, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
    let h = hist(&c, &lines);
    let comp = &h.components[0];
    assert_eq!(comp.incidents_total, 150);
    assert_eq!(comp.incidents.len(), MAX_INCIDENTS);
    assert!(comp.incidents[0].start > comp.incidents[1].start);
    assert_eq!(day(&h, 0, 0).major_outage_secs, 1500);
}

#[test]
fn a_window_of_ninety_days_and_the_clock_at_its_limits() {
    let c = cfg(90, &[("Web", &["web01:HTTP"])]);
    let h = hist(
        &c,
        &[(0, "CURRENT SERVICE STATE: web01;HTTP;OK;HARD;1;fine")],
    );
    assert_eq!(h.components[0].uptime.len(), 90);
    assert_eq!(h.to, "2026-11-03");
    assert_eq!(h.from, "2026-08-06");
    assert_days_whole(&h);
    for at in [
        UNIX_EPOCH,
        time_of(LATEST_SECS),
        time_of(LATEST_SECS) + Duration::from_secs(1 << 40),
    ] {
        let h = history(&c, None, &[], Some(&log(&[])), at);
        assert_eq!(h.components[0].uptime.len(), 90);
        assert_days_whole(&h);
    }
}

#[test]
fn civil_dates_round_trip() {
    for day in [-800_000, -1, 0, 1, 59, 60, 365, 10_957, 20_000, 2_932_896] {
        let (y, m, d) = civil_from_days(day);
        if (0..=9999).contains(&y) {
            assert_eq!(days_from_civil(y, m, d), Some(day), "{y}-{m}-{d}");
        }
    }
    assert_eq!(date(0), "1970-01-01");
    assert_eq!(date(20_392), "2025-10-31");
    assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
    assert_eq!(days_from_civil(2024, 13, 1), None);
    assert_eq!(days_from_civil(10_000, 1, 1), None);
}

#[test]
fn archive_file_names() {
    use crate::status::files::archive_name_time;
    assert_eq!(
        archive_name_time("nagios-11-02-2026-00.log"),
        Some(days_from_civil(2026, 11, 2).unwrap() * DAY)
    );
    assert_eq!(
        archive_name_time("nagios-11-02-2026-13.log"),
        Some(days_from_civil(2026, 11, 2).unwrap() * DAY + 13 * 3600)
    );
    for bad in [
        "nagios-11-02-2026-24.log",
        "nagios-13-02-2026-00.log",
        "nagios-11-02-26-00.log",
        "nagios-11-02-2026-00.log.gz",
        "nagios.log",
        "nagios-+1-02-2026-00.log",
        "nagios-11-02-2026.log",
    ] {
        assert_eq!(archive_name_time(bad), None, "{bad}");
    }
}

fn proptest_config() -> StatusConfig {
    cfg(
        5,
        &[
            ("Web", &["web01", "web01:HTTP"]),
            ("Disk", &["web01:Disk", "db01:Disk"]),
            ("Hosts", &["group:all", "servicegroup:checks"]),
            ("Missing", &["nohost:x"]),
        ],
    )
}

fn proptest_groups() -> Groups {
    Groups::parse(
        "define hostgroup {\n\thostgroup_name\tall\n\tmembers\tweb01,db01,app01\n\t}\n\
         define servicegroup {\n\tservicegroup_name\tchecks\n\tmembers\tweb01,passive_check,db01,HTTP\n\t}\n",
    )
}

proptest! {
    #![proptest_config(ops_proptest::config_scaled(4))]

    /// Whatever the log holds: no panic, every day whole, uptime within 0..=100, incidents
    /// that end after they start.
    #[test]
    fn proptest_any_log_gives_a_sane_history(
        archive in ops_proptest::nagios::log_lines(d0() - 2 * DAY, 60),
        recent in ops_proptest::nagios::log_lines(d0() + 2 * DAY, 60),
        mutated in ops_proptest::text_mutated(vec![
            "[1796478015] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;1;down\n\
             [1796478019] SERVICE DOWNTIME ALERT: web01;HTTP;STARTED; x\n\
             [1796478031] EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;1;0;me;x\n".to_owned(),
        ]),
        clock in prop_oneof![
            (0i64..10 * DAY).prop_map(|d| time_of(d0() + d)),
            Just(UNIX_EPOCH),
            Just(time_of(LATEST_SECS)),
        ],
        with_groups in any::<bool>(),
    ) {
        let config = proptest_config();
        let groups = proptest_groups();
        let archive = LogEvents::parse(archive.iter().map(String::as_str));
        let mutated = LogEvents::parse(mutated.lines());
        let recent = LogEvents::parse(recent.iter().map(String::as_str));
        let h = history(
            &config,
            with_groups.then_some(&groups),
            &[&archive, &mutated],
            Some(&recent),
            clock,
        );
        prop_assert_eq!(h.components.len(), config.components.len());
        prop_assert!(h.sources.malformed_lines <= archive.lines() + mutated.lines() + recent.lines());
        for c in &h.components {
            prop_assert_eq!(c.uptime.len(), 5);
            for p in c.uptime.iter().map(|d| d.percent).chain([c.uptime_percent]).flatten() {
                prop_assert!((0.0..=100.0).contains(&p), "uptime {}", p);
            }
            for i in &c.incidents {
                prop_assert!(i.end.as_deref().is_none_or(|e| e >= i.start.as_str()));
            }
        }
        assert_days_whole(&h);
        let _ = serde_json::to_string(&h).unwrap();
    }
}
