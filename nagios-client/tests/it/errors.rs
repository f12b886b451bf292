//! Error suite: proxies, retries, malformed bodies and values, secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::{ok_json, setup};
use nagios_client::{
    Acknowledge, CancelDowntime, Client, Error, PassiveResult, RetryConfig, ScheduleDowntime,
    ServiceStatus, Target,
};
use ops_proptest::hostile::{EchoRefusal, error_texts};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "s3cret-proxy-password";

#[tokio::test]
async fn basic_auth_is_sent_and_never_leaks() {
    let server = MockServer::start().await;
    // base64("ops:s3cret-proxy-password")
    Mock::given(method("GET"))
        .and(path("/objects"))
        .and(header(
            "authorization",
            "Basic b3BzOnMzY3JldC1wcm94eS1wYXNzd29yZA==",
        ))
        .respond_with(ok_json(fixture!("objects.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .basic_auth("ops", PASSWORD)
        .retry(common::fast_retry())
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains(PASSWORD));
    client.objects().await.unwrap();
    let e = client.state().await.unwrap_err();
    assert!(e.is_unauthorized());
    let all = error_texts(&e);
    assert!(!all.contains(PASSWORD), "{all}");
    assert!(!all.contains("b3BzOnMz"), "{all}");
}

#[tokio::test]
async fn html_from_a_proxy_is_unexpected_status() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .expect(3)
        .mount(&server)
        .await;
    let e = client.state().await.unwrap_err();
    match &e {
        Error::UnexpectedStatus {
            status,
            body_snippet,
            ..
        } => {
            assert_eq!(status.as_u16(), 502);
            assert!(body_snippet.contains("bad gateway"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rate_limited_twice_then_ok() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state.json")))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client.state().await.unwrap().len(), 2);
}

#[tokio::test]
async fn non_idempotent_command_is_not_retried_on_5xx() {
    let (server, client) = setup().await;
    for p in [
        "/schedule_downtime",
        "/acknowledge_problem",
        "/submit_result",
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
    }
    let e = client
        .schedule_downtime(&ScheduleDowntime::new(
            Target::host("db01"),
            Duration::from_secs(600),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    client
        .acknowledge_problem(&Acknowledge::new(Target::host("db01"), "x"))
        .await
        .unwrap_err();
    client
        .submit_result(&PassiveResult::service(
            "web01",
            "passive_check",
            ServiceStatus::Ok,
            "ok",
        ))
        .await
        .unwrap_err();
}

#[tokio::test]
async fn idempotent_command_is_retried_on_5xx() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/cancel_downtime/3"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cancel_downtime/3"))
        .respond_with(ok_json(fixture!("cancel_dt_byid.json")))
        .expect(1)
        .mount(&server)
        .await;
    client
        .cancel_downtime(&CancelDowntime::id(3))
        .await
        .unwrap();
}

#[tokio::test]
async fn retry_after_beyond_the_cap_fails_at_once() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let e = client.state().await.unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn api_errors_are_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/host/nope"))
        .respond_with(ok_json(fixture!("host_unknown.json")))
        .expect(1)
        .mount(&server)
        .await;
    assert!(client.host("nope").await.unwrap_err().is_unknown_host());
}

#[tokio::test]
async fn connect_errors_are_retried_then_reported() {
    // A port nobody listens on: bind, read the port, drop the listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(format!("http://127.0.0.1:{port}/"))
        .retry(RetryConfig {
            max_attempts: 2,
            ..common::fast_retry()
        })
        .build()
        .unwrap();
    let e = client.state().await.unwrap_err();
    assert!(
        matches!(e, Error::Transport(ref t) if t.is_connect()),
        "{e:?}"
    );
}

async fn state_with(body: &str) -> Error {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(body))
        .expect(1)
        .mount(&server)
        .await;
    client.state().await.unwrap_err()
}

/// Replace the first occurrence of `from` in the recorded state.
fn mangled(from: &str, to: &str) -> String {
    let s = fixture!("state_after.json");
    assert!(s.contains(from), "{from}");
    s.replacen(from, to, 1)
}

fn decode_parts(e: &Error) -> (&'static str, String, String) {
    match e {
        Error::Decode { what, path, source } => (what, path.clone(), source.to_string()),
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_body_is_decode_error() {
    let (what, path, _) = decode_parts(&state_with("<html>oops</html>").await);
    assert_eq!((what, path.as_str()), ("state", "."));
    let (_, _, msg) = decode_parts(&state_with(r#"{"content": {}}"#).await);
    assert!(msg.contains("success"), "{msg}");
}

#[tokio::test]
async fn unparseable_values_name_the_field() {
    let e = state_with(&mangled(
        r#""current_state": "1""#,
        r#""current_state": "7""#,
    ))
    .await;
    let (_, path, msg) = decode_parts(&e);
    assert_eq!(path, "db01.current_state");
    assert!(
        msg.contains("invalid value 7") && msg.contains("UNREACHABLE"),
        "{msg}"
    );
    // The Display names the field, never panics.
    assert!(e.to_string().contains("db01.current_state"), "{e}");

    let e = state_with(&mangled(
        r#""notifications_enabled": "1""#,
        r#""notifications_enabled": "yes""#,
    ))
    .await;
    let (_, path, msg) = decode_parts(&e);
    assert_eq!(path, "db01.notifications_enabled");
    assert!(msg.contains("\"yes\""), "{msg}");

    let e = state_with(&mangled(
        r#""last_check": "1795611171""#,
        r#""last_check": "soon""#,
    ))
    .await;
    assert_eq!(decode_parts(&e).1, "db01.last_check");

    let e = state_with(&mangled(r#""downtime_id": 1"#, r#""downtime_id": "one""#)).await;
    assert_eq!(decode_parts(&e).1, "db01.downtimes.1.downtime_id");

    // A service state outside 0..=3, deep inside.
    let s = fixture!("state_after.json").replace(
        r#""current_state": "2", "downtimes": {"6""#,
        r#""current_state": "9", "downtimes": {"6""#,
    );
    let e = state_with(&s).await;
    assert_eq!(decode_parts(&e).1, "web01.services.Disk.current_state");

    let e = state_with(&mangled(r#""entry_type": "2""#, r#""entry_type": "9""#)).await;
    assert_eq!(decode_parts(&e).1, "db01.comments.1.entry_type");
}

#[tokio::test]
async fn unknown_fields_and_null_strings_are_tolerated() {
    let (server, client) = setup().await;
    let body = mangled(
        r#""plugin_output": "CRITICAL: db01 is down (dummy)""#,
        r#""plugin_output": null, "brand_new_field": {"x": [1, 2]}"#,
    );
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(&body))
        .expect(1)
        .mount(&server)
        .await;
    let state = client.state().await.unwrap();
    assert_eq!(state["db01"].plugin_output, "");
}

// Issue #17: the password, plain or in its `Basic` form, never reaches an error through a
// server that echoes the request.
#[tokio::test]
async fn a_server_echoing_the_request_never_puts_the_password_into_the_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        // A server (or proxy) that refuses every request and echoes it back.
        .respond_with(EchoRefusal(|echo: String| {
            ResponseTemplate::new(401).set_body_string(echo)
        }))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .basic_auth("ops", PASSWORD)
        .retry(common::fast_retry())
        .build()
        .unwrap();
    let e = client.state().await.unwrap_err();
    let all = error_texts(&e);
    assert!(!all.contains(PASSWORD), "{all}");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ops:{PASSWORD}"));
    assert!(!all.contains(&basic), "{all}");
    assert!(all.contains("Basic [REDACTED]"), "the echo is kept: {all}");
}
