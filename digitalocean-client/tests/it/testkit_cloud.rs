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

/// Issue #22: a droplet created with `volumes` has them attached from the start (the
/// provision workflow relies on it to mount them at first boot); a volume of another
/// region, one attached elsewhere, an unknown one, and volumes for a multi-droplet create
/// are refused as DigitalOcean refuses them (422).
#[tokio::test]
async fn a_droplet_created_with_volumes_has_them_attached() {
    use digitalocean_client::{CreateDroplet, CreateDroplets, CreateVolume, DropletSpec};
    let fake = FakeDigitalOcean::start().await.unwrap();
    let c = fake.client().unwrap();
    let here = c
        .volumes()
        .create(&CreateVolume::new("here-data", 10, "nyc3"))
        .await
        .unwrap()
        .id
        .unwrap();
    let far = c
        .volumes()
        .create(&CreateVolume::new("far-data", 10, "ams3"))
        .await
        .unwrap()
        .id
        .unwrap();
    let with = |vols: Vec<String>| {
        let mut spec = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
        spec.volumes = vols;
        spec
    };
    let d = c
        .droplets()
        .create(&CreateDroplet::new("vol-01", with(vec![here.clone()])))
        .await
        .unwrap()
        .droplet;
    assert_eq!(d.volume_ids, vec![here.clone()]);
    let v = c.volumes().get(&here).await.unwrap();
    assert_eq!(v.droplet_ids, vec![d.id]);
    for vols in [
        vec![far.clone()],
        vec![here.clone()],
        vec!["7724db7c-e098-11e5-b522-000f53304e51".to_owned()],
    ] {
        let e = c
            .droplets()
            .create(&CreateDroplet::new("vol-02", with(vols.clone())))
            .await
            .unwrap_err();
        assert!(e.is_unprocessable(), "{vols:?}: {e:?}");
    }
    let e = c
        .droplets()
        .create_multiple(&CreateDroplets::new(["vol-03", "vol-04"], with(vec![far])))
        .await
        .unwrap_err();
    assert!(e.is_unprocessable(), "{e:?}");
    // Deleting the droplet detaches the volume.
    c.droplets().delete(d.id).await.unwrap();
    assert!(c.volumes().get(&here).await.unwrap().droplet_ids.is_empty());
}
