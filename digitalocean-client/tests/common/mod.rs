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

// ------------------------------------------------ request shapes and error paths (issue #22)

/// A mock for `verb path` with the auth every request carries (and, for a request with a
/// body, the JSON content type).
pub fn on(verb: &str, p: &str) -> wiremock::MockBuilder {
    use wiremock::matchers::{bearer_token, header, method, path};
    wiremock::Mock::given(method(verb))
        .and(path(p))
        .and(bearer_token(TOKEN))
        .and(header("accept", "application/json"))
}

/// Like [`on`], for a request that carries a JSON body equal to `body`.
pub fn on_json(verb: &str, p: &str, body: Value) -> wiremock::MockBuilder {
    use wiremock::matchers::{body_json, header};
    on(verb, p)
        .and(header("content-type", "application/json"))
        .and(body_json(body))
}

/// A 200 with `body`.
pub fn ok_json(body: Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_json(body)
}

/// A 204 (DigitalOcean sends a JSON content type with it).
pub fn no_content() -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(204).insert_header("content-type", "application/json")
}

/// The error paths every method shares, each against a fresh mock server:
///
/// - 404 keeps DigitalOcean's `id`, `message` and `request_id`, `is_not_found()`;
/// - 422 keeps `id`, `message` and the `x-request-id` header as the request id;
/// - 429 with `Retry-After: 3600` (over the retry cap) comes back at once, sent once, with
///   the wait in `retry_after()`;
/// - 503: a `POST` is sent once (never retried blindly) and the error `is_ambiguous()`;
///   `GET`/`PUT`/`DELETE` are retried up to the attempt limit.
pub async fn error_paths<F, Fut, T>(verb: &str, p: &str, call: F)
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = digitalocean_client::Result<T>>,
    T: std::fmt::Debug,
{
    use digitalocean_client::StatusCode;
    use wiremock::ResponseTemplate;
    use wiremock::matchers::{method, path};
    let mock = || wiremock::Mock::given(method(verb)).and(path(p));

    let (server, client) = setup().await;
    mock()
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "id": "not_found", "message": "The resource you requested could not be found.",
            "request_id": "req-404"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = call(client).await.unwrap_err();
    assert!(err.is_not_found(), "{verb} {p}: {err:?}");
    assert_eq!(err.api_error_id(), Some("not_found"), "{verb} {p}");
    assert_eq!(
        err.api_message(),
        Some("The resource you requested could not be found.")
    );
    assert_eq!(err.request_id(), Some("req-404"), "{verb} {p}");
    assert!(!err.is_ambiguous(), "{verb} {p}: a 404 changed nothing");
    drop(server);

    let (server, client) = setup().await;
    mock()
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(
                    json!({"id": "unprocessable_entity", "message": "Not allowed here."}),
                )
                .insert_header("x-request-id", "hdr-422"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = call(client).await.unwrap_err();
    assert!(err.is_unprocessable(), "{verb} {p}: {err:?}");
    assert_eq!(err.api_error_id(), Some("unprocessable_entity"));
    assert_eq!(err.api_message(), Some("Not allowed here."));
    assert_eq!(err.request_id(), Some("hdr-422"), "{verb} {p}");
    drop(server);

    let (server, client) = setup().await;
    mock()
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(
                    json!({"id": "too_many_requests", "message": "API rate limit exceeded."}),
                )
                .insert_header("retry-after", "3600"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = call(client).await.unwrap_err();
    assert!(err.is_rate_limited(), "{verb} {p}: {err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(!err.is_ambiguous(), "{verb} {p}: a 429 was not processed");
    drop(server);

    let (server, client) = setup().await;
    let attempts = if verb == "POST" { 1 } else { 3 };
    mock()
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"id": "service_unavailable", "message": "try again later"})),
        )
        .expect(attempts)
        .mount(&server)
        .await;
    let err = call(client).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "{verb} {p}"
    );
    assert!(
        err.is_ambiguous(),
        "{verb} {p}: a 5xx may have been processed"
    );
    drop(server);
}

/// Checks that `call` is refused before sending: `InvalidInput` naming `field`, and no
/// request reached the server.
pub async fn refused<F, Fut, T>(field: &str, call: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = digitalocean_client::Result<T>>,
    T: std::fmt::Debug,
{
    let (server, client) = setup().await;
    let err = call(client).await.unwrap_err();
    match &err {
        digitalocean_client::Error::InvalidInput { field: f, .. } => {
            assert_eq!(*f, field, "{err}")
        }
        other => panic!("expected InvalidInput({field}), got {other:?}"),
    }
    assert!(err.is_client_side());
    assert!(server.received_requests().await.unwrap().is_empty());
}
