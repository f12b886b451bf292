//! No password or session token in Debug output, errors or logs.
//! Keep this the only test in this file: it installs a global tracing subscriber.
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use dynect_client::{Error, RecordType};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

#[allow(clippy::unwrap_used)]
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(PASSWORD), "password in {what}: {text}");
    assert!(!text.contains(TOKEN), "token in {what}: {text}");
    assert!(
        !text.contains("GbemTESTTOKEN"),
        "token fragment in {what}: {text}"
    );
}

/// Runs login, a renewal after expiry, a failed call, a failed login and logout with a TRACE
/// subscriber capturing everything, then checks logs, Debug and Display of client and errors.
#[tokio::test]
async fn no_secret_in_debug_errors_or_logs() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, not thread-local: this is the only test in this binary, and a global subscriber
    // also sees events from other threads (thread-local ones race with callsite caching).
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (server, client) = setup().await;
    assert_clean("client Debug before login", &format!("{client:?}"));

    login_mock(2).mount(&server).await;
    let p = "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321";
    authed("GET", p)
        .respond_with(json(400, fixture!("session_expired.json")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    authed("GET", p)
        .respond_with(json(404, fixture!("allrecord_not_found.json")))
        .mount(&server)
        .await;
    authed("DELETE", "/REST/Session")
        .respond_with(json(200, fixture!("session_logout.json")))
        .expect(1)
        .mount(&server)
        .await;

    client.login().await.unwrap();
    assert_clean("client Debug with a session", &format!("{client:?}"));
    assert_clean("client Debug alternate", &format!("{client:#?}"));

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
    assert!(err.is_not_found());
    assert_clean("error Debug", &format!("{err:?}"));
    assert_clean("error Display", &err.to_string());

    client.logout().await.unwrap();

    // A failed login: the error must not echo the password.
    let bad = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/REST/Session"))
        .respond_with(json(400, fixture!("session_expired.json")))
        .expect(1)
        .mount(&bad)
        .await;
    let c2 = builder(&bad).build().unwrap();
    let err = c2.login().await.unwrap_err();
    assert!(matches!(err, Error::Login { .. }));
    assert_clean("login error Debug", &format!("{err:?}"));
    assert_clean("login error Display", &err.to_string());
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        assert_clean("error source", &format!("{s:?} {s}"));
        source = s.source();
    }

    // A transport error carries the URL: no secret is ever in a URL.
    // Port 1: nothing listens there, the connection is refused.
    let uri = "http://127.0.0.1:1/";
    let c3 = dynect_client::Client::builder(CUSTOMER, USER, PASSWORD.to_string())
        .base_url(uri)
        .retry(dynect_client::RetryConfig::disabled())
        .build()
        .unwrap();
    let err = c3.login().await.unwrap_err();
    assert_clean("transport error Debug", &format!("{err:?}"));

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Dyn request"), "logging was captured: {logs}");
    assert!(
        logs.contains("logging in again"),
        "renewal was logged: {logs}"
    );
    assert_clean("logs", &logs);
}
