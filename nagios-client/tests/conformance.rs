//! Conformance against the real thing: a throwaway Nagios 4 and the real
//! nagios-api 1.2.2 (PyPI, Python 2.7) on loopback, started by
//! `scripts/nagios-harness/start.sh`. Every 1.2.2 endpoint is driven through
//! the client and its effect checked in Nagios's own `status.dat` (or its
//! log, for commands with no lasting state).
//!
//! Run with `scripts/ci/nagios.sh` (installs everything, then runs
//! `cargo test -p nagios-client --test conformance -- --ignored`). The harness is
//! `ops_proptest::nagios`, shared with ops-core's status suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nagios_client::{
    Acknowledge, AcknowledgementType, AddComment, CancelDowntime, CancelOutcome, Client,
    CommentEntryType, DeleteComment, Error, HostStatus, PassiveResult, PerfValue, RetryConfig,
    ScheduleCheck, ScheduleDowntime, ScheduleHostgroupDowntime, Scope, ServiceStatus, State,
    StateType, Target,
};
use ops_proptest::nagios::Harness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// This crate's client for a harness: no retries, a short poll interval.
fn client(h: &Harness) -> Client {
    Client::builder(h.url())
        .retry(RetryConfig::disabled())
        .timeout(Duration::from_secs(10))
        .poll_interval(Duration::from_millis(250))
        .build()
        .unwrap()
}

fn start() -> Harness {
    Harness::start("nagios-conformance-")
}

type Block = (String, HashMap<String, String>);

/// status.dat: `name {` … `\tkey=value` … `\t}` blocks.
fn parse_status(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_suffix('{') {
            cur = Some((name.trim().to_owned(), HashMap::new()));
        } else if t == "}" {
            out.extend(cur.take());
        } else if let (Some((_, map)), Some((k, v))) =
            (cur.as_mut(), line.trim_start().split_once('='))
        {
            map.insert(k.to_owned(), v.to_owned());
        }
    }
    out
}

fn find<'a>(
    blocks: &'a [Block],
    kind: &str,
    host: &str,
    svc: Option<&str>,
) -> Option<&'a HashMap<String, String>> {
    blocks.iter().find_map(|(k, m)| {
        (k == kind
            && m.get("host_name").map(String::as_str) == Some(host)
            && m.get("service_description").map(String::as_str) == svc)
            .then_some(m)
    })
}

fn field<'a>(
    blocks: &'a [Block],
    kind: &str,
    host: &str,
    svc: Option<&str>,
    key: &str,
) -> Option<&'a str> {
    find(blocks, kind, host, svc)
        .and_then(|m| m.get(key))
        .map(String::as_str)
}

const WAIT: Duration = Duration::from_secs(20);

/// Poll status.dat until `cond` holds.
async fn until_status(h: &Harness, what: &str, cond: impl Fn(&[Block]) -> bool) {
    let start = Instant::now();
    loop {
        let blocks = parse_status(&h.status_dat());
        if cond(&blocks) {
            println!("status.dat: {what} after {:?}", start.elapsed());
            return;
        }
        assert!(start.elapsed() < WAIT, "status.dat never showed: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Poll nagios.log until it contains `needle`.
async fn until_log(h: &Harness, needle: &str) {
    let start = Instant::now();
    while !h.nagios_log().contains(needle) {
        assert!(start.elapsed() < WAIT, "nagios.log never showed: {needle}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Poll `/state` through the client until `cond` holds.
async fn until_state(c: &Client, what: &str, cond: impl Fn(&State) -> bool) -> State {
    let start = Instant::now();
    loop {
        let s = c.state().await.unwrap();
        if cond(&s) {
            println!("/state: {what} after {:?}", start.elapsed());
            return s;
        }
        assert!(start.elapsed() < WAIT, "/state never showed: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn unsupported(e: &Error) {
    assert!(
        e.is_unsupported_endpoint(),
        "expected 'not supported' from 1.2.2, got {e:?}"
    );
}

#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2; run by scripts/ci/nagios.sh"]
async fn reads_against_real_nagios_api() {
    let h = start();
    let c = client(&h);

    // /state once every object has been checked.
    let state = until_state(&c, "all checked", |s| {
        s.get("web01").is_some_and(|w| {
            w.services
                .get("HTTP")
                .is_some_and(|x| x.last_check.is_some())
        }) && s
            .get("app01")
            .is_some_and(|a| a.services.values().all(|x| x.last_check.is_some()))
    })
    .await;
    assert_eq!(state.len(), 3);
    assert_eq!(state["web01"].current_state, HostStatus::Up);
    assert_eq!(state["db01"].current_state, HostStatus::Down);
    let web = &state["web01"].services;
    assert_eq!(web["HTTP"].current_state, ServiceStatus::Ok);
    assert_eq!(web["Disk"].current_state, ServiceStatus::Critical);
    assert_eq!(
        state["app01"].services["Load"].current_state,
        ServiceStatus::Warning
    );
    assert!(!web["passive_check"].active_checks_enabled);

    // /objects
    let objects = c.objects().await.unwrap();
    assert_eq!(objects["web01"], vec!["Disk", "HTTP", "passive_check"]);
    assert_eq!(objects["app01"], vec!["Load", "Procs"]);
    assert!(objects["db01"].is_empty());

    // /host
    let web01 = c.host("web01").await.unwrap();
    assert_eq!(web01.host_name, "web01");
    assert_eq!(web01.state_type, StateType::Hard);
    assert!(web01.has_been_checked);
    assert_eq!(web01.services, vec!["Disk", "HTTP", "passive_check"]);
    let db01 = c.host("db01").await.unwrap();
    assert_eq!(db01.current_state, HostStatus::Down);
    assert!(db01.services.is_empty());
    assert!(c.host("nope").await.unwrap_err().is_unknown_host());

    // /service
    let svcs = c.services("web01").await.unwrap();
    assert_eq!(svcs.len(), 3);
    assert_eq!(svcs["Disk"].current_state, ServiceStatus::Critical);
    assert_eq!(
        svcs["Disk"].plugin_output,
        "CRITICAL: DISK CRITICAL - dummy"
    );
    // A host without services answers "Unknown hostname." too.
    assert!(c.services("db01").await.unwrap_err().is_unknown_host());
    assert!(c.services("nope").await.unwrap_err().is_unknown_host());

    // /log
    let log = c.log().await.unwrap();
    assert!(
        log.iter()
            .any(|l| l.message.starts_with("Nagios 4.") && l.timestamp.is_some())
    );

    // Endpoints added after 1.2.2 are reported as such.
    unsupported(&c.status().await.unwrap_err());
    unsupported(&c.problems().await.unwrap_err());
    unsupported(&c.disable_checks(Target::host("db01")).await.unwrap_err());
    unsupported(&c.enable_checks(Target::host("db01")).await.unwrap_err());
    unsupported(&c.raw_command("ENABLE_NOTIFICATIONS").await.unwrap_err());
    unsupported(
        &c.schedule_hostgroup_downtime(&ScheduleHostgroupDowntime::new(
            "test-hosts",
            Duration::from_secs(600),
        ))
        .await
        .unwrap_err(),
    );
    unsupported(&c.restart_nagios().await.unwrap_err());
}

/// The wire quirks, seen on a raw socket: the `200 200 OK` status line and a
/// gzip body when asked for.
#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2; run by scripts/ci/nagios.sh"]
async fn wire_quirks_of_the_real_server() {
    let h = start();
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", h.port()))
        .await
        .unwrap();
    sock.write_all(
        b"GET /objects HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).await.unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200 200 ok\r\n"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    // And the client (which asks for gzip) reads the same endpoint fine.
    assert_eq!(client(&h).objects().await.unwrap().len(), 3);
}

#[tokio::test]
#[ignore = "needs Nagios 4 + nagios-api 1.2.2; run by scripts/ci/nagios.sh"]
async fn every_command_endpoint_changes_nagios() {
    let h = start();
    let c = client(&h);
    until_state(&c, "web01/Disk checked", |s| {
        s.get("web01")
            .is_some_and(|w| w.services["Disk"].current_state == ServiceStatus::Critical)
    })
    .await;
    let ten_min = Duration::from_secs(600);

    // ---- schedule_downtime: host, and the new id from /state ----------
    let req = ScheduleDowntime::new(Target::host("db01"), ten_min)
        .author("conformance")
        .comment("db01 maintenance");
    let found = c.schedule_downtime_and_wait(&req, WAIT).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let db01_dt = found[0].downtime.downtime_id;
    assert_eq!(found[0].host, "db01");
    assert_eq!(found[0].service, None);
    assert!(found[0].downtime.fixed);
    assert_eq!(
        found[0].downtime.end_time.0 - found[0].downtime.start_time.0,
        600
    );
    let id = db01_dt.to_string();
    until_status(&h, "db01 in downtime", |b| {
        field(b, "hoststatus", "db01", None, "scheduled_downtime_depth") == Some("1")
            && field(b, "hostdowntime", "db01", None, "downtime_id") == Some(id.as_str())
            && field(b, "hostdowntime", "db01", None, "author") == Some("conformance")
    })
    .await;

    // ---- schedule_downtime: service, and host + services_too -----------
    let found = c
        .schedule_downtime_and_wait(
            &ScheduleDowntime::new(Target::service("web01", "HTTP"), ten_min)
                .comment("http window"),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].service.as_deref(), Some("HTTP"));
    let found = c
        .schedule_downtime_and_wait(
            &ScheduleDowntime::new(Target::host("app01"), ten_min)
                .services_too(true)
                .comment("app01 all"),
            WAIT,
        )
        .await
        .unwrap();
    let mut where_: Vec<_> = found.iter().map(|f| f.service.clone()).collect();
    where_.sort();
    assert_eq!(
        where_,
        vec![None, Some("Load".into()), Some("Procs".into())]
    );
    until_status(&h, "HTTP and app01 with its services in downtime", |b| {
        field(
            b,
            "servicestatus",
            "web01",
            Some("HTTP"),
            "scheduled_downtime_depth",
        ) == Some("1")
            && field(b, "hoststatus", "app01", None, "scheduled_downtime_depth") == Some("1")
            && field(
                b,
                "servicestatus",
                "app01",
                Some("Load"),
                "scheduled_downtime_depth",
            ) == Some("1")
            && field(
                b,
                "servicestatus",
                "app01",
                Some("Procs"),
                "scheduled_downtime_depth",
            ) == Some("1")
    })
    .await;

    // ---- schedule_downtime: the server's checks ------------------------
    let e = c
        .schedule_downtime(&ScheduleDowntime::new(
            Target::host("db01"),
            Duration::from_secs(30),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.api_message(),
        Some("Downtime must be between 60 seconds and a week.")
    );
    let e = c
        .schedule_downtime(&ScheduleDowntime::new(Target::host("nope"), ten_min))
        .await
        .unwrap_err();
    assert!(e.is_unknown_host(), "{e:?}");
    let e = c
        .schedule_downtime(&ScheduleDowntime::new(
            Target::service("web01", "nope"),
            ten_min,
        ))
        .await
        .unwrap_err();
    assert!(e.is_unknown_service(), "{e:?}");

    // ---- cancel_downtime: by id, by target, none, bad id ---------------
    assert_eq!(
        c.cancel_downtime(&CancelDowntime::id(db01_dt))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    until_status(&h, "db01 downtime cancelled", |b| {
        field(b, "hoststatus", "db01", None, "scheduled_downtime_depth") == Some("0")
            && find(b, "hostdowntime", "db01", None).is_none()
    })
    .await;
    assert_eq!(
        c.cancel_downtime(&CancelDowntime::target(Target::host("app01")).services_too(true))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        c.cancel_downtime(&CancelDowntime::target(Target::service("web01", "HTTP")))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    until_status(&h, "app01 and HTTP downtimes cancelled", |b| {
        !b.iter().any(|(k, _)| k.ends_with("downtime"))
            && field(
                b,
                "servicestatus",
                "app01",
                Some("Load"),
                "scheduled_downtime_depth",
            ) == Some("0")
    })
    .await;
    assert_eq!(
        c.cancel_downtime(&CancelDowntime::target(Target::host("web01")))
            .await
            .unwrap(),
        CancelOutcome::NoneFound
    );
    let e = c
        .cancel_downtime(&CancelDowntime::id(99_999))
        .await
        .unwrap_err();
    assert_eq!(e.api_message(), Some("Downtime ID does not seem valid."));

    // ---- acknowledge_problem: really sticky, and normal ----------------
    c.acknowledge_problem(
        &Acknowledge::new(Target::service("web01", "Disk"), "known disk issue")
            .sticky(true)
            .notify(false)
            .author("conformance"),
    )
    .await
    .unwrap();
    c.acknowledge_problem(&Acknowledge::new(
        Target::host("db01"),
        "db01 is known down",
    ))
    .await
    .unwrap();
    until_status(&h, "Disk sticky-acked, db01 normal-acked", |b| {
        field(
            b,
            "servicestatus",
            "web01",
            Some("Disk"),
            "problem_has_been_acknowledged",
        ) == Some("1")
            && field(
                b,
                "servicestatus",
                "web01",
                Some("Disk"),
                "acknowledgement_type",
            ) == Some("2")
            && field(
                b,
                "hoststatus",
                "db01",
                None,
                "problem_has_been_acknowledged",
            ) == Some("1")
            && field(b, "hoststatus", "db01", None, "acknowledgement_type") == Some("1")
    })
    .await;
    let state = until_state(&c, "Disk acked", |s| {
        s["web01"].services["Disk"].problem_has_been_acknowledged
    })
    .await;
    let disk = &state["web01"].services["Disk"];
    assert!(
        disk.comments
            .values()
            .any(|cm| cm.entry_type == CommentEntryType::Acknowledgement
                && cm.comment_data == "known disk issue")
    );
    let detail = &c.services("web01").await.unwrap()["Disk"];
    assert_eq!(detail.acknowledgement_type, AcknowledgementType::Sticky);
    let e = c
        .acknowledge_problem(&Acknowledge::new(Target::service("web01", "nope"), "x"))
        .await
        .unwrap_err();
    assert!(e.is_unknown_service(), "{e:?}");

    // ---- remove_acknowledgement ----------------------------------------
    c.remove_acknowledgement(&Target::service("web01", "Disk"))
        .await
        .unwrap();
    c.remove_acknowledgement(&Target::host("db01"))
        .await
        .unwrap();
    until_status(&h, "acknowledgements removed", |b| {
        field(
            b,
            "servicestatus",
            "web01",
            Some("Disk"),
            "problem_has_been_acknowledged",
        ) == Some("0")
            && field(
                b,
                "hoststatus",
                "db01",
                None,
                "problem_has_been_acknowledged",
            ) == Some("0")
    })
    .await;

    // ---- disable/enable_notifications ----------------------------------
    c.disable_notifications(Target::service("web01", "HTTP"))
        .await
        .unwrap();
    c.disable_notifications(Scope::new(Target::host("app01")).services_too(true))
        .await
        .unwrap();
    until_status(&h, "notifications disabled", |b| {
        field(
            b,
            "servicestatus",
            "web01",
            Some("HTTP"),
            "notifications_enabled",
        ) == Some("0")
            && field(
                b,
                "servicestatus",
                "web01",
                Some("Disk"),
                "notifications_enabled",
            ) == Some("1")
            && field(b, "hoststatus", "app01", None, "notifications_enabled") == Some("0")
            && field(
                b,
                "servicestatus",
                "app01",
                Some("Load"),
                "notifications_enabled",
            ) == Some("0")
            && field(
                b,
                "servicestatus",
                "app01",
                Some("Procs"),
                "notifications_enabled",
            ) == Some("0")
    })
    .await;
    let state = until_state(&c, "HTTP notifications off", |s| {
        !s["web01"].services["HTTP"].notifications_enabled
    })
    .await;
    assert!(!state["app01"].notifications_enabled);
    c.enable_notifications(Target::service("web01", "HTTP"))
        .await
        .unwrap();
    c.enable_notifications(Scope::new(Target::host("app01")).services_too(true))
        .await
        .unwrap();
    until_status(&h, "notifications enabled again", |b| {
        field(
            b,
            "servicestatus",
            "web01",
            Some("HTTP"),
            "notifications_enabled",
        ) == Some("1")
            && field(b, "hoststatus", "app01", None, "notifications_enabled") == Some("1")
            && field(
                b,
                "servicestatus",
                "app01",
                Some("Load"),
                "notifications_enabled",
            ) == Some("1")
    })
    .await;
    let e = c
        .disable_notifications(Target::host("nope"))
        .await
        .unwrap_err();
    assert!(e.is_unknown_host(), "{e:?}");

    // ---- submit_result: service and host --------------------------------
    c.submit_result(&PassiveResult::service(
        "web01",
        "passive_check",
        ServiceStatus::Warning,
        "WARNING - conformance|load=5;4;8",
    ))
    .await
    .unwrap();
    until_status(&h, "passive result", |b| {
        let f = |k| field(b, "servicestatus", "web01", Some("passive_check"), k);
        f("current_state") == Some("1")
            && f("plugin_output") == Some("WARNING - conformance")
            && f("performance_data") == Some("load=5;4;8")
    })
    .await;
    let state = until_state(&c, "passive result", |s| {
        s["web01"].services["passive_check"].current_state == ServiceStatus::Warning
    })
    .await;
    let p = &state["web01"].services["passive_check"];
    assert_eq!(p.plugin_output, "WARNING - conformance");
    assert_eq!(p.performance_data["load"], PerfValue::Number(5.0));
    c.submit_result(&PassiveResult::host(
        "db01",
        HostStatus::Down,
        "DOWN - conformance passive",
    ))
    .await
    .unwrap();
    until_log(
        &h,
        "EXTERNAL COMMAND: PROCESS_HOST_CHECK_RESULT;db01;1;DOWN - conformance passive",
    )
    .await;

    // ---- add_comment / delete_comment -----------------------------------
    c.add_comment(
        &AddComment::new(Target::host("web01"), "a persistent note; with a semicolon")
            .persistent(true)
            .author("conformance"),
    )
    .await
    .unwrap();
    c.add_comment(&AddComment::new(
        Target::service("app01", "Load"),
        "load note",
    ))
    .await
    .unwrap();
    until_status(&h, "comments added", |b| {
        field(b, "hostcomment", "web01", None, "comment_data")
            == Some("a persistent note; with a semicolon")
            && field(b, "hostcomment", "web01", None, "persistent") == Some("1")
            && field(b, "servicecomment", "app01", Some("Load"), "comment_data")
                == Some("load note")
    })
    .await;
    let state = until_state(&c, "host comment", |s| !s["web01"].comments.is_empty()).await;
    let (&cid, cm) = state["web01"].comments.iter().next().unwrap();
    assert_eq!(cm.entry_type, CommentEntryType::User);
    assert_eq!(cm.author, "conformance");
    assert!(cm.persistent);
    c.delete_comment(&DeleteComment::one(Target::host("web01"), cid))
        .await
        .unwrap();
    c.delete_comment(&DeleteComment::all(Target::service("app01", "Load")))
        .await
        .unwrap();
    until_status(&h, "comments deleted", |b| {
        find(b, "hostcomment", "web01", None).is_none()
            && find(b, "servicecomment", "app01", Some("Load")).is_none()
    })
    .await;

    // ---- schedule_check -------------------------------------------------
    c.schedule_check(&ScheduleCheck::new(Target::service("web01", "HTTP")).forced(true))
        .await
        .unwrap();
    c.schedule_check(&ScheduleCheck::new(Target::host("app01")).all_services(true))
        .await
        .unwrap();
    until_log(
        &h,
        "EXTERNAL COMMAND: SCHEDULE_FORCED_SVC_CHECK;web01;HTTP;",
    )
    .await;
    until_log(&h, "EXTERNAL COMMAND: SCHEDULE_HOST_SVC_CHECKS;app01;").await;

    // Everything nagios-api wrote, for the record.
    let log = h.nagios_log();
    for line in log.lines().filter(|l| l.contains("EXTERNAL COMMAND")) {
        println!("{line}");
    }
}
