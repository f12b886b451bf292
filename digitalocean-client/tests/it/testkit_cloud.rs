//! The testkit fake's firewalls, VPCs, reserved IPs, projects, volumes and alert policies,
//! driven through the client (the same walk runs behind `prism proxy --errors` in
//! `tests/prism.rs`).

use std::time::Duration;

use digitalocean_client::WaitOptions;
use digitalocean_client::testkit::{FakeConfig, FakeDigitalOcean};

#[path = "../support/cloud_walk.rs"]
mod cloud_walk;

#[tokio::test]
async fn networking_storage_projects_and_alerts_round_trip() {
    let fake = FakeDigitalOcean::start_with(FakeConfig {
        activation_delay: Duration::from_millis(20),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let c = fake.client().unwrap();
    let opts = WaitOptions::new(Duration::from_secs(30), Duration::from_millis(10));
    cloud_walk::walk(&c, &fake, opts).await;
}

#[tokio::test]
async fn the_reserved_ip_limit_and_unknown_resources_are_refused() {
    use digitalocean_client::CreateReservedIp;
    let fake = FakeDigitalOcean::start().await.unwrap();
    let c = fake.client().unwrap();
    for _ in 0..3 {
        c.reserved_ips()
            .create(&CreateReservedIp::in_region("fra1"))
            .await
            .unwrap();
    }
    let e = c
        .reserved_ips()
        .create(&CreateReservedIp::in_region("fra1"))
        .await
        .unwrap_err();
    assert!(e.is_unprocessable(), "{e:?}");
    assert!(e.api_message().unwrap().contains("limit"), "{e:?}");
    let e = c
        .reserved_ips()
        .create(&CreateReservedIp::for_droplet(4242))
        .await
        .unwrap_err();
    assert!(e.is_unprocessable(), "{e:?}");
    for e in [
        c.firewalls()
            .get("bb4b2611-3d72-467b-8602-280330ecd65c")
            .await
            .unwrap_err(),
        c.vpcs()
            .get("5a4981aa-9653-4bd1-bef5-d6bff52042e4")
            .await
            .unwrap_err(),
        c.volumes()
            .get("7724db7c-e098-11e5-b522-000f53304e51")
            .await
            .unwrap_err(),
    ] {
        assert!(
            e.is_not_found() && e.api_error_id() == Some("not_found"),
            "{e:?}"
        );
    }
    let e = c
        .volumes()
        .attach("7724db7c-e098-11e5-b522-000f53304e51", 1)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}
