//! Issue #23: a `406` refusing `X-Ops-Server-API-Version` is renegotiated once from the
//! server's advertised range, in the real RFC 41 format (the `X-Ops-Server-API-Version`
//! response header: JSON with the numbers as strings, `response_version` `-1`; the body's
//! `min_api_version`/`max_api_version`), and the negotiated version is kept.

use crate::common;

use chef_client::{Client, CreateClient, Error};
use common::{ORG, SignedAt, fast_retry, private_key_pem};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What Chef Infra Server answers a request for an unsupported version `requested`.
fn refused(requested: u32, min: u32, max: u32) -> ResponseTemplate {
    ResponseTemplate::new(406)
        .insert_header(
            "X-Ops-Server-API-Version",
            format!(
                r#"{{"min_version":"{min}","max_version":"{max}","request_version":"{requested}","response_version":"-1"}}"#
            )
            .as_str(),
        )
        .set_body_json(json!({
            "error": "invalid-x-ops-server-api-version",
            "message": format!("Specified version {requested} not supported"),
            "min_api_version": min,
            "max_api_version": max,
        }))
}

/// A successful answer with the header as the server sends it on every response.
fn served(version: u32, min: u32, max: u32, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header(
            "X-Ops-Server-API-Version",
            format!(
                r#"{{"min_version":"{min}","max_version":"{max}","request_version":"{version}","response_version":"{version}"}}"#
            )
            .as_str(),
        )
        .set_body_json(body)
}

#[allow(clippy::unwrap_used)]
async fn client_at(server: &MockServer, version: u32) -> Client {
    Client::builder(format!("{}{ORG}", server.uri()), common::USER)
        .key_pem(private_key_pem())
        .server_api_version(version)
        .retry(fast_retry())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_refused_version_is_renegotiated_once_and_kept() {
    let server = MockServer::start().await;
    // The server supports 0..=1; the client asks for 2 first.
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes")))
        .and(SignedAt("2"))
        .respond_with(refused(2, 0, 1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes")))
        .and(SignedAt("1"))
        .respond_with(served(1, 0, 1, json!({"web1": "u"})))
        .expect(2)
        .mount(&server)
        .await;
    let c = client_at(&server, 2).await;
    assert_eq!(c.server_api_version(), 2);
    assert_eq!(c.nodes().list().await.unwrap(), ["web1"]);
    assert_eq!(c.server_api_version(), 1, "the negotiated version is kept");
    // A later request (and a clone's) goes straight to version 1: no second 406.
    assert_eq!(c.clone().nodes().list().await.unwrap(), ["web1"]);
}

#[tokio::test]
async fn a_post_is_repeated_once_after_a_version_refusal_since_it_was_not_processed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/clients")))
        .and(SignedAt("1"))
        .respond_with(refused(1, 2, 3))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/clients")))
        .and(SignedAt("2"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"uri": "https://chef/clients/web1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client_at(&server, 1).await;
    c.clients()
        .create(&CreateClient::new("web1"))
        .await
        .unwrap();
    assert_eq!(c.server_api_version(), 2);
}

#[tokio::test]
async fn no_common_version_returns_the_406_with_both_ranges_after_one_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles")))
        .and(SignedAt("1"))
        .respond_with(refused(1, 3, 5))
        .expect(1)
        .mount(&server)
        .await;
    let c = client_at(&server, 1).await;
    let err = c.roles().list().await.unwrap_err();
    assert!(err.is_api_version_rejected(), "{err:?}");
    assert_eq!(err.server_api_range(), Some((3, 5)));
    let Error::Api { server_api, .. } = &err else {
        panic!("{err:?}")
    };
    let h = server_api.expect("the header is kept");
    assert_eq!((h.request_version, h.response_version), (Some(1), Some(-1)));
    let msg = err.to_string();
    assert!(msg.contains("server supports API versions 3 to 5"), "{msg}");
    assert_eq!(c.server_api_version(), 1);
}

#[tokio::test]
async fn renegotiation_happens_once_even_if_the_server_refuses_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles")))
        .and(SignedAt("1"))
        .respond_with(refused(1, 2, 2))
        .expect(1)
        .mount(&server)
        .await;
    // A confused server: advertises 2, then refuses it and advertises 1.
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles")))
        .and(SignedAt("2"))
        .respond_with(refused(2, 1, 1))
        .expect(1)
        .mount(&server)
        .await;
    let c = client_at(&server, 1).await;
    let err = c.roles().list().await.unwrap_err();
    assert!(err.is_api_version_rejected());
    assert_eq!(err.server_api_range(), Some((1, 1)));
}

#[tokio::test]
async fn only_the_body_range_is_enough_and_other_406s_are_not_repeated() {
    let server = MockServer::start().await;
    // No header (a proxy stripped it): the body's range decides.
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles")))
        .and(SignedAt("1"))
        .respond_with(ResponseTemplate::new(406).set_body_json(json!({
            "error": "invalid-x-ops-server-api-version",
            "message": "Specified version 1 not supported",
            "min_api_version": 0, "max_api_version": 0})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles")))
        .and(SignedAt("0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    // A 406 that is not about the version (content negotiation): never repeated.
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/environments")))
        .respond_with(
            ResponseTemplate::new(406).set_body_json(json!({"error": ["Not Acceptable"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client_at(&server, 1).await;
    assert!(c.roles().list().await.unwrap().is_empty());
    assert_eq!(c.server_api_version(), 0);
    let err = c.environments().list().await.unwrap_err();
    assert!(!err.is_api_version_rejected());
    assert_eq!(c.server_api_version(), 0);
}
