//! Session: login / keep-alive / verify / logout, and expiry handling.
use crate::common;

use common::*;
use dynect_client::{Error, RecordData, RecordType};
use wiremock::matchers::{body_string, method, path};
use wiremock::{Mock, ResponseTemplate};

/// Replays go-dynect `login_logout.yaml`: POST /REST/Session with the exact recorded body,
/// then DELETE /REST/Session with the token and an empty body.
#[tokio::test]
async fn login_then_logout_replays_recording() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("DELETE", "/REST/Session")
        .and(empty_body)
        .respond_with(json(200, fixture!("session_logout.json")))
        .expect(1)
        .mount(&server)
        .await;

    let info = client.login().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("3.7.9"));
    assert!(client.has_session());
    client.logout().await.unwrap();
    assert!(!client.has_session());
    // Logging out again without a session sends nothing.
    client.logout().await.unwrap();
}

#[tokio::test]
async fn keep_alive_and_verify() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("PUT", "/REST/Session")
        .and(empty_body)
        .respond_with(json(
            200,
            r#"{"status": "success", "data": {}, "job_id": 1, "msgs": [{"INFO": "keepalive: Session is still active", "SOURCE": "BLL", "ERR_CD": null, "LVL": "INFO"}]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Session")
        .respond_with(json(
            200,
            r#"{"status": "success", "data": {}, "job_id": 2, "msgs": [{"INFO": "isalive: User session is still active", "SOURCE": "BLL", "ERR_CD": null, "LVL": "INFO"}]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    assert!(!client.verify_session().await.unwrap(), "no session yet");
    client.keep_alive().await.unwrap(); // logs in first
    assert!(client.verify_session().await.unwrap());
}

#[tokio::test]
async fn verify_reports_expired_session_without_renewing() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Session")
        .respond_with(json(400, fixture!("session_expired.json")))
        .expect(1)
        .mount(&server)
        .await;
    client.login().await.unwrap();
    assert!(!client.verify_session().await.unwrap());
    assert!(!client.has_session());
}

/// A bad password gets the same "login:" message as an expired session: it must become
/// `Error::Login`, be sent once, and never loop into a re-login.
#[tokio::test]
async fn failed_login_is_typed_and_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/REST/Session"))
        .and(body_string(LOGIN_BODY))
        .respond_with(json(400, fixture!("session_expired.json")))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .records()
        .get(
            RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Login { .. }), "{err:?}");
    assert_eq!(err.messages().len(), 2);
    assert_eq!(err.messages()[0].info, "login: Bad or expired credentials");
}

/// Expiry (fog recording "Bad or expired credentials", HTTP 400) on a GET with no pending
/// changes: log in again once and repeat the GET transparently.
#[tokio::test]
async fn expired_session_is_renewed_once_for_safe_requests() {
    let (server, client) = setup().await;
    login_mock(2).mount(&server).await;
    let p = "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321";
    authed("GET", p)
        .respond_with(json(400, fixture!("session_expired.json")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", p)
        .respond_with(json(200, fixture!("arecord_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    let rec = client
        .records()
        .get(
            RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
        )
        .await
        .unwrap();
    assert_eq!(rec.record_id, Some(318905321));
}

/// "login: inactivity logout" twice in a row: renewed once, then the error is returned.
#[tokio::test]
async fn second_expiry_is_returned() {
    let (server, client) = setup().await;
    login_mock(2).mount(&server).await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(400, fixture!("session_inactivity_logout.json")))
        .expect(2)
        .mount(&server)
        .await;
    let err = client.zones().get("go-dynect.test").await.unwrap_err();
    assert!(err.is_session_expired(), "{err:?}");
    assert!(matches!(err, Error::Api { .. }));
    assert_eq!(err.messages()[0].info, "login: inactivity logout");
}

/// A create (POST) is not repeated after expiry; the token is dropped and the next call logs in.
#[tokio::test]
async fn post_is_not_repeated_after_expiry() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(400, fixture!("session_expired.json")))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .records()
        .create(
            "go-dynect.test",
            "foobar.go-dynect.test",
            &RecordData::a("10.9.8.7").unwrap(),
            3600,
        )
        .await
        .unwrap_err();
    assert!(err.is_session_expired());
    assert!(!client.has_session());
}

/// The key case: a record was created in session 1, the session expires, then publish is
/// called. Publishing in a new session would publish nothing; we return a typed error.
#[tokio::test]
async fn expiry_with_pending_changes_is_a_typed_error() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("POST", "/REST/MXRecord/go-dynect.test/go-dynect.test")
        .respond_with(json(200, fixture!("mxrecord_create.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .and(body_string(r#"{"publish":true}"#))
        .respond_with(json(400, fixture!("session_expired.json")))
        .expect(1)
        .mount(&server)
        .await;

    let mx = RecordData::Mx {
        preference: 123,
        exchange: "mx.example.com.".into(),
    };
    client
        .records()
        .create("go-dynect.test", "go-dynect.test", &mx, 12345)
        .await
        .unwrap();
    assert_eq!(client.pending_zones(), vec!["go-dynect.test".to_string()]);

    let err = client
        .zones()
        .publish("go-dynect.test", None)
        .await
        .unwrap_err();
    match &err {
        Error::SessionExpiredWithPendingChanges { zones, body } => {
            assert_eq!(zones, &vec!["go-dynect.test".to_string()]);
            assert_eq!(body.msgs.len(), 2);
        }
        other => panic!("expected SessionExpiredWithPendingChanges, got {other:?}"),
    }
    assert!(err.is_session_expired());
    assert!(client.pending_zones().is_empty());
    assert!(!client.has_session());
}

/// Expiry noticed by a GET on another zone still reports the lost changes.
#[tokio::test]
async fn expiry_on_unrelated_read_reports_lost_changes() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "DELETE",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321",
    )
    .respond_with(json(200, fixture!("record_delete.json")))
    .expect(1)
    .mount(&server)
    .await;
    authed("GET", "/REST/Zone/other.test")
        .respond_with(json(400, fixture!("session_expired.json")))
        .expect(1)
        .mount(&server)
        .await;
    client
        .records()
        .delete(
            RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
        )
        .await
        .unwrap();
    let err = client.zones().get("other.test").await.unwrap_err();
    assert!(
        matches!(&err, Error::SessionExpiredWithPendingChanges { zones, .. } if zones == &["go-dynect.test"]),
        "{err:?}"
    );
}

#[tokio::test]
async fn api_version_header_is_sent_when_configured() {
    let server = wiremock::MockServer::start().await;
    let client = builder(&server).api_version("3.7.13").build().unwrap();
    Mock::given(method("POST"))
        .and(path("/REST/Session"))
        .and(wiremock::matchers::header("API-Version", "3.7.13"))
        .respond_with(json(200, fixture!("session_login.json")))
        .expect(1)
        .mount(&server)
        .await;
    client.login().await.unwrap();
    let _ = ResponseTemplate::new(200);
}

/// The token really is sent, verbatim (with `+`, `/`, `=`), only in the Auth-Token header.
#[tokio::test]
async fn token_is_sent_verbatim_in_header_only() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, fixture!("zone_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    client.zones().get("go-dynect.test").await.unwrap();
    for req in server.received_requests().await.unwrap() {
        assert!(!req.url.as_str().contains(PASSWORD));
        assert!(!req.url.as_str().contains("GbemTESTTOKEN"));
    }
}
