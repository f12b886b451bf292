//! Command endpoints: request bodies as nagios-api expects them, answers
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! recorded from a real nagios-api.

use crate::common;

use std::time::Duration;

use common::{ok_json, setup};
use nagios_client::{
    Acknowledge, AddComment, CancelDowntime, CancelOutcome, DeleteComment, Error, HostStatus,
    PassiveResult, ScheduleCheck, ScheduleDowntime, ScheduleHostgroupDowntime, Scope,
    ServiceStatus, Target, Timestamp,
};
use serde_json::json;
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer};

async fn expect_post(server: &MockServer, p: &str, body: serde_json::Value, answer: &str) {
    Mock::given(method("POST"))
        .and(path(p))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(ok_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn schedule_downtime_host_service_and_services_too() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/schedule_downtime",
        json!({"host": "db01", "duration": 600, "author": "api-test", "comment": "maint"}),
        fixture!("sched_dt_host.json"),
    )
    .await;
    expect_post(
        &server,
        "/schedule_downtime",
        json!({"host": "web01", "service": "HTTP", "duration": 600}),
        fixture!("sched_dt_svc.json"),
    )
    .await;
    expect_post(
        &server,
        "/schedule_downtime",
        json!({"host": "web01", "duration": 600, "services_too": 1,
               "start_time": 1795611172, "end_time": 1795611772, "fixed": 0}),
        fixture!("sched_dt_hosttoo.json"),
    )
    .await;
    let ten = Duration::from_secs(600);
    client
        .schedule_downtime(
            &ScheduleDowntime::new(Target::host("db01"), ten)
                .author("api-test")
                .comment("maint"),
        )
        .await
        .unwrap();
    client
        .schedule_downtime(&ScheduleDowntime::new(
            Target::service("web01", "HTTP"),
            ten,
        ))
        .await
        .unwrap();
    client
        .schedule_downtime(
            &ScheduleDowntime::new(Target::host("web01"), ten)
                .services_too(true)
                .start_at(Timestamp(1795611172))
                .end_at(Timestamp(1795611772))
                .flexible(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn schedule_downtime_errors() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/schedule_downtime"))
        .respond_with(ok_json(fixture!("sched_dt_unknown.json")))
        .expect(2)
        .mount(&server)
        .await;
    let ten = Duration::from_secs(600);
    let e = client
        .schedule_downtime(&ScheduleDowntime::new(Target::host("nope"), ten))
        .await
        .unwrap_err();
    assert!(e.is_unknown_host() && !e.is_unknown_service(), "{e:?}");
    let e = client
        .schedule_downtime(&ScheduleDowntime::new(
            Target::service("web01", "nope"),
            ten,
        ))
        .await
        .unwrap_err();
    assert!(e.is_unknown_service() && !e.is_unknown_host(), "{e:?}");
}

#[tokio::test]
async fn flexible_downtime_with_bad_duration_is_an_api_error() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/schedule_downtime"))
        .respond_with(ok_json(fixture!("sched_dt_flex_bad.json")))
        .expect(1)
        .mount(&server)
        .await;
    let e = client
        .schedule_downtime(&ScheduleDowntime::new(Target::host("web01"), Duration::ZERO).flexible())
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Api { message, .. } if message.starts_with("Flexible dowtime")));
}

#[tokio::test]
async fn schedule_downtime_and_wait_finds_the_new_ids() {
    let (server, client) = setup().await;
    // Before: no downtimes. The first poll still shows none, then it appears.
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state.json")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state_after.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/schedule_downtime"))
        .and(body_partial_json(
            json!({"host": "web01", "services_too": 1}),
        ))
        .respond_with(ok_json(fixture!("sched_dt_hosttoo.json")))
        .expect(1)
        .mount(&server)
        .await;
    let req =
        ScheduleDowntime::new(Target::host("web01"), Duration::from_secs(600)).services_too(true);
    let found = client
        .schedule_downtime_and_wait(&req, Duration::from_secs(5))
        .await
        .unwrap();
    let ids: Vec<_> = found
        .iter()
        .map(|f| (f.downtime.downtime_id, f.service.as_deref()))
        .collect();
    // Host downtime 3 and one per service (the HTTP/2 one came from the
    // separate service request in the recording: it matches too).
    assert_eq!(
        ids,
        vec![
            (2, Some("HTTP")),
            (3, None),
            (4, Some("passive_check")),
            (5, Some("HTTP")),
            (6, Some("Disk")),
        ]
    );
}

#[tokio::test]
async fn schedule_downtime_and_wait_times_out() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/schedule_downtime"))
        .respond_with(ok_json(fixture!("sched_dt_host.json")))
        .expect(1)
        .mount(&server)
        .await;
    let req = ScheduleDowntime::new(Target::host("db01"), Duration::from_secs(600));
    let e = client
        .schedule_downtime_and_wait(&req, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WaitTimeout { .. }), "{e:?}");
}

#[tokio::test]
async fn hostgroup_downtime() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/schedule_hostgroup_downtime",
        json!({"hostgroup": "nogroup", "duration": 60}),
        fixture!("hostgroup_dt.json"),
    )
    .await;
    client
        .schedule_hostgroup_downtime(&ScheduleHostgroupDowntime::new(
            "nogroup",
            Duration::from_secs(60),
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn cancel_downtime_by_id_and_by_host() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/cancel_downtime/1",
        json!({}),
        fixture!("cancel_dt_byid.json"),
    )
    .await;
    expect_post(
        &server,
        "/cancel_downtime",
        json!({"host": "web01", "services_too": 1}),
        fixture!("cancel_dt_byhost.json"),
    )
    .await;
    expect_post(
        &server,
        "/cancel_downtime",
        json!({"host": "db01", "service": "x"}),
        r#"{"content": "none found", "success": true}"#,
    )
    .await;
    expect_post(
        &server,
        "/cancel_downtime/99999",
        json!({}),
        fixture!("cancel_dt_badid.json"),
    )
    .await;
    assert_eq!(
        client
            .cancel_downtime(&CancelDowntime::id(1))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        client
            .cancel_downtime(&CancelDowntime::target(Target::host("web01")).services_too(true))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        client
            .cancel_downtime(&CancelDowntime::target(Target::service("db01", "x")))
            .await
            .unwrap(),
        CancelOutcome::NoneFound
    );
    let e = client
        .cancel_downtime(&CancelDowntime::id(99999))
        .await
        .unwrap_err();
    assert_eq!(e.api_message(), Some("Downtime ID does not seem valid."));
}

#[tokio::test]
async fn acknowledge_and_remove() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/acknowledge_problem",
        json!({"host": "web01", "service": "Disk", "comment": "known", "sticky": 2, "notify": 0}),
        fixture!("ack_svc.json"),
    )
    .await;
    expect_post(
        &server,
        "/acknowledge_problem",
        json!({"host": "db01", "comment": "down", "sticky": 1, "persistent": 1,
               "author": "ops", "expire": 1795700000}),
        fixture!("ack_svc.json"),
    )
    .await;
    expect_post(
        &server,
        "/remove_acknowledgement",
        json!({"host": "web01", "service": "Disk"}),
        fixture!("remove_ack.json"),
    )
    .await;
    client
        .acknowledge_problem(
            &Acknowledge::new(Target::service("web01", "Disk"), "known")
                .sticky(true)
                .notify(false),
        )
        .await
        .unwrap();
    client
        .acknowledge_problem(
            &Acknowledge::new(Target::host("db01"), "down")
                .persistent(true)
                .author("ops")
                .expire_at(Timestamp(1795700000)),
        )
        .await
        .unwrap();
    client
        .remove_acknowledgement(&Target::service("web01", "Disk"))
        .await
        .unwrap();
}

#[tokio::test]
async fn missing_required_parameter_message_is_kept() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/acknowledge_problem"))
        .respond_with(ok_json(fixture!("ack_nocomment.json")))
        .expect(1)
        .mount(&server)
        .await;
    let e = client
        .acknowledge_problem(&Acknowledge::new(Target::host("web01"), "x"))
        .await
        .unwrap_err();
    assert_eq!(
        e.api_message(),
        Some("Required parameter \"comment\" not found.")
    );
}

#[tokio::test]
async fn notifications_and_checks() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/disable_notifications",
        json!({"host": "web01", "service": "HTTP"}),
        fixture!("disable_notif.json"),
    )
    .await;
    expect_post(
        &server,
        "/enable_notifications",
        json!({"host": "web01", "service": "HTTP"}),
        fixture!("enable_notif.json"),
    )
    .await;
    expect_post(
        &server,
        "/disable_checks",
        json!({"host": "db01", "services_too": 1}),
        fixture!("disable_checks.json"),
    )
    .await;
    expect_post(
        &server,
        "/enable_checks",
        json!({"host": "db01"}),
        fixture!("enable_checks.json"),
    )
    .await;
    client
        .disable_notifications(Target::service("web01", "HTTP"))
        .await
        .unwrap();
    client
        .enable_notifications(Target::service("web01", "HTTP"))
        .await
        .unwrap();
    client
        .disable_checks(Scope::new(Target::host("db01")).services_too(true))
        .await
        .unwrap();
    client.enable_checks(Target::host("db01")).await.unwrap();
}

#[tokio::test]
async fn passive_results() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/submit_result",
        json!({"host": "web01", "service": "passive_check", "status": 2,
               "output": "CRITICAL - via nagios-api|x=1;2;3"}),
        fixture!("submit_result.json"),
    )
    .await;
    expect_post(
        &server,
        "/submit_result",
        json!({"host": "db01", "status": 1, "output": "down"}),
        fixture!("submit_result.json"),
    )
    .await;
    client
        .submit_result(&PassiveResult::service(
            "web01",
            "passive_check",
            ServiceStatus::Critical,
            "CRITICAL - via nagios-api|x=1;2;3",
        ))
        .await
        .unwrap();
    client
        .submit_result(&PassiveResult::host("db01", HostStatus::Down, "down"))
        .await
        .unwrap();
}

#[tokio::test]
async fn comments() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/add_comment",
        json!({"host": "web01", "comment": "hello", "persistent": 1, "author": "api-test"}),
        fixture!("add_comment.json"),
    )
    .await;
    expect_post(
        &server,
        "/delete_comment",
        json!({"host": "web01", "comment_id": -1}),
        fixture!("delete_comment.json"),
    )
    .await;
    expect_post(
        &server,
        "/delete_comment",
        json!({"host": "web01", "service": "Disk", "comment_id": 7}),
        fixture!("delete_comment.json"),
    )
    .await;
    client
        .add_comment(
            &AddComment::new(Target::host("web01"), "hello")
                .persistent(true)
                .author("api-test"),
        )
        .await
        .unwrap();
    client
        .delete_comment(&DeleteComment::all(Target::host("web01")))
        .await
        .unwrap();
    client
        .delete_comment(&DeleteComment::one(Target::service("web01", "Disk"), 7))
        .await
        .unwrap();
}

#[tokio::test]
async fn schedule_check_raw_command_restart() {
    let (server, client) = setup().await;
    expect_post(
        &server,
        "/schedule_check",
        json!({"host": "web01", "service": "HTTP", "forced": 1}),
        fixture!("schedule_check.json"),
    )
    .await;
    expect_post(
        &server,
        "/schedule_check",
        json!({"host": "web01", "check_time": 1795611200, "all_services": 1}),
        fixture!("schedule_check.json"),
    )
    .await;
    expect_post(
        &server,
        "/raw_command",
        json!({"command": "ENABLE_NOTIFICATIONS"}),
        fixture!("raw_command.json"),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/restart_nagios"))
        .respond_with(ok_json(
            r#"{"content": "Restart successful", "success": true}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    client
        .schedule_check(&ScheduleCheck::new(Target::service("web01", "HTTP")).forced(true))
        .await
        .unwrap();
    client
        .schedule_check(
            &ScheduleCheck::new(Target::host("web01"))
                .at(Timestamp(1795611200))
                .all_services(true),
        )
        .await
        .unwrap();
    client.raw_command("ENABLE_NOTIFICATIONS").await.unwrap();
    client.restart_nagios().await.unwrap();
}

#[tokio::test]
async fn invalid_fields_never_reach_the_server() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(fixture!("add_comment.json")))
        .expect(0)
        .mount(&server)
        .await;
    let e = client
        .add_comment(&AddComment::new(
            Target::host("web01"),
            "x\n[1] SHUTDOWN_PROGRAM",
        ))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidRequest {
            field: "comment",
            ..
        }
    ));
    let e = client
        .raw_command("ENABLE_NOTIFICATIONS\nSHUTDOWN_PROGRAM")
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidRequest {
            field: "command",
            ..
        }
    ));
    let e = client
        .disable_notifications(Target::host("web01;x"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRequest { field: "host", .. }));
    // nagios-api 1.2.2 does not check for a comment and would send "None".
    let e = client
        .acknowledge_problem(&Acknowledge::new(Target::host("web01"), " "))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidRequest {
            field: "comment",
            ..
        }
    ));
}

#[tokio::test]
async fn commands_disabled_and_bad_body_messages() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/submit_result"))
        .respond_with(ok_json(
            r#"{"content": "External commands not enabled on nagios-api.", "success": false}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/add_comment"))
        .respond_with(ok_json(fixture!("post_no_ctype.json")))
        .expect(1)
        .mount(&server)
        .await;
    let e = client
        .submit_result(&PassiveResult::host("db01", HostStatus::Up, "ok"))
        .await
        .unwrap_err();
    assert!(e.is_commands_disabled());
    let e = client
        .add_comment(&AddComment::new(Target::host("db01"), "c"))
        .await
        .unwrap_err();
    assert!(e.api_message().unwrap().starts_with("No JSON detected"));
}
