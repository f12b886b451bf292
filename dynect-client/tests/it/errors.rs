//! The STYLE §8 error suite, Dyn's rate limit, and the client-side limiter.
use crate::common;

use std::time::{Duration, Instant};

use common::*;
use dynect_client::{Error, RecordData};
use ops_proptest::hostile::{EchoRefusal, error_texts};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn logged_in() -> (MockServer, dynect_client::Client) {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    (server, client)
}

#[allow(clippy::unwrap_used)]
fn a() -> RecordData {
    RecordData::a("10.9.8.7").unwrap()
}

#[tokio::test]
async fn not_found_404() {
    let (server, client) = logged_in().await;
    authed("GET", "/REST/Zone/nope.test")
        .respond_with(json(
            404,
            r#"{"status": "failure", "data": {}, "job_id": 9, "msgs": [{"INFO": "zone: No such zone", "SOURCE": "API-B", "ERR_CD": "NOT_FOUND", "LVL": "ERROR"}]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.zones().get("nope.test").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn status_422_with_body_is_api() {
    let (server, client) = logged_in().await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(422, fixture!("target_exists.json")))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .records()
        .create("go-dynect.test", "foobar.go-dynect.test", &a(), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    assert!(err.is_target_exists());
    assert_eq!(err.messages().len(), 2);
}

#[tokio::test]
async fn html_502_is_unexpected_status() {
    let (server, client) = logged_in().await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(3) // GET: retried up to max_attempts
        .mount(&server)
        .await;
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    match err {
        Error::UnexpectedStatus {
            status,
            body_snippet,
            ..
        } => {
            assert_eq!(status.as_u16(), 502);
            assert!(body_snippet.contains("Bad Gateway"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn status_429_retry_after_zero_twice_then_ok() {
    let (server, client) = logged_in().await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, fixture!("zone_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    client.zones().get("go-dynect.test").await.unwrap();
}

#[tokio::test]
async fn post_503_is_not_retried() {
    let (server, client) = logged_in().await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .records()
        .create("go-dynect.test", "foobar.go-dynect.test", &a(), 0)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(client.pending_zones().is_empty());
}

#[tokio::test]
async fn retry_after_3600_fails_at_once() {
    let (server, client) = logged_in().await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(429, fixture!("rate_limited.json")).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    // The alternative is a 3600 s wait: a 60 s ceiling tells them apart at any load.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn malformed_200_is_decode() {
    let (server, client) = logged_in().await;
    authed(
        "GET",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/1",
    )
    .respond_with(json(
        200,
        r#"{"status": "success", "data": {"zone": "go-dynect.test"}, "job_id": 1, "msgs": []}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, "not json at all"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .records()
        .get(
            dynect_client::RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            1,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Decode { what: "record", .. }),
        "{err:?}"
    );
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

/// A rate-limit message (`RATE_LIMIT_EXCEEDED`) with HTTP 429 and no Retry-After is retried
/// with backoff — also for POST, because a rate-limited request was not processed.
#[tokio::test]
async fn rate_limit_message_is_retried_for_post() {
    let (server, client) = logged_in().await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(429, fixture!("rate_limited.json")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(200, fixture!("arecord_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    client
        .records()
        .create("go-dynect.test", "foobar.go-dynect.test", &a(), 0)
        .await
        .unwrap();
}

/// Rate limited on every attempt: bounded, then the typed error with its message.
#[tokio::test]
async fn rate_limit_is_bounded() {
    let (server, client) = logged_in().await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(400, fixture!("rate_limited.json")))
        .expect(3)
        .mount(&server)
        .await;
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(
        err.messages()[0].code(),
        Some(dynect_client::ErrorCode::RateLimitExceeded)
    );
}

/// Connection refused is retried (never reached the server) and ends as `Transport`.
#[tokio::test]
async fn connection_refused_is_transport() {
    // Port 1: nothing listens there, the connection is refused.
    let uri = "http://127.0.0.1:1/";
    let client = dynect_client::Client::builder(CUSTOMER, USER, PASSWORD.to_string())
        .base_url(uri)
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = client.login().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

/// The client-side limiter spaces requests, counting time from each response (errors too).
#[tokio::test]
async fn client_side_limiter_spaces_requests_including_errors() {
    let server = MockServer::start().await;
    let client = builder(&server)
        .retry(dynect_client::RetryConfig::disabled())
        .rate_limit_per_minute(600) // 100 ms apart
        .build()
        .unwrap();
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let started = Instant::now();
    for _ in 0..3 {
        assert!(client.zones().get("go-dynect.test").await.is_err());
    }
    // login + 3 GETs = 4 requests, at least 3 intervals of 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bad_configuration_is_an_error() {
    let b = || dynect_client::Client::builder("c", "u", "p".to_string());
    assert!(matches!(
        b().base_url("not a url").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        b().base_url("ftp://x/").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        b().rate_limit_per_minute(0).build(),
        Err(Error::Config(_))
    ));
    let c = b().base_url("http://127.0.0.1:1/prefix").build().unwrap();
    assert_eq!(c.base_url().as_str(), "http://127.0.0.1:1/prefix/");
    assert_eq!(dynect_client::DEFAULT_BASE_URL, "https://api.dynect.net/");
}

#[tokio::test]
async fn base_url_with_prefix_is_kept() {
    let server = MockServer::start().await;
    let client = dynect_client::Client::builder(CUSTOMER, USER, PASSWORD.to_string())
        .base_url(format!("{}/proxy", server.uri()))
        .build()
        .unwrap();
    Mock::given(method("POST"))
        .and(path("/proxy/REST/Session"))
        .respond_with(json(200, fixture!("session_login.json")))
        .expect(1)
        .mount(&server)
        .await;
    client.login().await.unwrap();
}

/// A server (or proxy) that refuses every request and echoes it back in a Dyn failure
/// envelope: every header and the body (the login body carries the password).
fn echo_refusal() -> impl wiremock::Respond {
    EchoRefusal(|echo: String| {
        ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "status": "failure", "data": {}, "job_id": 1,
            "msgs": [{"INFO": echo, "SOURCE": "BLL", "ERR_CD": "INVALID_DATA", "LVL": "ERROR"}]
        }))
    })
}

// Issue #17: neither the password (login) nor the session token (later calls) reaches an
// error through a server that echoes the request.
#[tokio::test]
async fn a_server_echoing_the_request_never_puts_credentials_into_the_error() {
    // The login itself is echoed: the password is in its body.
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/REST/Session"))
        .respond_with(echo_refusal())
        .mount(&server)
        .await;
    let err = client.zones().get("example.test").await.unwrap_err();
    let all = error_texts(&err);
    assert!(!all.contains(PASSWORD), "{all}");
    assert!(all.contains("[REDACTED]"), "the echo is kept: {all}");

    // Logged in, a later call is echoed: the session token is in its headers.
    let (server, client) = logged_in().await;
    Mock::given(method("GET"))
        .respond_with(echo_refusal())
        .mount(&server)
        .await;
    let err = client.zones().get("example.test").await.unwrap_err();
    let all = error_texts(&err);
    assert!(!all.contains(TOKEN), "{all}");
    assert!(!all.contains(PASSWORD), "{all}");
}
