//! Hostile-but-valid servers and unsafe names (issue #16 item 6): host names that are not
//! one URL path segment are refused before anything is sent, response bodies are read up to
//! a limit, and a body cut off mid-way is a transport error — for a proxy's error status too,
//! where the read error used to be swallowed into an empty snippet. (nagios-api has no paged
//! listings; the `*_and_wait` helpers already have a deadline.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers below are test code too

use crate::common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{ok_json, setup};
use nagios_client::{Client, Error, RetryConfig};
use ops_proptest::hostile::{chunked, cut_short, raw_server, wait_for_writer};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const UNSAFE: [&str; 9] = ["..", ".", "a/b", "a\tb", "a\\b", "a?b", "a#b", "a\r\nb", ""];

#[tokio::test]
async fn unsafe_host_names_send_no_request() {
    let (server, c) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ok_json(r#"{"success": true, "content": {}}"#))
        .expect(0)
        .mount(&server)
        .await;
    for bad in UNSAFE {
        for err in [
            c.host(bad).await.unwrap_err(),
            c.services(bad).await.unwrap_err(),
        ] {
            assert!(
                matches!(err, Error::InvalidRequest { field: "host", .. }),
                "{bad:?}: {err:?}"
            );
            assert!(err.to_string().contains("`host`"), "{err}");
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn legal_host_names_are_percent_encoded() {
    let (server, c) = setup().await;
    // nagios-api's object ids allow spaces, `+`, `.` and `-`; Nagios itself allows
    // non-ASCII names. Each must arrive as one segment.
    for (name, wire) in [
        ("web 01", "web%2001"),
        ("web+1.example-a", "web+1.example-a"),
        ("nœud-ü", "n%C5%93ud-%C3%BC"),
        ("...", "..."),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/host/{wire}")))
            .respond_with(ok_json(fixture!("host_web01.json")))
            .expect(1)
            .mount(&server)
            .await;
        c.host(name).await.unwrap();
    }
}

fn small_client(uri: &str, limit: usize) -> Client {
    Client::builder(uri)
        .retry(RetryConfig::disabled())
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

#[tokio::test]
async fn body_over_the_limit_with_content_length_is_refused() {
    let (server, _) = setup().await;
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(ok_json(fixture!("state.json")))
        .expect(2)
        .mount(&server)
        .await;
    let err = small_client(&server.uri(), 512).state().await.unwrap_err();
    let Error::ResponseTooLarge {
        limit,
        content_length,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*limit, 512);
    assert_eq!(*content_length, Some(fixture!("state.json").len() as u64));
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
    small_client(&server.uri(), 1 << 20).state().await.unwrap();
}

#[tokio::test]
async fn the_limit_applies_to_the_decompressed_body() {
    // 377 gzip bytes that inflate to 2123: a small wire size must not let a large body in.
    let (server, _) = setup().await;
    let gz = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state_gzip.bin"
    ));
    Mock::given(method("GET"))
        .and(path("/state"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gz.to_vec(), "application/json"),
        )
        .expect(2)
        .mount(&server)
        .await;
    let err = small_client(&server.uri(), 1024).state().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                limit: 1024,
                content_length: None
            }
        ),
        "{err:?}"
    );
    small_client(&server.uri(), 4096).state().await.unwrap();
}

#[test]
fn zero_limit_is_a_config_error() {
    let err = Client::builder("http://127.0.0.1:6315/")
        .max_response_bytes(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn chunked_body_over_the_limit_stops_reading() {
    // No Content-Length: the server streams up to 8 MiB; the client must stop at 64 KiB.
    let (uri, hits, sent) = raw_server(|s, _| chunked(s, "200 OK", 8 << 20));
    let c = small_client(&uri, 64 * 1024);
    let err = tokio::time::timeout(Duration::from_secs(20), c.state())
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
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // It hung up long before the end (socket buffers hold a few MiB at most).
    wait_for_writer(&sent).await;
    assert!(sent.load(Ordering::SeqCst) < 8 << 20);
}

#[tokio::test]
async fn huge_error_body_keeps_a_snippet() {
    let (uri, _, sent) = raw_server(|s, _| chunked(s, "502 Bad Gateway", 8 << 20));
    let c = small_client(&uri, 32 << 20);
    let err = tokio::time::timeout(Duration::from_secs(20), c.state())
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
    wait_for_writer(&sent).await;
    assert!(sent.load(Ordering::SeqCst) < 8 << 20);
}

#[tokio::test]
async fn body_cut_mid_way_is_a_transport_error() {
    // The 502 case used to come back as `UnexpectedStatus` with an empty snippet.
    for status in ["200 OK", "502 Bad Gateway"] {
        let (uri, _, _) = raw_server(move |s, _| {
            cut_short(s, status, "{\"success\": true, \"content\": {\"web01\": ")
        });
        let err = small_client(&uri, 1 << 20).state().await.unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{status}: {err:?}");
    }
}
