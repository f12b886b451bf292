#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use digitalocean_client::{Client, RetryConfig};
use serde_json::{Value, json};
use wiremock::MockServer;

pub const TOKEN: &str = "dop_v1_test_0123456789abcdef_SECRET";

pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

/// One mock server per test and a client pointed at it.
pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::builder(TOKEN)
        .base_url(server.uri())
        .retry(fast_retry())
        .build()
        .unwrap();
    (server, client)
}

pub fn droplet() -> Value {
    serde_json::from_str(include_str!("../fixtures/droplet.json")).unwrap()
}

pub fn droplet_with(id: u64, name: &str, status: &str) -> Value {
    let mut d = droplet();
    d["id"] = json!(id);
    d["name"] = json!(name);
    d["status"] = json!(status);
    d
}

pub fn action(status: &str) -> Value {
    let mut a: Value = serde_json::from_str(include_str!("../fixtures/action.json")).unwrap();
    a["status"] = json!(status);
    a
}
