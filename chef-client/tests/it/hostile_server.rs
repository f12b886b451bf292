//! Hostile-but-valid servers and unsafe names (issue #16 item 6): names that are not one URL
//! path segment are refused before anything is sent, response bodies are read up to a limit,
//! a body cut off mid-way is a transport error, and search paging is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers below are test code too

use crate::common;

use chef_client::{Client, Error, Node, RetryConfig};
use common::{ORG, Signed, USER, private_key_pem, setup};
use ops_proptest::hostile::{UNSAFE_NAMES, every_request, expect_no_request, pages_until_error};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn invalid_request(err: &Error) -> &str {
    match err {
        Error::InvalidRequest(msg) => msg,
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn unsafe_names_send_no_request() {
    let (server, c) = setup().await;
    expect_no_request(&server).await;
    for bad in UNSAFE_NAMES {
        let e = c.data_bags().delete_item("users", bad).await.unwrap_err();
        let msg = invalid_request(&e);
        assert!(msg.contains("data bag item id"), "{msg}");
        assert!(msg.contains(&format!("{bad:?}")), "{msg}");
        let e = c.data_bags().delete(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("data bag name"));
        let e = c
            .data_bags()
            .get_item::<Value>(bad, "alice")
            .await
            .unwrap_err();
        assert!(invalid_request(&e).contains("data bag name"));
        let e = c
            .data_bags()
            .update_item("users", &json!({"id": bad}))
            .await
            .unwrap_err();
        invalid_request(&e);
        let e = c.nodes().get(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("node name"));
        let e = c.nodes().delete(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("node name"));
        let e = c.nodes().exists(bad).await.unwrap_err();
        invalid_request(&e);
        let e = c.nodes().update(&Node::new(bad)).await.unwrap_err();
        invalid_request(&e);
        let e = c.roles().delete(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("role name"));
        let e = c.environments().nodes(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("environment name"));
        let e = c.clients().delete(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("client name"));
        let e = c.users().get(bad).await.unwrap_err();
        assert!(invalid_request(&e).contains("user name"));
        let e = c
            .search()
            .query::<Value>(bad, "*:*")
            .collect_all()
            .await
            .unwrap_err();
        assert!(invalid_request(&e).contains("search index"));
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn legal_names_are_percent_encoded() {
    let (server, c) = setup().await;
    // Chef names allow `A-Z a-z 0-9 _ - . :`; a space or non-ASCII is the server's call, but
    // it still has to arrive as one segment, percent-encoded (and signed that way).
    for (name, wire) in [
        ("web-01.example.com", "web-01.example.com"),
        ("env:prod", "env:prod"),
        ("web 01", "web%2001"),
        ("nœud-ü", "n%C5%93ud-%C3%BC"),
        ("a%2Fb", "a%252Fb"),
        ("...", "..."),
    ] {
        Mock::given(method("DELETE"))
            .and(path(format!("{ORG}/data/users/{wire}")))
            .and(Signed)
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        c.data_bags().delete_item("users", name).await.unwrap();
        Mock::given(method("GET"))
            .and(path(format!("{ORG}/nodes/{wire}")))
            .and(Signed)
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": name})))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(c.nodes().get(name).await.unwrap().name, name);
    }
}

fn small_client(uri: &str, limit: usize) -> Client {
    Client::builder(format!("{uri}{ORG}"), USER)
        .key_pem(private_key_pem())
        .retry(RetryConfig::disabled())
        .max_response_bytes(limit)
        .build()
        .unwrap()
}

#[tokio::test]
async fn body_over_the_limit_with_content_length_is_refused() {
    let (server, _) = setup().await;
    let big = json!({"name": "web1", "pad": "x".repeat(10_000)});
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes/web1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&big))
        .expect(2)
        .mount(&server)
        .await;
    let c = small_client(&server.uri(), 4096);
    let err = c.nodes().get("web1").await.unwrap_err();
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
    // Within the limit it works.
    let c = small_client(&server.uri(), 64 * 1024);
    assert_eq!(c.nodes().get("web1").await.unwrap().name, "web1");
}

ops_proptest::body_limit_tests! {
    client: small_client,
    call: |c| c.nodes().get("web1"),
    answer: every_request,
    requests: 1,
    cut_short: "{\"name\": \"web1\", \"pad\": \"", "200 OK", "502 Bad Gateway";
    builder: Client::builder("http://127.0.0.1:1/organizations/acme", USER).key_pem(private_key_pem()),
}

#[tokio::test]
async fn search_that_never_ends_is_bounded() {
    let (server, c) = setup().await;
    // Every page is full and `total` grows with `start`: the pager would never stop.
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/search/node")))
        .respond_with(|req: &wiremock::Request| {
            let start: u64 = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "start")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            ResponseTemplate::new(200)
                .set_body_json(json!({"rows": [{}, {}], "start": start, "total": start + 100}))
        })
        .expect(5)
        .mount(&server)
        .await;
    let mut pager = c
        .search()
        .query::<Value>("node", "*:*")
        .rows(2)
        .max_pages(5);
    let (rows, err) = pages_until_error(async || pager.next_page().await).await;
    assert_eq!(rows, 10);
    assert!(
        matches!(
            err,
            Error::TooManyPages {
                what: "search",
                limit: 5
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_pages"), "{err}");
    assert!(pager.next_page().await.is_none());
    assert_eq!(
        chef_client::resources::search::DEFAULT_MAX_PAGES,
        10_000,
        "documented default"
    );
}
