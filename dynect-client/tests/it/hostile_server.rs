//! Hostile-but-valid servers and unsafe names (issue #16 item 6): names that are not one URL
//! path segment are refused before anything is sent (not even a login), response bodies are
//! read up to a limit, and a body cut off mid-way is a transport error. (Dyn has no paged
//! listings; job and task polling already have a deadline.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers below are test code too

use crate::common;

use std::net::TcpStream;

use common::*;
use dynect_client::{Client, Error, RecordData, RecordType, RetryConfig};
use ops_proptest::hostile::{UNSAFE_NAMES, expect_no_request, json_answer};

fn invalid(err: &Error) -> &str {
    match err {
        Error::InvalidInput(msg) => msg,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn unsafe_names_send_no_request() {
    let (server, c) = setup().await;
    expect_no_request(&server).await;
    for bad in UNSAFE_NAMES {
        let e = c.zones().get(bad).await.unwrap_err();
        assert!(invalid(&e).contains("zone"), "{e}");
        let e = c.zones().publish(bad, None).await.unwrap_err();
        assert!(invalid(&e).contains("zone"), "{e}");
        let e = c.zones().discard_changes(bad).await.unwrap_err();
        invalid(&e);
        let e = c.records().list_zone(bad).await.unwrap_err();
        invalid(&e);
        let e = c
            .records()
            .list(RecordType::A, "example.com", bad)
            .await
            .unwrap_err();
        assert!(invalid(&e).contains("FQDN"), "{e}");
        let e = c
            .records()
            .delete(
                RecordType::A,
                "example.com",
                &format!("{bad}.example.com"),
                1,
            )
            .await
            .unwrap_err();
        assert!(invalid(&e).contains("FQDN"), "{e}");
        let e = c
            .records()
            .create(
                "example.com",
                &format!("www.{bad}"),
                &RecordData::a("10.0.0.1").unwrap(),
                0,
            )
            .await
            .unwrap_err();
        invalid(&e);
    }
    // Dyn names are DNS names: Unicode must be given as punycode.
    let e = c.zones().get("bücher.example").await.unwrap_err();
    invalid(&e);
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(!c.has_session(), "not even a login was sent");
}

#[tokio::test]
async fn legal_names_reach_the_wire_as_one_segment() {
    let (server, c) = setup().await;
    login_mock(1).mount(&server).await;
    // Underscore labels, upper case and a trailing dot are legal; punycode is how an IDN
    // zone is named.
    authed(
        "GET",
        "/REST/SRVRecord/xn--bcher-kva.example/_sip._tcp.xn--bcher-kva.example",
    )
    .respond_with(json(
        200,
        r#"{"status":"success","data":[],"job_id":1,"msgs":[]}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;
    let refs = c
        .records()
        .list(
            RecordType::Srv,
            "XN--BCHER-KVA.example.",
            "_SIP._tcp.xn--bcher-kva.example.",
        )
        .await
        .unwrap();
    assert!(refs.is_empty());
}

fn small_client(uri: &str, limit: usize) -> Client {
    Client::builder(CUSTOMER, USER, PASSWORD.to_string())
        .base_url(uri)
        .retry(RetryConfig::disabled())
        .poll(fast_poll())
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

#[tokio::test]
async fn body_over_the_limit_with_content_length_is_refused() {
    let (server, _) = setup().await;
    login_mock(2).mount(&server).await;
    let big = format!(
        r#"{{"status":"success","data":{{"zone":"go-dynect.test","pad":"{}"}},"job_id":1,"msgs":[]}}"#,
        "x".repeat(10_000)
    );
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, &big))
        .expect(2)
        .mount(&server)
        .await;
    let err = small_client(&server.uri(), 4096)
        .zones()
        .get("go-dynect.test")
        .await
        .unwrap_err();
    let Error::ResponseTooLarge {
        limit,
        content_length,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*limit, 4096);
    assert!(content_length.is_some_and(|n| n > 10_000));
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
    let z = small_client(&server.uri(), 64 * 1024)
        .zones()
        .get("go-dynect.test")
        .await
        .unwrap();
    assert_eq!(z.zone.as_deref(), Some("go-dynect.test"));
}

// A login first, then the hostile answer.
ops_proptest::body_limit_tests! {
    client: small_client,
    call: |c| c.zones().get("go-dynect.test"),
    answer: after_login,
    requests: 2,
    cut_short: "{\"status\": \"success\", \"data\": {\"zone\": \"", "200 OK", "400 Bad Request";
    builder: Client::builder(CUSTOMER, USER, PASSWORD.to_string()),
}

/// Answer `POST /REST/Session` with the recorded login, every other request with `then`.
fn after_login(
    then: impl Fn(&mut TcpStream) -> usize + Send + Sync + 'static,
) -> impl Fn(&mut TcpStream, &str) -> usize + Send + Sync + 'static {
    move |stream, line| {
        if line.starts_with("POST /REST/Session") {
            return json_answer(stream, "200 OK", fixture!("session_login.json"));
        }
        then(stream)
    }
}
