//! The testkit fake, driven through the client's whole surface.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use nagios_client::testkit::{ApiVersion, FakeNagios, Fault};
use nagios_client::{
    Acknowledge, AcknowledgementType, AddComment, CancelDowntime, CancelOutcome, CommentEntryType,
    DeleteComment, Error, HostStatus, PassiveResult, PerfValue, ScheduleCheck, ScheduleDowntime,
    ScheduleHostgroupDowntime, Scope, ServiceStatus, StateType, Target,
};

async fn fake() -> FakeNagios {
    FakeNagios::builder()
        .host("web01", HostStatus::Up)
        .host("db01", HostStatus::Down)
        .service("web01", "HTTP", ServiceStatus::Ok, "HTTP OK")
        .service(
            "web01",
            "Disk",
            ServiceStatus::Critical,
            "DISK CRITICAL|used=91%;80;90",
        )
        .passive_service("web01", "passive_check")
        .service("app01", "Load", ServiceStatus::Warning, "LOAD WARNING")
        .hostgroup("all", &["web01", "db01", "app01"])
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn reads_match_the_recorded_wire_format() {
    let f = fake().await;
    let c = f.client().unwrap();
    let state = c.state().await.unwrap();
    assert_eq!(state.len(), 3);
    assert_eq!(state["db01"].current_state, HostStatus::Down);
    let disk = &state["web01"].services["Disk"];
    assert_eq!(disk.current_state, ServiceStatus::Critical);
    assert_eq!(disk.plugin_output, "DISK CRITICAL");
    assert_eq!(disk.performance_data["used"], PerfValue::Text("91%".into()));
    assert_eq!(state["web01"].services["passive_check"].last_check, None);
    assert_eq!(state["app01"].current_state, HostStatus::Up);

    let objects = c.objects().await.unwrap();
    assert_eq!(objects["web01"], vec!["Disk", "HTTP", "passive_check"]);
    let web01 = c.host("web01").await.unwrap();
    assert_eq!(web01.state_type, StateType::Hard);
    assert_eq!(web01.services.len(), 3);
    assert!(c.host("nope").await.unwrap_err().is_unknown_host());
    assert!(c.services("db01").await.unwrap_err().is_unknown_host());
    let svcs = c.services("web01").await.unwrap();
    assert_eq!(svcs["Disk"].acknowledgement_type, AcknowledgementType::None);
    assert!(
        c.log().await.unwrap()[0]
            .message
            .starts_with("Nagios 4.4.6")
    );
    let status = c.status().await.unwrap();
    assert_eq!(status.info.version, "4.4.6");
    let problems = c.problems().await.unwrap();
    assert_eq!(problems.keys().collect::<Vec<_>>(), vec!["app01", "web01"]);
    assert_eq!(problems["web01"].services.len(), 1);

    // The same raw shapes as the recorded fixtures: every value a string.
    let raw: serde_json::Value = reqwest::get(format!("{}state", f.uri()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["success"], true);
    assert_eq!(raw["content"]["db01"]["current_state"], "1");
    assert_eq!(
        raw["content"]["web01"]["services"]["HTTP"]["max_attempts"],
        "1"
    );
}

#[tokio::test]
async fn downtime_lifecycle() {
    let f = fake().await;
    let c = f.client().unwrap();
    let req = ScheduleDowntime::new(Target::host("web01"), Duration::from_secs(600))
        .services_too(true)
        .comment("maint");
    let found = c
        .schedule_downtime_and_wait(&req, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(found.len(), 4);
    let state = c.state().await.unwrap();
    assert!(state["web01"].in_downtime());
    assert!(state["web01"].services.values().all(|s| s.in_downtime()));
    let host_dt = found.iter().find(|d| d.service.is_none()).unwrap();
    assert_eq!(
        state["web01"].comments.values().next().unwrap().entry_type,
        CommentEntryType::Downtime
    );

    assert_eq!(
        c.cancel_downtime(&CancelDowntime::id(host_dt.downtime.downtime_id))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    assert!(!c.state().await.unwrap()["web01"].in_downtime());
    assert_eq!(
        c.cancel_downtime(&CancelDowntime::target(Target::host("web01")).services_too(true))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        c.cancel_downtime(&CancelDowntime::target(Target::host("web01")).services_too(true))
            .await
            .unwrap(),
        CancelOutcome::NoneFound
    );
    let e = c
        .cancel_downtime(&CancelDowntime::id(999))
        .await
        .unwrap_err();
    assert_eq!(e.api_message(), Some("Downtime ID does not seem valid."));

    c.schedule_hostgroup_downtime(&ScheduleHostgroupDowntime::new(
        "all",
        Duration::from_secs(60),
    ))
    .await
    .unwrap();
    let state = c.state().await.unwrap();
    assert!(state.values().all(|h| h.in_downtime()));
    assert!(
        f.external_commands()
            .iter()
            .any(|l| l.starts_with("SCHEDULE_HOSTGROUP_HOST_DOWNTIME;all;"))
    );
}

#[tokio::test]
async fn acknowledgements_are_cleared_like_nagios() {
    let f = fake().await;
    let c = f.client().unwrap();
    c.acknowledge_problem(
        &Acknowledge::new(Target::service("web01", "Disk"), "known").sticky(true),
    )
    .await
    .unwrap();
    c.acknowledge_problem(&Acknowledge::new(Target::host("db01"), "known"))
        .await
        .unwrap();
    // An OK service cannot be acknowledged: Nagios ignores it.
    c.acknowledge_problem(&Acknowledge::new(Target::service("web01", "HTTP"), "x"))
        .await
        .unwrap();
    let state = c.state().await.unwrap();
    assert!(state["web01"].services["Disk"].problem_has_been_acknowledged);
    assert!(state["db01"].problem_has_been_acknowledged);
    assert!(!state["web01"].services["HTTP"].problem_has_been_acknowledged);
    let svcs = c.services("web01").await.unwrap();
    assert_eq!(
        svcs["Disk"].acknowledgement_type,
        AcknowledgementType::Sticky
    );

    // Sticky survives WARNING, a normal ack does not survive a state change.
    f.set_service_state("web01", "Disk", ServiceStatus::Warning, "DISK WARNING");
    f.set_host_state("db01", HostStatus::Unreachable, "UNREACHABLE");
    let state = c.state().await.unwrap();
    assert!(state["web01"].services["Disk"].problem_has_been_acknowledged);
    assert!(!state["db01"].problem_has_been_acknowledged);
    // Recovery clears the sticky one, and its comment.
    f.set_service_state("web01", "Disk", ServiceStatus::Ok, "DISK OK");
    let disk = &c.state().await.unwrap()["web01"].services["Disk"];
    assert!(!disk.problem_has_been_acknowledged);
    assert!(disk.comments.is_empty());

    f.set_service_state("web01", "Disk", ServiceStatus::Critical, "DISK CRITICAL");
    c.acknowledge_problem(&Acknowledge::new(Target::service("web01", "Disk"), "again"))
        .await
        .unwrap();
    c.remove_acknowledgement(&Target::service("web01", "Disk"))
        .await
        .unwrap();
    assert!(!c.state().await.unwrap()["web01"].services["Disk"].problem_has_been_acknowledged);
}

#[tokio::test]
async fn flags_results_comments_checks_raw() {
    let f = fake().await;
    let c = f.client().unwrap();
    c.disable_notifications(Scope::new(Target::host("web01")).services_too(true))
        .await
        .unwrap();
    c.disable_checks(Target::service("app01", "Load"))
        .await
        .unwrap();
    let state = c.state().await.unwrap();
    assert!(!state["web01"].notifications_enabled);
    assert!(
        state["web01"]
            .services
            .values()
            .all(|s| !s.notifications_enabled)
    );
    assert!(!state["app01"].services["Load"].active_checks_enabled);
    c.enable_notifications(Target::service("web01", "HTTP"))
        .await
        .unwrap();
    c.enable_checks(Target::service("app01", "Load"))
        .await
        .unwrap();
    let state = c.state().await.unwrap();
    assert!(state["web01"].services["HTTP"].notifications_enabled);
    assert!(state["app01"].services["Load"].active_checks_enabled);

    c.submit_result(&PassiveResult::service(
        "web01",
        "passive_check",
        ServiceStatus::Critical,
        "CRITICAL - via fake|x=1;2;3 t=0.5s",
    ))
    .await
    .unwrap();
    let p = &c.state().await.unwrap()["web01"].services["passive_check"];
    assert_eq!(p.current_state, ServiceStatus::Critical);
    assert_eq!(p.plugin_output, "CRITICAL - via fake");
    assert_eq!(p.performance_data["x"], PerfValue::Number(1.0));
    assert_eq!(p.performance_data["t"], PerfValue::Text("0.5s".into()));
    assert!(p.last_check.is_some());

    c.add_comment(&AddComment::new(Target::host("db01"), "hello").persistent(true))
        .await
        .unwrap();
    let state = c.state().await.unwrap();
    let (&id, cm) = state["db01"].comments.iter().next().unwrap();
    assert_eq!(cm.entry_type, CommentEntryType::User);
    assert!(cm.persistent);
    c.delete_comment(&DeleteComment::one(Target::host("db01"), id))
        .await
        .unwrap();
    assert!(c.state().await.unwrap()["db01"].comments.is_empty());

    c.schedule_check(
        &ScheduleCheck::new(Target::host("web01"))
            .forced(true)
            .all_services(true),
    )
    .await
    .unwrap();
    c.raw_command("ENABLE_NOTIFICATIONS").await.unwrap();
    c.restart_nagios().await.unwrap();
    let cmds = f.external_commands();
    assert!(
        cmds.iter()
            .any(|l| l.starts_with("SCHEDULE_FORCED_HOST_SVC_CHECKS;web01;"))
    );
    assert!(cmds.contains(&"ENABLE_NOTIFICATIONS".to_owned()));
    assert!(cmds.contains(&"RESTART_PROGRAM".to_owned()));

    // Validation by the fake, as nagios-api does it.
    let e = c
        .schedule_downtime(&ScheduleDowntime::new(
            Target::service("web01", "nope"),
            Duration::from_secs(600),
        ))
        .await
        .unwrap_err();
    assert!(e.is_unknown_service());
    let e = c
        .submit_result(&PassiveResult::host("nope", HostStatus::Up, "x"))
        .await
        .unwrap_err();
    assert!(e.is_unknown_host());
}

#[tokio::test]
async fn version_1_2_2_lacks_the_later_endpoints() {
    let f = FakeNagios::builder()
        .host("web01", HostStatus::Up)
        .version(ApiVersion::V1_2_2)
        .start()
        .await
        .unwrap();
    let c = f.client().unwrap();
    assert!(c.status().await.unwrap_err().is_unsupported_endpoint());
    assert!(c.problems().await.unwrap_err().is_unsupported_endpoint());
    assert!(
        c.enable_checks(Target::host("web01"))
            .await
            .unwrap_err()
            .is_unsupported_endpoint()
    );
    let e = c
        .schedule_downtime(&ScheduleDowntime::new(
            Target::host("web01"),
            Duration::from_secs(30),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.api_message(),
        Some("Downtime must be between 60 seconds and a week.")
    );
}

#[tokio::test]
async fn update_delay_and_request_log() {
    let f = FakeNagios::builder()
        .host("db01", HostStatus::Down)
        .update_delay(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let c = f.client().unwrap();
    let start = Instant::now();
    let found = c
        .schedule_downtime_and_wait(
            &ScheduleDowntime::new(Target::host("db01"), Duration::from_secs(600)),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(start.elapsed() >= Duration::from_millis(300));
    // Right after scheduling, nagios-api does not know the id yet.
    let req =
        ScheduleDowntime::new(Target::host("db01"), Duration::from_secs(600)).comment("second");
    c.schedule_downtime(&req).await.unwrap();
    let e = c.cancel_downtime(&CancelDowntime::id(2)).await.unwrap_err();
    assert_eq!(e.api_message(), Some("Downtime ID does not seem valid."));
    f.publish_now();
    c.cancel_downtime(&CancelDowntime::id(2)).await.unwrap();

    let log = f.requests();
    let posts: Vec<_> = log.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts[0].path, "/schedule_downtime");
    assert_eq!(posts[0].body.as_ref().unwrap()["host"], "db01");
    assert_eq!(posts.last().unwrap().path, "/cancel_downtime/2");
    f.clear_requests();
    assert!(f.requests().is_empty());
}

#[tokio::test]
async fn fault_injection() {
    let f = fake().await;
    let c = f.client().unwrap();

    // 429 with Retry-After twice, then fine: the client retries.
    f.inject(
        Fault::Status {
            status: 429,
            retry_after: Some(0),
        },
        Some("/state"),
        2,
    );
    c.state().await.unwrap();
    assert_eq!(f.requests().len(), 3);

    // 503 on a non-idempotent command: not retried, not applied.
    f.clear_requests();
    f.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        Some("/add_comment"),
        1,
    );
    let e = c
        .add_comment(&AddComment::new(Target::host("db01"), "x"))
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(f.requests().len(), 1);
    assert!(c.state().await.unwrap()["db01"].comments.is_empty());

    // 503 on an idempotent one: retried.
    f.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        None,
        1,
    );
    c.disable_notifications(Target::host("db01")).await.unwrap();

    // A dropped connection surfaces as a transport error.
    f.inject(Fault::DropConnection, Some("/objects"), 1);
    let e = c.objects().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");

    // An injected API error.
    f.inject(
        Fault::ApiError("Failed sending command to Nagios.".into()),
        None,
        1,
    );
    let e = c
        .submit_result(&PassiveResult::host("db01", HostStatus::Down, "x"))
        .await
        .unwrap_err();
    assert_eq!(e.api_message(), Some("Failed sending command to Nagios."));

    // Latency beyond the client's timeout.
    // 30 s against 200 ms: the timeout fires first however loaded the machine is.
    let slow = nagios_client::Client::builder(f.uri())
        .timeout(Duration::from_millis(200))
        .retry(nagios_client::RetryConfig::disabled())
        .build()
        .unwrap();
    f.inject(Fault::Latency(Duration::from_secs(30)), None, 1);
    let e = slow.objects().await.unwrap_err();
    assert!(matches!(&e, Error::Transport(t) if t.is_timeout()), "{e:?}");
    f.clear_faults();
    // Served again once cleared (by a client whose timeout a loaded machine cannot hit).
    f.client().unwrap().objects().await.unwrap();
}

#[tokio::test]
async fn many_fakes_in_parallel_start_fast() {
    let start = Instant::now();
    let fakes = futures_join(10).await;
    // How fast is for benchmarks; here only that they run side by side on distinct ports.
    eprintln!("10 fakes started in {:?}", start.elapsed());
    let mut ports: Vec<_> = fakes.iter().map(|f| f.addr().port()).collect();
    ports.dedup();
    assert_eq!(ports.len(), 10);
    for f in &fakes {
        assert_eq!(f.client().unwrap().objects().await.unwrap().len(), 1);
    }
}

async fn futures_join(n: usize) -> Vec<FakeNagios> {
    let mut handles = Vec::new();
    for _ in 0..n {
        handles.push(tokio::spawn(
            FakeNagios::builder().host("h", HostStatus::Up).start(),
        ));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}

/// Same keys as the responses recorded from the real nagios-api.
#[tokio::test]
async fn fake_shapes_match_the_recordings() {
    use serde_json::Value;
    use std::collections::BTreeSet;
    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }
    let recorded: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state_after.json"
    )))
    .unwrap();
    let rec = &recorded["content"];

    let f = fake().await;
    let c = f.client().unwrap();
    c.schedule_downtime(&ScheduleDowntime::new(
        Target::service("web01", "Disk"),
        Duration::from_secs(600),
    ))
    .await
    .unwrap();
    c.add_comment(&AddComment::new(Target::host("web01"), "note"))
        .await
        .unwrap();
    let get = |p: &'static str| {
        let url = format!("{}{p}", f.uri());
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let fake_state = get("state").await;
    let fs = &fake_state["content"];
    assert_eq!(keys(&fs["web01"]), keys(&rec["web01"]), "host keys");
    assert_eq!(
        keys(&fs["web01"]["services"]["Disk"]),
        keys(&rec["web01"]["services"]["Disk"]),
        "service keys"
    );
    let dt = fs["web01"]["services"]["Disk"]["downtimes"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(
        keys(dt),
        keys(&rec["db01"]["downtimes"]["1"]),
        "downtime keys"
    );
    let cm = fs["web01"]["comments"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(
        keys(cm),
        keys(&rec["web01"]["comments"]["8"]),
        "comment keys"
    );

    // /host and /service carry every field the client models.
    let recorded_host: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/host_web01.json"
    )))
    .unwrap();
    let fake_host = get("host/web01").await;
    let missing: Vec<_> = keys(&recorded_host["content"])
        .difference(&keys(&fake_host["content"]))
        .cloned()
        .collect();
    // The fake leaves out fields nobody models (event handler ids, …) but
    // keeps every field `HostDetail` reads.
    for k in [
        "host_name",
        "current_state",
        "state_type",
        "has_been_checked",
        "plugin_output",
        "acknowledgement_type",
        "scheduled_downtime_depth",
        "comment",
        "downtime",
        "services",
    ] {
        assert!(!missing.contains(&k.to_owned()), "fake /host lacks {k}");
    }
}
