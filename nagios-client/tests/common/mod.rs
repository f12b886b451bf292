//! Shared test setup: one MockServer per test, a client with fast retries.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use nagios_client::{Client, RetryConfig};
use wiremock::MockServer;
use wiremock::ResponseTemplate;

pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = client_for(&server.uri());
    (server, client)
}

pub fn client_for(uri: &str) -> Client {
    Client::builder(uri)
        .retry(fast_retry())
        .poll_interval(Duration::from_millis(20))
        .build()
        .expect("client")
}

pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

/// nagios-api's answer: always 200, JSON body.
pub fn ok_json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
    };
}
