//! Hostile-but-valid servers and unsafe names (issue #16 item 6): names that are not one URL
//! path segment are refused before anything is sent, response bodies are read up to a limit,
//! a body cut off mid-way is a transport error, and the pager is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers below are test code too

use crate::common;

use std::time::Duration;

use common::{TOKEN, droplet, setup};
use digitalocean_client::{Client, DEFAULT_MAX_PAGES, Error, RetryConfig, SshKeyId};
use ops_proptest::hostile::{UNSAFE_NAMES, every_request, expect_no_request, pages_until_error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn invalid_field(err: &Error) -> &'static str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn unsafe_names_send_no_request() {
    let (server, c) = setup().await;
    expect_no_request(&server).await;
    for bad in UNSAFE_NAMES {
        let e = c.domains().get(bad).await.unwrap_err();
        assert_eq!(invalid_field(&e), "domain", "{bad:?}");
        let e = c.domains().delete(bad).await.unwrap_err();
        assert_eq!(invalid_field(&e), "domain");
        let e = c.domain_records(bad).delete(7).await.unwrap_err();
        assert_eq!(invalid_field(&e), "domain");
        let e = c
            .domain_records(bad)
            .list()
            .collect_all()
            .await
            .unwrap_err();
        assert_eq!(invalid_field(&e), "domain");
        let e = c.images().get_by_slug(bad).await.unwrap_err();
        assert!(matches!(invalid_field(&e), "image" | "slug"), "{e:?}");
        let e = c
            .ssh_keys()
            .delete(SshKeyId::Fingerprint(bad.to_owned()))
            .await
            .unwrap_err();
        assert!(
            matches!(invalid_field(&e), "ssh_key" | "fingerprint"),
            "{e:?}"
        );
        let e = c.tags().delete(bad).await.unwrap_err();
        assert_eq!(invalid_field(&e), "tag");
        if !bad.is_empty() && bad.trim() == bad {
            // The message names the value, escaped.
            let e = c.domains().delete(bad).await.unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn legal_names_are_percent_encoded() {
    let (server, c) = setup().await;
    // Tags allow `:`, fingerprints are `aa:bb:…`; a domain given in Unicode is the API's
    // call to refuse, but it must arrive as one percent-encoded segment.
    Mock::given(method("DELETE"))
        .and(path("/v2/tags/env:prod"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    c.tags().delete("env:prod").await.unwrap();
    Mock::given(method("DELETE"))
        .and(path("/v2/account/keys/3b:16:bf:e4"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    c.ssh_keys().delete("3b:16:bf:e4").await.unwrap();
    Mock::given(method("DELETE"))
        .and(path("/v2/domains/b%C3%BCcher.example"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    c.domains().delete("bücher.example").await.unwrap();
    Mock::given(method("DELETE"))
        .and(path("/v2/domains/my%20zone.example"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    c.domains().delete("my zone.example").await.unwrap();
}

fn small_client(uri: &str, limit: usize) -> Client {
    Client::builder(TOKEN)
        .base_url(uri)
        .retry(RetryConfig::disabled())
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

#[tokio::test]
async fn body_over_the_limit_with_content_length_is_refused() {
    let (server, _) = setup().await;
    let mut d = droplet();
    d["pad"] = json!("x".repeat(10_000));
    Mock::given(method("GET"))
        .and(path("/v2/droplets/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"droplet": d})))
        .expect(2)
        .mount(&server)
        .await;
    let err = small_client(&server.uri(), 4096)
        .droplets()
        .get(1)
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
    small_client(&server.uri(), 64 * 1024)
        .droplets()
        .get(1)
        .await
        .unwrap();
}

ops_proptest::body_limit_tests! {
    client: small_client,
    call: |c| c.droplets().get(1),
    answer: every_request,
    requests: 1,
    cut_short: "{\"droplet\": {\"id\": 1, \"pad\": \"", "200 OK", "502 Bad Gateway";
    builder: Client::builder(TOKEN),
}

/// A fake that always links a new next page: `?page=N` links to `page=N+1`.
async fn endless_pages(server: &wiremock::MockServer, meta_total: Option<u64>) {
    Mock::given(method("GET"))
        .and(path("/v2/tags"))
        .respond_with(move |req: &wiremock::Request| {
            let page: u64 = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1);
            let next = format!(
                "https://api.digitalocean.com/v2/tags?page={}&per_page=2",
                page + 1
            );
            let mut body = json!({
                "tags": [{"name": format!("t{page}a")}, {"name": format!("t{page}b")}],
                "links": {"pages": {"next": next}},
            });
            if let Some(total) = meta_total {
                body["meta"] = json!({"total": total});
            }
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(server)
        .await;
}

#[tokio::test]
async fn pager_that_never_ends_is_bounded_by_max_pages() {
    let (server, c) = setup().await;
    endless_pages(&server, None).await;
    let mut pager = c.tags().list().per_page(2).max_pages(5);
    let (items, err) = pages_until_error(async || pager.next_page().await).await;
    assert_eq!(items, 10);
    assert!(
        matches!(
            err,
            Error::TooManyPages {
                what: "tag list",
                pages: 5,
                limit: 5
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_pages"), "{err}");
    assert!(pager.next_page().await.is_none());
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    assert_eq!(DEFAULT_MAX_PAGES, 10_000);
}

#[tokio::test]
async fn pager_limit_follows_meta_total() {
    let (server, c) = setup().await;
    // 6 items at 2 per page is 3 pages; slack allows 2 more, then it is an error.
    endless_pages(&server, Some(6)).await;
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        c.tags().list().per_page(2).collect_all(),
    )
    .await
    .expect("the pager did not stop")
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyPages {
                pages: 5,
                limit: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn malformed_links_are_a_decode_error() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"name": "a"}], "links": {"pages": {"next": 2}}})))
        .expect(1)
        .mount(&server)
        .await;
    let err = c.tags().list().collect_all().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
