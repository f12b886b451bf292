//! The DigitalOcean `AccountKeys` adapter against the digitalocean-client testkit fake:
//! pagination, create/delete, error mapping (ambiguity included) and the listing budget.
//! Plain Rust, no external tool: runs with `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::key_sync_support;

use std::time::{Duration, Instant};

use digitalocean_client::testkit::FakeDigitalOcean;
use key_sync_support::ed_key;
use ops_core::adapters::do_keys::DoAccountKeys;
use ops_core::key_sync::{AccountKeys, NewAccountKey};
use ops_core::ports::{PortErrorKind, Service};

fn new_key(i: usize) -> NewAccountKey {
    NewAccountKey {
        name: format!("key-sync:user-{i:03}:abc"),
        public_key: ed_key(&format!("user-{i:03}")),
    }
}

#[tokio::test]
async fn lists_every_page_creates_and_deletes() {
    let fake = FakeDigitalOcean::start().await.unwrap();
    let keys = DoAccountKeys::new(fake.client().unwrap());
    assert!(keys.list_keys().await.unwrap().is_empty());
    let mut created = Vec::new();
    for i in 0..250 {
        created.push(keys.create_key(&new_key(i)).await.unwrap());
    }
    assert_eq!(created[7].name, "key-sync:user-007:abc");
    assert_eq!(created[7].public_key, ed_key("user-007"));
    assert!(!created[7].fingerprint.is_empty());

    let before = fake.requests().len();
    let listed = keys.list_keys().await.unwrap();
    assert_eq!(listed.len(), 250);
    assert_eq!(fake.requests().len() - before, 2, "200 per page");
    assert!(listed.contains(&created[249]));

    keys.delete_key(created[0].id).await.unwrap();
    let err = keys.delete_key(created[0].id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.service(), Service::Compute);
    assert_eq!(err.provider(), "digitalocean");
    assert_eq!(keys.list_keys().await.unwrap().len(), 249);

    // The same key twice: DigitalOcean answers 422 "already in use".
    let err = keys.create_key(&new_key(1)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::AlreadyExists, "{err}");
    assert!(!err.is_ambiguous());
    let err = keys
        .create_key(&NewAccountKey {
            name: "bad".into(),
            public_key: "not a key".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");
}

#[tokio::test]
async fn failed_creates_are_ambiguous_and_never_retried() {
    let fake = FakeDigitalOcean::start().await.unwrap();
    let keys = DoAccountKeys::new(fake.client().unwrap());
    fake.faults().fail_next(1, 503);
    let err = keys.create_key(&new_key(1)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    assert!(
        err.is_ambiguous(),
        "a 5xx answer to a POST may have taken effect"
    );
    assert_eq!(fake.requests_matching("POST", "/v2/account/keys").len(), 1);

    fake.faults().drop_next_connections(1);
    let err = keys.create_key(&new_key(2)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    assert!(err.is_ambiguous(), "{err}");

    // A listing (a read) is retried by the client and never ambiguous.
    fake.faults().fail_next(1, 503);
    assert!(keys.list_keys().await.unwrap().is_empty());
    fake.faults().rate_limit_next(3, 7);
    let err = keys.list_keys().await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::RateLimited, "{err}");
    assert!(!err.is_ambiguous());

    // Nothing listening: a refused connection never reached the server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = DoAccountKeys::new(
        fake.client_builder()
            .base_url(format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
    );
    let err = dead.create_key(&new_key(3)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    assert!(!err.is_ambiguous(), "{err}");
}

#[tokio::test]
async fn listing_budget_waits_instead_of_drawing_a_429() {
    let fake = FakeDigitalOcean::start().await.unwrap();
    let keys = DoAccountKeys::new(fake.client().unwrap()).list_budget(2, Duration::from_secs(3));
    let t = Instant::now();
    keys.list_keys().await.unwrap();
    keys.list_keys().await.unwrap();
    // Two loopback listings take milliseconds; 3 s holds at load 8 on 2 cores.
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    keys.list_keys().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(3),
        "the third listing waited for the window: {:?}",
        t.elapsed()
    );
    assert_eq!(fake.requests().len(), 3);
}
