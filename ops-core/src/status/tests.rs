use super::*;
use crate::status::history;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_611_171)
}

fn cfg(components: &[(&str, &[&str])]) -> StatusConfig {
    StatusConfig {
        page_name: "Acme".into(),
        stale_after_secs: 300,
        member_stale_after_secs: None,
        history_days: 90,
        log_archive_path: None,
        objects_cache: None,
        components: components
            .iter()
            .map(|(n, ms)| ComponentSpec {
                name: (*n).into(),
                description: None,
                members: ms.iter().map(|m| m.parse().unwrap()).collect(),
                stale_after_secs: None,
            })
            .collect(),
    }
}

/// Hosts and services without a check time are taken as checked at `t0` (the pending
/// and freshness tests build their snapshots by hand).
fn snap(hosts: &[(&str, HostHealth)]) -> Snapshot {
    Snapshot {
        data_as_of: Some(t0()),
        hosts: hosts
            .iter()
            .map(|(n, h)| {
                let mut h = h.clone();
                h.last_check.get_or_insert(t0());
                for s in h.services.values_mut() {
                    s.last_check.get_or_insert(t0());
                }
                ((*n).to_owned(), h)
            })
            .collect(),
        groups: None,
    }
}

fn host_with(services: &[(&str, ServiceHealth)]) -> HostHealth {
    let mut h = HostHealth::up();
    for (d, s) in services {
        h.services.insert((*d).into(), s.clone());
    }
    h
}

fn svc(state: ServiceState, ty: StateType, last_hard: ServiceState) -> ServiceHealth {
    ServiceHealth {
        state,
        state_type: ty,
        last_hard_state: last_hard,
        ..ServiceHealth::ok()
    }
}

fn status_of(s: &Summary, name: &str) -> ComponentStatus {
    s.components.iter().find(|c| c.name == name).unwrap().status
}

#[test]
fn all_ok_is_operational() {
    let c = cfg(&[("Web", &["web1", "web2:HTTP"])]);
    let s = snap(&[
        ("web1", host_with(&[("HTTP", ServiceHealth::ok())])),
        ("web2", host_with(&[("HTTP", ServiceHealth::ok())])),
    ]);
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Operational);
    assert_eq!(sum.status.indicator, "none");
    assert_eq!(sum.status.description, "All Systems Operational");
    assert!(sum.incidents.is_empty());
    assert!(!sum.stale);
}

#[test]
fn soft_critical_is_not_an_outage_but_hard_is() {
    let c = cfg(&[("Web", &["web1:HTTP"])]);
    let soft = snap(&[(
        "web1",
        host_with(&[(
            "HTTP",
            svc(ServiceState::Critical, StateType::Soft, ServiceState::Ok),
        )]),
    )]);
    assert_eq!(
        status_of(&summarize(&c, &soft, t0()), "Web"),
        ComponentStatus::Operational
    );
    let hard = snap(&[(
        "web1",
        host_with(&[(
            "HTTP",
            svc(
                ServiceState::Critical,
                StateType::Hard,
                ServiceState::Critical,
            ),
        )]),
    )]);
    let sum = summarize(&c, &hard, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::MajorOutage);
    assert_eq!(sum.incidents.len(), 1);
    assert_eq!(sum.incidents[0].status, "investigating");
    // A SOFT recovery (OK;SOFT after a HARD CRITICAL) keeps the HARD state.
    let soft_ok = snap(&[(
        "web1",
        host_with(&[(
            "HTTP",
            svc(ServiceState::Ok, StateType::Soft, ServiceState::Critical),
        )]),
    )]);
    assert_eq!(
        status_of(&summarize(&c, &soft_ok, t0()), "Web"),
        ComponentStatus::MajorOutage
    );
}

#[test]
fn partial_and_degraded() {
    let c = cfg(&[("Web", &["web1:HTTP", "web2:HTTP"])]);
    let crit = svc(
        ServiceState::Critical,
        StateType::Hard,
        ServiceState::Critical,
    );
    let warn = svc(
        ServiceState::Warning,
        StateType::Hard,
        ServiceState::Warning,
    );
    let s = snap(&[
        ("web1", host_with(&[("HTTP", crit)])),
        ("web2", host_with(&[("HTTP", ServiceHealth::ok())])),
    ]);
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::PartialOutage);
    assert_eq!(sum.status.indicator, "major");
    let s = snap(&[
        ("web1", host_with(&[("HTTP", warn)])),
        ("web2", host_with(&[("HTTP", ServiceHealth::ok())])),
    ]);
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::DegradedPerformance);
    assert_eq!(sum.status.indicator, "minor");
}

#[test]
fn downtime_is_maintenance_not_outage() {
    let c = cfg(&[("DB", &["db1:PostgreSQL"])]);
    let mut h = host_with(&[(
        "PostgreSQL",
        ServiceHealth {
            in_downtime: true,
            ..svc(
                ServiceState::Critical,
                StateType::Hard,
                ServiceState::Critical,
            )
        },
    )]);
    let sum = summarize(&c, &snap(&[("db1", h.clone())]), t0());
    assert_eq!(status_of(&sum, "DB"), ComponentStatus::UnderMaintenance);
    assert_eq!(sum.status.indicator, "maintenance");
    assert!(sum.incidents.is_empty());
    assert_eq!(sum.scheduled_maintenances.len(), 1);
    // Host downtime covers the host's services too.
    h.services.get_mut("PostgreSQL").unwrap().in_downtime = false;
    h.in_downtime = true;
    h.state = HostState::Down;
    h.last_hard_state = HostState::Down;
    let sum = summarize(&c, &snap(&[("db1", h)]), t0());
    assert_eq!(status_of(&sum, "DB"), ComponentStatus::UnderMaintenance);
}

#[test]
fn acknowledged_problem_is_identified() {
    let c = cfg(&[("Web", &["web1:HTTP"])]);
    let s = snap(&[(
        "web1",
        host_with(&[(
            "HTTP",
            ServiceHealth {
                acknowledged: true,
                ..svc(
                    ServiceState::Critical,
                    StateType::Hard,
                    ServiceState::Critical,
                )
            },
        )]),
    )]);
    let sum = summarize(&c, &s, t0());
    let comp = &sum.components[0];
    assert_eq!(comp.status, ComponentStatus::MajorOutage, "still broken");
    assert!(comp.identified);
    assert_eq!(sum.incidents[0].status, "identified");
    assert!(render_html(&sum, None).contains("identified"));
}

#[test]
fn down_host_rolls_up_its_services() {
    let c = cfg(&[("API", &["api1:HTTP"]), ("Hosts", &["api1"])]);
    let mut h = host_with(&[("HTTP", ServiceHealth::ok()), ("SSH", ServiceHealth::ok())]);
    h.state = HostState::Down;
    h.last_hard_state = HostState::Down;
    let sum = summarize(&c, &snap(&[("api1", h)]), t0());
    assert_eq!(status_of(&sum, "API"), ComponentStatus::MajorOutage);
    let hosts = sum.components.iter().find(|c| c.name == "Hosts").unwrap();
    assert_eq!(hosts.status, ComponentStatus::MajorOutage);
    // One problem for the host, not one per service.
    assert_eq!(hosts.problems.len(), 1);
    assert_eq!(sum.status.indicator, "critical");
}

#[test]
fn soft_down_host_does_not_roll_up() {
    let c = cfg(&[("API", &["api1:HTTP"])]);
    let mut h = host_with(&[("HTTP", ServiceHealth::ok())]);
    h.state = HostState::Down;
    h.state_type = StateType::Soft;
    let sum = summarize(&c, &snap(&[("api1", h)]), t0());
    assert_eq!(status_of(&sum, "API"), ComponentStatus::Operational);
}

#[test]
fn host_member_counts_its_services() {
    let c = cfg(&[("Web", &["web1"])]);
    let s = snap(&[(
        "web1",
        host_with(&[(
            "HTTP",
            svc(
                ServiceState::Unknown,
                StateType::Hard,
                ServiceState::Unknown,
            ),
        )]),
    )]);
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::DegradedPerformance);
}

#[test]
fn stale_data_is_never_green() {
    let c = cfg(&[("Web", &["web1"])]);
    let s = snap(&[("web1", HostHealth::up())]);
    let sum = summarize(&c, &s, t0() + Duration::from_secs(301));
    assert!(sum.stale);
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Unknown);
    assert_ne!(sum.status.indicator, "none");
    assert!(
        sum.status.description.contains("stale"),
        "{}",
        sum.status.description
    );
    assert!(
        sum.status.description.contains("5m 1s"),
        "{}",
        sum.status.description
    );
    let html = render_html(&sum, None);
    assert!(html.contains("Monitoring data is stale"));
    assert!(!html.contains("All Systems Operational"));
    // Fresh enough: not stale.
    assert!(!summarize(&c, &s, t0() + Duration::from_secs(300)).stale);
    // No time at all: stale.
    let none = Snapshot {
        data_as_of: None,
        ..s
    };
    assert!(summarize(&c, &none, t0()).stale);
}

#[test]
fn unknown_member_is_not_green() {
    let c = cfg(&[("Web", &["ghost:HTTP"])]);
    let sum = summarize(&c, &snap(&[]), t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Unknown);
    let p = &sum.components[0].problems[0];
    assert_eq!(p.severity, "unknown");
    assert!(
        p.reason.as_deref().unwrap().contains("not in Nagios"),
        "{p:?}"
    );
    // Not an incident, and the page never says all is well.
    assert!(sum.incidents.is_empty());
    assert_ne!(sum.status.indicator, "none");
    let html = render_html(&sum, None);
    assert!(html.contains("is not in Nagios"), "{html}");
}

#[test]
fn never_checked_members_are_unknown_never_operational() {
    // Right after Nagios starts: passive services and new hosts are pending
    // (`last_check` 0, read as no time), while the feed as a whole is fresh.
    let c = cfg(&[("Backups", &["backup1:nightly"]), ("Web", &["web1"])]);
    let mut web = host_with(&[("HTTP", ServiceHealth::ok())]);
    web.last_check = Some(t0());
    let mut backup = HostHealth::up();
    backup.last_check = Some(t0());
    backup
        .services
        .insert("nightly".into(), ServiceHealth::ok()); // never checked
    let s = Snapshot {
        data_as_of: Some(t0()),
        hosts: [("web1".to_owned(), web), ("backup1".to_owned(), backup)].into(),
        groups: None,
    };
    let sum = summarize(&c, &s, t0());
    assert!(!sum.stale);
    assert_eq!(status_of(&sum, "Backups"), ComponentStatus::Unknown);
    let p = &sum.components[0].problems[0];
    assert!(
        p.reason.as_deref().unwrap().contains("never checked"),
        "{p:?}"
    );
    // web1's HTTP was never checked either: the host member is unknown too.
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Unknown);
    assert_eq!(sum.status.indicator, "minor");
    assert_ne!(sum.status.description, "All Systems Operational");
}

#[test]
fn freshness_is_per_member_not_page_wide() {
    // One active check keeps the feed fresh; a passive feed that stopped 2 h ago
    // must not ride on it.
    let c = cfg(&[("Web", &["web1:HTTP"]), ("Backups", &["backup1:nightly"])]);
    let mut web = host_with(&[("HTTP", ServiceHealth::ok())]);
    web.last_check = Some(t0());
    web.services.get_mut("HTTP").unwrap().last_check = Some(t0());
    let mut backup = host_with(&[("nightly", ServiceHealth::ok())]);
    backup.last_check = Some(t0());
    backup.services.get_mut("nightly").unwrap().last_check = Some(t0() - Duration::from_secs(7200));
    let s = Snapshot {
        data_as_of: Some(t0()),
        hosts: [("web1".to_owned(), web), ("backup1".to_owned(), backup)].into(),
        groups: None,
    };
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Operational);
    assert_eq!(status_of(&sum, "Backups"), ComponentStatus::Unknown);
    let why = sum.components[1].problems[0].reason.clone().unwrap();
    assert!(
        why.contains("2h ago") && why.contains("freshness limit of 5m"),
        "{why}"
    );

    // A component whose checks run daily says so, and is then fresh.
    let mut daily = c.clone();
    daily.components[1].stale_after_secs = Some(26 * 3600);
    assert_eq!(
        status_of(&summarize(&daily, &s, t0()), "Backups"),
        ComponentStatus::Operational
    );
    // The page-wide member default applies where the component says nothing.
    let mut page = c;
    page.member_stale_after_secs = Some(3 * 3600);
    assert_eq!(
        status_of(&summarize(&page, &s, t0()), "Backups"),
        ComponentStatus::Operational
    );
}

#[test]
fn known_trouble_still_shows_beside_an_unknown_member() {
    let c = cfg(&[("Web", &["web1:HTTP", "web2:HTTP", "ghost:HTTP"])]);
    let s = snap(&[
        (
            "web1",
            host_with(&[(
                "HTTP",
                svc(
                    ServiceState::Critical,
                    StateType::Hard,
                    ServiceState::Critical,
                ),
            )]),
        ),
        ("web2", host_with(&[("HTTP", ServiceHealth::ok())])),
    ]);
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::PartialOutage);
    assert_eq!(sum.incidents.len(), 1);
    // A member in downtime is maintenance whether or not it was checked.
    let c = cfg(&[("Batch", &["batch1"])]);
    let s = Snapshot {
        data_as_of: Some(t0()),
        hosts: [(
            "batch1".to_owned(),
            HostHealth {
                in_downtime: true,
                ..HostHealth::up()
            },
        )]
        .into(),
        groups: None,
    };
    assert_eq!(
        status_of(&summarize(&c, &s, t0()), "Batch"),
        ComponentStatus::UnderMaintenance
    );
}

#[test]
fn member_parsing_and_config_validation() {
    assert_eq!(
        "web1".parse::<Member>().unwrap(),
        Member::Host("web1".into())
    );
    assert_eq!(
        "web1:HTTP load".parse::<Member>().unwrap(),
        Member::Service {
            host: "web1".into(),
            service: "HTTP load".into()
        }
    );
    assert!(":x".parse::<Member>().is_err());
    assert!("x:".parse::<Member>().is_err());
    assert!("".parse::<Member>().is_err());
    let bad: Result<StatusConfig, _> =
        serde_json::from_str(r#"{"page_name":"x","components":[{"name":"a","members":["h:"]}]}"#);
    assert!(bad.unwrap_err().to_string().contains("host:service"));
    let dup = cfg(&[("A", &["h"]), ("A", &["h"])]);
    assert!(dup.validate().unwrap_err().to_string().contains("twice"));
    let empty = cfg(&[("A", &[])]);
    assert!(
        empty
            .validate()
            .unwrap_err()
            .to_string()
            .contains("no members")
    );
    assert!(cfg(&[]).validate().is_err());
}

#[test]
fn json_is_statuspage_shaped() {
    let c = cfg(&[("Web", &["web1"])]);
    let sum = summarize(&c, &snap(&[("web1", HostHealth::up())]), t0());
    let v = serde_json::to_value(&sum).unwrap();
    assert_eq!(v["page"]["name"], "Acme");
    assert_eq!(v["components"][0]["status"], "operational");
    assert_eq!(v["components"][0]["position"], 1);
    assert_eq!(v["status"]["indicator"], "none");
    assert!(v["incidents"].is_array());
    assert!(v["scheduled_maintenances"].is_array());
    assert_eq!(v["data_as_of"], "2026-11-25T12:52:51Z");
}

#[test]
fn html_escapes_and_has_no_script() {
    let mut c = cfg(&[("<Web & co>", &["web1"])]);
    c.page_name = "Acme \"status\"".into();
    let sum = summarize(&c, &snap(&[("web1", HostHealth::up())]), t0());
    let html = render_html(&sum, Some(60));
    assert!(html.contains("&lt;Web &amp; co&gt;"));
    assert!(!html.contains("<Web"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(html.contains("name=\"viewport\""));
    assert!(html.contains("http-equiv=\"refresh\" content=\"60\""));
}

/// Issue #16: nagios-api relays whatever Nagios wrote. A `last_check` before 1970 or after
/// 9999 used to panic in the time conversion or in the RFC 3339 formatting; now such a time
/// is unknown (never "just now"), and the page renders.
#[test]
fn out_of_range_times_from_nagios_are_unknown_never_a_panic() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/nagios/recorded-nagios-api/state.json"
    ))
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let hosts = v["content"].as_object_mut().unwrap();
    let names: Vec<String> = hosts.keys().cloned().collect();
    for (i, name) in names.iter().enumerate() {
        let weird = [
            "-5",
            "253402300800",
            "-9223372036854775808",
            "9223372036854775807",
        ];
        hosts[name]["last_check"] = serde_json::json!(weird[i % weird.len()]);
    }
    let state: nagios_client::State = serde_json::from_value(v["content"].clone()).unwrap();
    let status = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/nagios/recorded-nagios-api/status.json"
    ))
    .unwrap();
    let mut status: serde_json::Value = serde_json::from_str(&status).unwrap();
    status["content"]["info"]["created"] = serde_json::json!("253402300800");
    let status: nagios_client::NagiosStatus =
        serde_json::from_value(status["content"].clone()).unwrap();
    let snap = Snapshot::from_nagios(&state, Some(&status));
    for h in snap.hosts.values() {
        assert!(h.last_check.is_none(), "{:?}", h.last_check);
    }
    // Freshness never comes from a time in year 10000 (it would keep the page fresh forever).
    assert!(
        snap.data_as_of
            .is_none_or(|t| t < UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
        "{:?}",
        snap.data_as_of
    );
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    let config = cfg(&[("All", &members)]);
    for now in [
        UNIX_EPOCH,
        t0(),
        UNIX_EPOCH + Duration::from_secs(400_000_000_000),
    ] {
        let summary = summarize(&config, &snap, now);
        let _ = render::render_html(&summary, Some(60));
        let _ = serde_json::to_string(&summary).unwrap();
    }
}

/// Issue #16: a data time far ahead of the clock (a `created` or `last_check` in year 9999
/// passes the range check) kept the page "fresh" until then. Beyond the staleness window it
/// is stale; a little ahead (clock skew) is still fresh.
#[test]
fn a_data_time_far_ahead_of_the_clock_is_stale_never_fresh() {
    let c = cfg(&[("Web", &["web1"])]);
    let mut s = snap(&[("web1", host_with(&[("HTTP", ServiceHealth::ok())]))]);
    for (ahead, stale) in [
        (Duration::from_secs(30), false),
        (Duration::from_secs(301), true),
        (Duration::from_secs(253_402_300_799 - 1_795_611_171), true),
    ] {
        s.data_as_of = Some(t0() + ahead);
        let summary = summarize(&c, &s, t0());
        assert_eq!(summary.stale, stale, "{ahead:?}");
        if stale {
            assert_eq!(status_of(&summary, "Web"), ComponentStatus::Unknown);
            assert!(
                summary.status.description.contains("in the future"),
                "{}",
                summary.status.description
            );
        }
    }
}

// ---- a page left running (Feed) ----

fn fresh_web() -> (StatusConfig, Snapshot) {
    (
        cfg(&[("Web", &["web1:HTTP"])]),
        snap(&[("web1", host_with(&[("HTTP", ServiceHealth::ok())]))]),
    )
}

#[test]
fn a_served_page_goes_stale_when_its_source_dies_never_green_forever() {
    let (c, s) = fresh_web();
    let mut feed = Feed::new(c);
    // Before any refresh: no data, stale.
    assert_eq!(feed.health(t0()).0, FeedHealth::Stale);
    feed.record_success(s, t0());
    let (h, sum) = feed.health(t0() + Duration::from_secs(10));
    assert_eq!(h, FeedHealth::Ok);
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Operational);
    assert!(sum.refresh.as_ref().unwrap().notice.is_none());

    // nagios-api dies: the refresh fails, the last page is shown with a notice.
    let err = "could not read the state from nagios-api at http://nagios:8080/: connection refused";
    feed.record_failure(err, t0() + Duration::from_secs(30));
    let (h, sum) = feed.health(t0() + Duration::from_secs(40));
    assert_eq!(h, FeedHealth::Failing);
    assert!(!sum.stale);
    let r = sum.refresh.clone().unwrap();
    assert_eq!(r.consecutive_failures, 1);
    let notice = r.notice.unwrap();
    assert!(
        notice.starts_with("Last update failed 10s ago (could not read")
            && notice.ends_with("showing data from 40s ago"),
        "{notice}"
    );
    assert!(render_html(&sum, None).contains("Last update failed 10s ago"));

    // Nothing recomputes staleness but the clock: past stale_after_secs (300) the same
    // feed, with no new event, is stale and every component unknown.
    let (h, sum) = feed.health(t0() + Duration::from_secs(301));
    assert_eq!(h, FeedHealth::Stale);
    assert!(sum.stale);
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Unknown);
    assert!(
        sum.status
            .description
            .starts_with("Monitoring data is stale")
    );

    // It comes back.
    let (_, s) = fresh_web();
    let s = Snapshot {
        data_as_of: Some(t0() + Duration::from_secs(400)),
        ..s
    };
    feed.record_success(s, t0() + Duration::from_secs(400));
    let (h, sum) = feed.health(t0() + Duration::from_secs(401));
    assert_eq!(h, FeedHealth::Ok);
    assert!(sum.refresh.unwrap().notice.is_none());
}

#[test]
fn metrics_say_status_age_and_refreshes() {
    let (c, s) = fresh_web();
    let mut feed = Feed::new(c);
    feed.record_success(s, t0());
    feed.record_failure("boom", t0() + Duration::from_secs(5));
    let m = feed.metrics(t0() + Duration::from_secs(20));
    for line in [
        "# TYPE status_page_component_status gauge",
        "status_page_component_status{component=\"web\",status=\"operational\"} 1",
        "status_page_component_status{component=\"web\",status=\"unknown\"} 0",
        "status_page_stale 0",
        "status_page_data_age_seconds 20",
        "status_page_refreshes_total 2",
        "status_page_refresh_failures_total 1",
        "status_page_consecutive_refresh_failures 1",
        "status_page_last_successful_refresh_timestamp_seconds 1795611171",
    ] {
        assert!(m.lines().any(|l| l == line), "missing `{line}` in:\n{m}");
    }
    // Stale later, and said so.
    let m = feed.metrics(t0() + Duration::from_secs(900));
    assert!(m.lines().any(|l| l == "status_page_stale 1"), "{m}");
}

/// An `objects.cache` as Nagios 4.4.6 writes it (tabs, no trailing blanks) and as later
/// versions do (a blank before each line end), with objects that are not groups around.
const OBJECTS_CACHE: &str = "\
########################################
#       NAGIOS OBJECT CACHE FILE
########################################

define timeperiod {
\ttimeperiod_name\talways
\talias\talways
\t}

define hostgroup {
\thostgroup_name\tweb
\talias\tWeb servers
\tmembers\tweb1,web2
\t}

define hostgroup {
\thostgroup_name\tempty
\talias\tnobody yet
\t}

define servicegroup { 
\tservicegroup_name\tcheckout 
\talias\tCheckout path 
\tmembers\tweb1,HTTP,db1,PostgreSQL 
\t}

define host {
\thost_name\tweb1
\tmembers\tnot,a,group
\t}
";

#[test]
fn groups_are_read_from_objects_cache() {
    let g = Groups::parse(OBJECTS_CACHE);
    assert_eq!(g.hostgroups["web"], ["web1", "web2"]);
    assert!(g.hostgroups["empty"].is_empty());
    assert_eq!(
        g.servicegroups["checkout"],
        [
            ("web1".to_owned(), "HTTP".to_owned()),
            ("db1".to_owned(), "PostgreSQL".to_owned())
        ]
    );
    assert_eq!(g.hostgroups.len(), 2);
    assert_eq!(g.unavailable, None);
    // Garbage is no group, never a panic.
    assert_eq!(
        Groups::parse("define hostgroup {\nmembers a\n}\n}\n{"),
        Groups::default()
    );
}

#[test]
fn group_members_resolve_or_are_unknown_with_the_reason() {
    assert_eq!(
        "group:web".parse::<Member>().unwrap(),
        Member::HostGroup("web".into())
    );
    assert_eq!(
        "hostgroup: web ".parse::<Member>().unwrap(),
        Member::HostGroup("web".into())
    );
    assert_eq!(
        "servicegroup:checkout".parse::<Member>().unwrap(),
        Member::ServiceGroup("checkout".into())
    );
    assert!("group:".parse::<Member>().is_err());
    assert_eq!(Member::HostGroup("web".into()).to_string(), "group:web");

    let c = cfg(&[
        ("Web", &["group:web"]),
        ("Checkout", &["servicegroup:checkout"]),
        ("Ghost", &["group:ghost"]),
        ("Empty", &["group:empty"]),
    ]);
    let crit = svc(
        ServiceState::Critical,
        StateType::Hard,
        ServiceState::Critical,
    );
    let mut s = snap(&[
        ("web1", host_with(&[("HTTP", ServiceHealth::ok())])),
        ("web2", host_with(&[("HTTP", crit)])),
        ("db1", host_with(&[("PostgreSQL", ServiceHealth::ok())])),
    ]);
    // Without objects_cache: every group member is unknown, and says what to set.
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::Unknown);
    let reason = sum.components[0].problems[0].reason.clone().unwrap();
    assert!(reason.contains("objects_cache"), "{reason}");
    assert_eq!(sum.components[0].problems[0].member, "group:web");

    s.groups = Some(Groups::parse(OBJECTS_CACHE));
    let sum = summarize(&c, &s, t0());
    assert_eq!(status_of(&sum, "Web"), ComponentStatus::PartialOutage);
    assert_eq!(sum.components[0].problems[0].member, "web2:HTTP");
    assert_eq!(status_of(&sum, "Checkout"), ComponentStatus::Operational);
    assert_eq!(status_of(&sum, "Ghost"), ComponentStatus::Unknown);
    let ghost = sum.components[2].problems[0].reason.clone().unwrap();
    assert!(ghost.contains("hostgroup `ghost` is not in"), "{ghost}");
    let empty = sum.components[3].problems[0].reason.clone().unwrap();
    assert!(empty.contains("has no members"), "{empty}");
    assert!(render_html(&sum, None).contains("hostgroup `ghost` is not in"));

    // objects.cache unreadable: the reason says so.
    s.groups = Some(Groups::unavailable(
        "objects.cache cannot be read: not found",
    ));
    let sum = summarize(&c, &s, t0());
    assert_eq!(
        sum.components[1].problems[0].reason.as_deref(),
        Some("objects.cache cannot be read: not found")
    );
}

#[test]
fn config_history_keys_and_their_limits() {
    let c: StatusConfig = toml::from_str(
        r#"
        page_name = "Acme"
        log_archive_path = "/var/log/nagios4/archives"
        objects_cache = "/var/cache/nagios4/objects.cache"
        [[components]]
        name = "Web"
        members = ["group:web"]
        "#,
    )
    .unwrap();
    assert_eq!(c.history_days, 90);
    assert_eq!(
        c.log_archive_path.as_deref(),
        Some(std::path::Path::new("/var/log/nagios4/archives"))
    );
    assert!(c.validate().is_ok());
    let too_long = StatusConfig {
        history_days: 367,
        ..c
    };
    assert!(too_long.validate().unwrap_err().to_string().contains("366"));
}

/// Three days of `nagios.log` as Nagios writes it, for the page and file tests.
fn history_lines(day0: i64) -> Vec<String> {
    [
        (0, "CURRENT SERVICE STATE: web1:HTTP;OK;HARD;1;ok"),
        (0, "CURRENT SERVICE STATE: web1;HTTP;OK;HARD;1;ok"),
        (3600, "SERVICE ALERT: web1;HTTP;CRITICAL;HARD;1;down <b>"),
        (7200, "SERVICE ALERT: web1;HTTP;OK;HARD;1;up"),
    ]
    .iter()
    .map(|(off, m)| format!("[{}] {m}", day0 + off))
    .collect()
}

#[test]
fn the_page_shows_uptime_bars_with_text_not_only_colour() {
    let c = StatusConfig {
        history_days: 45,
        ..cfg(&[("Web <1>", &["web1:HTTP"])])
    };
    let now = t0();
    let day0 = (1_795_611_171 / 86_400 - 1) * 86_400;
    let lines = history_lines(day0);
    let recent = LogEvents::parse(lines.iter().map(String::as_str));
    let mut sum = summarize(
        &c,
        &snap(&[("web1", host_with(&[("HTTP", ServiceHealth::ok())]))]),
        now,
    );
    sum.history = Some(history::history(&c, None, &[], Some(&recent), now));
    let h = render_html(&sum, None);
    assert!(!h.contains("<script"));
    assert_eq!(h.matches("<li class=\"no_data\"").count(), 43, "{h}");
    assert_eq!(h.matches("<li class=\"major_outage\"").count(), 1);
    // Status in words beside the colour: a title for hover, the same text for screen
    // readers, the period's uptime, the incidents listed.
    assert!(
        h.contains("title=\"2026-11-24: 95.83% uptime; major outage 1h\""),
        "{h}"
    );
    assert!(h.contains("<span class=\"sr\">2026-11-24: 95.83% uptime; major outage 1h</span>"));
    assert!(h.contains("1 incident in this period"));
    assert!(
        h.contains("Major outage, 2026-11-24T01:00:00Z to 2026-11-24T02:00:00Z (1h): web1:HTTP")
    );
    assert!(h.contains("Web &lt;1&gt;: uptime per day"));
    // A phone shows the newest 30 days.
    assert!(h.contains("nth-child(-n+15){display:none}"), "{h}");
    let json = serde_json::to_value(&sum).unwrap();
    let day = &json["history"]["components"][0]["uptime"][43];
    assert_eq!(day["date"], "2026-11-24");
    assert_eq!(day["major_outage_secs"], 3600);
    assert_eq!(json["history"]["sources"]["malformed_lines"], 1);
}

#[test]
fn archived_files_are_read_once_and_then_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let c = StatusConfig {
        history_days: 3,
        log_archive_path: Some(dir.path().to_owned()),
        ..cfg(&[("Web", &["web1:HTTP"])])
    };
    let now = t0(); // 2025-11-25T…
    let today = 1_795_611_171 / 86_400;
    let name = |day: i64| {
        let (y, m, d) = history::civil_from_days(day);
        format!("nagios-{m:02}-{d:02}-{y}-00.log")
    };
    // Two days in the period, one long before it (never read), one not a Nagios archive.
    for day in [today - 1, today] {
        std::fs::write(
            dir.path().join(name(day)),
            history_lines((day - 1) * 86_400).join("\n"),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join(name(today - 40)), "[1] garbage\n").unwrap();
    std::fs::write(dir.path().join("nagios.log.gz"), "not read").unwrap();

    let mut files = NagiosFiles::default();
    let recent = LogEvents::default();
    let h = files.history(&c, None, Ok(&recent), now).unwrap();
    let s = &h.sources;
    assert_eq!(
        (
            s.archive_files,
            s.archive_files_read,
            s.archive_files_cached
        ),
        (2, 2, 0)
    );
    assert_eq!(s.malformed_lines, 2);
    assert_eq!(s.archive_lines, 8);
    assert_eq!(h.components[0].incidents_total, 2);

    // Again: nothing read.
    let again = files.history(&c, None, Ok(&recent), now).unwrap();
    assert_eq!(
        (
            again.sources.archive_files_read,
            again.sources.archive_files_cached
        ),
        (0, 2)
    );
    assert_eq!(again.components, h.components);

    // A file that changed (size) is read again; a file removed is forgotten.
    let mut lines = history_lines((today - 1) * 86_400);
    lines.push(format!(
        "[{}] Caught SIGTERM, shutting down...",
        today * 86_400 - 60
    ));
    std::fs::write(dir.path().join(name(today)), lines.join("\n")).unwrap();
    std::fs::remove_file(dir.path().join(name(today - 1))).unwrap();
    let h = files.history(&c, None, Ok(&recent), now).unwrap();
    assert_eq!(
        (
            h.sources.archive_files,
            h.sources.archive_files_read,
            h.sources.archive_files_cached
        ),
        (1, 1, 0)
    );

    // /log that failed, an archive folder that is not there: said, not fatal.
    let gone = StatusConfig {
        log_archive_path: Some(dir.path().join("missing")),
        ..c.clone()
    };
    let h = files
        .history(&gone, None, Err("nagios-api /log: refused".into()), now)
        .unwrap();
    assert!(h.sources.archive_error.unwrap().contains("cannot be read"));
    assert_eq!(
        h.sources.recent_log_error.as_deref(),
        Some("nagios-api /log: refused")
    );
    assert!(h.components[0].uptime.iter().all(|d| d.percent.is_none()));
    // history_days = 0: no history.
    let off = StatusConfig {
        history_days: 0,
        ..c
    };
    assert!(files.history(&off, None, Ok(&recent), now).is_none());
}

#[test]
fn objects_cache_is_read_again_only_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("objects.cache");
    let c = StatusConfig {
        objects_cache: Some(path.clone()),
        ..cfg(&[("Web", &["group:web"])])
    };
    let mut files = NagiosFiles::default();
    let g = files.groups(&c).unwrap();
    assert!(g.unavailable.unwrap().contains("cannot be read"));
    std::fs::write(&path, OBJECTS_CACHE).unwrap();
    assert_eq!(
        files.groups(&c).unwrap().hostgroups["web"],
        ["web1", "web2"]
    );
    std::fs::write(&path, OBJECTS_CACHE.replace("web1,web2", "web1,web2,web3")).unwrap();
    assert_eq!(files.groups(&c).unwrap().hostgroups["web"].len(), 3);
    assert!(files.groups(&cfg(&[("Web", &["web1"])])).is_none());
}
