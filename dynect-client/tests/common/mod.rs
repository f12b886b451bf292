#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dynect_client::{Client, ClientBuilder, PollConfig, RetryConfig};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const CUSTOMER: &str = "go-dynect";
pub const USER: &str = "dynect-user";
pub const PASSWORD: &str = "p@55w0rd";
/// The (scrubbed) token in `fixtures/session_login.json`.
pub const TOKEN: &str = "+cG++GbemTESTTOKEN/scrubbed+aKc=";
/// The recorded login request body, byte for byte.
pub const LOGIN_BODY: &str =
    r#"{"user_name":"dynect-user","password":"p@55w0rd","customer_name":"go-dynect"}"#;

/// Load a fixture file by name.
#[macro_export]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
    };
}

pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

pub fn fast_poll() -> PollConfig {
    PollConfig {
        initial_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(2),
    }
}

pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(CUSTOMER, USER, PASSWORD.to_string())
        .base_url(server.uri())
        .retry(fast_retry())
        .poll(fast_poll())
}

pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = builder(&server).build().unwrap();
    (server, client)
}

/// A JSON response with the body exactly as given.
pub fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// The recorded login exchange: exact body, no Auth-Token.
pub fn login_mock(n: u64) -> Mock {
    Mock::given(method("POST"))
        .and(path("/REST/Session"))
        .and(header("Content-Type", "application/json"))
        .and(body_string(LOGIN_BODY))
        .and(|req: &Request| !req.headers.contains_key("auth-token"))
        .respond_with(json(200, fixture!("session_login.json")))
        .expect(n)
}

/// Matches requests carrying the session token.
pub fn authed(m: &str, p: &str) -> wiremock::MockBuilder {
    Mock::given(method(m))
        .and(path(p))
        .and(header("Auth-Token", TOKEN))
        .and(header("Content-Type", "application/json"))
}

/// Request has an empty body.
pub fn empty_body(req: &Request) -> bool {
    req.body.is_empty()
}
