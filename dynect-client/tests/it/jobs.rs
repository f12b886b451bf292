//! Long jobs: 307 redirect to /REST/Job/{id}/ and 200 `incomplete`, polled with the token.
use crate::common;

use std::time::Duration;

use common::*;
use dynect_client::{Error, PollConfig};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// PUT publish → 307 `Location: /REST/Job/4342593710/` → the job is polled with Auth-Token;
/// first `incomplete`, then the recorded publish answer. Only one PUT is sent (not a retry).
#[tokio::test]
async fn redirect_307_is_polled_with_the_token() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/REST/Job/4342593710/"))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Job/4342593710/")
        .respond_with(json(200, fixture!("job_incomplete.json")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Job/4342593710/")
        .respond_with(json(200, fixture!("zone_publish.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(200, fixture!("task_complete.json")))
        .expect(1)
        .mount(&server)
        .await;
    let z = client
        .zones()
        .publish("go-dynect.test", None)
        .await
        .unwrap();
    assert_eq!(z.serial, Some(2017122005));
    assert_eq!(z.task_id, Some(230305365));
}

/// A record GET answered `200 {"status":"incomplete","job_id":…}` → poll `/REST/Job/{id}/`.
#[tokio::test]
async fn incomplete_200_is_polled() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "GET",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321",
    )
    .respond_with(json(200, fixture!("job_incomplete.json")))
    .expect(1)
    .mount(&server)
    .await;
    authed("GET", "/REST/Job/4342593710/")
        .respond_with(json(200, fixture!("arecord_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    let rec = client
        .records()
        .get(
            dynect_client::RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
        )
        .await
        .unwrap();
    assert_eq!(rec.record_id, Some(318905321));
}

/// A job that stays incomplete ends with `JobTimeout` after the deadline.
#[tokio::test]
async fn job_deadline() {
    let server = MockServer::start().await;
    let client = builder(&server)
        .poll(PollConfig {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(20),
            timeout: Duration::from_millis(150),
        })
        .build()
        .unwrap();
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/REST/Job/77/"))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Job/77/")
        .respond_with(json(200, fixture!("job_incomplete.json")))
        .mount(&server)
        .await;
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    assert!(
        matches!(err, Error::JobTimeout { job_id: 77, .. }),
        "{err:?}"
    );
}

/// A job that finishes with `failure` returns its messages; the original call is not re-sent.
#[tokio::test]
async fn failed_job_returns_its_messages() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/REST/Job/275545493/"))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Job/275545493/")
        .respond_with(json(200, fixture!("target_exists.json")))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .zones()
        .publish("go-dynect.test", None)
        .await
        .unwrap_err();
    assert!(err.is_target_exists(), "{err:?}");
}

/// A redirect to another host is never followed (the token must not leak).
#[tokio::test]
async fn foreign_redirect_is_not_followed() {
    let (server, client) = setup().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path_regex(".*"))
        .respond_with(json(200, fixture!("zone_get.json")))
        .expect(0)
        .mount(&elsewhere)
        .await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/REST/Job/1/", elsewhere.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedRedirect { .. }), "{err:?}");
}

/// `wait_for_job` polls a known job id.
#[tokio::test]
async fn wait_for_job_by_id() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/REST/Job/4342593710/"))
        .and(|r: &Request| r.headers.get("auth-token").is_some_and(|v| v == TOKEN))
        .respond_with(json(200, fixture!("zone_publish.json")))
        .expect(1)
        .mount(&server)
        .await;
    let data = client.wait_for_job(4342593710).await.unwrap();
    assert_eq!(data["task_id"], "230305365");
}
