//! The testkit fake, driven through the client's whole surface.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use std::time::Duration;

use digitalocean_client::testkit::{FakeConfig, FakeDigitalOcean};
use digitalocean_client::{
    ActionStatus, CreateDomain, CreateDroplet, CreateDroplets, CreateSshKey, DomainRecordRequest,
    DropletSpec, DropletStatus, Error, ImageType, RecordFilter, RetryConfig, TagResource,
    WaitOptions,
};

fn spec() -> DropletSpec {
    let mut s = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
    s.ipv6 = true;
    s.tags = vec!["web".into()];
    s
}

fn fast() -> WaitOptions {
    WaitOptions::new(Duration::from_secs(5), Duration::from_millis(10))
}

async fn fake() -> FakeDigitalOcean {
    FakeDigitalOcean::start_with(FakeConfig {
        activation_delay: Duration::from_millis(50),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn droplet_lifecycle() {
    let fake = fake().await;
    let c = fake.client().unwrap();
    let created = c
        .droplets()
        .create(&CreateDroplet::new("web-1", spec()))
        .await
        .unwrap();
    assert_eq!(created.droplet.status, DropletStatus::New);
    assert!(created.droplet.public_ipv4().is_none());
    let action = c
        .actions()
        .wait_for_href(&created.actions[0].href, fast())
        .await
        .unwrap();
    assert_eq!(action.status, ActionStatus::Completed);
    assert_eq!(action.kind, "create");
    let d = c
        .droplets()
        .wait_until_active(created.droplet.id, fast())
        .await
        .unwrap();
    assert!(d.public_ipv4().is_some() && d.private_ipv4().is_some() && d.public_ipv6().is_some());

    let off = c.droplet_actions().power_off(d.id).await.unwrap();
    c.actions().wait(off.id.unwrap(), fast()).await.unwrap();
    assert_eq!(
        c.droplets().get(d.id).await.unwrap().status,
        DropletStatus::Off
    );
    let on = c.droplet_actions().power_on(d.id).await.unwrap();
    assert_eq!(
        c.droplet_actions()
            .get(d.id, on.id.unwrap())
            .await
            .unwrap()
            .kind,
        "power_on"
    );
    c.droplet_actions().reboot(d.id).await.unwrap();
    c.droplet_actions().shutdown(d.id).await.unwrap();

    let many = c
        .droplets()
        .create_multiple(&CreateDroplets::new(["w-2", "w-3"], spec()))
        .await
        .unwrap();
    assert_eq!(many.droplets.len(), 2);
    assert_eq!(
        c.droplets()
            .list_by_tag("web")
            .collect_all()
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        c.droplets()
            .list_by_name("W-2")
            .collect_all()
            .await
            .unwrap()
            .len(),
        1
    );
    c.droplets().delete(d.id).await.unwrap();
    assert!(c.droplets().get(d.id).await.unwrap_err().is_not_found());
    c.droplets().delete_by_tag("web").await.unwrap();
    assert_eq!(fake.droplet_count(), 0);
}

#[tokio::test]
async fn the_fake_validates_like_the_api() {
    let fake = fake().await;
    // Bypass the client's own checks with a raw request.
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v2/droplets", fake.uri()))
        .bearer_auth("t")
        .json(&serde_json::json!({"name": "bad_name", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let c = fake.client().unwrap();
    let mut bad = spec();
    bad.size = "huge".into();
    let e = c
        .droplets()
        .create(&CreateDroplet::new("ok", bad))
        .await
        .unwrap_err();
    assert!(e.is_unprocessable() && e.api_error_id() == Some("unprocessable_entity"));
    let resp = http
        .get(format!("{}/v2/account", fake.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn token_is_checked_when_configured() {
    let fake = FakeDigitalOcean::start_with(FakeConfig {
        token: Some("right".into()),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    fake.client().unwrap().account().get().await.unwrap();
    let wrong = digitalocean_client::Client::builder("wrong")
        .base_url(fake.uri())
        .build()
        .unwrap();
    assert!(wrong.account().get().await.unwrap_err().is_unauthorized());
}

#[tokio::test]
async fn keys_tags_domains_records_catalog() {
    let fake = fake().await;
    let c = fake.client().unwrap();
    let key = c
        .ssh_keys()
        .create(&CreateSshKey {
            name: "ops".into(),
            public_key: "ssh-ed25519 AAAAC3Nz ops@host".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        c.ssh_keys().get(key.fingerprint.as_str()).await.unwrap().id,
        key.id
    );
    assert_eq!(
        c.ssh_keys()
            .rename(key.id.unwrap(), "ops-2")
            .await
            .unwrap()
            .name,
        "ops-2"
    );
    assert_eq!(c.ssh_keys().list().collect_all().await.unwrap().len(), 1);
    c.ssh_keys().delete(key.id.unwrap()).await.unwrap();
    assert!(
        c.ssh_keys()
            .get(key.id.unwrap())
            .await
            .unwrap_err()
            .is_not_found()
    );

    let d = c
        .droplets()
        .create(&CreateDroplet::new("db-1", spec()))
        .await
        .unwrap()
        .droplet;
    c.tags().create("env:prod").await.unwrap();
    c.tags()
        .tag_resources("env:prod", &[TagResource::droplet(d.id)])
        .await
        .unwrap();
    let t = c.tags().get("env:prod").await.unwrap();
    assert_eq!(t.resources.unwrap().droplets.unwrap().count, 1);
    c.tags()
        .untag_resources("env:prod", &[TagResource::droplet(d.id)])
        .await
        .unwrap();
    assert!(
        c.droplets()
            .list_by_tag("env:prod")
            .collect_all()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(c.tags().list().collect_all().await.unwrap().len(), 2);
    c.tags().delete("env:prod").await.unwrap();
    assert!(c.tags().get("env:prod").await.unwrap_err().is_not_found());

    c.domains()
        .create(&CreateDomain {
            name: "example.test".into(),
            ip_address: Some("192.0.2.1".into()),
        })
        .await
        .unwrap();
    assert!(
        c.domains()
            .get("example.test")
            .await
            .unwrap()
            .zone_file
            .unwrap()
            .contains("192.0.2.1")
    );
    let recs = c.domain_records("example.test");
    let www = recs
        .create(&DomainRecordRequest::new("A", "www", "192.0.2.2").ttl(60))
        .await
        .unwrap();
    let filter = RecordFilter {
        record_type: Some("A".into()),
        name: Some("www.example.test".into()),
    };
    assert_eq!(
        recs.list_filtered(&filter).collect_all().await.unwrap(),
        vec![www.clone()]
    );
    assert_eq!(recs.list().collect_all().await.unwrap().len(), 5); // 3 NS + 2 A
    let updated = recs
        .update(
            www.id.unwrap(),
            &DomainRecordRequest::new("A", "www", "192.0.2.3"),
        )
        .await
        .unwrap();
    assert_eq!(recs.get(www.id.unwrap()).await.unwrap(), updated);
    recs.delete(www.id.unwrap()).await.unwrap();
    assert_eq!(c.domains().list().collect_all().await.unwrap().len(), 1);
    c.domains().delete("example.test").await.unwrap();

    assert_eq!(c.regions().list().collect_all().await.unwrap().len(), 3);
    assert!(!c.sizes().list().collect_all().await.unwrap().is_empty());
    let apps = c
        .images()
        .list_by_type(ImageType::Application)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(
        c.images().get_by_slug("debian-12-x64").await.unwrap().id,
        1002
    );
    assert_eq!(c.account().get().await.unwrap().droplet_limit, 25);
    let rl = c.last_rate_limit().unwrap();
    assert_eq!(rl.limit, 5000);
    assert!(rl.remaining < 5000);
}

#[tokio::test]
async fn pagination_links_are_walked() {
    let fake = fake().await;
    let c = fake.client().unwrap();
    let names: Vec<String> = (0..7).map(|i| format!("n-{i}")).collect();
    c.droplets()
        .create_multiple(&CreateDroplets::new(names[..5].to_vec(), spec()))
        .await
        .unwrap();
    c.droplets()
        .create_multiple(&CreateDroplets::new(names[5..].to_vec(), spec()))
        .await
        .unwrap();
    let all = c.droplets().list().per_page(3).collect_all().await.unwrap();
    assert_eq!(all.len(), 7);
    let pages = fake.requests_matching("GET", "/v2/droplets");
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[2].query.as_deref(), Some("page=3&per_page=3"));
}

#[tokio::test]
async fn faults_are_injected() {
    let fake = fake().await;
    let c = fake.client().unwrap();
    // 429 with Retry-After 0: retried, then success.
    fake.faults().rate_limit_next(2, 0);
    c.account().get().await.unwrap();
    assert_eq!(
        fake.requests().iter().filter(|r| r.status == 429).count(),
        2
    );
    // 503 on a create: never retried.
    fake.faults().fail_next(1, 503);
    let e = c
        .droplets()
        .create(&CreateDroplet::new("x", spec()))
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(fake.requests_matching("POST", "/v2/droplets").len(), 1);
    assert_eq!(fake.droplet_count(), 0);
    // 5xx on a GET: retried.
    fake.faults().fail_next(2, 500);
    c.regions().list().collect_all().await.unwrap();
    // A dropped connection surfaces as a transport error.
    fake.faults().drop_next_connections(1);
    let e = c.account().get().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    // Latency beyond the client's timeout.
    // 30 s against 200 ms: the timeout fires first however loaded the machine is.
    fake.faults().set_latency(Duration::from_secs(30));
    let slow = fake
        .client_builder()
        .timeout(Duration::from_millis(200))
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    assert!(slow.account().get().await.unwrap_err().is_timeout());
    fake.faults().clear();
    c.account().get().await.unwrap();
}

#[tokio::test]
async fn many_fakes_run_in_parallel() {
    let started = std::time::Instant::now();
    let fakes = start_many(8).await;
    // How fast is for benchmarks; here only that they run side by side.
    eprintln!("8 fakes started in {:?}", started.elapsed());
    for f in &fakes {
        f.client().unwrap().account().get().await.unwrap();
        assert_eq!(f.requests().len(), 1);
    }
}

async fn start_many(n: usize) -> Vec<FakeDigitalOcean> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(FakeDigitalOcean::start().await.unwrap());
    }
    out
}

/// `Faults::set_list_lag`: a new droplet is missing from listings (by tag, by name, all) for
/// the lag, as on DigitalOcean, while a get by id sees it at once.
#[tokio::test]
async fn listings_can_lag_behind_creates() {
    let fake = fake().await;
    fake.faults().set_list_lag(Duration::from_secs(3600));
    let c = fake.client().unwrap();
    let mut req = CreateDroplet::new("lagging-1", spec());
    req.spec.tags = vec!["lag-test".into()];
    let created = c.droplets().create(&req).await.unwrap();
    assert!(
        c.droplets()
            .list_by_tag("lag-test")
            .collect_all()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        c.droplets()
            .list_by_name("lagging-1")
            .collect_all()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(c.droplets().list().collect_all().await.unwrap().is_empty());
    assert_eq!(
        c.droplets().get(created.droplet.id).await.unwrap().name,
        "lagging-1"
    );
    fake.faults().set_list_lag(Duration::ZERO);
    assert_eq!(
        c.droplets()
            .list_by_tag("lag-test")
            .collect_all()
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The per-window limit the provision bench turns on (issue #21): beyond N requests in the
/// window, 429 with `Retry-After` = the window; refused requests do not count; off again.
/// The window is an hour, so no refill can happen during the test however slow it runs.
#[tokio::test]
async fn a_window_limit_answers_429_beyond_it() {
    let fake = fake().await;
    let c = fake
        .client_builder()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    fake.faults()
        .set_window_limit(Some((2, Duration::from_secs(3600))));
    c.account().get().await.unwrap();
    c.account().get().await.unwrap();
    let err = c.account().get().await.unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    let log = fake.requests();
    let statuses: Vec<u16> = log.iter().rev().take(3).map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200, 200]);
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    fake.faults().set_window_limit(None);
    c.account().get().await.unwrap();
}
