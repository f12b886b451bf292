//! The STYLE §8 error suite plus Chef specifics (409, 401 clock skew, 403, 406, 413 text),
//! retries that re-sign, and secret redaction.

use crate::common;

use std::time::Duration;

use chef_client::{Client, CreateClient, Error, Node, ProtocolVersion, RetryConfig};
use common::{ORG, Signed, setup};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn nodes_path() -> String {
    format!("{ORG}/nodes")
}

#[tokio::test]
async fn not_found_is_typed() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes/nope")))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": ["node 'nope' not found"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = c.nodes().get("nope").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.messages(), ["node 'nope' not found"]);
    assert_eq!(
        err.to_string(),
        "Chef API error 404 Not Found: node 'nope' not found"
    );
}

#[tokio::test]
async fn unprocessable_with_body_is_api_error_without_retry() {
    let (server, c) = setup().await;
    Mock::given(method("PUT"))
        .and(path(format!("{ORG}/nodes/web1")))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(json!({"error": ["Field 'name' invalid", "second"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = c.nodes().update(&Node::new("web1")).await.unwrap_err();
    let Error::Api { status, body, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(status.as_u16(), 422);
    assert_eq!(body.error, ["Field 'name' invalid", "second"]);
    assert!(err.to_string().contains("Field 'name' invalid; second"));
}

#[tokio::test]
async fn bad_gateway_html_is_unexpected_status_after_retries() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(502).set_body_string("<html><body>Bad Gateway</body></html>"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = c.nodes().list().await.unwrap_err();
    let Error::UnexpectedStatus {
        status,
        body_snippet,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status.as_u16(), 502);
    assert!(body_snippet.contains("Bad Gateway"));
}

#[tokio::test]
async fn rate_limited_twice_then_ok_each_attempt_signed() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(json!({"error": ["slow down"]})),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"web1": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(c.nodes().list().await.unwrap(), ["web1"]);
}

#[tokio::test]
async fn post_with_503_is_not_retried() {
    let (server, c) = setup().await;
    Mock::given(method("POST"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": ["unavailable"]})))
        .expect(1)
        .mount(&server)
        .await;
    let err = c.nodes().create(&Node::new("web1")).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
}

#[tokio::test]
async fn get_503_is_retried_and_every_attempt_is_freshly_signed() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": ["unavailable"]})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    c.nodes().list().await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        common::check_signature(r).unwrap();
    }
}

#[tokio::test]
async fn long_retry_after_returns_at_once() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3600")
                .set_body_json(json!({"error": ["later"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = c.nodes().list().await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn malformed_200_is_decode_error() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes/web1")))
        .and(Signed)
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"name\": 42"))
        .expect(1)
        .mount(&server)
        .await;
    let err = c.nodes().get("web1").await.unwrap_err();
    assert!(matches!(err, Error::Decode { what: "node", .. }), "{err:?}");
}

#[tokio::test]
async fn conflict_forbidden_and_clock_skew() {
    let (server, c) = setup().await;
    Mock::given(method("POST"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"error": ["Node already exists"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{ORG}/nodes/web1")))
        .and(Signed)
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": ["You are not allowed to perform this action"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(nodes_path()))
        .and(Signed)
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": ["Authentication failed. Please check your system's clock."]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path(format!("{ORG}/roles"))).and(Signed)
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": ["Failed to authenticate as 'deploy'. Ensure that your node_name and client key are correct."]})))
        .expect(1).mount(&server).await;
    let err = c.nodes().create(&Node::new("web1")).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let err = c.nodes().delete("web1").await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let err = c.nodes().list().await.unwrap_err();
    assert!(err.is_unauthorized() && err.is_clock_skew());
    assert!(err.to_string().contains("clock is synchronised"), "{err}");
    let err = c.roles().list().await.unwrap_err();
    assert!(err.is_unauthorized() && !err.is_clock_skew());
}

#[tokio::test]
async fn api_version_406_and_plain_text_413() {
    let (server, c) = setup().await;
    Mock::given(method("GET")).and(path(nodes_path())).and(Signed)
        .respond_with(ResponseTemplate::new(406).set_body_json(json!({"error": "invalid-x-ops-server-api-version", "message": "Specified version 1 not supported", "min_version": 3, "max_version": 4})))
        .expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/data/big")))
        .and(Signed)
        .respond_with(ResponseTemplate::new(413).set_body_string("Content-length too long!"))
        .expect(1)
        .mount(&server)
        .await;
    let err = c.nodes().list().await.unwrap_err();
    let Error::Api { body, .. } = &err else {
        panic!("{err:?}")
    };
    // No version both support (this client decodes 0 to 2): returned after one request.
    assert_eq!((body.min_version, body.max_version), (Some(3), Some(4)));
    assert!(
        err.to_string()
            .contains("invalid-x-ops-server-api-version; Specified version 1 not supported")
    );
    let err = c
        .data_bags()
        .create_item("big", &json!({"id": "x"}))
        .await
        .unwrap_err();
    let Error::UnexpectedStatus {
        status,
        body_snippet,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (status.as_u16(), body_snippet.as_str()),
        (413, "Content-length too long!")
    );
}

#[tokio::test]
async fn connection_refused_is_transport_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = Client::builder(format!("http://{addr}{ORG}"), common::USER)
        .key_pem(common::private_key_pem())
        .retry(common::fast_retry())
        .build()
        .unwrap();
    let err = c.nodes().list().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn config_errors() {
    let key = common::private_key_pem();
    let err = Client::builder("chef.example.com", "x")
        .key_pem(key.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    let err = Client::builder("https://chef/organizations/acme", "x")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no client key"), "{err}");
    let err = Client::builder("https://chef", "")
        .key_pem(key.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    let err = Client::builder("https://chef", "x")
        .key_pem("-----BEGIN RSA PRIVATE KEY-----\nMIIEbroken\n-----END RSA PRIVATE KEY-----\n")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("invalid Chef client key"), "{err}");
    assert!(!format!("{err:?}").contains("MIIEbroken"));
    let err = Client::builder("https://chef", "x")
        .key_file("/nonexistent/x.pem")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.pem"), "{err}");
    let err = Client::builder("https://chef", "x")
        .key_pem(key)
        .retry(RetryConfig::disabled())
        .protocol_version(ProtocolVersion::V1_0)
        .build()
        .map(|_| ());
    assert!(err.is_ok());
}

#[tokio::test]
async fn secrets_never_reach_debug_display_or_errors() {
    let key = common::private_key_pem();
    let key_line = key.lines().nth(5).unwrap().to_owned();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/clients")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"uri": "u", "private_key": key.clone()})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": ["no"]})))
        .mount(&server)
        .await;
    let builder = Client::builder(format!("{}{ORG}", server.uri()), "deploy").key_pem(key.clone());
    assert!(!format!("{builder:?}").contains(&key_line));
    let c = builder.build().unwrap();
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains(&key_line) && !dbg.contains("PRIVATE KEY"),
        "{dbg}"
    );
    let created = c.clients().create(&CreateClient::new("x")).await.unwrap();
    assert!(!format!("{created:?}").contains(&key_line));
    let err = c.nodes().list().await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(&key_line));
    // The authorization lines are not in error output either.
    let reqs = server.received_requests().await.unwrap();
    let auth1 = reqs[1]
        .headers
        .get("x-ops-authorization-1")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!format!("{err:?}").contains(&auth1));
}
