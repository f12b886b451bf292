//! Hostile-but-valid servers and unsafe names (issue #16 item 6): names that are not one URL
//! path segment are refused before anything is sent (not even a login), response bodies are
//! read up to a limit, and a body cut off mid-way is a transport error. (Dyn has no paged
//! listings; job and task polling already have a deadline.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers below are test code too

use crate::common;

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use dynect_client::{Client, Error, RecordData, RecordType, RetryConfig};
use ops_proptest::hostile::{chunked, cut_short, json_answer, raw_server, wait_for_writer};
use wiremock::{Mock, ResponseTemplate};

const UNSAFE: [&str; 9] = ["..", ".", "a/b", "a\tb", "a\\b", "a?b", "a#b", "a\r\nb", ""];

fn invalid(err: &Error) -> &str {
    match err {
        Error::InvalidInput(msg) => msg,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn unsafe_names_send_no_request() {
    let (server, c) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for bad in UNSAFE {
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

#[test]
fn zero_limit_is_a_config_error() {
    let err = Client::builder(CUSTOMER, USER, PASSWORD.to_string())
        .max_response_bytes(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn chunked_body_over_the_limit_stops_reading() {
    // No Content-Length: the server streams up to 8 MiB; the client must stop at 64 KiB.
    let (uri, hits, sent) = raw_server(|s, line| {
        if answer_login(s, line) {
            return 0;
        }
        chunked(s, "200 OK", 8 << 20)
    });
    let c = small_client(&uri, 64 * 1024);
    let err = tokio::time::timeout(Duration::from_secs(20), c.zones().get("go-dynect.test"))
        .await
        .expect("the client read the whole endless body")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                limit: 65536,
                content_length: None
            }
        ),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2, "login + get");
    // It hung up long before the end (socket buffers hold a few MiB at most).
    wait_for_writer(&sent).await;
    assert!(sent.load(Ordering::SeqCst) < 8 << 20);
}

#[tokio::test]
async fn huge_error_body_keeps_a_snippet() {
    let (uri, _, _) = raw_server(|s, line| {
        if answer_login(s, line) {
            return 0;
        }
        chunked(s, "502 Bad Gateway", 8 << 20)
    });
    let c = small_client(&uri, 32 << 20);
    let err = tokio::time::timeout(Duration::from_secs(20), c.zones().get("go-dynect.test"))
        .await
        .unwrap()
        .unwrap_err();
    let Error::UnexpectedStatus {
        status,
        body_snippet,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status.as_u16(), 502);
    assert_eq!(body_snippet.len(), 512);
}

#[tokio::test]
async fn body_cut_mid_way_is_a_transport_error() {
    for status in ["200 OK", "400 Bad Request"] {
        let (uri, _, _) = raw_server(move |s, line| {
            if answer_login(s, line) {
                return 0;
            }
            cut_short(
                s,
                status,
                "{\"status\": \"success\", \"data\": {\"zone\": \"",
            )
        });
        let err = small_client(&uri, 1 << 20)
            .zones()
            .get("go-dynect.test")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{status}: {err:?}");
    }
}

/// Answer `POST /REST/Session` with the recorded login; true when it did.
fn answer_login(stream: &mut TcpStream, line: &str) -> bool {
    if !line.starts_with("POST /REST/Session") {
        return false;
    }
    json_answer(stream, "200 OK", fixture!("session_login.json"));
    true
}
