//! STYLE §8 error suite, retries, pagination guards, waiting, validation and secrecy.

use crate::common;

use std::time::{Duration, Instant};

use common::{TOKEN, action, droplet, droplet_with, fast_retry, setup};
use digitalocean_client::{
    Client, CreateDroplet, CreateDroplets, DropletSpec, Error, RetryConfig, StatusCode, WaitOptions,
};
use ops_proptest::hostile::{EchoRefusal, error_texts};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// DigitalOcean's 429 body (headers added by each test).
fn too_many_requests() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .set_body_json(json!({"id": "too_many_requests", "message": "API rate limit exceeded."}))
}

fn spec() -> DropletSpec {
    DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64")
}

#[tokio::test]
async fn not_found_keeps_id_message_and_request_id() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/9"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"id": "not_found", "message": "The resource you requested could not be found."}))
                .insert_header("x-request-id", "req-123")
                .insert_header("ratelimit-limit", "5000")
                .insert_header("ratelimit-remaining", "4999")
                .insert_header("ratelimit-reset", "1700000000"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client.droplets().get(9).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.api_error_id(), Some("not_found"));
    assert_eq!(err.request_id(), Some("req-123"));
    assert_eq!(
        err.to_string(),
        "DigitalOcean API error 404 Not Found (not_found): The resource you requested could not be found."
    );
    // Rate-limit state is recorded on error responses too.
    assert_eq!(client.last_rate_limit().unwrap().remaining, 4999);
}

#[tokio::test]
async fn unprocessable_with_body_is_api_error() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({"id": "unprocessable_entity", "message": "Size is not available in this region.", "request_id": "r-422"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .droplets()
        .create(&CreateDroplet::new("web-1", spec()))
        .await
        .unwrap_err();
    assert!(err.is_unprocessable());
    match &err {
        Error::Api {
            status,
            body,
            retry_after,
        } => {
            assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(body.id, "unprocessable_entity");
            assert_eq!(body.request_id.as_deref(), Some("r-422"));
            assert_eq!(*retry_after, None);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn html_502_is_unexpected_status_with_snippet() {
    let (server, client) = setup().await;
    let html = format!(
        "<html><body><h1>502 Bad Gateway</h1>{}</body></html>",
        "x".repeat(2000)
    );
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(html, "text/html"))
        .expect(3) // GET: retried, then the last error is returned
        .mount(&server)
        .await;
    let err = client.account().get().await.unwrap_err();
    match &err {
        Error::UnexpectedStatus {
            status,
            body_snippet,
            ..
        } => {
            assert_eq!(*status, StatusCode::BAD_GATEWAY);
            assert!(body_snippet.starts_with("<html><body><h1>502 Bad Gateway"));
            assert_eq!(body_snippet.len(), 512);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_server_error());
}

#[tokio::test]
async fn rate_limited_twice_then_success() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/101"))
        .respond_with(too_many_requests().insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/101"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"droplet": droplet()})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client.droplets().get(101).await.unwrap().id, 101);
}

#[tokio::test]
async fn rate_limited_post_is_retried_because_it_was_not_processed() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"id": "too_many_requests", "message": "slow down"}))
                .insert_header("retry-after", "0"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"droplet": droplet_with(5, "web-1", "new")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    client
        .droplets()
        .create(&CreateDroplet::new("web-1", spec()))
        .await
        .unwrap();
}

#[tokio::test]
async fn post_create_with_503_is_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"id": "service_unavailable", "message": "try later"})),
        )
        .expect(2) // two separate creates below, each sent exactly once
        .mount(&server)
        .await;
    let err = client
        .droplets()
        .create(&CreateDroplet::new("web-1", spec()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    let err = client
        .droplets()
        .create_multiple(&CreateDroplets::new(["a"], spec()))
        .await;
    assert!(err.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn idempotent_delete_with_503_is_retried() {
    let (server, client) = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/droplets/5"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/droplets/5"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client.droplets().delete(5).await.unwrap();
}

#[tokio::test]
async fn retry_after_longer_than_cap_returns_at_once() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(too_many_requests().insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client.account().get().await.unwrap_err();
    // The alternative is a 3600 s wait: a 60 s ceiling tells them apart at any load.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = MockServer::start().await;
    let client = Client::builder(TOKEN)
        .base_url(server.uri())
        .retry(RetryConfig {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_secs(2),
        })
        .build()
        .unwrap();
    // The first answer asks for a retry one second after its own Date; the second succeeds.
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            too_many_requests()
                .insert_header("date", "Wed, 21 Oct 2015 07:28:00 GMT")
                .insert_header("retry-after", "Wed, 21 Oct 2015 07:28:01 GMT"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"account": {
            "droplet_limit": 25, "floating_ip_limit": 5, "email": "sammy@example.com",
            "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef", "email_verified": true,
            "status": "active", "status_message": ""}})))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    client.account().get().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_rate_limit_reset() {
    let (server, client) = setup().await;
    // The hourly budget is spent: the oldest request leaves the window an hour after Date.
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            too_many_requests()
                .insert_header("date", "Tue, 14 Nov 2023 22:13:20 GMT")
                .insert_header("ratelimit-limit", "5000")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "1700003600"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client.account().get().await.unwrap_err();
    // The alternative is a wait until the reset, an hour away: a 60 s ceiling tells them
    // apart at any load.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "over the cap: no retry"
    );
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));

    // Budget left (a burst limit, not the window): normal backoff, no hint.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            too_many_requests()
                .insert_header("ratelimit-remaining", "4000")
                .insert_header("ratelimit-reset", "1700003600"),
        )
        .mount(&server)
        .await;
    let err = client.account().get().await.unwrap_err();
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn retries_are_bounded() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"id": "server_error", "message": "boom"})),
        )
        .expect(3)
        .mount(&server)
        .await;
    assert!(client.account().get().await.unwrap_err().is_server_error());
}

#[tokio::test]
async fn disabled_retry_sends_once() {
    let server = MockServer::start().await;
    let client = Client::builder(TOKEN)
        .base_url(server.uri())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    assert!(client.account().get().await.is_err());
}

#[tokio::test]
async fn timeouts_retry_get_but_not_post() {
    let server = MockServer::start().await;
    let client = Client::builder(TOKEN)
        .base_url(server.uri())
        .retry(fast_retry())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(2));
    Mock::given(method("GET"))
        .and(path("/v2/droplets/1"))
        .respond_with(slow.clone())
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .respond_with(slow)
        .expect(1)
        .mount(&server)
        .await;
    let err = client.droplets().get(1).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let err = client
        .droplets()
        .create(&CreateDroplet::new("web-1", spec()))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn connect_errors_are_transport_errors() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = client.account().get().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref e) if e.is_connect()),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_200_is_decode_error() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"droplet": {"id": "not-a-number"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client.droplets().get(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                what: "droplet",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(err.to_string(), "could not decode droplet response");
}

#[tokio::test]
async fn legacy_error_shape_is_kept() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/tags"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "tag-name contains invalid characters", "messages": null, "root_causes": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.tags().create("ok-name").await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(
        err.api_message(),
        Some("tag-name contains invalid characters")
    );
}

// ---------------------------------------------------------------- pagination

#[tokio::test]
async fn pagination_walks_three_pages() {
    let (server, client) = setup().await;
    // `next` links carry the real host: only their path and query are followed.
    let next =
        |page: u32| format!("https://api.digitalocean.com/v2/droplets?page={page}&per_page=2");
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("per_page", "2"))
        .and(wiremock::matchers::query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "droplets": [droplet_with(1, "a", "active"), droplet_with(2, "b", "active")],
            "links": {"pages": {"next": next(2), "last": next(3)}}, "meta": {"total": 5}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "droplets": [droplet_with(3, "c", "active"), droplet_with(4, "d", "active")],
            "links": {"pages": {"prev": next(1), "next": next(3), "last": next(3)}}, "meta": {"total": 5}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("page", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "droplets": [droplet_with(5, "e", "active")],
            "links": {"pages": {"prev": next(2), "first": next(1)}}, "meta": {"total": 5}})))
        .expect(1)
        .mount(&server)
        .await;
    let all = client
        .droplets()
        .list()
        .per_page(2)
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<u64> = all.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn pagination_loop_guard_stops_on_repeated_next() {
    let (server, client) = setup().await;
    // Page 2 points back at itself; page 1 is re-linked too: the pager must stop.
    Mock::given(method("GET"))
        .and(path("/v2/tags"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"name": "b"}],
            "links": {"pages": {"next": "https://api.digitalocean.com/v2/tags?page=2&per_page=200"}}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/tags"))
        .and(query_param("per_page", "200"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tags": [{"name": "a"}],
            "links": {"pages": {"next": "https://api.digitalocean.com/v2/tags?page=2&per_page=200"}}})))
        .expect(1)
        .mount(&server)
        .await;
    let all = tokio::time::timeout(Duration::from_secs(10), client.tags().list().collect_all())
        .await
        .expect("pager looped")
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn pager_stops_after_an_error() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/sizes"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"id": "unauthorized", "message": "Unable to authenticate you."}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut pager = client.sizes().list();
    assert!(
        pager
            .next_page()
            .await
            .unwrap()
            .unwrap_err()
            .is_unauthorized()
    );
    assert!(pager.next_page().await.is_none());
}

// ---------------------------------------------------------------- waiting

#[tokio::test]
async fn wait_times_out_at_the_deadline() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"action": action("in-progress")})),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let opts = WaitOptions::new(Duration::from_millis(300), Duration::from_millis(50));
    let err = client.actions().wait(7, opts).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(err.is_timeout());
    assert!(
        matches!(err, Error::WaitTimedOut { ref last_status, .. } if last_status.as_deref() == Some("InProgress"))
    );
    // The wait never ends early; how late it ends depends on the machine's load, so only
    // the number of polls bounds it from above (300 ms at one poll per 50 ms: at most 7,
    // fewer when the machine is slow; at least the first and one more).
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    let polls = server.received_requests().await.unwrap().len();
    assert!((2..=10).contains(&polls), "{polls} polls");
}

#[tokio::test]
async fn droplet_wait_times_out() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"droplet": droplet_with(3, "x", "new")})),
        )
        .mount(&server)
        .await;
    let opts = WaitOptions::new(Duration::from_millis(100), Duration::from_millis(20));
    let err = client
        .droplets()
        .wait_until_active(3, opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimedOut { .. }), "{err:?}");
}

#[tokio::test]
async fn errored_action_fails_clearly() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/501"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"action": action("errored")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .actions()
        .wait(501, WaitOptions::default())
        .await
        .unwrap_err();
    match &err {
        Error::ActionErrored {
            action_id,
            action_type,
        } => {
            assert_eq!(*action_id, Some(501));
            assert_eq!(action_type, "create");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_string(), "DigitalOcean action 501 (create) errored");
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn bad_input_is_rejected_before_any_request() {
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let d = client.droplets();
    let invalid = |e: Error| assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    invalid(
        d.create(&CreateDroplet::new("web_1", spec()))
            .await
            .unwrap_err(),
    );
    invalid(
        d.create(&CreateDroplet::new("a".repeat(256), spec()))
            .await
            .unwrap_err(),
    );
    invalid(d.create(&CreateDroplet::new("", spec())).await.unwrap_err());
    let names: Vec<String> = (0..11).map(|i| format!("n-{i}")).collect();
    invalid(
        d.create_multiple(&CreateDroplets::new(names, spec()))
            .await
            .unwrap_err(),
    );
    invalid(
        d.create_multiple(&CreateDroplets::new(["ok", "not_ok"], spec()))
            .await
            .unwrap_err(),
    );
    let mut big = spec();
    big.user_data = Some("x".repeat(64 * 1024 + 1).into());
    invalid(
        d.create(&CreateDroplet::new("web-1", big))
            .await
            .unwrap_err(),
    );
    let mut bad_tag = spec();
    bad_tag.tags = vec!["has space".into()];
    invalid(
        d.create(&CreateDroplet::new("web-1", bad_tag))
            .await
            .unwrap_err(),
    );
    invalid(d.list().per_page(201).collect_all().await.unwrap_err());
    invalid(d.list().per_page(0).collect_all().await.unwrap_err());
    invalid(d.list_by_tag("bad tag").collect_all().await.unwrap_err());
    invalid(d.get(0).await.unwrap_err());
    invalid(d.delete_by_tag("").await.unwrap_err());
    invalid(client.tags().create("no spaces allowed").await.unwrap_err());
    invalid(client.tags().tag_resources("web", &[]).await.unwrap_err());
    invalid(client.ssh_keys().get("").await.unwrap_err());
    invalid(client.domains().get("..").await.unwrap_err());
    invalid(
        client
            .domain_records("")
            .list()
            .collect_all()
            .await
            .unwrap_err(),
    );
    invalid(client.images().get_by_slug(" ").await.unwrap_err());
    let filter = digitalocean_client::DropletFilter {
        tag_name: Some("a".into()),
        name: Some("b".into()),
    };
    invalid(d.list_filtered(&filter).collect_all().await.unwrap_err());
}

#[tokio::test]
async fn user_segments_that_would_change_the_path_are_refused() {
    // No DigitalOcean name contains `/`: the client refuses it rather than trusting every
    // server and proxy on the way to keep `%2F` from becoming a path separator.
    let (server, client) = setup().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let err = client
        .domain_records("evil/../v2/account")
        .get(1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "domain",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn empty_token_and_bad_base_url_are_config_errors() {
    assert!(matches!(Client::builder("").build(), Err(Error::Config(_))));
    assert!(matches!(
        Client::builder(TOKEN).base_url("::not a url::").build(),
        Err(Error::Config(_))
    ));
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn token_never_reaches_debug_display_or_errors() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"id": "unauthorized", "message": "Unable to authenticate you."}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut outputs = vec![
        format!("{client:?}"),
        format!("{:?}", Client::builder(TOKEN)),
    ];
    let err = client.account().get().await.unwrap_err();
    outputs.push(format!("{err}"));
    outputs.push(format!("{err:?}"));
    let transport = Client::builder(TOKEN)
        .base_url("http://127.0.0.1:1")
        .retry(RetryConfig::disabled())
        .build()
        .unwrap()
        .account()
        .get()
        .await
        .unwrap_err();
    let mut chain = format!("{transport}");
    let mut source = std::error::Error::source(&transport);
    while let Some(s) = source {
        chain.push_str(&format!(": {s} / {s:?}"));
        source = s.source();
    }
    outputs.push(chain);
    outputs.push(format!("{transport:?}"));
    let config = Client::builder(format!("{TOKEN}\nX")).build().unwrap_err();
    outputs.push(format!("{config} {config:?}"));
    for out in &outputs {
        assert!(!out.contains(TOKEN), "token leaked in: {out}");
        assert!(!out.contains("SECRET"), "token leaked in: {out}");
    }
    // The header really was sent.
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        reqs[0].headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
}

/// A server (or proxy) that refuses every request with `status` and echoes it back in its
/// error body: method, path, every header and the body.
fn echo_refusal(status: u16) -> impl wiremock::Respond {
    EchoRefusal(move |echo: String| {
        ResponseTemplate::new(status).set_body_json(json!({"id": "unauthorized", "message": echo}))
    })
}

// Issue #17: the token never reaches an error through a server that echoes the request.
#[tokio::test]
async fn a_server_echoing_the_request_never_puts_the_token_into_the_error() {
    for status in [401, 403, 500] {
        let (server, client) = setup().await;
        Mock::given(method("GET"))
            .respond_with(echo_refusal(status))
            .mount(&server)
            .await;
        let err = client.account().get().await.unwrap_err();
        let all = error_texts(&err);
        assert!(!all.contains(TOKEN), "{status}: {all}");
        assert!(
            all.contains("Bearer [REDACTED]"),
            "{status}: the echo is kept: {all}"
        );
    }
}
