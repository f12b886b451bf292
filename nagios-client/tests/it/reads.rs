//! Read endpoints against responses recorded from a real nagios-api.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{ok_json, setup};
use nagios_client::{
    AcknowledgementType, CommentEntryType, CommentSource, HostStatus, PerfValue, ServiceStatus,
    StateType, Timestamp,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn state_is_typed() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state.json")))
        .expect(1)
        .mount(&server)
        .await;
    let state = client.state().await.unwrap();
    assert_eq!(state.len(), 2);
    let db01 = &state["db01"];
    assert_eq!(db01.current_state, HostStatus::Down);
    assert_eq!(db01.last_hard_state, HostStatus::Down);
    assert!(db01.services.is_empty());
    assert_eq!(db01.last_check, Some(Timestamp(1795611171)));
    assert_eq!(db01.last_notification, None);
    let web01 = &state["web01"];
    assert_eq!(web01.current_state, HostStatus::Up);
    assert_eq!(web01.last_state_change, None);
    assert!(web01.notifications_enabled && web01.active_checks_enabled);
    let disk = &web01.services["Disk"];
    assert_eq!(disk.current_state, ServiceStatus::Critical);
    assert_eq!(disk.plugin_output, "CRITICAL: DISK CRITICAL - dummy");
    assert_eq!(disk.max_attempts, 1);
    let passive = &web01.services["passive_check"];
    assert!(!passive.active_checks_enabled);
    assert_eq!(passive.last_check, None);
}

#[tokio::test]
async fn state_after_commands_has_downtimes_comments_and_perfdata() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state_after.json")))
        .expect(1)
        .mount(&server)
        .await;
    let state = client.state().await.unwrap();
    let db01 = &state["db01"];
    assert!(db01.in_downtime());
    let dt = &db01.downtimes[&1];
    assert_eq!(dt.downtime_id, 1);
    assert_eq!(dt.author, "api-test");
    assert_eq!(dt.comment, "maint");
    assert!(dt.fixed);
    assert_eq!(dt.duration, 600);
    assert_eq!(dt.triggered_by, None);
    assert_eq!(dt.end_time.0 - dt.start_time.0, 600);
    let c = &db01.comments[&1];
    assert_eq!(c.entry_type, CommentEntryType::Downtime);
    assert_eq!(c.source, CommentSource::Internal);
    assert!(!c.persistent && !c.expires);
    assert_eq!(c.expire_time, None);

    let web01 = &state["web01"];
    let disk = &web01.services["Disk"];
    assert!(disk.problem_has_been_acknowledged);
    assert_eq!(
        disk.comments[&7].entry_type,
        CommentEntryType::Acknowledgement
    );
    assert_eq!(disk.comments[&7].comment_data, "known");
    assert_eq!(web01.services["HTTP"].scheduled_downtime_depth, 2);
    assert_eq!(
        web01.services["HTTP"]
            .downtimes
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![2, 5]
    );
    let passive = &web01.services["passive_check"];
    assert_eq!(passive.current_state, ServiceStatus::Critical);
    assert_eq!(passive.performance_data["x"], PerfValue::Number(1.0));
    let user = &web01.comments[&8];
    assert_eq!(user.entry_type, CommentEntryType::User);
    assert_eq!(user.source, CommentSource::External);
    assert!(user.persistent);
}

#[tokio::test]
async fn gzip_response_is_decoded() {
    let (server, client) = setup().await;
    let gz = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state_gzip.bin"
    ));
    Mock::given(method("GET"))
        .and(path("/state"))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gz.to_vec(), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let state = client.state().await.unwrap();
    assert_eq!(state["web01"].services.len(), 3);
}

#[tokio::test]
async fn problems_objects_log_status() {
    let (server, client) = setup().await;
    for (p, body) in [
        ("/problems", fixture!("problems.json")),
        ("/objects", fixture!("objects.json")),
        ("/log", fixture!("log.json")),
        ("/status", fixture!("status.json")),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let problems = client.problems().await.unwrap();
    assert_eq!(
        problems["web01"].services.keys().collect::<Vec<_>>(),
        vec!["Disk"]
    );
    let objects = client.objects().await.unwrap();
    assert_eq!(objects["web01"], vec!["Disk", "HTTP", "passive_check"]);
    assert!(objects["db01"].is_empty());
    let log = client.log().await.unwrap();
    assert_eq!(log.len(), 15);
    assert_eq!(log[0].timestamp, Some(Timestamp(1795611171)));
    assert_eq!(log[0].message, "Nagios 4.4.6 starting... (PID=32317)");
    let status = client.status().await.unwrap();
    assert_eq!(status.info.version, "4.4.6");
    assert_eq!(status.program.nagios_pid, 32317);
    assert!(!status.program.enable_notifications);
    assert_eq!(status.program.next_downtime_id, 1);
}

#[tokio::test]
async fn host_detail() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/host/web01"))
        .respond_with(ok_json(fixture!("host_web01.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/host/db01"))
        .respond_with(ok_json(fixture!("host_db01_after.json")))
        .expect(1)
        .mount(&server)
        .await;
    let web01 = client.host("web01").await.unwrap();
    assert_eq!(web01.host_name, "web01");
    assert_eq!(web01.state_type, StateType::Hard);
    assert_eq!(web01.services, vec!["Disk", "HTTP", "passive_check"]);
    assert_eq!(web01.check_interval, 5.0);
    assert_eq!(web01.acknowledgement_type, AcknowledgementType::None);
    assert!(web01.comments.is_empty() && web01.downtimes.is_empty());
    let db01 = client.host("db01").await.unwrap();
    assert_eq!(db01.current_state, HostStatus::Down);
    assert_eq!(db01.downtimes[0].downtime_id, 1);
    assert_eq!(db01.comments[0].entry_type, CommentEntryType::Downtime);
    assert!(db01.services.is_empty());
    assert_eq!(db01.percent_state_change, 6.25);
}

#[tokio::test]
async fn services_detail() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/service/web01"))
        .respond_with(ok_json(fixture!("service_web01.json")))
        .expect(1)
        .mount(&server)
        .await;
    let svcs = client.services("web01").await.unwrap();
    assert_eq!(svcs.len(), 3);
    let disk = &svcs["Disk"];
    assert_eq!(disk.service_description, "Disk");
    assert_eq!(disk.current_state, ServiceStatus::Critical);
    assert_eq!(disk.state_type, StateType::Hard);
    assert!(disk.has_been_checked);
    assert!(!svcs["passive_check"].has_been_checked);
    assert_eq!(svcs["passive_check"].next_check, None);
}

#[tokio::test]
async fn unknown_host_is_typed() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/host/nope"))
        .respond_with(ok_json(fixture!("host_unknown.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/service/nope"))
        .respond_with(ok_json(fixture!("host_unknown.json")))
        .expect(1)
        .mount(&server)
        .await;
    let e = client.host("nope").await.unwrap_err();
    assert!(e.is_unknown_host(), "{e:?}");
    assert!(!e.is_unknown_service());
    assert_eq!(e.to_string(), "nagios-api rejected host: Unknown hostname.");
    assert!(client.services("nope").await.unwrap_err().is_unknown_host());
}

#[tokio::test]
async fn endpoint_missing_on_older_server() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .respond_with(ok_json(
            r#"{"content": "Verb status (method GET) not supported", "success": false}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = client.status().await.unwrap_err();
    assert!(e.is_unsupported_endpoint(), "{e:?}");
}

#[tokio::test]
async fn host_names_are_percent_encoded() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/host/a%20b"))
        .respond_with(ok_json(fixture!("host_unknown.json")))
        .expect(1)
        .mount(&server)
        .await;
    assert!(client.host("a b").await.unwrap_err().is_unknown_host());
    // A `/` is no part of a nagios-api object id: refused, nothing sent (hostile_server.rs).
    assert!(matches!(
        client.host("a/b").await.unwrap_err(),
        nagios_client::Error::InvalidRequest { field: "host", .. }
    ));
}

/// nagios-api's HTTP server (diesel) writes the status line
/// `HTTP/1.1 200 200 OK`. Serve exactly the recorded bytes from a raw socket.
#[tokio::test]
async fn odd_status_line_is_accepted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = fixture!("objects.json");
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        let head = format!(
            "HTTP/1.1 200 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\
             Server: diesel-http-server\r\nDate: Wed, 25 Nov 2026 12:52:52 UTC\r\n\r\n",
            body.len()
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        sock.write_all(body.as_bytes()).await.unwrap();
        sock.shutdown().await.unwrap();
        String::from_utf8(got).unwrap()
    });
    let client = common::client_for(&format!("http://{addr}/"));
    let objects = client.objects().await.unwrap();
    assert_eq!(objects.len(), 2);
    let request = server.await.unwrap();
    assert!(
        request.starts_with("GET /objects HTTP/1.1\r\n"),
        "{request}"
    );
}
