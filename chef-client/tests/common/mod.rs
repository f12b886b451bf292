//! Shared wiremock setup: a `MockServer` per test and a client signing with the reference key.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use chef_client::auth;
use chef_client::{Client, ProtocolVersion, RetryConfig};
use wiremock::{Match, MockServer, Request};

pub const USER: &str = "deploy";
pub const ORG: &str = "/organizations/acme";

pub fn private_key_pem() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/chef/vectors/private_key.pem"
    ))
    .unwrap()
}

pub fn public_key_pem() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/chef/vectors/public_key.pem"
    ))
    .unwrap()
}

pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

/// A mock server and a client for `{server}/organizations/acme`.
pub async fn setup() -> (MockServer, Client) {
    setup_with(ProtocolVersion::V1_3).await
}

pub async fn setup_with(version: ProtocolVersion) -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::builder(format!("{}{ORG}", server.uri()), USER)
        .key_pem(private_key_pem())
        .protocol_version(version)
        .retry(fast_retry())
        .build()
        .unwrap();
    (server, client)
}

/// Matches only requests carrying a valid, fresh Chef signature by `USER` (checked with
/// the crate's own verifier against the reference public key) and the always-on headers.
pub struct Signed;

impl Match for Signed {
    fn matches(&self, req: &Request) -> bool {
        match check_signature(req) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("unsigned or badly signed {} {}: {e}", req.method, req.url);
                false
            }
        }
    }
}

/// [`Signed`], with this `X-Ops-Server-API-Version` (signed by protocol 1.3).
pub struct SignedAt(pub &'static str);

impl Match for SignedAt {
    fn matches(&self, req: &Request) -> bool {
        match check_signature_at(req, self.0) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("unsigned or badly signed {} {}: {e}", req.method, req.url);
                false
            }
        }
    }
}

pub fn check_signature(req: &Request) -> Result<(), String> {
    check_signature_at(req, "1")
}

pub fn check_signature_at(req: &Request, api_version: &str) -> Result<(), String> {
    let v = auth::verify(
        &public_key_pem(),
        req.method.as_str(),
        req.url.path(),
        &req.body,
        &req.headers,
    )
    .map_err(|e| e.to_string())?;
    if v.user_id != USER {
        return Err(format!("user {}", v.user_id));
    }
    let ts = auth::parse_timestamp(&v.timestamp).ok_or("bad timestamp")?;
    let age = SystemTime::now().duration_since(ts).unwrap_or_default();
    if age > Duration::from_secs(60) {
        return Err("stale timestamp".into());
    }
    let header = |n: &str| {
        req.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    if header("accept") != "application/json" {
        return Err("Accept".into());
    }
    if header("x-chef-version").is_empty() {
        return Err("X-Chef-Version".into());
    }
    if header("x-ops-server-api-version") != api_version {
        return Err("X-Ops-Server-API-Version".into());
    }
    if !req.body.is_empty() && header("content-type") != "application/json" {
        return Err("Content-Type".into());
    }
    Ok(())
}
