//! Hostile-but-valid servers and unsafe names (issue #16 item 6): host names that are not
//! one URL path segment are refused before anything is sent, response bodies are read up to
//! a limit, and a body cut off mid-way is a transport error — for a proxy's error status too,
//! where the read error used to be swallowed into an empty snippet. (nagios-api has no paged
//! listings; the `*_and_wait` helpers already have a deadline.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers below are test code too

use crate::common;

use common::{ok_json, setup};
use nagios_client::{Client, Error, RetryConfig};
use ops_proptest::hostile::{UNSAFE_NAMES, every_request, expect_no_request};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn unsafe_host_names_send_no_request() {
    let (server, c) = setup().await;
    expect_no_request(&server).await;
    for bad in UNSAFE_NAMES {
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

// The cut-off 502 used to come back as `UnexpectedStatus` with an empty snippet.
ops_proptest::body_limit_tests! {
    client: small_client,
    call: |c| c.state(),
    answer: every_request,
    requests: 1,
    cut_short: "{\"success\": true, \"content\": {\"web01\": ", "200 OK", "502 Bad Gateway";
    builder: Client::builder("http://127.0.0.1:6315/"),
}
